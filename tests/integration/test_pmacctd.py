"""pmacctd: packets to flow records (issue 10).

On capture files crafted here with scapy (every link type, VLAN/QinQ/MPLS, IPv4 and
IPv6 fragments, IPv6 extension headers, GRE and VXLAN tunnels) the rows are exactly
the ones the packets make, and Debian's pmacctd 1.7.7 gives the same rows on the
same files where it can read them.  Then: flow tracking (flows, lifetimes), sampling,
pcap_savefile (replay, purges while reading, SIGTERM/SIGINT mid-file), *_time_new,
privileges, and live capture in a network namespace over a veth pair.
"""
import collections
import grp
import os
import pwd
import re
import signal
import tempfile
from pathlib import Path

import pytest

from conftest import TIMEOUT, read_csv, wait_for
from packet_util import (PMACCTD, PacketDaemon, VethPair, check_clean_exit, last_worker_stats, sh,
                         need_netns, netacct_rows, oracle_rows, print_config, run_to_end,
                         savefile_config, wait_packets)

scapy = pytest.importorskip("scapy.all")
from scapy.contrib.mpls import MPLS  # noqa: E402
from scapy.all import (GRE, ICMP, IP, TCP, UDP, VXLAN, CookedLinux,  # noqa: E402
                       CookedLinuxV2, Dot1AD, Dot1Q, Ether, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Loopback,
                       Raw, fragment, fragment6, wrpcap)

T0 = 1700000000.0  # 800 s into an hour: every capture below fits in one 3600 s interval
BASIC = ["src_host", "dst_host", "src_port", "dst_port", "proto", "tcpflags", "flows"]
MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def write(path, pkts, linktype=None, step=0.25):
    for i, p in enumerate(pkts):
        p.time = T0 + i * step
    wrpcap(str(path), pkts, linktype=linktype)
    return path


def rows_key(rows, counters=("PACKETS", "BYTES", "FLOWS")):
    """Rows as {key tuple: counters tuple}, the key being every non-counter column."""
    out = {}
    for r in rows:
        k = tuple(sorted((c, v) for c, v in r.items() if c not in counters))
        assert k not in out, "key %r twice" % (k,)
        out[k] = tuple(int(r[c]) for c in counters if c in r)
    return out


def canon(rows):
    return collections.Counter(tuple(sorted(r.items())) for r in rows)


# --------------------------------------------------------------------------
# the traffic: three conversations, the same IP packets whatever the link


def ip_packets():
    """TCP over IPv4 both ways (a handshake, data, close), UDP over IPv6, ICMP echo."""
    a, b = "192.0.2.1", "198.51.100.7"
    a6, b6 = "2001:db8::1", "2001:db8:1::7"
    return [
        IP(src=a, dst=b, tos=0x10) / TCP(sport=40001, dport=80, flags="S"),
        IP(src=b, dst=a) / TCP(sport=80, dport=40001, flags="SA"),
        IP(src=a, dst=b, tos=0x10) / TCP(sport=40001, dport=80, flags="A"),
        IP(src=a, dst=b, tos=0x10) / TCP(sport=40001, dport=80, flags="PA") / Raw(b"G" * 300),
        IP(src=b, dst=a) / TCP(sport=80, dport=40001, flags="PA") / Raw(b"H" * 1200),
        IP(src=a, dst=b, tos=0x10) / TCP(sport=40001, dport=80, flags="FA"),
        IPv6(src=a6, dst=b6) / UDP(sport=5353, dport=53) / Raw(b"q" * 40),
        IPv6(src=b6, dst=a6) / UDP(sport=53, dport=5353) / Raw(b"r" * 120),
        IPv6(src=a6, dst=b6) / UDP(sport=5353, dport=53) / Raw(b"q" * 44),
        IP(src=a, dst=b) / ICMP(type=8, code=0) / Raw(b"p" * 56),
    ]


def expected_basic(pkts):
    """The rows the IP packets make with BASIC (ICMP left to the oracle comparison)."""
    want = {}
    for p in pkts:
        l3 = p[IP] if IP in p else p[IPv6]
        if ICMP in l3:
            continue
        l4 = l3[TCP] if TCP in l3 else l3[UDP]
        proto = "tcp" if TCP in l3 else "udp"
        k = (l3.src, l3.dst, str(l4.sport), str(l4.dport), proto)
        pk, by, fl = want.get(k, (0, 0, 0))
        want[k] = (pk + 1, by + len(l3), 1)
    return want


def basic_of(rows):
    got = {}
    for r in rows:
        if r["PROTOCOL"] not in ("tcp", "udp"):
            continue
        k = (r["SRC_IP"], r["DST_IP"], r["SRC_PORT"], r["DST_PORT"], r["PROTOCOL"])
        got[k] = (int(r["PACKETS"]), int(r["BYTES"]), int(r["FLOWS"]))
    return got


def tcpflags_of(rows):
    return {(r["SRC_IP"], r["DST_PORT"]): int(r["TCP_FLAGS"]) for r in rows
            if r["PROTOCOL"] == "tcp"}


def framed(kind, pkts):
    """The packets on link type `kind`: (frames, linktype for wrpcap)."""
    if kind == "ethernet":
        return [Ether(src=MAC_A, dst=MAC_B) / p for p in pkts], None
    if kind == "sll":
        return [CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=bytes.fromhex(
            "02000000000a") + b"\0\0", proto=0x86DD if IPv6 in p else 0x0800) / p
            for p in pkts], 113
    if kind == "sll2":
        return [CookedLinuxV2(proto=0x86DD if IPv6 in p else 0x0800, ifindex=3, lladdrtype=1,
                              pkttype=0, lladdrlen=6) / p for p in pkts], 276
    if kind == "raw":
        return [p for p in pkts], 101
    if kind == "null":
        # BSD loopback: the address family in the capturing host's byte order
        return [Loopback(type=(30 if IPv6 in p else 2)) / p for p in pkts], 0
    raise ValueError(kind)


LINKS = ["ethernet", "sll", "sll2", "raw", "null"]


@pytest.mark.parametrize("link", LINKS)
def test_link_types_exact(tmp_path, link):
    pkts = ip_packets()
    frames, lt = framed(link, pkts)
    pcap = write(tmp_path / ("%s.pcap" % link), frames, lt)
    rows = netacct_rows(tmp_path, pcap, BASIC)
    assert basic_of(rows) == expected_basic(pkts)
    # TCP flags: the OR over each direction's packets
    assert tcpflags_of(rows) == {("192.0.2.1", "80"): 0x02 | 0x10 | 0x08 | 0x01,
                                 ("198.51.100.7", "40001"): 0x02 | 0x10 | 0x08}
    icmp = [r for r in rows if r["PROTOCOL"] == "icmp"]
    assert [(r["SRC_PORT"], r["DST_PORT"], r["PACKETS"], r["BYTES"]) for r in icmp] == \
        [("0", "0", "1", "84")]


@pytest.mark.parametrize("link", ["ethernet", "sll", "raw", "null"])
def test_link_types_as_pmacct(tmp_path, link):
    """Debian's pmacctd gives the same rows, ICMP included (1.7.7 has no SLL2)."""
    frames, lt = framed(link, ip_packets())
    pcap = write(tmp_path / ("%s.pcap" % link), frames, lt)
    # 1.7.7 crashes (SIGSEGV) on ICMP when `flows` is aggregated: flows without ICMP
    agg = [p for p in BASIC if p != "flows"] + ["tos"]
    ours, theirs = netacct_rows(tmp_path, pcap, agg), oracle_rows(tmp_path, pcap, agg)
    assert theirs, "the oracle accounted nothing"
    if link == "null":
        # 1.7.7 drops IPv6 on DLT_NULL (BSD's AF_INET6 values 24/28/30); we account it
        assert len([r for r in ours if ":" in r["SRC_IP"]]) == 2
        ours = [r for r in ours if ":" not in r["SRC_IP"]]
    assert canon(ours) == canon(theirs)
    frames, lt = framed(link, [p for p in ip_packets() if ICMP not in p])
    pcap = write(tmp_path / ("%s-noicmp.pcap" % link), frames, lt)
    ours = netacct_rows(tmp_path, pcap, BASIC, name="netacct-flows")
    theirs = oracle_rows(tmp_path, pcap, BASIC, name="oracle-flows")
    if link == "null":
        ours = [r for r in ours if ":" not in r["SRC_IP"]]
    assert canon(ours) == canon(theirs)


# --------------------------------------------------------------------------
# L2: VLAN, QinQ, MPLS


def l2_frames():
    u = IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=1000, dport=2000) / Raw(b"v" * 100)
    t = IP(src="192.0.2.3", dst="192.0.2.4") / TCP(sport=3000, dport=443, flags="A")
    return [
        Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=100, prio=3) / u,
        Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=100, prio=3) / u,
        Ether(src=MAC_A, dst=MAC_B, type=0x88A8) / Dot1AD(vlan=200) / Dot1Q(vlan=300) / u,
        Ether(src=MAC_B, dst=MAC_A) / MPLS(label=16001, s=0, ttl=64) /
        MPLS(label=24005, s=1, ttl=64) / t,
        Ether(src=MAC_B, dst=MAC_A) / Dot1Q(vlan=10) / MPLS(label=17, s=1, ttl=9) / t,
    ]


def test_vlan_qinq_mpls_exact(tmp_path):
    pcap = write(tmp_path / "l2.pcap", l2_frames())
    agg = ["src_mac", "dst_mac", "vlan", "mpls_label_top", "mpls_label_bottom", "src_host",
           "dst_host", "src_port", "dst_port", "proto"]
    rows = netacct_rows(tmp_path, pcap, agg)
    got = {(r["SRC_MAC"], r["VLAN"], r["MPLS_LABEL_TOP"], r["MPLS_LABEL_BOTTOM"],
            r["SRC_IP"], r["DST_PORT"]): (int(r["PACKETS"]), int(r["BYTES"])) for r in rows}
    assert got == {
        (MAC_A, "100", "0", "0", "192.0.2.1", "2000"): (2, 256),
        # QinQ: the outer tag is the vlan
        (MAC_A, "200", "0", "0", "192.0.2.1", "2000"): (1, 128),
        (MAC_B, "0", "16001", "24005", "192.0.2.3", "443"): (1, 40),
        (MAC_B, "10", "17", "17", "192.0.2.3", "443"): (1, 40),
    }


def test_vlan_mpls_as_pmacct(tmp_path):
    pcap = write(tmp_path / "l2.pcap", l2_frames())
    agg = ["src_mac", "dst_mac", "vlan", "mpls_label_top", "src_host", "dst_host", "src_port",
           "dst_port", "proto"]
    ours, theirs = netacct_rows(tmp_path, pcap, agg), oracle_rows(tmp_path, pcap, agg)
    # 1.7.7 accounts neither the QinQ frame (ethertype 0x88a8) nor the two-label MPLS
    # frame without a VLAN tag (seen here): compare the 802.1Q frames
    def tagged(rows):
        return [r for r in rows if r["VLAN"] in ("100", "10")]
    assert len(tagged(ours)) == 2
    assert canon(tagged(ours)) == canon(theirs)


# --------------------------------------------------------------------------
# fragments and IPv6 extension headers


def frag_frames(order):
    dg = IP(src="192.0.2.9", dst="192.0.2.10", id=77) / UDP(sport=5000, dport=6000) / \
        Raw(b"f" * 2900)
    frags = fragment(dg, fragsize=1200)
    assert len(frags) == 3
    d6 = IPv6(src="2001:db8::9", dst="2001:db8::10") / IPv6ExtHdrFragment(id=99) / \
        UDP(sport=7000, dport=8000) / Raw(b"g" * 2900)
    f6 = fragment6(d6, 1280)
    assert len(f6) >= 3
    if order == "reversed":
        frags, f6 = frags[::-1], f6[::-1]
    frames = [Ether(src=MAC_A, dst=MAC_B) / f for f in frags + f6]
    return frames, (len(frags), sum(len(f) for f in frags)), (len(f6),
                                                               sum(len(f) for f in f6))


@pytest.mark.parametrize("order", ["in_order", "reversed"])
def test_fragments_under_their_ports(tmp_path, order):
    frames, (n4, b4), (n6, b6) = frag_frames(order)
    pcap = write(tmp_path / "frags.pcap", frames)
    out = tmp_path / "frags.csv"
    d = run_to_end(tmp_path, savefile_config(pcap, out, ["src_host", "dst_host", "src_port",
                                                         "dst_port", "proto"]))
    rows = read_csv(out)
    st = last_worker_stats(d.log_text())[0]
    # ahead of their first fragment, the later ones wait for it and are accounted with it
    assert (st["frag_orphans"] > 0) == (order == "reversed")
    assert st["frag_lost"] == 0
    got = {(r["SRC_IP"], r["SRC_PORT"], r["DST_PORT"]): (int(r["PACKETS"]), int(r["BYTES"]))
           for r in rows}
    assert got == {("192.0.2.9", "5000", "6000"): (n4, b4),
                   ("2001:db8::9", "7000", "8000"): (n6, b6)}


def test_fragments_as_pmacct(tmp_path):
    frames, _, _ = frag_frames("in_order")
    pcap = write(tmp_path / "frags.pcap", frames)
    agg = ["src_host", "dst_host", "src_port", "dst_port", "proto"]
    assert canon(netacct_rows(tmp_path, pcap, agg)) == canon(oracle_rows(tmp_path, pcap, agg))


def ext_frames():
    base = IPv6(src="2001:db8::a", dst="2001:db8::b")
    return [
        Ether(src=MAC_A, dst=MAC_B) / base / IPv6ExtHdrHopByHop() / TCP(sport=1111, dport=22,
                                                                         flags="S"),
        Ether(src=MAC_A, dst=MAC_B) / base / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
        IPv6ExtHdrRouting(addresses=["2001:db8::c"]) / UDP(sport=2222, dport=33) /
        Raw(b"e" * 10),
        Ether(src=MAC_A, dst=MAC_B) / base / IPv6ExtHdrDestOpt() / TCP(sport=1111, dport=22,
                                                                        flags="A"),
    ]


def test_ipv6_extension_headers(tmp_path):
    frames = ext_frames()
    pcap = write(tmp_path / "ext.pcap", frames)
    agg = ["src_host", "dst_host", "src_port", "dst_port", "proto", "tcpflags"]
    rows = netacct_rows(tmp_path, pcap, agg)
    got = {(r["SRC_PORT"], r["DST_PORT"], r["PROTOCOL"]): (int(r["PACKETS"]), int(r["BYTES"]),
                                                          r["TCP_FLAGS"]) for r in rows}
    assert got == {("1111", "22", "tcp"): (2, len(frames[0][IPv6]) + len(frames[2][IPv6]),
                                           "18"),
                   ("2222", "33", "udp"): (1, len(frames[1][IPv6]), "0")}
    assert canon(rows) == canon(oracle_rows(tmp_path, pcap, agg))


# --------------------------------------------------------------------------
# tunnels: accounted under the outer headers (the inner ones are tunnel_* primitives)


def tunnel_frames():
    inner = IP(src="10.1.1.1", dst="10.2.2.2") / TCP(sport=5555, dport=80, flags="S")
    return [
        Ether(src=MAC_A, dst=MAC_B) / IP(src="203.0.113.1", dst="203.0.113.2") / GRE() / inner,
        Ether(src=MAC_A, dst=MAC_B) / IP(src="203.0.113.1", dst="203.0.113.2") / GRE() / inner,
        Ether(src=MAC_A, dst=MAC_B) / IP(src="203.0.113.3", dst="203.0.113.4") /
        UDP(sport=49152, dport=4789) / VXLAN(vni=42) / Ether(src=MAC_B, dst=MAC_A) / inner,
    ]


def test_tunnels_outer_headers(tmp_path):
    frames = tunnel_frames()
    pcap = write(tmp_path / "tun.pcap", frames)
    agg = ["src_host", "dst_host", "src_port", "dst_port", "proto"]
    rows = netacct_rows(tmp_path, pcap, agg)
    got = {(r["SRC_IP"], r["DST_PORT"], r["PROTOCOL"]): (int(r["PACKETS"]), int(r["BYTES"]))
           for r in rows}
    assert got == {("203.0.113.1", "0", "gre"): (2, 2 * len(frames[0][IP])),
                   ("203.0.113.3", "4789", "udp"): (1, len(frames[2][IP]))}
    assert canon(rows) == canon(oracle_rows(tmp_path, pcap, agg))


# --------------------------------------------------------------------------
# flow tracking


def test_flows_and_lifetimes_on_capture_time(tmp_path):
    """A flow idle past its lifetime starts again; the capture's time decides, so the same
    file counts the same whatever the speed of reading (Debian's pmacctd uses the wall
    clock here, so it is not the oracle)."""
    e = Ether(src=MAC_A, dst=MAC_B)
    u = e / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=1, dport=2)
    ur = e / IP(src="192.0.2.2", dst="192.0.2.1") / UDP(sport=2, dport=1)
    t = e / IP(src="192.0.2.1", dst="192.0.2.2") / TCP(sport=3, dport=4, flags="A")
    times = [(0, u), (5, u), (16, u),  # 11 s idle > 10: a second flow
             (20, ur), (29, u),        # the reverse direction keeps it alive
             (0, t), (16, t), (37, t)]  # TCP lifetime 20: one flow, then a second
    pkts = []
    for dt, p in sorted(times, key=lambda x: x[0]):
        q = p.copy()
        q.time = T0 + dt
        pkts.append(q)
    pcap = tmp_path / "life.pcap"
    wrpcap(str(pcap), pkts)
    rows = netacct_rows(tmp_path, pcap, ["src_host", "dst_host", "proto", "flows"],
                        {"pmacctd_flow_lifetime": 10, "pmacctd_flow_tcp_lifetime": 20})
    got = {(r["SRC_IP"], r["PROTOCOL"]): (int(r["PACKETS"]), int(r["FLOWS"])) for r in rows}
    assert got == {("192.0.2.1", "udp"): (4, 2), ("192.0.2.2", "udp"): (1, 1),
                   ("192.0.2.1", "tcp"): (3, 2)}


def test_flow_buffer_bounded(tmp_path):
    """More concurrent flows than pmacctd_flow_buffer_size holds: every packet is still
    accounted, the state stays bounded and the forgotten flows are counted."""
    e = Ether(src=MAC_A, dst=MAC_B)
    pkts = [e / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=10000 + i % 5000, dport=53)
            for i in range(10000)]
    pcap = write(tmp_path / "many.pcap", pkts, step=0.001)
    out = tmp_path / "many.csv"
    d = run_to_end(tmp_path, savefile_config(pcap, out, ["dst_port", "flows"],
                                             {"pmacctd_flow_buffer_size": 65536}))
    rows = read_csv(out)
    assert [(r["DST_PORT"], r["PACKETS"]) for r in rows] == [("53", "10000")]
    st = last_worker_stats(d.log_text())[0]
    assert st["flows_active"] <= st["records"] and st["flows_active"] < 5000
    assert st["flows_evicted"] > 0
    # each forgotten flow comes back as a new one
    assert int(rows[0]["FLOWS"]) == st["flows"] > 5000


def test_sampling_rate_renormalized(tmp_path):
    e = Ether(src=MAC_A, dst=MAC_B)
    n = 4000
    pkts = [e / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=1, dport=2) / Raw(b"s" * 72)]
    pkts = [pkts[0].copy() for _ in range(n)]
    pcap = write(tmp_path / "sampled.pcap", pkts, step=0.001)
    agg = ["src_host", "sampling_rate"]
    for renorm in ("false", "true"):
        out = tmp_path / ("s-%s.csv" % renorm)
        d = run_to_end(tmp_path, savefile_config(pcap, out, agg, {
            "sampling_rate": 8, "pmacctd_renormalize": renorm}), name="s" + renorm)
        st = last_worker_stats(d.log_text())[0]
        assert st["records"] + st["sampled_out"] == n
        assert 0 < st["records"] < n
        (r,) = read_csv(out)
        assert r["SAMPLING_RATE"] == "8"
        scale = 8 if renorm == "true" else 1
        assert int(r["PACKETS"]) == scale * st["records"]
        assert int(r["BYTES"]) == scale * st["records"] * 100


# --------------------------------------------------------------------------
# pcap_savefile: replay, purges while reading, stopped mid-file, time_new


def test_savefile_replay(tmp_path):
    frames, lt = framed("ethernet", ip_packets())
    pcap = write(tmp_path / "r.pcap", frames, lt)
    agg = ["src_host", "dst_host", "proto", "flows"]
    once = rows_key(netacct_rows(tmp_path, pcap, agg, name="once"))
    thrice = rows_key(netacct_rows(tmp_path, pcap, agg, {"pcap_savefile_replay": 3},
                                   name="thrice"))
    # every pass is accounted like the first, flows included
    assert thrice == {k: tuple(3 * c for c in v) for k, v in once.items()}


def test_savefile_delay_between_passes(tmp_path):
    """pcap_savefile_delay with two passes: both passes read, each once."""
    frames, lt = framed("ethernet", ip_packets())
    pcap = write(tmp_path / "d.pcap", frames, lt)
    out = tmp_path / "d.csv"
    d = run_to_end(tmp_path, savefile_config(pcap, out, ["proto"], {
        "pcap_savefile_delay": 1, "pcap_savefile_replay": 2}))
    assert "end of file after 2 passes, 20 packets" in d.log_text()
    assert {r["PROTOCOL"]: int(r["PACKETS"]) for r in read_csv(out)} == \
        {"tcp": 12, "udp": 6, "icmp": 2}


def test_purges_while_reading_account_every_packet(tmp_path):
    """A capture of 5 minutes with a 60 s refresh: one file per minute of capture time,
    and every packet in exactly one of them."""
    e = Ether(src=MAC_A, dst=MAC_B)
    t0 = 1699999980  # a minute boundary
    pkts, want = [], collections.Counter()
    for k in range(300):
        src = "10.0.%d.%d" % (k // 60, k % 7)
        p = e / IP(src=src, dst="192.0.2.1") / UDP(sport=1, dport=2)
        p.time = t0 + k + 0.5
        pkts.append(p)
        want[src] += 1
    pcap = tmp_path / "minutes.pcap"
    wrpcap(str(pcap), pkts)
    out = tmp_path / "out-%Y%m%d-%H%M.csv"
    run_to_end(tmp_path, savefile_config(pcap, out, ["src_host"], refresh=60))
    files = sorted(tmp_path.glob("out-*.csv"))
    assert len(files) == 5, [f.name for f in files]
    got = collections.Counter()
    for f in files:
        for r in read_csv(f):
            assert r["SRC_IP"] not in got, "%s in two intervals" % r["SRC_IP"]
            got[r["SRC_IP"]] = int(r["PACKETS"])
    assert got == want


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopped_mid_file_accounts_exactly_once(tmp_path, sig):
    frames, lt = framed("ethernet", ip_packets())
    pcap = write(tmp_path / "loop.pcap", frames, lt)
    out = tmp_path / "stopped.csv"
    passes = 1000000
    d = PacketDaemon(tmp_path, savefile_config(pcap, out, ["src_host", "dst_host", "proto"],
                                               {"pcap_savefile_replay": passes}))
    d.start()
    try:
        # reading has started: records accounted (SIGUSR1 stats)
        wait_for(lambda: d.stats().total("records") > 0, TIMEOUT, "records accounted")
        d.stop(sig)
    finally:
        d.kill()
    accounted = sum(w["records"] for w in last_worker_stats(d.log_text()).values())
    rows = read_csv(out)
    assert 0 < accounted < passes * len(frames), "the signal did not land mid-file"
    assert sum(int(r["PACKETS"]) for r in rows) == accounted


@pytest.mark.parametrize("time_new", ["false", "true"])
def test_time_new(tmp_path, time_new):
    frames, lt = framed("ethernet", ip_packets()[:1])
    pcap = write(tmp_path / "t.pcap", frames, lt)
    rows = netacct_rows(tmp_path, pcap, ["src_host", "timestamp_arrival"],
                        {"pmacctd_time_new": time_new, "timestamps_since_epoch": "true"})
    (r,) = rows
    t = float(r["TIMESTAMP_ARRIVAL"])
    if time_new == "false":
        assert t == T0
    else:
        assert t > T0 + 365 * 86400  # the clock of the run, not of the capture


def test_savefile_wait_and_privileges(tmp_path):
    """With pcap_savefile_wait the daemon stays after the file; with user: nobody it
    runs as nobody once the file is open, and writes its output as nobody."""
    frames, lt = framed("ethernet", ip_packets())
    pcap = write(tmp_path / "w.pcap", frames, lt)
    nobody = pwd.getpwnam("nobody")
    outdir = Path(tempfile.mkdtemp(prefix="netacct-priv-"))
    try:
        os.chmod(outdir, 0o777)
        out = outdir / "w.csv"
        d = PacketDaemon(tmp_path, savefile_config(pcap, out, ["proto"], {
            "pcap_savefile_wait": "true", "user": "nobody", "group": "nogroup"}))
        d.start()
        try:
            d.wait_log(r"end of file after 1 pass, 10 packets; waiting")
            status = Path("/proc/%d/status" % d.proc.pid).read_text()
            uid = re.search(r"^Uid:\s+(\d+)\s+(\d+)", status, re.M)
            assert (int(uid.group(1)), int(uid.group(2))) == (nobody.pw_uid, nobody.pw_uid)
            gid = re.search(r"^Gid:\s+(\d+)\s+(\d+)", status, re.M)
            nogroup = grp.getgrnam("nogroup").gr_gid
            assert (int(gid.group(1)), int(gid.group(2))) == (nogroup, nogroup)
            assert re.search(r"^Groups:\s+%d\s*$" % nogroup, status, re.M), status
            d.stop(signal.SIGTERM)
        finally:
            d.kill()
        assert os.stat(out).st_uid == nobody.pw_uid
        assert sum(int(r["PACKETS"]) for r in read_csv(out)) == 10
    finally:
        for f in outdir.iterdir():
            f.unlink()
        outdir.rmdir()


def test_bad_keys_are_named(tmp_path):
    import subprocess
    for body, key in (("pcap_interface: nonexistent0\n", "nonexistent0"),
                      ("pcap_protocol: ipv4\n", "pcap_protocol"),
                      ("pcap_interfaces_map: %s\n" % (tmp_path / "none.map"),
                       "pcap_interfaces_map"),
                      ("user: no-such-user-here\npcap_savefile: %s\n" %
                       write(tmp_path / "u.pcap", framed("raw", ip_packets())[0], 101),
                       "user")):
        conf = tmp_path / "bad.conf"
        conf.write_text(body + print_config(tmp_path / "x.csv", ["proto"]))
        p = subprocess.run([str(PMACCTD), "-f", str(conf)], capture_output=True, text=True,
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        assert p.returncode != 0 and key in p.stderr, (body, p.stderr)


# --------------------------------------------------------------------------
# live capture in a network namespace


@pytest.mark.parametrize("workers", [1, 2])
def test_live_capture_veth(tmp_path, workers):
    need_netns()
    with VethPair() as v:
        out = tmp_path / "live.csv"
        conf = ("pcap_interface: %s\npcap_filter: udp and port 9999\npcap_ifindex: sys\n"
                "reactor_workers: %d\n" % (v.a, workers) +
                print_config(out, ["src_mac", "dst_mac", "in_iface", "src_host", "dst_host",
                                   "src_port", "dst_port", "proto"]))
        d = PacketDaemon(tmp_path, conf, prefix=v.exec_a())
        d.start()
        assert d.nworkers == workers
        sports = (40000, 40001, 40002, 40003)
        v.send_udp_from_b(v.addr_a, 9999, 25, 100, sports)
        wait_packets(d, 25 * len(sports))
        d.stop(signal.SIGTERM)
        rows = read_csv(out)
        ifx = v.ifindex_a()
        got = {(r["SRC_MAC"], r["DST_MAC"], r["IN_IFACE"], r["SRC_IP"], r["DST_IP"],
                r["SRC_PORT"], r["DST_PORT"], r["PROTOCOL"]): (int(r["PACKETS"]),
                                                               int(r["BYTES"]))
               for r in rows}
        assert got == {(v.mac("b"), v.mac("a"), str(ifx), v.addr_b, v.addr_a, str(sp), "9999",
                        "udp"): (25, 25 * 128) for sp in sports}


def test_live_capture_interfaces_map_direction(tmp_path):
    """pcap_interfaces_map: its ifindex, and direction out fills out_iface with it."""
    need_netns()
    with VethPair() as v:
        m = tmp_path / "ifaces.map"
        m.write_text("ifindex=100 ifname=%s direction=out\n" % v.a)
        out = tmp_path / "map.csv"
        conf = ("pcap_interfaces_map: %s\npcap_ifindex: map\npcap_filter: udp\n"
                "reactor_workers: 1\n" % m +
                print_config(out, ["in_iface", "out_iface", "src_host", "dst_host", "proto"]))
        d = PacketDaemon(tmp_path, conf, prefix=v.exec_a())
        d.start()
        # a sends to b: outgoing on a; b's datagrams to a (incoming) are not captured
        code = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "for i in range(7): s.sendto(b'o' * 10, ('%s', 9))\n" % v.addr_b)
        import subprocess
        subprocess.run(v.exec_a() + ["/usr/bin/python3", "-c", code], check=True,
                       timeout=TIMEOUT)
        v.send_udp_from_b(v.addr_a, 9998, 3, 10)
        wait_packets(d, 7)
        d.stop(signal.SIGTERM)
        got = [(r["IN_IFACE"], r["OUT_IFACE"], r["SRC_IP"], r["PACKETS"]) for r in
               read_csv(out)]
        assert got == [("0", "100", v.addr_a, "7")]


# --------------------------------------------------------------------------
# nDPI classification


def classify_capture():
    """HTTP, DNS and TLS conversations, each with its handshake and answers; returns the
    frames and {server port: (want class, packets)}."""
    from scapy.all import DNS, DNSQR, DNSRR
    from scapy.layers.tls.all import TLS, TLSClientHello
    from scapy.layers.tls.extensions import ServerName, TLS_Ext_ServerName
    e, r = Ether(src=MAC_A, dst=MAC_B), Ether(src=MAC_B, dst=MAC_A)
    cli, srv = "192.0.2.50", "198.51.100.80"

    def tcp_conv(sport, dport, request, answer):
        c, s = IP(src=cli, dst=srv), IP(src=srv, dst=cli)
        cs, ss = 1000, 5000
        return [
            e / c / TCP(sport=sport, dport=dport, flags="S", seq=cs),
            r / s / TCP(sport=dport, dport=sport, flags="SA", seq=ss, ack=cs + 1),
            e / c / TCP(sport=sport, dport=dport, flags="A", seq=cs + 1, ack=ss + 1),
            e / c / TCP(sport=sport, dport=dport, flags="PA", seq=cs + 1, ack=ss + 1) /
            Raw(request),
            r / s / TCP(sport=dport, dport=sport, flags="A", seq=ss + 1,
                        ack=cs + 1 + len(request)),
            r / s / TCP(sport=dport, dport=sport, flags="PA", seq=ss + 1,
                        ack=cs + 1 + len(request)) / Raw(answer),
            e / c / TCP(sport=sport, dport=dport, flags="A", seq=cs + 1 + len(request),
                        ack=ss + 1 + len(answer)),
        ]
    http = tcp_conv(40080, 80, b"GET /index.html HTTP/1.1\r\nHost: www.example.org\r\n"
                    b"User-Agent: netacct-test/1.0\r\nAccept: */*\r\n\r\n",
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n"
                    b"\r\nhello")
    hello = bytes(TLS(msg=[TLSClientHello(ext=[TLS_Ext_ServerName(
        servernames=[ServerName(servername=b"www.example.org")])])]))
    tls = tcp_conv(40443, 443, hello, b"\x15\x03\x03\x00\x02\x02\x28")
    dns = [e / IP(src=cli, dst=srv) / UDP(sport=40053, dport=53) /
           DNS(id=7, rd=1, qd=DNSQR(qname="www.example.org")),
           r / IP(src=srv, dst=cli) / UDP(sport=53, dport=40053) /
           DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.org"),
               an=DNSRR(rrname="www.example.org", rdata="198.51.100.81"))]
    frames = http + dns + tls
    return frames, {"80": ("HTTP", len(http)), "53": ("DNS", len(dns)),
                    "443": ("TLS", len(tls))}


def test_ndpi_classifies_http_dns_tls(tmp_path):
    frames, want = classify_capture()
    pcap = write(tmp_path / "apps.pcap", frames)
    out = tmp_path / "class.csv"
    d = run_to_end(tmp_path, savefile_config(pcap, out, ["src_port", "dst_port", "class"]))
    if "built without nDPI" in d.log_text():
        pytest.skip("built without nDPI")
    rows = read_csv(out)
    for port, (app, n) in want.items():
        mine = [r for r in rows if port in (r["SRC_PORT"], r["DST_PORT"])]
        assert sum(int(r["PACKETS"]) for r in mine) == n
        classes = {r["CLASS"] for r in mine}
        # packets before nDPI concluded are "Unknown/Unknown"; those after carry the app
        assert "Unknown/%s" % app in classes, (port, classes)
        assert classes <= {"Unknown/%s" % app, "Unknown/Unknown"}, (port, classes)
    # DNS is named on its first packet, the TCP ones on their first payload
    assert {(r["DST_PORT"], r["CLASS"]) for r in rows if r["DST_PORT"] == "53"} == \
        {("53", "Unknown/DNS")}
    # both directions of each conversation carry the name once it is known
    http_back = [r for r in rows if r["SRC_PORT"] == "80" and r["CLASS"] == "Unknown/HTTP"]
    assert http_back and sum(int(r["PACKETS"]) for r in http_back) >= 1


def test_live_capture_waits_for_interface(tmp_path):
    """pcap_interface_wait: started before its interface exists, pmacctd captures on it
    once it appears."""
    need_netns()
    with VethPair() as v:
        sh("ip", "-n", v.ns_a, "link", "set", v.a, "name", v.a + "x")  # not there yet
        out = tmp_path / "wait.csv"
        conf = ("pcap_interface: %s\npcap_interface_wait: true\npcap_filter: udp\n"
                "reactor_workers: 1\n" % v.a + print_config(out, ["src_host", "proto"]))
        d = PacketDaemon(tmp_path, conf, prefix=v.exec_a())
        d.start()
        d.wait_log(r"waiting for it \(pcap_interface_wait\)")
        sh("ip", "-n", v.ns_a, "link", "set", v.a + "x", "down")
        sh("ip", "-n", v.ns_a, "link", "set", v.a + "x", "name", v.a)
        sh("ip", "-n", v.ns_a, "link", "set", v.a, "up")
        d.wait_log(r"interface %s is up, capturing" % v.a, timeout=TIMEOUT * 2)
        v.send_udp_from_b(v.addr_a, 9999, 9, 10)
        wait_packets(d, 9)
        d.stop(signal.SIGTERM)
        assert [(r["SRC_IP"], r["PACKETS"]) for r in read_csv(out)] == [(v.addr_b, "9")]


def test_live_capture_pcap_protocol(tmp_path):
    """pcap_protocol: 0x86dd captures IPv6 only (pcap_set_protocol_linux)."""
    need_netns()
    with VethPair() as v:
        out = tmp_path / "proto.csv"
        conf = ("pcap_interface: %s\npcap_protocol: 0x86dd\npcap_filter: udp\n"
                "reactor_workers: 1\n" % v.a + print_config(out, ["src_host", "proto"]))
        d = PacketDaemon(tmp_path, conf, prefix=v.exec_a())
        d.start()
        v.send_udp_from_b(v.addr_a, 9999, 5, 10)
        v.send_udp_from_b("fd99::1", 9999, 6, 10)
        wait_packets(d, 6)
        d.stop(signal.SIGTERM)
        assert [(r["SRC_IP"], r["PACKETS"]) for r in read_csv(out)] == [("fd99::2", "6")]


def test_live_capture_handoff(tmp_path):
    """pmacctd_fanout: false with 2 workers: worker 0 captures and hands each host pair's
    frames to its worker; every packet is accounted once, and both workers take some."""
    need_netns()
    with VethPair() as v:
        srcs = ["10.99.0.%d" % i for i in range(10, 18)]
        for a in srcs:
            v.add_addr_b(a)
        out = tmp_path / "handoff.csv"
        conf = ("pcap_interface: %s\npmacctd_fanout: false\npcap_filter: udp and port 9999\n"
                "reactor_workers: 2\n" % v.a +
                print_config(out, ["src_host", "src_port", "dst_port", "flows"]))
        d = PacketDaemon(tmp_path, conf, prefix=v.exec_a())
        d.start()
        for a in srcs:
            v.send_udp_from_b(v.addr_a, 9999, 10, 50, (40000, 40001), src=a)
        wait_packets(d, 10 * 2 * len(srcs))
        st = d.stats()
        d.stop(signal.SIGTERM)
        assert st.workers[0]["handed_off"] > 0 and st.workers[0]["handoff_dropped"] == 0
        assert st.workers[1]["records"] == st.workers[0]["handed_off"]
        got = {(r["SRC_IP"], r["SRC_PORT"]): (int(r["PACKETS"]), int(r["FLOWS"]))
               for r in read_csv(out)}
        assert got == {(a, str(p)): (10, 1) for a in srcs for p in (40000, 40001)}


def test_command_line_flags(tmp_path):
    """pmacct's pmacctd flags: -I savefile, -L snaplen, -c aggregate, -O/-o output."""
    import subprocess
    frames, lt = framed("ethernet", ip_packets())
    pcap = write(tmp_path / "cli.pcap", frames, lt)
    out = tmp_path / "cli.csv"
    p = subprocess.run([str(PMACCTD), "-I", str(pcap), "-L", "96", "-c", "proto",
                        "-O", "csv", "-o", str(out), "-r", "3600"], capture_output=True,
                       text=True, timeout=TIMEOUT * 2, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert {r["PROTOCOL"]: int(r["PACKETS"]) for r in read_csv(out)} == \
        {"tcp": 6, "udp": 3, "icmp": 1}
    p = subprocess.run([str(PMACCTD), "-L", "10", "-I", str(pcap)], capture_output=True,
                       text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert p.returncode != 0 and "snaplen" in p.stderr, p.stderr
