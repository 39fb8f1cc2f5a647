"""sfacctd: sFlow v2, v4 and v5 collection (issue 9).

Datagrams are built by the tests' own builder (sflow_util.py); raw packet
headers inside them by scapy.  The oracle is Debian's pmacct sfacctd on the
same datagrams; a real exporter nobody here wrote is Debian's pmacctd with its
sfprobe plugin reading a scapy-crafted capture.

* v5 with IPv4 and IPv6 agents (sampled IPv4/IPv6/Ethernet, raw headers,
  extended switch/router/gateway), v4 and v2: exact expected aggregates, and
  the same rows as pmacct's sfacctd, with and without renormalisation;
* pmacctd + sfprobe (sampling 1) to netacct's sfacctd: the aggregates of the
  capture itself (pmacctd's own print plugin on the same capture);
* QinQ, in/out VLAN from the extended switch record, VXLAN into tunnel_*;
* the counter file (generic, Ethernet, VLAN counters per agent and interface);
* pcap_savefile: the same rows as the same datagrams over UDP;
* malformed datagrams counted per agent, with the reason.
"""
import json
import random
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (BUILDDIR, SANITIZER_MARKERS, TIMEOUT, Daemon, Sender, canon, free_port,
                      merge_rows, read_json, read_text, wait_for)
from sflow_util import (counter_sample, counter_sample_v24, datagram, datagram_v24,
                        ethernet_counters, ethernet_record, flow_sample, flow_sample_v24,
                        gateway_body, gateway_record, generic_counters, header_record, ip_body,
                        ipv4_record, ipv6_record, router_body, router_record, switch_body,
                        switch_record, vlan_counters)

SFACCTD = BUILDDIR / "sfacctd"
PMACCT_SFACCTD = Path("/usr/sbin/sfacctd")
PMACCT_PMACCTD = Path("/usr/sbin/pmacctd")

scapy = pytest.importorskip("scapy.all")
from scapy.all import (IP, TCP, UDP, VXLAN, Dot1AD, Dot1Q, Ether, IPv6, raw,  # noqa: E402
                       wrpcap)


STATS_WORKER = re.compile(r"stats worker=(\d+) datagrams=\d+ .*exporters=(\d+)")
STATS_AGENT = re.compile(r"stats worker=(\d+) agent=(\S+) sub_agent=(\d+) (.*)$")


def _kv(text):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text)}


class SfStats:
    def __init__(self):
        self.workers = {}
        self.agents = []

    def total(self, field):
        return sum(w[field] for w in self.workers.values())

    def agent(self, addr, sub_id=0):
        return [a for a in self.agents if a["agent"] == addr and a["sub_agent"] == sub_id]


class SfDaemon(Daemon):
    READY_RE = re.compile(r"waiting for sFlow data on .*\((?P<workers>\d+) workers\)")

    def stats(self, timeout=TIMEOUT):
        """SIGUSR1, then a complete fresh set of worker and agent lines."""
        start = len(self.log_text())
        self.send_signal(signal.SIGUSR1)

        def parse():
            st = SfStats()
            for line in self.log_text()[start:].splitlines():
                m = STATS_WORKER.search(line)
                if m and int(m.group(1)) not in st.workers:
                    st.workers[int(m.group(1))] = _kv(line[m.start():])
                    continue
                m = STATS_AGENT.search(line)
                if m:
                    a = _kv(m.group(4))
                    a.update(worker=int(m.group(1)), agent=m.group(2),
                             sub_agent=int(m.group(3)))
                    st.agents.append(a)
            if len(st.workers) < self.nworkers:
                return None
            if len(st.agents) < st.total("exporters"):
                return None
            return st
        return wait_for(parse, timeout, "SIGUSR1 stats lines")


def sf_base(port, ip="127.0.0.1", workers=1):
    return "sfacctd_port: %d\nsfacctd_ip: %s\nreactor_workers: %d\n" % (port, ip, workers)


@pytest.fixture
def sfacctd(tmp_path):
    started = []

    def make(body, ip="127.0.0.1", workers=1, name="sfacctd", start=True):
        port = free_port()
        d = SfDaemon(tmp_path, sf_base(port, ip, workers) + body, binary=SFACCTD, name=name)
        d.port = port
        started.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in started:
        d.kill()


class PmSfacctd(Daemon):
    """Debian's sfacctd: no SIGUSR1 stats; ready once its print plugins purged once."""

    def __init__(self, tmp_path, config, plugins, name):
        super().__init__(tmp_path, config, binary=PMACCT_SFACCTD, name=name)
        self.plugins = plugins

    def wait_ready(self, timeout=TIMEOUT):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("pmacct sfacctd exited:\n%s\n%s" %
                                     (self.stderr(), self.log_text()))
            log = self.log_text()
            return "waiting for sFlow data" in log and all(
                "( %s/print ): *** Purging cache - END" % p in log for p in self.plugins)
        wait_for(ready, timeout, "pmacct sfacctd readiness")


@pytest.fixture
def pm_sfacctd(tmp_path):
    if not PMACCT_SFACCTD.exists():
        pytest.skip("Debian's pmacct sfacctd is not installed")
    started = []

    def make(body, plugins=("a",), name="pmacct"):
        port = free_port()
        d = PmSfacctd(tmp_path, "sfacctd_port: %d\nsfacctd_ip: 127.0.0.1\n" % port + body,
                      plugins, name)
        d.port = port
        started.append(d)
        d.start()
        return d

    yield make
    for d in started:
        d.kill()


def print_body(path, aggregate, refresh=3600, append=False, extra=""):
    body = ("plugins: print[a]\naggregate[a]: %s\nprint_output[a]: json\n"
            "print_output_file[a]: %s\nprint_refresh_time[a]: %d\n" % (aggregate, path, refresh))
    if append:
        body += "print_output_file_append[a]: true\n"
    return body + extra


def send_all(port, datagrams, host="127.0.0.1"):
    s = Sender(port, host)
    s.send(*datagrams)
    s.close()


def run_ours(sfacctd, tmp_path, aggregate, datagrams, extra="", name="ours"):
    out = tmp_path / ("%s.json" % name)
    d = sfacctd(print_body(out, aggregate, extra=extra), name=name)
    send_all(d.port, datagrams)
    st = d.wait_datagrams(len(datagrams))
    d.stop()
    return read_json(out), st, d


def run_pmacct(pm_sfacctd, tmp_path, aggregate, datagrams, packets, extra=""):
    """pmacct's rows once they account `packets` packets (its purges summed)."""
    out = tmp_path / "pmacct.json"
    p = pm_sfacctd(print_body(out, aggregate, refresh=1, append=True, extra=extra))
    send_all(p.port, datagrams)
    wait_for(lambda: sum(r.get("packets", 0) for r in read_json(out)) >= packets,
             what="pmacct sfacctd output")
    p.stop()
    return merge_rows(read_json(out))


def strip(rows, *keys):
    return [{k: v for k, v in r.items() if k not in keys + ("event_type",)} for r in rows]


# ---------------------------------------------------------------------------
# datagrams

def frame_vlan_tcp():
    return raw(Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb") / Dot1Q(vlan=42, prio=5) /
               IP(src="10.1.0.1", dst="10.1.0.2", tos=0x10) / TCP(sport=1111, dport=22,
                                                                 flags="PA") / (b"x" * 100))


def frame_v6_udp():
    return raw(Ether(src="00:11:22:33:44:56", dst="66:77:88:99:aa:bc") /
               IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=5000, dport=53) /
               (b"y" * 50))


GW = dict(nexthop="10.8.8.8", my_as=65000, src_as=65001, src_peer_as=65002,
          path=[(2, [65010, 65020, 65030])], comms=[65001 << 16 | 1, 0xFFFFFF01], local_pref=200)


def v5_datagrams():
    """Two agents (IPv4 and IPv6), three datagrams; sample pools consistent with the rates."""
    f1, f2 = frame_vlan_tcp(), frame_v6_udp()
    a4 = [
        datagram([flow_sample([ipv4_record(1000, 6, "10.0.0.1", "10.0.0.2", 1234, 80, 0x12),
                               switch_record(10, 3, 20, 0), router_record("10.9.9.9", 24, 16),
                               gateway_record(**GW)], seq=1, rate=100, inp=3, out=4),
                  flow_sample([ipv4_record(500, 17, "10.0.0.3", "10.0.0.4", 53, 5353)], seq=2,
                              rate=100)], agent="192.0.2.1", seq=1),
        datagram([flow_sample([ipv4_record(1000, 6, "10.0.0.1", "10.0.0.2", 1234, 80, 0x12),
                               switch_record(10, 3, 20, 0), router_record("10.9.9.9", 24, 16),
                               gateway_record(**GW)], seq=3, rate=100, inp=3, out=4),
                  counter_sample([(1, generic_counters(3, 1000, 10, 2000, 20))])],
                 agent="192.0.2.1", seq=2),
    ]
    a6 = [datagram([flow_sample([header_record(f1[:96], len(f1) + 4)], seq=1, rate=10),
                    flow_sample([header_record(f2[:96], len(f2) + 4)], seq=2, rate=10),
                    flow_sample([ipv6_record(1280, 17, "2001:db8:1::1", "2001:db8:1::2", 7, 8),
                                 ethernet_record(1300, "02:00:00:00:00:01", "02:00:00:00:00:02",
                                                 0x86dd)], seq=3, rate=10, expanded=True)],
                   agent="2001:db8:ff::1", sub_id=3, seq=7)]
    return a4 + a6


V5_AGG = ("peer_src_ip, in_iface, out_iface, src_host, dst_host, src_port, dst_port, proto, tos, "
          "src_mac, dst_mac, vlan, src_as, dst_as, peer_src_as, peer_dst_as, as_path, std_comm, "
          "local_pref, peer_dst_ip, src_mask, dst_mask, sampling_rate, export_proto_version, "
          "export_proto_sysid")


def test_v5_exact_aggregates(sfacctd, tmp_path):
    rows, st, _ = run_ours(sfacctd, tmp_path, V5_AGG + ", flows", v5_datagrams())
    assert st.total("malformed") == 0
    by_src = {r["ip_src"]: r for r in rows}
    gw = by_src["10.0.0.1"]
    assert (gw["packets"], gw["bytes"], gw["flows"]) == (2, 2000, 2)
    assert gw["peer_ip_src"] == "192.0.2.1"
    assert (gw["iface_in"], gw["iface_out"], gw["vlan"]) == (3, 4, 10)
    assert (gw["as_src"], gw["as_dst"], gw["peer_as_src"], gw["peer_as_dst"]) == \
        (65001, 65030, 65002, 65010)
    assert gw["as_path"] == "65010_65020_65030"
    assert gw["comms"] == "65001:1_no-export"
    assert (gw["local_pref"], gw["peer_ip_dst"]) == (200, "10.8.8.8")
    assert (gw["mask_src"], gw["mask_dst"], gw["sampling_rate"]) == (24, 16, 100)
    hdr = by_src["10.1.0.1"]
    f1 = frame_vlan_tcp()
    # bytes: the sampled frame's length (L2 and FCS included), as pmacct counts it
    assert (hdr["packets"], hdr["bytes"]) == (1, len(f1) + 4)
    assert (hdr["mac_src"], hdr["vlan"], hdr["tos"], hdr["port_dst"]) == \
        ("00:11:22:33:44:55", 42, 16, 22)
    assert hdr["peer_ip_src"] == "2001:db8:ff::1"
    assert hdr["export_proto_sysid"] == 3
    v6 = by_src["2001:db8:1::1"]
    assert (v6["bytes"], v6["port_src"], v6["ip_proto"]) == (1280, 7, "udp")
    assert v6["mac_dst"] == "02:00:00:00:00:02"
    assert sum(r["flows"] for r in rows) == 6
    a4 = st.agent("192.0.2.1")[0]
    assert (a4["datagrams"], a4["flow_samples"], a4["counter_samples"]) == (2, 3, 1)
    assert (a4["seq_gaps"], a4["seq_resets"]) == (0, 0)
    a6 = st.agent("2001:db8:ff::1", 3)[0]
    assert (a6["datagrams"], a6["flow_samples"]) == (1, 3)
    assert (st.total("header_ok"), st.total("header_truncated")) == (2, 0)


def test_v5_matches_pmacct(sfacctd, pm_sfacctd, tmp_path):
    dgrams = v5_datagrams()
    ours, _, _ = run_ours(sfacctd, tmp_path, V5_AGG, dgrams)
    theirs = run_pmacct(pm_sfacctd, tmp_path, V5_AGG, dgrams, sum(r["packets"] for r in ours))
    assert canon(strip(ours)) == canon(strip(theirs))


def test_v5_renormalized_matches_pmacct(sfacctd, pm_sfacctd, tmp_path):
    agg = "peer_src_ip, src_host, dst_host, proto"
    dgrams = v5_datagrams()
    ours, _, _ = run_ours(sfacctd, tmp_path, agg, dgrams, extra="sfacctd_renormalize: true\n")
    by_src = {r["ip_src"]: r for r in ours}
    assert (by_src["10.0.0.1"]["packets"], by_src["10.0.0.1"]["bytes"]) == (200, 200000)
    assert by_src["10.1.0.1"]["packets"] == 10
    theirs = run_pmacct(pm_sfacctd, tmp_path, agg, dgrams, sum(r["packets"] for r in ours),
                        extra="sfacctd_renormalize: true\n")
    assert canon(strip(ours)) == canon(strip(theirs))


def v24_datagrams():
    return [
        datagram_v24([
            flow_sample_v24((2, ip_body(700, 17, "10.4.0.1", "10.4.0.2", 1000, 2000)),
                            [(1, switch_body(100, 0, 200, 0)), (2, router_body("10.9.9.9", 8, 8)),
                             (3, gateway_body(None, 1, 64501, 64502, [(2, [64600, 64700])],
                                              [64500 << 16 | 99], 50, version=4))],
                            seq=1, rate=64, inp=11, out=12),
            flow_sample_v24((1, header_record(frame_vlan_tcp(), version=4)), seq=2, rate=64),
            counter_sample_v24(2, generic_counters(7), ethernet_counters(1)),
        ], version=4, agent="192.0.2.4", seq=1),
        datagram_v24([
            flow_sample_v24((3, ip_body(1500, 6, "2001:db8:4::1", "2001:db8:4::2", 443, 50000)),
                            seq=3, rate=64)], version=4, agent="2001:db8::4", seq=1),
        datagram_v24([
            flow_sample_v24((2, ip_body(300, 6, "10.2.0.1", "10.2.0.2", 1, 2)),
                            [(3, gateway_body(None, 1, 2, 3, [10, 20, 30], version=2))],
                            seq=1, rate=8)], version=2, agent="192.0.2.2", seq=5),
    ]


V24_AGG = ("peer_src_ip, in_iface, out_iface, src_host, dst_host, src_port, dst_port, proto, "
           "vlan, src_as, dst_as, peer_src_as, peer_dst_as, as_path, std_comm, local_pref, "
           "src_mask, dst_mask, peer_dst_ip, sampling_rate, export_proto_version")


def test_v2_v4_exact_and_match_pmacct(sfacctd, pm_sfacctd, tmp_path):
    dgrams = v24_datagrams()
    ours, st, _ = run_ours(sfacctd, tmp_path, V24_AGG, dgrams)
    assert st.total("malformed") == 0
    by_src = {r["ip_src"]: r for r in ours}
    v4 = by_src["10.4.0.1"]
    assert (v4["export_proto_version"], v4["bytes"], v4["vlan"], v4["iface_in"]) == \
        (4, 700, 100, 11)
    assert (v4["as_path"], v4["comms"], v4["local_pref"], v4["as_dst"]) == \
        ("64600_64700", "64500:99", 50, 64700)
    assert by_src["10.1.0.1"]["bytes"] == len(frame_vlan_tcp()) + 4
    assert by_src["2001:db8:4::1"]["peer_ip_src"] == "2001:db8::4"
    v2 = by_src["10.2.0.1"]
    assert (v2["export_proto_version"], v2["as_path"], v2["peer_as_dst"], v2["as_dst"]) == \
        (2, "10_20_30", 10, 30)
    theirs = run_pmacct(pm_sfacctd, tmp_path, V24_AGG, dgrams, sum(r["packets"] for r in ours))
    # pmacct 1.7.7 skips the AS list of a v2 gateway record (it never points at it), so
    # its v2 rows have no AS path, destination AS nor peer destination AS: leave those out
    v2_bgp = ("as_path", "as_dst", "peer_as_dst")

    def comparable(rows):
        return [{k: v for k, v in r.items()
                 if not (r["export_proto_version"] == 2 and k in v2_bgp)} for r in rows]
    assert canon(comparable(strip(ours))) == canon(comparable(strip(theirs)))


# ---------------------------------------------------------------------------
# pmacct 1.7.8+ behaviour: QinQ, in/out VLAN from the switch record, VXLAN

def test_qinq_switch_vlans_and_vxlan_tunnel(sfacctd, tmp_path):
    qinq = raw(Ether(src="00:00:00:00:00:01", dst="00:00:00:00:00:02") / Dot1AD(vlan=100, prio=3) /
               Dot1Q(vlan=200) / IP(src="10.7.0.1", dst="10.7.0.2") / UDP(sport=1, dport=2))
    inner = (Ether(src="00:00:00:00:aa:01", dst="00:00:00:00:aa:02") /
             IP(src="192.168.1.1", dst="192.168.1.2", tos=8) / TCP(sport=4000, dport=443))
    vx = raw(Ether(src="00:00:00:00:00:03", dst="00:00:00:00:00:04") /
             IP(src="10.8.0.1", dst="10.8.0.2") / UDP(sport=49152, dport=4789) / VXLAN(vni=77) /
             inner)
    plain = raw(Ether() / IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=3, dport=4))
    d = datagram([flow_sample([header_record(qinq)], seq=1),
                  flow_sample([header_record(vx)], seq=2),
                  flow_sample([header_record(plain), switch_record(30, 1, 40, 2)], seq=3)])
    agg = ("src_host, dst_host, vlan, in_vlan, out_vlan, cos, etype, tunnel_src_host, "
           "tunnel_dst_host, tunnel_proto, tunnel_tos, tunnel_src_port, tunnel_dst_port, "
           "tunnel_src_mac, tunnel_dst_mac")
    rows, _, _ = run_ours(sfacctd, tmp_path, agg, [d])
    by_src = {r["ip_src"]: r for r in rows}
    q = by_src["10.7.0.1"]
    assert (q["vlan"], q["vlan_in"], q["cos"]) == (100, 100, 3)
    v = by_src["10.8.0.1"]
    assert (v["tunnel_ip_src"], v["tunnel_ip_dst"], v["tunnel_ip_proto"]) == \
        ("192.168.1.1", "192.168.1.2", "tcp")
    assert (v["tunnel_port_src"], v["tunnel_port_dst"], v["tunnel_tos"]) == (4000, 443, 8)
    assert (v["tunnel_mac_src"], v["tunnel_mac_dst"]) == ("00:00:00:00:aa:01", "00:00:00:00:aa:02")
    s = by_src["10.9.0.1"]
    assert (s["vlan_in"], s["vlan_out"], s["vlan"], s["cos"]) == (30, 40, 30, 1)


# ---------------------------------------------------------------------------
# counter samples

def test_counter_file_per_agent(sfacctd, tmp_path):
    out = tmp_path / "flows.json"
    cnt = tmp_path / "counters-$peer_src_ip.json"
    d = sfacctd(print_body(out, "src_host") + "sfacctd_counter_file: %s\n" % cnt)
    dgrams = [
        datagram([counter_sample([(1, generic_counters(3, 1000, 10, 2000, 20)),
                                  (2, ethernet_counters(1, 2, 3)),
                                  (5, vlan_counters(42, 5555, 6, 7, 8, 9))], seq=11,
                                 source=(0, 3))], agent="192.0.2.1", seq=1),
        datagram([counter_sample([(1, generic_counters(70000, 1, 2, 3, 4))], seq=12,
                                 source=(0, 70000), expanded=True)], agent="2001:db8::9",
                 sub_id=1, seq=2),
        datagram_v24([counter_sample_v24(7, None, vlan_counters(300, 77, 1), seq=13,
                                         source=(0, 8))], agent="192.0.2.1", seq=3),
    ]
    send_all(d.port, dgrams)
    d.wait_datagrams(3)
    d.stop()
    a4 = read_json(tmp_path / "counters-192.0.2.1.json")
    a6 = read_json(tmp_path / "counters-2001:db8::9.json")
    # each agent's log starts with a log_init line, as pmacct's
    assert [r["event_type"] for r in a4 + a6] == ["log_init"] + ["log"] * 4 + ["log_init", "log"]
    assert a4[0]["peer_src_ip"] == "192.0.2.1" and a6[0]["peer_src_ip"] == "2001:db8::9"
    assert sorted(r["seq"] for r in a4 + a6) == list(range(7))
    a4, a6 = a4[1:], a6[1:]
    assert [r["sf_cnt_type"] for r in a4] == ["sflow_cnt_generic", "sflow_cnt_ethernet",
                                              "sflow_cnt_vlan", "sflow_cnt_vlan"]
    g = a4[0]
    assert g["event_type"] == "log" and g["peer_ip_src"] == "192.0.2.1"
    assert (g["source_id_index"], g["sflow_seq"], g["sflow_cnt_seq"]) == (3, 1, 11)
    assert (g["ifIndex"], g["ifInOctets"], g["ifInUcastPkts"], g["ifOutOctets"],
            g["ifOutUcastPkts"], g["ifSpeed"]) == (3, 1000, 10, 2000, 20, 1000000000)
    assert (a4[1]["dot3StatsAlignmentErrors"], a4[1]["dot3StatsSingleCollisionFrames"]) == (1, 3)
    assert (a4[2]["vlan"], a4[2]["octets"], a4[2]["ucastPkts"], a4[2]["discards"]) == \
        (42, 5555, 6, 9)
    assert (a4[3]["vlan"], a4[3]["octets"], a4[3]["sflow_cnt_seq"], a4[3]["sflow_seq"]) == \
        (300, 77, 13, 3)
    assert len(a6) == 1 and a6[0]["ifIndex"] == 70000 and a6[0]["source_id_index"] == 70000
    assert a6[0]["peer_ip_src"] == "2001:db8::9"
    assert read_json(out) == []  # counter samples are no flows


def test_counter_file_matches_pmacct(sfacctd, pm_sfacctd, tmp_path):
    """The counter values pmacct writes for the same samples (seq and timestamp aside)."""
    dgrams = [datagram([counter_sample([(1, generic_counters(3, 1000, 10, 2000, 20)),
                                        (2, ethernet_counters(*range(1, 14))),
                                        (5, vlan_counters(42, 5555, 6, 7, 8, 9))], seq=11,
                                       source=(0, 3))], agent="192.0.2.1", seq=1)]
    ours_f = tmp_path / "ours-cnt.json"
    d = sfacctd(print_body(tmp_path / "o.json", "src_host") +
                "sfacctd_counter_file: %s\n" % ours_f)
    send_all(d.port, dgrams)
    d.wait_datagrams(1)
    d.stop()
    pm_f = tmp_path / "pm-cnt.json"
    p = pm_sfacctd(print_body(tmp_path / "p.json", "src_host", refresh=1) +
                   "sfacctd_counter_file: %s\n" % pm_f)
    send_all(p.port, dgrams)
    wait_for(lambda: len(read_json(pm_f)) >= 4, what="pmacct counter file")
    p.stop()
    drop = ("seq", "timestamp", "sflow_sub_agent_id", "source_id_type")
    ours = [{k: v for k, v in r.items() if k not in drop} for r in read_json(ours_f)]
    theirs = [{k: v for k, v in r.items() if k not in drop} for r in read_json(pm_f)]
    assert ours == theirs


# ---------------------------------------------------------------------------
# malformed input, stats

def test_malformed_counted_per_agent(sfacctd, tmp_path):
    good = datagram([flow_sample([ipv4_record(100, 6, "10.0.0.1", "10.0.0.2", 1, 2)])],
                    agent="192.0.2.9", seq=1)
    cut = good[:-6]
    lying = bytearray(good)
    lying[-32 - 8 + 4:-32 - 8 + 8] = struct.pack("!I", 0x7fffffff)  # the record's length
    rows, st, d = run_ours(sfacctd, tmp_path, "src_host",
                           [good, cut, bytes(lying), b"\0\0\0\x07junk"])
    assert st.total("malformed") == 3
    assert [r["packets"] for r in rows] == [1]
    log = d.log_text()
    assert re.search(r"agent=192\.0\.2\.9 sub_agent=0 datagrams=3 flow_samples=1 ", log)
    assert re.search(r"agent=192\.0\.2\.9 .* record_length=1 ", log)
    assert "sample_length=1" in log
    assert "bad_version=1" in log


# ---------------------------------------------------------------------------
# pcap_savefile: the same datagrams from a capture file

def test_savefile_same_as_udp(sfacctd, tmp_path):
    dgrams = v5_datagrams() + v24_datagrams()
    agg = V5_AGG + ", flows"
    udp_rows, _, _ = run_ours(sfacctd, tmp_path, agg, dgrams)
    pcap = tmp_path / "sflow.pcap"
    pkts = []
    for i, d in enumerate(dgrams):
        p = Ether() / IP(src="127.0.0.1", dst="127.0.0.1") / UDP(sport=40000, dport=6343) / d
        p.time = 1700000000 + i
        pkts.append(p)
    wrpcap(str(pcap), pkts)
    out = tmp_path / "savefile.json"
    d = SfDaemon(tmp_path, "pcap_savefile: %s\npcap_savefile_wait: false\n" % pcap +
                 print_body(out, agg), binary=SFACCTD, name="savefile")
    d.start(wait=False)
    rc = d.proc.wait(TIMEOUT * 2)
    d._close_files()
    for m in SANITIZER_MARKERS:
        assert m not in d.stderr()
    assert rc == 0, d.log_text()
    assert canon(strip(merge_rows(read_json(out)))) == canon(strip(merge_rows(udp_rows)))


# ---------------------------------------------------------------------------
# a real exporter: pmacctd's sfprobe plugin reading a capture

def capture(path, seed=9):
    rnd = random.Random(seed)
    pkts = []
    t = 1700000000.0
    hosts = ["10.20.0.%d" % i for i in range(1, 6)]
    for i in range(300):
        src, dst = rnd.sample(hosts, 2)
        if rnd.random() < 0.5:
            l4 = TCP(sport=rnd.choice([80, 443, 22]), dport=rnd.randint(30000, 30003), flags="A")
        else:
            l4 = UDP(sport=rnd.choice([53, 123]), dport=rnd.randint(40000, 40003))
        p = (Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=src, dst=dst) / l4 /
             (b"z" * rnd.randint(0, 900)))
        t += 0.001
        p.time = t
        pkts.append(p)
    # sfprobe keeps its last, partly filled datagram until more samples come: a
    # tail flow of its own pushes every sample of the traffic above out
    for i in range(TAIL):
        p = Ether() / IP(src="10.99.0.1", dst="10.99.0.2") / UDP(sport=9, dport=9)
        t += 0.001
        p.time = t
        pkts.append(p)
    wrpcap(str(path), pkts)


TAIL = 30
TAIL_KEY = (("ip_dst", "10.99.0.2"), ("ip_proto", "udp"), ("ip_src", "10.99.0.1"),
            ("port_dst", 9), ("port_src", 9))


def test_pmacctd_sfprobe_to_sfacctd(sfacctd, tmp_path):
    if not PMACCT_PMACCTD.exists():
        pytest.skip("Debian's pmacctd is not installed")
    pcap = tmp_path / "traffic.pcap"
    capture(pcap)
    agg = "src_host, dst_host, src_port, dst_port, proto"
    out = tmp_path / "sf.json"
    d = sfacctd(print_body(out, agg))
    ref = tmp_path / "pmacctd.json"
    conf = tmp_path / "pmacctd.conf"
    conf.write_text(
        "pcap_savefile: %s\npcap_savefile_wait: false\nplugins: sfprobe[s], print[p]\n"
        "sfprobe_receiver[s]: 127.0.0.1:%d\nsfprobe_agentip[s]: 192.0.2.200\n"
        "sampling_rate[s]: 1\naggregate[p]: %s\nprint_output[p]: json\n"
        "print_output_file[p]: %s\nprint_refresh_time[p]: 1\nprint_output_file_append[p]: true\n"
        "pcap_savefile_delay: 1\nplugin_buffer_size: 100000\nplugin_pipe_size: 100000000\n"
        "logfile: %s\n" % (pcap, d.port, agg, ref, tmp_path / "pmacctd.log"))
    # one pass over the file; at its end pmacctd flushes both plugins and exits
    p = subprocess.run([str(PMACCT_PMACCTD), "-f", str(conf)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT * 6)
    assert p.returncode == 0, read_text(tmp_path / "pmacctd.log")
    assert sum(r.get("packets", 0) for r in read_json(ref)) == 300 + TAIL
    wait_for(lambda: d.stats().total("records") >= 300, timeout=TIMEOUT * 3,
             what="the traffic's 300 flow samples at sfacctd")
    d.stop()
    ours = read_json(out)
    theirs = merge_rows(read_json(ref))
    tail = [r for r in ours if r["ip_src"] == "10.99.0.1"]
    assert sum(r["packets"] for r in ours) - sum(r["packets"] for r in tail) == 300
    # sFlow counts the sampled frame (Ethernet header and FCS: 18 bytes a packet
    # more than pmacctd's IP bytes): same keys, same packets, bytes off by 18 each
    ours_k = {tuple(sorted((k, v) for k, v in r.items() if k not in ("packets", "bytes",
                                                                       "event_type"))): r
              for r in ours}
    theirs_k = {tuple(sorted((k, v) for k, v in r.items() if k not in ("packets", "bytes",
                                                                         "event_type"))): r
                for r in theirs}
    assert set(ours_k) == set(theirs_k)
    assert TAIL - 10 <= ours_k[TAIL_KEY]["packets"] <= TAIL
    del ours_k[TAIL_KEY], theirs_k[TAIL_KEY]
    for k, r in theirs_k.items():
        assert ours_k[k]["packets"] == r["packets"]
        assert ours_k[k]["bytes"] == r["bytes"] + 18 * r["packets"], k


def test_counter_file_reopened_after_rename(sfacctd, tmp_path):
    """Log rotation: once the file is moved away, the next lines go to a new file."""
    cnt = tmp_path / "counters.json"
    d = sfacctd(print_body(tmp_path / "o.json", "src_host") + "sfacctd_counter_file: %s\n" % cnt)
    seq = [0]

    def send_one():
        seq[0] += 1
        send_all(d.port, [datagram([counter_sample([(5, vlan_counters(1, seq[0], 1))],
                                                   seq=seq[0])], seq=seq[0])])
    send_one()
    wait_for(lambda: len(read_json(cnt)) == 2, what="log_init and the first counter line")
    rotated = tmp_path / "counters.json.1"
    cnt.rename(rotated)

    def reopened():
        send_one()  # the name is checked at most once a second: keep sending
        return cnt.exists() and read_json(cnt)
    rows = wait_for(reopened, what="a new counter file after the rename")
    d.stop()
    assert [r["octets"] for r in read_json(rotated)[1:]] == list(range(1, len(read_json(rotated))))
    octets = [r["octets"] for r in read_json(cnt)]
    assert octets == list(range(octets[0], octets[0] + len(octets))) and rows
    assert octets[0] == len(read_json(rotated))  # nothing lost between the two files


def test_sampling_map_and_ext_rate_override_agent_rate(sfacctd, tmp_path):
    """sampling_map (per agent and input interface) wins over the exported rate, and
    sfacctd_ext_sampling_rate replaces the exported rate of the agents the map misses."""
    smap = tmp_path / "sampling.map"
    smap.write_text("id=1000 ip=192.0.2.1 in=3\n")
    dgrams = [datagram([flow_sample([ipv4_record(100, 6, "10.0.0.1", "10.0.0.2", 1, 2)],
                                    seq=1, rate=100, inp=3),
                        flow_sample([ipv4_record(100, 6, "10.0.0.3", "10.0.0.4", 1, 2)],
                                    seq=2, rate=100, inp=4)], agent="192.0.2.1"),
              datagram([flow_sample([ipv4_record(100, 6, "10.0.0.5", "10.0.0.6", 1, 2)],
                                    seq=1, rate=0)], agent="192.0.2.2")]
    rows, _, _ = run_ours(sfacctd, tmp_path, "src_host, sampling_rate", dgrams,
                          extra="sampling_map: %s\nsfacctd_renormalize: true\n"
                                "sfacctd_ext_sampling_rate: 10\n" % smap)
    got = {r["ip_src"]: (r["sampling_rate"], r["packets"], r["bytes"]) for r in rows}
    assert got == {"10.0.0.1": (1000, 1000, 100000), "10.0.0.3": (10, 10, 1000),
                   "10.0.0.5": (10, 10, 1000)}


def test_ipv6_transport(sfacctd, tmp_path):
    """Datagrams over ::1: the agent is the address inside the datagram, not the sender."""
    out = tmp_path / "v6.json"
    d = sfacctd(print_body(out, "peer_src_ip, src_host"), ip="::1")
    send_all(d.port, [datagram([flow_sample([ipv4_record(64, 17, "10.6.0.1", "10.6.0.2", 1, 2)])],
                               agent="198.51.100.7")], host="::1")
    d.wait_datagrams(1)
    d.stop()
    assert strip(read_json(out)) == [{"peer_ip_src": "198.51.100.7", "ip_src": "10.6.0.1",
                                      "packets": 1, "bytes": 64}]


def test_two_workers_two_senders(sfacctd, tmp_path):
    """With two workers each sender's datagrams stay on one worker: per-agent sequence
    state sees no gap, and each agent's rows come out whole."""
    out = tmp_path / "w2.json"
    d = sfacctd(print_body(out, "peer_src_ip, src_host"), workers=2)
    for n, host in enumerate(("127.0.0.1", "127.0.0.2")):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, 0))
        for seq in range(1, 21):
            s.sendto(datagram([flow_sample([ipv4_record(10, 6, "10.5.%d.1" % n, "10.5.0.2",
                                                        1, 2)], seq=seq)],
                              agent="192.0.2.%d" % (50 + n), seq=seq), ("127.0.0.1", d.port))
        s.close()
    st = d.wait_datagrams(40)
    d.stop()
    assert sorted((a["agent"], a["datagrams"], a["seq_gaps"], a["seq_resets"])
                  for a in st.agents) == [("192.0.2.50", 20, 0, 0), ("192.0.2.51", 20, 0, 0)]
    assert sorted((r["peer_ip_src"], r["packets"]) for r in read_json(out)) == \
        [("192.0.2.50", 20), ("192.0.2.51", 20)]


def test_max_agents_refuses_new_agents(sfacctd, tmp_path):
    dgrams = [datagram([flow_sample([ipv4_record(10, 6, "10.0.0.%d" % i, "10.0.1.1", 1, 2)])],
                       agent="192.0.2.%d" % i) for i in (1, 2, 1)]
    rows, st, d = run_ours(sfacctd, tmp_path, "peer_src_ip", dgrams,
                           extra="sfacctd_max_agents: 1\n")
    assert st.total("refused") == 1 and st.total("exporters") == 1
    assert strip(rows) == [{"peer_ip_src": "192.0.2.1", "packets": 2, "bytes": 20}]
    assert "dropped: sfacctd_max_agents reached" in d.log_text()


def test_example_config_runs(tmp_path):
    """contrib/examples/sfacctd.conf, paths moved under tmp_path, runs and writes its files."""
    example = (Path(__file__).resolve().parents[2] / "contrib/examples/sfacctd.conf").read_text()
    port = free_port()
    conf = (example.replace("/var/lib/netacct", str(tmp_path))
            .replace("/var/log/netacct", str(tmp_path))
            .replace("sfacctd_port: 6343", "sfacctd_port: %d\nsfacctd_ip: 127.0.0.1\n"
                     "reactor_workers: 1" % port))
    # the daemon's log goes where the test reads it
    conf = "\n".join(l for l in conf.splitlines() if not l.startswith("logfile:")) + "\n"
    d = SfDaemon(tmp_path, conf, binary=SFACCTD, name="example")
    d.start()
    send_all(port, [datagram([flow_sample([ipv4_record(100, 6, "10.0.0.1", "10.0.0.2", 1, 2)],
                                          rate=4),
                              counter_sample([(1, generic_counters(3, 1, 2, 3, 4))])],
                             agent="192.0.2.33")])
    d.wait_datagrams(1)
    d.stop()
    flows = [r for f in tmp_path.glob("sflow-2*.json") for r in read_json(f)]
    assert [(r["peer_ip_src"], r["packets"], r["bytes"], r["flows"]) for r in flows] == \
        [("192.0.2.33", 4, 400, 1)]
    assert "192.0.2.33" in read_text(tmp_path / "sflow-l2.csv")
    assert len(read_json(tmp_path / "sflow-counters-192.0.2.33.json")) == 2


def test_pre_tag_map_sflow_keys(sfacctd, tmp_path):
    """pre_tag_map on sFlow: agent_id (the sub-agent id), ip (the agent address), in and out
    (the flow sample's interfaces), first match wins."""
    m = tmp_path / "pretag.map"
    m.write_text("set_tag=10 ip=192.0.2.1 agent_id=7\n"
                 "set_tag=20 ip=192.0.2.1 in=5\n"
                 "set_tag=30 ip=192.0.2.2 out=9\n"
                 "set_tag=99\n")
    out = tmp_path / "tags.json"
    d = sfacctd(print_body(out, "tag, peer_src_ip", extra="pre_tag_map: %s\n" % m))
    rec = [ipv4_record(10, 6, "10.0.0.1", "10.0.0.2", 1, 2)]
    send_all(d.port, [
        datagram([flow_sample(rec, seq=1)], agent="192.0.2.1", sub_id=7, seq=1),
        datagram([flow_sample(rec, seq=1, inp=5)], agent="192.0.2.1", sub_id=3, seq=1),
        datagram([flow_sample(rec, seq=1, out=9)], agent="192.0.2.2", sub_id=0, seq=1),
        datagram([flow_sample(rec, seq=1)], agent="192.0.2.3", sub_id=0, seq=1),
    ])
    d.wait_datagrams(4)
    d.stop()
    assert sorted((r["peer_ip_src"], r["tag"]) for r in read_json(out)) == [
        ("192.0.2.1", 10), ("192.0.2.1", 20), ("192.0.2.2", 30), ("192.0.2.3", 99)]
