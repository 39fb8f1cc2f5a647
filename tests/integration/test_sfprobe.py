"""sfprobe (issue 14): pmacctd exports what it captures as sFlow v5.

Our pmacctd reads a capture crafted here with scapy (fixed seed: IPv4 and IPv6,
TCP and UDP, each packet's index in its payload) through pcap_savefile and
exports it with `plugins: sfprobe`.  The totals per 5-tuple expected at the
collectors are computed from the capture by the test itself:

* Debian's sfacctd (pmacct 1.7.7) and nfdump's sfcapd (nfdump-sflow) with
  sampling_rate 1: exactly the capture's packets and bytes per 5-tuple (the
  collectors count the frame length sFlow reports, FCS included: the
  captured length + 4);
* netacct's own sfacctd over IPv6 with an IPv6 agent address: the same
  totals, the agent address, and the generic interface counters (periodic
  and final) equal to the capture's packets and bytes;
* sampling_rate 10: every flow sample, read by the test's own listener, says
  rate 10 and a sample pool equal to the packets seen up to the sampled one
  (its index + 1), with consecutive sequence numbers; the renormalised totals
  at our sfacctd are within four standard deviations of the capture's;
* direction and ifIndex from pre_tag_map tags (sfprobe_direction: tag,
  sfprobe_ifindex: tag2);
* configuration errors: sfprobe in a collector daemon, bad keys.
"""
import collections
import math
import random
import re
import signal
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import (SANITIZER_MARKERS, TIMEOUT, free_port, merge_rows, read_csv, read_json,
                      read_text, wait_for)
from packet_util import (PMACCTD, UACCTD, PacketDaemon, VethPair, last_worker_stats, need_netns,
                         run_to_end, wait_packets)
from test_sflow import (SFACCTD, SfDaemon, pm_sfacctd, print_body,  # noqa: F401 (fixtures)
                        sfacctd)
from test_uacctd import GROUP, nft_log_rules

scapy = pytest.importorskip("scapy.all")
from scapy.all import (IP, TCP, UDP, CookedLinux, CookedLinuxV2, Ether, IPv6,  # noqa: E402
                       Raw, raw, wrpcap)

SFCAPD = Path("/usr/bin/sfcapd")
NFDUMP = Path("/usr/bin/nfdump")
T0 = 1700000000.0
AGG = "src_host, dst_host, src_port, dst_port, proto"
FINAL = re.compile(r"\( s/sfprobe \): final stats module samples=(\d+) counter_samples=(\d+) "
                   r"datagrams=(\d+) send_errors=(\d+) lost_samples=(\d+)")


LINKTYPES = {"ethernet": None, "sll": 113, "sll2": 276, "raw": 101}


def capture(path, n=400, seed=14, step=0.002, link="ethernet"):
    """Write the capture; return [(5-tuple, frame length as sFlow reports it)] in capture
    order."""
    rnd = random.Random(seed)
    hosts4 = ["10.20.0.%d" % i for i in range(1, 4)] + ["10.30.0.%d" % i for i in range(1, 3)]
    hosts6 = ["2001:db8::%x" % i for i in range(1, 4)]
    pkts, seen = [], []
    for i in range(n):
        if rnd.random() < 0.3:
            src, dst = rnd.sample(hosts6, 2)
            ip = IPv6(src=src, dst=dst)
        else:
            src, dst = rnd.sample(hosts4, 2)
            ip = IP(src=src, dst=dst)
        if rnd.random() < 0.5:
            sport, dport, proto = rnd.choice([80, 443]), rnd.randint(30000, 30002), "tcp"
            l4 = TCP(sport=sport, dport=dport, flags="A")
        else:
            sport, dport, proto = rnd.choice([53, 123]), rnd.randint(40000, 40002), "udp"
            l4 = UDP(sport=sport, dport=dport)
        p = ip / l4 / Raw(b"%06d" % i + b"z" * rnd.randint(0, 1200))
        # what sFlow reports as the frame: Ethernet with its FCS, else the IP packet
        # (the link header stripped)
        seen.append(((src, dst, sport, dport, proto), len(raw(p)) + (18 if link == "ethernet"
                                                                      else 0)))
        if link == "ethernet":
            p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / p
        elif link == "sll":
            p = CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=b"\x02" + b"\0" * 7,
                            proto=0x86DD if IPv6 in p else 0x0800) / p
        elif link == "sll2":
            p = CookedLinuxV2(proto=0x86DD if IPv6 in p else 0x0800, ifindex=3, lladdrtype=1,
                              pkttype=0, lladdrlen=6) / p
        p.time = T0 + i * step
        pkts.append(p)
    wrpcap(str(path), pkts, linktype=LINKTYPES[link])
    return seen


def expected(seen):
    """{5-tuple: [packets, bytes]} as an sFlow collector counts them at rate 1."""
    tot = collections.defaultdict(lambda: [0, 0])
    for k, length in seen:
        tot[k][0] += 1
        tot[k][1] += length
    return {k: tuple(v) for k, v in tot.items()}


def rows_by_tuple(rows):
    out = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        k = (r["ip_src"], r["ip_dst"], r["port_src"], r["port_dst"], r["ip_proto"])
        out[k][0] += r["packets"]
        out[k][1] += r["bytes"]
    return {k: tuple(v) for k, v in out.items()}


def run_probe(tmp_path, pcap, body, name="pmacctd"):
    """Our pmacctd with `body` over the capture, to its end: the sfprobe[s] final stats."""
    conf = "pcap_savefile: %s\nsnaplen: 128\n%s" % (pcap, body)
    d = run_to_end(tmp_path, conf, name=name)
    m = FINAL.search(d.log_text())
    assert m, d.log_text()
    st = dict(zip(("samples", "counter_samples", "datagrams", "send_errors", "lost_samples"),
                  map(int, m.groups())))
    assert st["send_errors"] == 0 and st["lost_samples"] == 0, st
    return st, d


def probe_body(receiver, extra=""):
    return "plugins: sfprobe[s]\nsfprobe_receiver[s]: %s\n%s" % (receiver, extra)


# ---------------------------------------------------------------------------
# collectors nobody here wrote

def test_sfprobe_into_pmacct_sfacctd(pm_sfacctd, tmp_path):  # noqa: F811
    seen = capture(tmp_path / "t.pcap")
    out = tmp_path / "pmacct.json"
    p = pm_sfacctd(print_body(out, AGG, refresh=1, append=True) +
                   "sfacctd_pipe_size: 8388608\n")
    st, _ = run_probe(tmp_path, tmp_path / "t.pcap", probe_body("127.0.0.1:%d" % p.port))
    assert st["samples"] == len(seen)
    wait_for(lambda: sum(r.get("packets", 0) for r in read_json(out)) >= len(seen),
             timeout=TIMEOUT * 2, what="pmacct sfacctd output")
    p.stop()
    assert rows_by_tuple(merge_rows(read_json(out))) == expected(seen)


def udp_rx_queue(port):
    """Bytes waiting in the receive queue of the IPv4 UDP socket bound to port."""
    for line in read_text("/proc/net/udp").splitlines()[1:]:
        f = line.split()
        if int(f[1].split(":")[1], 16) == port:
            return int(f[4].split(":")[1], 16)
    return None


def test_sfprobe_into_nfdump_sfcapd(tmp_path):
    if not SFCAPD.exists() or not NFDUMP.exists():
        pytest.skip("nfdump's sfcapd is not installed (apt-get install nfdump-sflow)")
    seen = capture(tmp_path / "t.pcap")
    port = free_port(socket.AF_INET, dual=False)
    store = tmp_path / "sfcapd"
    store.mkdir()
    log = open(tmp_path / "sfcapd.log", "wb")
    sf = subprocess.Popen([str(SFCAPD), "-b", "127.0.0.1", "-p", str(port), "-w", str(store)],
                          stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: udp_rx_queue(port) is not None, what="sfcapd's socket")
        st, _ = run_probe(tmp_path, tmp_path / "t.pcap", probe_body("127.0.0.1:%d" % port))
        assert st["samples"] == len(seen)
        # everything sent is in sfcapd's socket; once it has read it all, stop it
        wait_for(lambda: udp_rx_queue(port) == 0, what="sfcapd reading the datagrams")
        sf.terminate()
        assert sf.wait(TIMEOUT) == 0, read_text(tmp_path / "sfcapd.log")
    finally:
        if sf.poll() is None:
            sf.kill()
            sf.wait()
        log.close()
    files = [f for f in store.rglob("nfcapd.*") if "current" not in f.name]
    assert len(files) == 1, (files, read_text(tmp_path / "sfcapd.log"))
    out = subprocess.run([str(NFDUMP), "-r", str(files[0]), "-o", "csv"], capture_output=True,
                         text=True, timeout=TIMEOUT, check=True).stdout
    lines = out.splitlines()
    head = lines[0].split(",")
    got = collections.defaultdict(lambda: [0, 0])
    for line in lines[1:]:
        if not line or line.startswith("Summary"):
            break
        r = dict(zip(head, line.split(",")))
        k = (r["sa"], r["da"], int(r["sp"]), int(r["dp"]), r["pr"].strip().lower())
        got[k][0] += int(r["ipkt"])
        got[k][1] += int(r["ibyt"])
    assert {k: tuple(v) for k, v in got.items()} == expected(seen)


# ---------------------------------------------------------------------------
# netacct's own sfacctd

def test_sfprobe_into_our_sfacctd_ipv6_with_counters(sfacctd, tmp_path):  # noqa: F811
    seen = capture(tmp_path / "t.pcap", step=0.1)
    out = tmp_path / "flows.json"
    cnt = tmp_path / "counters.json"
    d = sfacctd(print_body(out, AGG + ", peer_src_ip, in_iface, sampling_rate") +
                "sfacctd_counter_file: %s\n" % cnt, ip="::1")
    st, _ = run_probe(tmp_path, tmp_path / "t.pcap", probe_body(
        "[::1]:%d" % d.port, "sfprobe_agentip[s]: 2001:db8::5\nsfprobe_agentsubid[s]: 77\n"
        "sfprobe_ifindex[s]: 7\nsfprobe_direction[s]: in\nsfprobe_ifspeed[s]: 10000000000\n"))
    assert st["samples"] == len(seen)
    d.wait_datagrams(st["datagrams"])
    d.stop()
    rows = read_json(out)
    assert {(r["peer_ip_src"], r["iface_in"], r["sampling_rate"]) for r in rows} == \
        {("2001:db8::5", 7, 1)}
    assert rows_by_tuple(rows) == expected(seen)

    # interface counters: one every 20 s of the capture's 40, and the last word at the end
    c = [r for r in read_json(cnt) if r["event_type"] == "log"]
    assert len(c) == st["counter_samples"] >= 2
    assert [r["sflow_cnt_seq"] for r in c] == list(range(1, len(c) + 1))
    assert {(r["sflow_sub_agent_id"], r["ifIndex"], r["source_id_index"], r["ifSpeed"],
             r["ifType"], r["ifStatus"]) for r in c} == {(77, 7, 7, 10000000000, 6, 3)}
    assert [r["ifInUcastPkts"] for r in c] == sorted(r["ifInUcastPkts"] for r in c)
    last = c[-1]
    assert (last["ifInUcastPkts"], last["ifInOctets"], last["ifOutUcastPkts"]) == \
        (len(seen), sum(length - 4 for _, length in seen), 0)
    # the periodic one: the packets of the capture's first 20 s (0.1 s apart; the
    # packet at 20 s itself is in or out as the pcap's microseconds round)
    assert c[0]["ifInUcastPkts"] in (200, 201)


@pytest.mark.parametrize("link", ["sll", "sll2", "raw"])
def test_sfprobe_other_link_types(sfacctd, tmp_path, link):  # noqa: F811
    """Frames without an Ethernet header: IPv4/IPv6 header records, the link header
    stripped, frame_length the IP packet's."""
    seen = capture(tmp_path / "t.pcap", link=link)
    out = tmp_path / "flows.json"
    d = sfacctd(print_body(out, AGG))
    st, _ = run_probe(tmp_path, tmp_path / "t.pcap", probe_body("127.0.0.1:%d" % d.port))
    assert st["samples"] == len(seen)
    d.wait_datagrams(st["datagrams"])
    d.stop()
    assert rows_by_tuple(read_json(out)) == expected(seen)


def parse_datagram(d):
    """The header and samples of one sFlow v5 datagram (the layouts the test relies on)."""
    words = lambda off, n: struct.unpack_from("!%dI" % n, d, off)  # noqa: E731
    version, atype = words(0, 2)
    assert version == 5
    off = 8 + (4 if atype == 1 else 16)
    sub, seq, _uptime, nsamples = words(off, 4)
    off += 16
    flows, counters = [], []
    for _ in range(nsamples):
        fmt, length = words(off, 2)
        body = off + 8
        if fmt == 1:
            sseq, src, rate, pool, drops, inp, outp, nrec = words(body, 8)
            rfmt, _rlen, proto, flen, stripped, hlen = words(body + 32, 6)
            assert (nrec, rfmt) == (1, 1)
            hdr = d[body + 56:body + 56 + hlen]
            flows.append(dict(seq=sseq, source=src, rate=rate, pool=pool, drops=drops,
                              proto=proto, frame_length=flen, stripped=stripped, header=hdr))
        elif fmt == 2:
            sseq, src, nrec = words(body, 3)
            rfmt, _rlen = words(body + 12, 2)
            assert (nrec, rfmt) == (1, 1)
            in_pkts, = words(body + 20 + 32, 1)  # ifInUcastPkts
            counters.append(dict(seq=sseq, source=src, in_pkts=in_pkts))
        off = body + length
    assert off == len(d)
    return sub, seq, flows, counters


def packet_index(h):
    """The index capture() wrote at the start of the payload of a sampled header."""
    v6 = h[12:14] == b"\x86\xdd"
    l3, proto = (40, h[20]) if v6 else (20, h[23])
    off = 14 + l3 + (20 if proto == 6 else 8)
    return int(h[off:off + 6])


@pytest.mark.parametrize("sampler", ["core", "probe"])
def test_sfprobe_sampling_pool_and_renormalised_totals(sfacctd, tmp_path, sampler):  # noqa: F811
    """sampling_rate (the core's, for every output) or sfprobe_sampling_rate (the
    probe's own, while a print output counts every packet).  Two sfprobe outputs see
    the same packets and sample alike (fixed seeds): one to our sfacctd, one to the
    test's listener."""
    rate, n = 10, 3000
    seen = capture(tmp_path / "t.pcap", n=n, seed=41, step=0.005)
    out = tmp_path / "flows.json"
    d = sfacctd(print_body(out, AGG, extra="sfacctd_renormalize: true\n"))
    lst = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    lst.bind(("127.0.0.1", 0))
    every = tmp_path / "every.csv"
    try:
        body = ("plugins: sfprobe[s], sfprobe[t], print[every]\n"
                "sfprobe_receiver[s]: 127.0.0.1:%d\nsfprobe_receiver[t]: 127.0.0.1:%d\n"
                "aggregate[every]: proto\nprint_output[every]: csv\n"
                "print_output_file[every]: %s\n" % (d.port, lst.getsockname()[1], every))
        body += ("sampling_rate: %d\n" if sampler == "core" else
                 "sfprobe_sampling_rate: %d\n") % rate
        st, _ = run_probe(tmp_path, tmp_path / "t.pcap", body)
        # the print output: every packet, or the core's 1 in 10
        printed = sum(int(r["PACKETS"]) for r in read_csv(every))
        assert printed == (n if sampler == "probe" else st["samples"])
        lst.settimeout(TIMEOUT)
        dgrams = [lst.recv(65535) for _ in range(st["datagrams"])]
    finally:
        lst.close()
    d.wait_datagrams(st["datagrams"])
    d.stop()

    samples, counters, dseq = [], [], []
    for dg in dgrams:
        sub, seq, f, c = parse_datagram(dg)
        assert sub == 1402
        dseq.append(seq)
        samples += f
        counters += c
    assert dseq == list(range(1, len(dgrams) + 1))
    assert [s["seq"] for s in samples] == list(range(1, len(samples) + 1))
    assert len(samples) == st["samples"]
    for s in samples:
        idx = packet_index(s["header"])
        # the pool: every packet the sampler saw, up to and including this one
        assert (s["rate"], s["pool"], s["drops"], s["proto"]) == (rate, idx + 1, 0, 1)
        assert (s["frame_length"], s["stripped"]) == (seen[idx][1], 4)
    # the probe learns the totals with each packet it is given: with the core's
    # sampler the last counters count the packets up to the last sampled one, with
    # its own every packet
    assert counters and counters[-1]["in_pkts"] == \
        (n if sampler == "probe" else samples[-1]["pool"])

    # 1-in-10 at random: the count of samples is Binomial(n, 1/10); four standard
    # deviations (with the seed fixed the draw is the same each run, and a fair
    # sampler lands outside this band with probability about 6e-5)
    p = 1.0 / rate
    assert abs(len(samples) - n * p) <= 4 * math.sqrt(n * p * (1 - p))
    got = rows_by_tuple(read_json(out))
    want = expected(seen)
    assert set(got) <= set(want)
    for k, (pk, _b) in want.items():
        gp = got.get(k, (0, 0))[0]
        assert gp % rate == 0
        # per 5-tuple: the renormalised packets rate * Binomial(pk, 1/rate)
        assert abs(gp - pk) <= 4 * rate * math.sqrt(pk * p * (1 - p)) + rate, (k, gp, pk)
    assert sum(v[0] for v in got.values()) == rate * len(samples)


def test_sfprobe_direction_and_ifindex_from_tags(sfacctd, tmp_path):  # noqa: F811
    seen = capture(tmp_path / "t.pcap", n=200)
    m = tmp_path / "pretag.map"
    m.write_text("set_tag=2 set_tag2=20 filter='src net 10.20.0.0/24'\n"
                 "set_tag=1 set_tag2=10 filter='not src net 10.20.0.0/24'\n")
    out = tmp_path / "flows.json"
    d = sfacctd(print_body(out, "src_host, in_iface, out_iface"))
    st, _ = run_probe(tmp_path, tmp_path / "t.pcap", probe_body(
        "127.0.0.1:%d" % d.port, "pre_tag_map: %s\nsfprobe_direction[s]: tag\n"
        "sfprobe_ifindex[s]: tag2\n" % m))
    d.wait_datagrams(st["datagrams"])
    d.stop()
    ifaces = collections.Counter()
    for r in read_json(out):
        want = (0, 20) if r["ip_src"].startswith("10.20.") else (10, 0)
        assert (r["iface_in"], r["iface_out"]) == want, r
        ifaces[want] += r["packets"]
    n20 = sum(1 for k, _ in seen if k[0].startswith("10.20."))
    assert ifaces == {(0, 20): n20, (10, 0): len(seen) - n20}


# ---------------------------------------------------------------------------
# configuration

def run_bad(tmp_path, binary, text):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    p = subprocess.run([str(binary), "-f", str(conf)], cwd=str(tmp_path), capture_output=True,
                       text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    for marker in SANITIZER_MARKERS:
        assert marker not in p.stderr, p.stderr
    assert p.returncode != 0, p.stderr
    return p.stderr


@pytest.mark.parametrize("binary", [SFACCTD, PMACCTD.parent / "nfacctd"])
def test_sfprobe_only_in_capture_daemons(tmp_path, binary):
    err = run_bad(tmp_path, binary, "plugins: sfprobe[s]\n")
    assert "plugin type 'sfprobe' runs only in pmacctd and uacctd" in err, err


@pytest.mark.parametrize("key, value, why", [
    ("sfprobe_receiver", "127.0.0.1", "is not address:port"),
    ("sfprobe_receiver", "[::1]:0", "the port is not 1..65535"),
    ("sfprobe_ifindex", "eth0", "not tag, tag2 or a number"),
    ("sfprobe_agentip", "agent", "not an IPv4 or IPv6 address"),
    ("sfprobe_ifspeed", "fast", "not a number of bit/s"),
])
def test_sfprobe_bad_keys(tmp_path, key, value, why):
    pcap = tmp_path / "t.pcap"
    capture(pcap, n=3)
    err = run_bad(tmp_path, PMACCTD, "pcap_savefile: %s\nplugins: sfprobe[s]\n%s[s]: %s\n" %
                  (pcap, key, value))
    assert "key '%s[s]'" % key in err and why in err, err


def test_sfprobe_ipprec_marks_the_datagrams_ipv6(tmp_path):
    """sfprobe_ipprec 6 towards an IPv6 receiver: traffic class 0xc0 on every datagram."""
    capture(tmp_path / "t.pcap", n=50)
    rx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    rx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
    rx.bind(("::1", 0))
    try:
        st, _ = run_probe(tmp_path, tmp_path / "t.pcap", probe_body(
            "[::1]:%d" % rx.getsockname()[1], "sfprobe_ipprec[s]: 6\n"))
        rx.settimeout(TIMEOUT)
        tclass = []
        for _ in range(st["datagrams"]):
            _, anc, _, _ = rx.recvmsg(65535, socket.CMSG_SPACE(4))
            tclass += [struct.unpack("i", d[:4])[0] for lvl, typ, d in anc
                       if lvl == socket.IPPROTO_IPV6 and typ == socket.IPV6_TCLASS]
    finally:
        rx.close()
    assert st["datagrams"] >= 1 and tclass == [6 << 5] * st["datagrams"]


def test_example_config_runs(sfacctd, tmp_path):  # noqa: F811
    """contrib/examples/sfprobe.conf on a capture instead of eth1, into our sfacctd."""
    seen = capture(tmp_path / "t.pcap", n=1000)
    example = (Path(__file__).resolve().parents[2] / "contrib/examples/sfprobe.conf").read_text()
    out = tmp_path / "flows.json"
    d = sfacctd(print_body(out, "peer_src_ip, sampling_rate"))
    conf = (example.replace("/var/lib/netacct", str(tmp_path))
            .replace("pcap_interface: eth1", "pcap_savefile: %s" % (tmp_path / "t.pcap"))
            .replace("pcap_ifindex: sys\n", "")
            .replace("192.0.2.50:6343", "127.0.0.1:%d" % d.port))
    conf = "\n".join(l for l in conf.splitlines() if not l.startswith("logfile:")) + "\n"
    p = run_to_end(tmp_path, conf, name="example")
    m = re.search(r"\( sf/sfprobe \): final stats module samples=(\d+) counter_samples=\d+ "
                  r"datagrams=(\d+) send_errors=0", p.log_text())
    assert m, p.log_text()
    samples, datagrams = int(m.group(1)), int(m.group(2))
    d.wait_datagrams(datagrams)
    d.stop()
    assert [(r["peer_ip_src"], r["sampling_rate"], r["packets"]) for r in read_json(out)] == \
        [("192.0.2.10", 64, samples)]
    hosts = [f for f in tmp_path.glob("hosts-*.csv")]
    assert len(hosts) == 1
    # the print output saw the same sampled packets, renormalised by 64
    assert sum(int(r["PACKETS"]) for r in read_csv(hosts[0])) == 64 * samples
    assert 0 < samples < len(seen)


# ---------------------------------------------------------------------------
# live capture with several workers

class NsSfDaemon(SfDaemon):
    """Our sfacctd run in a network namespace (prefix: `ip netns exec NS`)."""

    def __init__(self, tmp_path, config, prefix, name):
        super().__init__(tmp_path, config, binary=SFACCTD, name=name, prefix=prefix)


@pytest.mark.parametrize("workers", [1, 2])
def test_sfprobe_live_workers_are_sub_agents(tmp_path, workers):
    """Live pmacctd with N workers: each worker that captured exports as its own
    sub-agent (1402 + worker) with consecutive datagram sequence numbers, and every
    captured packet is one flow sample."""
    need_netns()
    with VethPair() as v:
        port = free_port()
        out = tmp_path / "flows.json"
        d = NsSfDaemon(tmp_path, "sfacctd_port: %d\nsfacctd_ip: 127.0.0.1\nreactor_workers: 1\n"
                       % port + print_body(out, "src_port, in_iface"), v.exec_a(), "sfacctd")
        d.start()
        try:
            conf = ("pcap_interface: %s\npcap_filter: udp and port 9999\npcap_ifindex: sys\n"
                    "reactor_workers: %d\nsnaplen: 128\n" % (v.a, workers) +
                    probe_body("127.0.0.1:%d" % port))
            p = PacketDaemon(tmp_path, conf, prefix=v.exec_a())
            p.start()
            assert p.nworkers == workers
            sports = tuple(range(40000, 40016))
            v.send_udp_from_b(v.addr_a, 9999, 10, 100, sports)
            wait_packets(p, 10 * len(sports))
            p.stop(signal.SIGTERM)
            m = FINAL.search(p.log_text())
            assert m, p.log_text()
            per_worker = last_worker_stats(p.log_text())
            d.wait_datagrams(int(m.group(3)))
            st = d.stats()
            d.stop()
        finally:
            d.kill()
        captured = {w for w, c in per_worker.items() if c["datagrams"]}
        # 16 flows over the fanout hash: each worker gets some (all on one: 2**-15)
        assert len(captured) == workers
        agents = {a["sub_agent"]: a for a in st.agents}
        assert set(agents) == {1402 + w for w in captured}
        for a in agents.values():
            assert a["agent"] == "127.0.0.1"
            assert (a["seq_gaps"], a["lost_datagrams"], a["seq_resets"]) == (0, 0, 0), a
            assert a["flow_samples"] == per_worker[a["sub_agent"] - 1402]["datagrams"]
        rows = read_json(out)
        assert sum(r["packets"] for r in rows) == 10 * len(sports)
        # the data source and input interface: the capture's ifIndex (pcap_ifindex: sys)
        assert {(r["port_src"], r["iface_in"]) for r in rows} == \
            {(sp, v.ifindex_a()) for sp in sports}


def test_sfprobe_uacctd_nflog(tmp_path):
    """uacctd: NFLOG gives received packets with their Ethernet header (Ethernet header
    records), sent ones as raw IP (IPv4 header records), and the interface of each
    direction: received packets are sampled on input, sent ones on output."""
    need_netns()
    with VethPair() as v:
        nft_log_rules(v)
        port = free_port()
        out = tmp_path / "flows.json"
        d = NsSfDaemon(tmp_path, "sfacctd_port: %d\nsfacctd_ip: 127.0.0.1\nreactor_workers: 1\n"
                       % port + print_body(out, AGG + ", in_iface, out_iface"), v.exec_a(),
                       "sfacctd")
        d.start()
        try:
            conf = "uacctd_group: %d\nsnaplen: 128\n" % GROUP + \
                probe_body("127.0.0.1:%d" % port, "sfprobe_agentsubid[s]: 5\n")
            u = PacketDaemon(tmp_path, conf, binary=UACCTD, name="uacctd", prefix=v.exec_a())
            u.start()
            v.send_udp_from_b(v.addr_a, 9999, 20, 100, (41000, 41001))  # logged on input
            v.send_udp_from_b("fd99::1", 9999, 5, 30)
            code = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                    "s.bind(('', 42000))\n"
                    "for i in range(7): s.sendto(b'o' * 10, ('%s', 9998))\n" % v.addr_b)
            subprocess.run(v.exec_a() + ["/usr/bin/python3", "-c", code], check=True,
                           timeout=TIMEOUT)                           # logged on output
            wait_packets(u, 40 + 5 + 7)
            u.stop(signal.SIGTERM)
            m = FINAL.search(u.log_text())
            assert m, u.log_text()
            d.wait_datagrams(int(m.group(3)))
            d.stop()
        finally:
            d.kill()
        ifx = v.ifindex_a()
        got = {(r["ip_src"], r["ip_dst"], r["port_src"], r["port_dst"], r["iface_in"],
                r["iface_out"]): (r["packets"], r["bytes"]) for r in read_json(out)}
        # bytes: received frames with their Ethernet header and FCS (14 + 4), the sent IP
        # packets as they are
        want = {(v.addr_b, v.addr_a, sp, 9999, ifx, 0): (20, 20 * (128 + 18))
                for sp in (41000, 41001)}
        want[("fd99::2", "fd99::1", 40000, 9999, ifx, 0)] = (5, 5 * (78 + 18))
        want[(v.addr_a, v.addr_b, 42000, 9998, 0, ifx)] = (7, 7 * 38)
        assert got == want


def test_sfprobe_send_errors_counted_and_logged_once(tmp_path):
    """A receiver the kernel refuses to send to (broadcast without SO_BROADCAST: EACCES,
    nothing leaves the host): every datagram counted as a send error, its samples as
    lost (flow and counter samples), one log line a minute, and the daemon runs on."""
    pcap = tmp_path / "t.pcap"
    seen = capture(pcap, n=300)
    d = PacketDaemon(tmp_path, "pcap_savefile: %s\nsnaplen: 128\n" % pcap +
                     probe_body("255.255.255.255:6343"), name="pmacctd")
    d.start(wait=False)
    rc = d.proc.wait(TIMEOUT * 4)
    d._close_files()
    assert rc == 0, d.log_text()
    log = d.log_text()
    m = FINAL.search(log)
    assert m, log
    samples, counters, datagrams, errors, lost = (int(g) for g in m.groups())
    assert (samples, lost) == (len(seen), len(seen) + counters)
    assert datagrams == 0 and errors > 1
    warns = re.findall(r"WARN .*cannot send a datagram of \d+ bytes: Permission denied", log)
    assert len(warns) == 1, log


def test_sfprobe_savefile_replay(tmp_path):
    """pcap_savefile_replay: 2 starts the capture's clock over; datagrams still leave
    every 100 ms of it (a couple of samples each at 20 packets/s, not a full MTU), the
    uptime keeps growing, the pool counts both passes."""
    n = 60
    pcap = tmp_path / "t.pcap"
    capture(pcap, n=n, step=0.05)
    lst = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lst.bind(("127.0.0.1", 0))
    try:
        st, _ = run_probe(tmp_path, pcap, "pcap_savefile_replay: 2\n" +
                          probe_body("127.0.0.1:%d" % lst.getsockname()[1]))
        lst.settimeout(TIMEOUT)
        dgrams = [lst.recv(65535) for _ in range(st["datagrams"])]
    finally:
        lst.close()
    uptimes, pools, per = [], [], []
    for dg in dgrams:
        _, seq, flows, _ = parse_datagram(dg)
        uptimes.append(struct.unpack_from("!I", dg, 20)[0])
        pools += [f["pool"] for f in flows]
        per.append(len(flows))
    assert st["samples"] == 2 * n and pools == list(range(1, 2 * n + 1))
    assert uptimes == sorted(uptimes) and uptimes[-1] >= 2 * (n - 1) * 50
    assert max(per) <= 3, per
