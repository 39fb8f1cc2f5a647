"""nfprobe: pmacctd (and uacctd) export NetFlow v5, v9 and IPFIX (issue 14).

A capture crafted here with scapy (fixed seed: TCP, UDP and ICMP over IPv4, TCP and UDP
over IPv6) is read by our pmacctd (pcap_savefile) with an nfprobe output; the flows go
to collectors nobody here wrote -- Debian's nfacctd (pmacct 1.7.7, print plugin) and
nfdump's nfcapd -- and to netacct's own nfacctd.  Each must report, per 5-tuple, the
packets and bytes the test counts itself in the capture (read back with scapy).  The
datagrams themselves are also parsed here: sequence numbers per RFC 3954 / RFC 7011 /
v5, templates at the start and again later, IPv6 flows on their own template.  Then the
cache: tcp.fin, maxlife, nfprobe_maxflows (forced expiries counted), dont_cache.
"""
import collections
import json
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import TIMEOUT, free_port, read_csv, read_text, wait_for
from packet_util import (UACCTD, PacketDaemon, VethPair, need_netns, run_to_end,
                         wait_packets)

scapy = pytest.importorskip("scapy.all")
from scapy.all import (ICMP, IP, TCP, UDP, Ether, IPv6, Raw, rdpcap, wrpcap)  # noqa: E402

T0 = 1700000000.0
STATS_MODULE = re.compile(r"\( [^/ ]+/nfprobe \): stats module (.*)$", re.M)
AGG5 = "src_host,dst_host,src_port,dst_port,proto"


def ETH():
    # both MACs given: scapy would otherwise look the destination up (slowly)
    return Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b")


def module_stats(log):
    """The last 'stats module' line of the nfprobe output (logged at exit too)."""
    lines = STATS_MODULE.findall(log)
    assert lines, log
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


# --------------------------------------------------------------------------
# the capture and what it holds


def mixed_capture(path, seed=14):
    """Conversations of every kind, interleaved over about 60 s."""
    rnd = random.Random(seed)
    pkts = []

    def conv(mk, n, start, step):
        t = start
        for i in range(n):
            p = mk(i, n)
            p.time = t
            pkts.append(p)
            t += rnd.uniform(0.01, step)

    for c in range(12):  # TCP over IPv4, closed with FIN
        a, b = "192.0.2.%d" % (c + 1), "198.51.100.%d" % rnd.randint(1, 50)
        sp, dp = rnd.randint(1024, 65000), rnd.choice((80, 443, 25))
        sizes = [rnd.randint(0, 1400) for _ in range(30)]
        conv(lambda i, n, a=a, b=b, sp=sp, dp=dp, sizes=sizes:
             ETH() / IP(src=a, dst=b, tos=rnd.choice((0, 0x10))) /
             TCP(sport=sp, dport=dp, flags="FA" if i == n - 1 else "PA") /
             Raw(b"t" * sizes[i]), rnd.randint(2, 30), T0 + rnd.uniform(0, 20), 1.0)
    for c in range(8):  # UDP over IPv4
        a, b = "203.0.113.%d" % (c + 1), "192.0.2.200"
        sp = rnd.randint(1024, 65000)
        conv(lambda i, n, a=a, b=b, sp=sp: ETH() / IP(src=a, dst=b) /
             UDP(sport=sp, dport=53) / Raw(b"u" * rnd.randint(10, 500)),
             rnd.randint(1, 20), T0 + rnd.uniform(0, 30), 2.0)
    for c in range(3):  # ICMP echo
        conv(lambda i, n, c=c: ETH() / IP(src="10.1.0.%d" % (c + 1), dst="10.2.0.1") /
             ICMP(type=8) / Raw(b"p" * 56), rnd.randint(1, 6), T0 + rnd.uniform(0, 30), 1.0)
    for c in range(5):  # IPv6, TCP and UDP
        a, b = "2001:db8::%x" % (c + 1), "2001:db8:1::%x" % (c + 10)
        sp = rnd.randint(1024, 65000)
        l4 = (lambda sp=sp: TCP(sport=sp, dport=443, flags="PA")) if c % 2 else \
            (lambda sp=sp: UDP(sport=sp, dport=5353))
        conv(lambda i, n, a=a, b=b, l4=l4: ETH() / IPv6(src=a, dst=b) / l4() /
             Raw(b"6" * rnd.randint(0, 900)), rnd.randint(1, 15), T0 + rnd.uniform(0, 30), 1.0)
    pkts.sort(key=lambda p: p.time)
    wrpcap(str(path), pkts)
    return path


def capture_totals(path, v4_only=False):
    """{(src, dst, sport, dport, proto): [packets, bytes]} counted from the file: bytes are
    the IP lengths (IPv4 total length, IPv6 40 + payload length), as NetFlow counts."""
    tot = collections.defaultdict(lambda: [0, 0])
    for p in rdpcap(str(path)):
        if IP in p:
            ip, length = p[IP], p[IP].len
        elif IPv6 in p and not v4_only:
            ip, length = p[IPv6], 40 + p[IPv6].plen
        else:
            continue
        l4 = ip.payload
        sport, dport = (l4.sport, l4.dport) if isinstance(l4, (TCP, UDP)) else (0, 0)
        proto = ip.proto if IP in p else ip.nh
        k = (str(ip.src), str(ip.dst), int(sport), int(dport), int(proto))
        tot[k][0] += 1
        tot[k][1] += int(length)
    return {k: tuple(v) for k, v in tot.items()}


def canon_addr(a):
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, a)) \
        if ":" in a else a


def rows_totals(rows, cols=("SRC_IP", "DST_IP", "SRC_PORT", "DST_PORT", "PROTOCOL")):
    tot = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        k = (canon_addr(r[cols[0]]), canon_addr(r[cols[1]]), int(r[cols[2]]), int(r[cols[3]]),
             int(r[cols[4]]))
        tot[k][0] += int(r["PACKETS"])
        tot[k][1] += int(r["BYTES"])
    return {k: tuple(v) for k, v in tot.items()}


def probe_config(pcap, port, version, extra=None):
    lines = ["pcap_savefile: %s" % pcap, "plugins: nfprobe",
             "nfprobe_receiver: 127.0.0.1:%d" % port, "nfprobe_version: %d" % version]
    for k, v in (extra or {}).items():
        lines.append("%s: %s" % (k, v))
    return "\n".join(lines) + "\n"


def run_probe(tmp_path, pcap, port, version, extra=None, name="probe"):
    """Our pmacctd + nfprobe on the file, to its end; returns (daemon, module stats)."""
    d = run_to_end(tmp_path, probe_config(pcap, port, version, extra), name=name)
    return d, module_stats(d.log_text())


# --------------------------------------------------------------------------
# a listener that parses the datagrams


class Listener:
    """A UDP socket on 127.0.0.1 that keeps every datagram (a large buffer: the probe
    sends them all before the test reads them)."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]

    def drain(self, n):
        """Exactly the n datagrams the probe says it sent."""
        self.s.settimeout(TIMEOUT)
        out = [self.s.recv(65535) for _ in range(n)]
        self.s.settimeout(0)
        with pytest.raises(BlockingIOError):
            self.s.recv(65535)
        return out

    def close(self):
        self.s.close()


def parse_v5(d):
    ver, count, uptime, secs, nsecs, seq, etype, eid, _ = struct.unpack("!HHIIIIBBH", d[:24])
    assert ver == 5 and len(d) == 24 + 48 * count
    recs = []
    for i in range(count):
        r = d[24 + 48 * i: 72 + 48 * i]
        (src, dst, _nh, inif, outif, pk, by, first, last, sp, dp, _p1, flags, proto, tos,
         sas, das, sm, dm, _p2) = struct.unpack("!4s4s4sHHIIIIHHBBBBHHBBH", r)
        recs.append(dict(src=socket.inet_ntoa(src), dst=socket.inet_ntoa(dst), sport=sp,
                         dport=dp, proto=proto, packets=pk, bytes=by, first=first, last=last,
                         flags=flags, tos=tos))
    return dict(version=5, count=count, uptime=uptime, secs=secs, seq=seq, engine=(etype, eid),
                records=recs)


# IE -> name for the fields the test reads
IE = {8: "src", 12: "dst", 27: "src", 28: "dst", 7: "sport", 11: "dport", 4: "proto",
      1: "bytes", 2: "packets", 22: "first", 21: "last", 152: "first", 153: "last",
      61: "direction", 10: "in_if", 14: "out_if", 6: "flags", 96: "app"}


def parse_nf(d, templates):
    """A v9 or IPFIX datagram; templates: {id: [(ie, len)]}, updated from template sets."""
    ver = struct.unpack("!H", d[:2])[0]
    if ver == 9:
        _, count, uptime, secs, seq, dom = struct.unpack("!HHIIII", d[:20])
        off, tpl_set = 20, 0
    else:
        assert ver == 10
        _, length, secs, seq, dom = struct.unpack("!HHIII", d[:16])
        assert length == len(d)
        off, tpl_set, count, uptime = 16, 2, None, None
    out = dict(version=ver, count=count, uptime=uptime, secs=secs, seq=seq, domain=dom,
               templates=[], records=[], hdr_records=0)
    while off < len(d):
        sid, slen = struct.unpack("!HH", d[off:off + 4])
        assert slen >= 4 and off + slen <= len(d)
        body = d[off + 4: off + slen]
        if sid == tpl_set:
            p = 0
            while p + 4 <= len(body):
                tid, n = struct.unpack("!HH", body[p:p + 4])
                p += 4
                fields = [struct.unpack("!HH", body[p + 4 * i: p + 4 * i + 4]) for i in range(n)]
                p += 4 * n
                templates[tid] = fields
                out["templates"].append(tid)
                out["hdr_records"] += 1
        else:
            assert sid in templates, "data before its template %d" % sid
            fields = templates[sid]
            rlen = sum(l for _, l in fields)
            p = 0
            while p + rlen <= len(body):
                rec = {"template": sid}
                for ie, l in fields:
                    v = body[p:p + l]
                    p += l
                    name = IE.get(ie)
                    if name in ("src", "dst"):
                        rec[name] = socket.inet_ntop(socket.AF_INET if l == 4 else
                                                     socket.AF_INET6, v)
                    elif name == "app":
                        rec[name] = v.rstrip(b"\0").decode()
                    elif name:
                        rec[name] = int.from_bytes(v, "big")
                out["records"].append(rec)
                out["hdr_records"] += 1
            assert len(body) - p < 4, "trailing bytes beyond padding"
        off += slen
    return out


def record_totals(recs):
    tot = collections.defaultdict(lambda: [0, 0])
    for r in recs:
        k = (r["src"], r["dst"], r.get("sport", 0), r.get("dport", 0), r["proto"])
        tot[k][0] += r["packets"]
        tot[k][1] += r["bytes"]
    return {k: tuple(v) for k, v in tot.items()}


# --------------------------------------------------------------------------
# the datagrams themselves


@pytest.mark.parametrize("version", [5, 9, 10])
def test_nfprobe_datagrams_sequence_templates_and_totals(tmp_path, version):
    """Every datagram parsed here: sequence numbers as the version counts them, v9/IPFIX
    templates (256 IPv4, 257 IPv6) first and again later, no datagram beyond the MTU, and
    the flows' totals equal the capture's (v5: its IPv4 flows, IPv6 ones counted apart)."""
    pcap = mixed_capture(tmp_path / "mixed.pcap")
    # a small cache: many forced expiries, so there are many datagrams to number
    lst = Listener()
    try:
        _, st = run_probe(tmp_path, pcap, lst.port, version,
                          {"nfprobe_maxflows": 4, "nfprobe_engine": "3:7" if version == 5
                           else "4242"})
        dgrams = lst.drain(st["datagrams"])
    finally:
        lst.close()
    want = capture_totals(pcap, v4_only=version == 5)
    assert len(dgrams) > NFX_TPL_EVERY_DGRAMS + 2, "too few datagrams to see a refresh"
    recs = []
    if version == 5:
        seq = 0
        for d in dgrams:
            p = parse_v5(d)
            assert p["seq"] == seq and p["engine"] == (3, 7) and 1 <= p["count"] <= 30
            seq += p["count"]
            recs += p["records"]
        # IPv6 flows do not fit v5: left out, counted, and each one at least once
        v6 = sum(1 for k in capture_totals(pcap) if ":" in k[0])
        assert st["v6_not_in_v5"] >= v6 > 0
    else:
        templates, seq, with_tpl = {}, 0, []
        for i, d in enumerate(dgrams):
            assert len(d) <= 1400
            p = parse_nf(d, templates)
            assert p["domain"] == 4242
            assert p["seq"] == seq, "datagram %d" % i
            seq += 1 if version == 9 else len(p["records"])
            if version == 9:
                assert p["count"] == p["hdr_records"]
            if p["templates"]:
                assert sorted(p["templates"]) == [256, 257]
                with_tpl.append(i)
            recs += p["records"]
        assert with_tpl[0] == 0 and len(with_tpl) >= 2, with_tpl
        assert {r["template"] for r in recs if ":" in r["src"]} == {257}
        assert {r["template"] for r in recs if ":" not in r["src"]} == {256}
    assert len(recs) == st["flows_exported"]
    expired = sum(v for k, v in st.items() if k.startswith("expired_"))
    assert expired == st["flows_exported"] + st.get("v6_not_in_v5", 0)
    assert record_totals(recs) == want
    assert st["expired_forced"] > 0 and st["send_errors"] == 0


NFX_TPL_EVERY_DGRAMS = 20  # proto/nf_export.h


# --------------------------------------------------------------------------
# into collectors


@pytest.mark.parametrize("version", [5, 9, 10])
def test_nfprobe_into_netacct_nfacctd(tmp_path, nfacctd, version):
    """netacct's own nfacctd gets the same totals per 5-tuple, with no sequence gap."""
    pcap = mixed_capture(tmp_path / "mixed.pcap")
    out = tmp_path / "collected.csv"
    d = nfacctd("plugins: print\naggregate: %s\nprint_output: csv\nprint_num_protos: true\n"
                "print_output_file: %s\nprint_refresh_time: 3600\n" % (AGG5, out))
    _, st = run_probe(tmp_path, pcap, d.port, version, {"nfprobe_maxflows": 16})
    cs = d.wait_datagrams(st["datagrams"])
    ex = cs.exporter("127.0.0.1")
    assert ex["seq_gaps"] == 0 and ex["seq_resets"] == 0 and ex["records"] == \
        st["flows_exported"]
    d.stop()
    assert rows_totals(read_csv(out)) == capture_totals(pcap, v4_only=version == 5)


def pmacct_totals(path):
    """Debian's nfacctd's print file (appended purges, header lines repeated)."""
    text = read_text(path)
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines:
        return {}
    cols = lines[0].split(",")
    rows = [dict(zip(cols, l.split(","))) for l in lines[1:] if l != lines[0]]
    return rows_totals(rows)


@pytest.mark.parametrize("version", [5, 9, 10])
def test_nfprobe_into_pmacct_nfacctd(tmp_path, pmacct, version):
    """Debian's nfacctd (pmacct 1.7.7): the same totals."""
    pcap = mixed_capture(tmp_path / "mixed.pcap")
    out = tmp_path / "pmacct.csv"
    p = pmacct("plugins: print[a]\naggregate[a]: %s\n"
               "print_output[a]: csv\nprint_num_protos[a]: true\nprint_output_file[a]: %s\n"
               "print_output_file_append[a]: true\nprint_refresh_time[a]: 1\n" % (AGG5, out))
    run_probe(tmp_path, pcap, p.port, version, {"nfprobe_maxflows": 16})
    want = capture_totals(pcap, v4_only=version == 5)
    try:
        wait_for(lambda: pmacct_totals(out) == want, TIMEOUT * 2, "pmacct's totals")
    except AssertionError:
        assert pmacct_totals(out) == want
    p.kill()


def read_nfcapd(d):
    """Every rotated nfcapd file of dir d: (totals per 5-tuple, sequence failures)."""
    files = sorted(f for f in d.iterdir() if re.fullmatch(r"nfcapd\.\d{12,14}", f.name))
    tot = collections.defaultdict(lambda: [0, 0])
    seqfail = 0
    for f in files:
        p = subprocess.run(["nfdump", "-r", str(f), "-o", "csv", "-q"], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert p.returncode == 0, p.stderr
        for line in p.stdout.splitlines():
            c = line.split(",")
            if len(c) < 13 or not c[3] or c[0] == "ts":
                continue
            proto = {"TCP": 6, "UDP": 17, "ICMP": 1}.get(c[7].strip(), None)
            if proto is None:
                proto = int(c[7])
            dport = int(float(c[6]))
            if proto == 1:
                dport = 0  # nfdump shows ICMP type.code in the destination port
            k = (canon_addr(c[3].strip()), canon_addr(c[4].strip()), int(c[5]), dport, proto)
            tot[k][0] += int(c[11])
            tot[k][1] += int(c[12])
        info = subprocess.run(["nfdump", "-r", str(f), "-I"], capture_output=True, text=True,
                              timeout=TIMEOUT).stdout
        m = re.search(r"Sequence failures: (\d+)", info)
        seqfail += int(m.group(1)) if m else 0
    return {k: tuple(v) for k, v in tot.items()}, seqfail


@pytest.mark.parametrize("version", [5, 9, 10])
def test_nfprobe_into_nfcapd(tmp_path, version):
    """nfdump's nfcapd: the same totals, no sequence failure."""
    if not shutil.which("nfcapd") or not shutil.which("nfdump"):
        pytest.skip("nfdump not installed (apt-get install nfdump)")
    pcap = mixed_capture(tmp_path / "mixed.pcap")
    want = capture_totals(pcap, v4_only=version == 5)
    port = free_port(socket.AF_INET, dual=False)
    flows = tmp_path / "flows"
    flows.mkdir()
    log = open(tmp_path / "nfcapd.log", "wb")
    cap = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", str(flows),
                            "-t", "2"], stdout=log, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: "Startup nfcapd" in read_text(tmp_path / "nfcapd.log"),
                 what="nfcapd ready")
        run_probe(tmp_path, pcap, port, version, {"nfprobe_maxflows": 16})
        # every rotated file (each 2 s) holds what came before it
        wait_for(lambda: read_nfcapd(flows)[0] == want, TIMEOUT * 2, "nfcapd's totals")
        got, seqfail = read_nfcapd(flows)
    finally:
        cap.send_signal(signal.SIGTERM)
        cap.wait(TIMEOUT)
        log.close()
    assert got == want
    assert seqfail == 0


# --------------------------------------------------------------------------
# the cache


def v5_records(tmp_path, pkts, extra, name="probe"):
    """Our pmacctd + nfprobe v5 on pkts; returns (datagrams parsed, module stats)."""
    pcap = tmp_path / ("%s.pcap" % name)
    wrpcap(str(pcap), pkts)
    lst = Listener()
    try:
        _, st = run_probe(tmp_path, pcap, lst.port, 5, extra, name=name)
        dgrams = [parse_v5(d) for d in lst.drain(st["datagrams"])]
    finally:
        lst.close()
    return dgrams, st


def at(p, t):
    p.time = T0 + t
    return p


def ticker(until, step=1.0):
    """A UDP stream that keeps the capture's clock going (one packet per step)."""
    return [at(ETH() / IP(src="10.9.9.9", dst="10.9.9.1") / UDP(sport=9, dport=9), i * step)
            for i in range(int(until / step) + 1)]


def test_nfprobe_tcp_fin_expires_after_tcp_fin_timeout(tmp_path):
    """A TCP flow that saw FIN leaves after tcp.fin seconds of silence, long before the tcp
    and general timeouts and before the capture ends; an open TCP flow stays until stop."""
    fin = [at(ETH() / IP(src="10.0.0.1", dst="10.0.0.2") /
              TCP(sport=1111, dport=80, flags="PA" if i < 4 else "FA") / Raw(b"x" * 10), i)
           for i in range(5)]
    open_ = [at(ETH() / IP(src="10.0.0.3", dst="10.0.0.2") /
                TCP(sport=2222, dport=80, flags="PA") / Raw(b"y" * 10), i) for i in range(5)]
    pkts = sorted(fin + open_ + ticker(60), key=lambda p: p.time)
    dgrams, st = v5_records(tmp_path, pkts, {"nfprobe_timeouts": "tcp.fin=10:expint=1"})
    sent = {r["sport"]: d["secs"] for d in dgrams for r in d["records"]}
    # FIN seen at T0+4: due at T0+14, found by the scan within expint (1 s) and the tick
    assert int(T0) + 14 <= sent[1111] <= int(T0) + 16, sent[1111] - T0
    assert sent[2222] == int(T0) + 60  # exported at stop, at the capture's end
    assert st["expired_tcp_fin"] == 1 and st["expired_stop"] == 2 and st["expired_tcp"] == 0


def test_nfprobe_maxlife_cuts_long_flows(tmp_path):
    """A UDP flow active for 100 s with maxlife 30 s becomes several flow records whose
    packets add up; each lasts at most maxlife."""
    pkts = [at(ETH() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5000, dport=6000) /
               Raw(b"z" * 20), i * 0.5) for i in range(201)]
    dgrams, st = v5_records(tmp_path, pkts, {"nfprobe_timeouts": "maxlife=30:expint=1"})
    recs = [r for d in dgrams for r in d["records"]]
    assert len(recs) >= 3
    assert sum(r["packets"] for r in recs) == 201 and sum(r["bytes"] for r in recs) == 201 * 48
    assert all(r["last"] - r["first"] <= 30000 for r in recs)
    assert st["expired_maxlife"] == len(recs) - 1 and st["expired_stop"] == 1


def maxflows_pkts():
    pkts = []
    for rnd_i in range(3):
        for f in range(50):
            pkts.append(at(ETH() / IP(src="10.0.1.%d" % f, dst="10.0.0.2") /
                           UDP(sport=7000, dport=53) / Raw(b"q" * f), rnd_i * 10 + f * 0.01))
    return pkts


def maxflows_conf(n):
    return {"nfprobe_maxflows": n}


def test_nfprobe_metrics(tmp_path):
    """The counters in the metrics (stats_file), while the daemon runs: the capture is
    read (pcap_savefile_wait keeps it running), 140 flows were forced out of the cache."""
    pcap = tmp_path / "m.pcap"
    wrpcap(str(pcap), maxflows_pkts())
    stats_file = tmp_path / "stats.json"
    lst = Listener()
    try:
        d = PacketDaemon(tmp_path, probe_config(pcap, lst.port, 5, {
            "nfprobe_maxflows": 10, "pcap_savefile_wait": "true", "stats_file": stats_file,
            "stats_file_interval": 1}), name="probe")
        d.start()

        def forced():
            if not stats_file.exists():
                return None
            mx = json.loads(stats_file.read_text())["metrics"]
            fam = mx.get("netacct_nfprobe_expired_total", [])
            got = {s["labels"]["reason"]: s["value"] for s in fam}
            return mx if got.get("forced") == 140 else None
        mx = wait_for(forced, TIMEOUT, "metrics")
        d.stop(signal.SIGTERM)
    finally:
        lst.close()
    # each round forces out 40, then 50, then 50 flows: full v5 datagrams of 30 leave at
    # once, a partial one at the next tick on the capture's clock (the next round, 10 s
    # later); the last round's 20 wait for a tick that never comes (the file ended): they
    # leave at stop.  So 30+10, 30+20, 30 flows in 5 datagrams.
    assert mx["netacct_nfprobe_flows_exported_total"][0]["value"] == 120
    assert mx["netacct_nfprobe_datagrams_total"][0]["value"] == 5
    assert mx["netacct_nfprobe_cached_flows"][0]["value"] in (0, 10)  # at the last scan


def test_nfprobe_maxflows_forces_expiry_and_counts_it(tmp_path):
    """50 flows, three times, through a cache of 10: 140 forced out (counted), 10 at
    stop, nothing lost."""
    pkts = maxflows_pkts()
    dgrams, st = v5_records(tmp_path, pkts, maxflows_conf(10))
    recs = [r for d in dgrams for r in d["records"]]
    # each round of 50 pushes every flow out of the 10-entry cache before it comes back
    assert st["expired_forced"] == 150 - 10 and st["expired_stop"] == 10
    assert len(recs) == 150
    tot = record_totals(recs)
    assert tot == {("10.0.1.%d" % f, "10.0.0.2", 7000, 53, 17): (3, 3 * (28 + f))
                   for f in range(50)}


def test_nfprobe_dont_cache_exports_every_packet(tmp_path):
    pkts = [at(ETH() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) /
               Raw(b"a" * 10), i * 0.1) for i in range(40)]
    dgrams, st = v5_records(tmp_path, pkts, {"nfprobe_dont_cache": "true"})
    recs = [r for d in dgrams for r in d["records"]]
    assert len(recs) == 40 and all(r["packets"] == 1 and r["bytes"] == 38 for r in recs)
    assert st["flows_exported"] == 40


def test_nfprobe_direction_and_ifindex(tmp_path):
    """nfprobe_direction: out and nfprobe_ifindex: 7 -> flowDirection 1, egress
    interface 7, in IPFIX."""
    pkts = [at(ETH() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2), i)
            for i in range(3)]
    pcap = tmp_path / "d.pcap"
    wrpcap(str(pcap), pkts)
    lst = Listener()
    try:
        _, st = run_probe(tmp_path, pcap, lst.port, 10, {"nfprobe_direction": "out",
                                                         "nfprobe_ifindex": "7"})
        p = parse_nf(lst.drain(st["datagrams"])[0], {})
    finally:
        lst.close()
    (r,) = p["records"]
    assert (r["direction"], r["in_if"], r["out_if"], r["packets"]) == (1, 0, 7, 3)


def test_nfprobe_class_as_application_name(tmp_path):
    """aggregate `class` (nDPI): IPFIX applicationName (IE 96) carries the flow's class,
    the latest nDPI gave its packets; the packets before nDPI concluded stay in the same
    flow (the class is not part of the key)."""
    from test_pmacctd import classify_capture, write
    frames, want = classify_capture()
    pcap = write(tmp_path / "apps.pcap", frames)
    lst = Listener()
    try:
        d, st = run_probe(tmp_path, pcap, lst.port, 10, {"aggregate": AGG5 + ",class"})
        if "built without nDPI" in d.log_text():
            pytest.skip("built without nDPI")
        templates, recs = {}, []
        for dg in lst.drain(st["datagrams"]):
            recs += parse_nf(dg, templates)["records"]
    finally:
        lst.close()
    assert (96, 32) in templates[256], repr(templates[256])
    for port, (app, n) in want.items():
        mine = [r for r in recs if int(port) in (r["sport"], r["dport"])]
        assert sum(r["packets"] for r in mine) == n
        assert len(mine) == 2  # one flow per direction, whatever nDPI said when
        assert {r["app"] for r in mine} == {"Unknown/%s" % app}, (port, mine)


def test_nfprobe_direction_and_ifindex_from_tags(tmp_path):
    """nfprobe_direction: tag and nfprobe_ifindex: tag2, from a pre_tag_map matching on the
    source MAC (pmacct's way to tell directions apart on a mirror port): tag 1 is in (the
    index on the input interface), tag 2 is out (on the output one)."""
    mac_in, mac_out = "02:00:00:00:00:01", "02:00:00:00:00:02"
    pkts = [at(Ether(src=mac_in, dst=mac_out) / IP(src="10.0.0.1", dst="10.0.0.2") /
               UDP(sport=1, dport=2), i) for i in range(3)]
    pkts += [at(Ether(src=mac_out, dst=mac_in) / IP(src="10.0.0.2", dst="10.0.0.1") /
                UDP(sport=2, dport=1), i + 0.5) for i in range(2)]
    pcap = tmp_path / "t.pcap"
    wrpcap(str(pcap), pkts)
    tagmap = tmp_path / "pretag.map"
    tagmap.write_text("set_tag=1 set_tag2=11 src_mac=%s\nset_tag=2 set_tag2=22 src_mac=%s\n"
                      % (mac_in, mac_out))
    lst = Listener()
    try:
        _, st = run_probe(tmp_path, pcap, lst.port, 9, {
            "pre_tag_map": tagmap, "nfprobe_direction": "tag", "nfprobe_ifindex": "tag2"})
        recs = []
        templates = {}
        for dg in lst.drain(st["datagrams"]):
            recs += parse_nf(dg, templates)["records"]
    finally:
        lst.close()
    got = {(r["src"], r["direction"], r["in_if"], r["out_if"], r["packets"]) for r in recs}
    assert got == {("10.0.0.1", 0, 11, 0, 3), ("10.0.0.2", 1, 0, 22, 2)}


def test_nfprobe_send_errors_counted_and_logged_rate_limited(tmp_path):
    """A receiver port nobody listens on: the kernel refuses sends (ICMP port
    unreachable on a connected socket); they are counted, the worker goes on, and the
    warnings stop after 5 a minute with one line saying so."""
    pkts = [at(ETH() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2), i * 0.01)
            for i in range(3000)]
    pcap = tmp_path / "e.pcap"
    wrpcap(str(pcap), pkts)
    port = free_port(socket.AF_INET, dual=False)
    d = PacketDaemon(tmp_path, probe_config(pcap, port, 5, {"nfprobe_dont_cache": "true"}),
                     name="probe")
    d.start(wait=False)
    assert d.proc.wait(TIMEOUT * 2) == 0
    d._close_files()
    log = d.log_text()
    st = module_stats(log)
    assert st["flows_exported"] == 3000 and 0 < st["send_errors"] <= st["datagrams"]
    warns = re.findall(r"WARN .*nfprobe \): worker 0: sending to 127\.0\.0\.1:%d: "
                       r"Connection refused" % port, log)
    assert len(warns) == 5
    assert log.count("more send errors this minute, not logged") == 1


IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)  # linux/in.h; Python lacks the name


def test_nfprobe_hoplimit_and_source_ip(tmp_path):
    """nfprobe_hoplimit sets the datagrams' TTL; nfprobe_source_ip their source address."""
    pkts = [at(ETH() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2), 0)]
    pcap = tmp_path / "h.pcap"
    wrpcap(str(pcap), pkts)
    lst = Listener()
    lst.s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    try:
        run_probe(tmp_path, pcap, lst.port, 9, {"nfprobe_hoplimit": 7,
                                                "nfprobe_source_ip": "127.0.0.3"})
        lst.s.settimeout(TIMEOUT)
        _, anc, _, addr = lst.s.recvmsg(65535, socket.CMSG_SPACE(4))
    finally:
        lst.close()
    ttl = [struct.unpack("i", d[:4])[0] for lvl, typ, d in anc
           if lvl == socket.IPPROTO_IP and typ == socket.IP_TTL]
    assert ttl == [7] and addr[0] == "127.0.0.3"


def test_nfprobe_ipprec_marks_the_datagrams(tmp_path):
    """nfprobe_ipprec 5: every exported datagram carries TOS 0xa0 (precedence 5)."""
    pkts = [at(ETH() / IP(src="10.0.0.%d" % i, dst="10.0.0.2") / UDP(sport=1, dport=2), 0)
            for i in range(1, 4)]
    pcap = tmp_path / "p.pcap"
    wrpcap(str(pcap), pkts)
    lst = Listener()
    lst.s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
    try:
        _, st = run_probe(tmp_path, pcap, lst.port, 5, {"nfprobe_ipprec": 5})
        lst.s.settimeout(TIMEOUT)
        tos = []
        for _ in range(st["datagrams"]):
            _, anc, _, _ = lst.s.recvmsg(65535, socket.CMSG_SPACE(4))
            tos += [d[0] for lvl, typ, d in anc
                    if lvl == socket.IPPROTO_IP and typ == socket.IP_TOS]
    finally:
        lst.close()
    assert st["datagrams"] >= 1 and tos == [5 << 5] * st["datagrams"]


# --------------------------------------------------------------------------
# configuration


def test_nfprobe_only_in_capture_daemons(tmp_path):
    """nfacctd refuses nfprobe (as pmacct does), naming the daemons that take it."""
    conf = tmp_path / "n.conf"
    conf.write_text("nfacctd_port: %d\nplugins: nfprobe\n" % free_port())
    p = subprocess.run([str(Path(UACCTD).parent / "nfacctd"), "-f", str(conf)],
                       capture_output=True, text=True, timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL)
    assert p.returncode != 0 and "runs only in pmacctd and uacctd" in p.stderr, p.stderr


@pytest.mark.parametrize("key,value,needle", [
    ("nfprobe_timeouts", "tcp=10:bogus=3", "unknown timeout 'bogus'"),
    ("nfprobe_version", "7", "is not 5, 9 or 10"),
    ("nfprobe_receiver", "127.0.0.1", "is not 'address:port'"),
    ("nfprobe_engine", "300:1", "engine_type:engine_id"),
    ("nfprobe_direction", "sideways", "is not in, out, tag or tag2"),
    ("nfprobe_ifindex", "eth0", "is not tag, tag2 or an interface index"),
])
def test_nfprobe_bad_keys_are_named(tmp_path, key, value, needle):
    pcap = tmp_path / "e.pcap"
    wrpcap(str(pcap), [at(ETH() / IP() / UDP(), 0)])
    conf = tmp_path / "bad.conf"
    version = 5 if key == "nfprobe_engine" else 10
    text = probe_config(pcap, 2100, version, {key: value})
    if key == "nfprobe_version":
        text = text.replace("nfprobe_version: 10", "nfprobe_version: 7")
    conf.write_text(text)
    p = subprocess.run([str(Path(UACCTD).parent / "pmacctd"), "-f", str(conf)],
                       capture_output=True, text=True, timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL)
    assert p.returncode != 0 and key in p.stderr and needle in p.stderr, p.stderr


# --------------------------------------------------------------------------
# live capture, uacctd


class Collector(PacketDaemon):
    """netacct's nfacctd run inside a namespace (PacketDaemon has the prefix)."""
    READY_RE = re.compile(r"waiting for NetFlow/IPFIX data on.*\((?P<workers>\d+) workers\)")


def test_live_pmacctd_two_workers_one_domain_each(tmp_path):
    """Live capture with two workers (PACKET_FANOUT): each worker exports as its own
    observation domain (nfprobe_engine + worker), so netacct's nfacctd sees two
    consecutive sequences (no gap, no reset) and every packet once."""
    need_netns()
    with VethPair() as v:
        srcs = ["10.99.0.%d" % i for i in range(10, 18)]
        for a in srcs:
            v.add_addr_b(a)
        port = free_port(socket.AF_INET, dual=False)
        out = tmp_path / "c.csv"
        coll = Collector(tmp_path, "nfacctd_ip: 127.0.0.1\nnfacctd_port: %d\n"
                         "plugins: print\naggregate: src_host,src_port,export_proto_sysid\n"
                         "print_output: csv\nprint_output_file: %s\n" % (port, out),
                         binary=Path(UACCTD).parent / "nfacctd", name="coll",
                         prefix=v.exec_a())
        coll.start()
        conf = ("pcap_interface: %s\npcap_filter: udp and port 9999\nreactor_workers: 2\n"
                "plugins: nfprobe\nnfprobe_version: 10\nnfprobe_engine: 500\n"
                "nfprobe_receiver: 127.0.0.1:%d\naggregate: src_host,src_port\n"
                "nfprobe_maxflows: 2\n" % (v.a, port))
        d = PacketDaemon(tmp_path, conf, name="pmacctd", prefix=v.exec_a())
        d.start()
        assert d.nworkers == 2
        for a in srcs:
            v.send_udp_from_b(v.addr_a, 9999, 10, 50, (40000, 40001), src=a)
        wait_packets(d, 10 * 2 * len(srcs))
        d.stop(signal.SIGTERM)
        st = module_stats(d.log_text())
        cs = coll.wait_datagrams(st["datagrams"])
        ex = cs.exporter("127.0.0.1")
        coll.stop(signal.SIGTERM)
    assert ex["seq_gaps"] == 0 and ex["seq_resets"] == 0
    assert ex["records"] == st["flows_exported"]
    tot = collections.defaultdict(int)
    domains = set()
    for r in read_csv(out):
        tot[(r["SRC_IP"], r["SRC_PORT"])] += int(r["PACKETS"])
        domains.add(int(r["EXPORT_PROTO_SYSID"]))
    assert tot == {(a, str(p)): 10 for a in srcs for p in (40000, 40001)}
    assert domains == {500, 501}




def test_uacctd_nfprobe_nflog(tmp_path):
    """uacctd on an NFLOG group in a network namespace exports the logged packets with
    nfprobe (v9) to netacct's nfacctd in the same namespace: the totals and the input
    interface NFLOG gives."""
    need_netns()
    from test_uacctd import GROUP, nft_log_rules
    with VethPair() as v:
        nft_log_rules(v)
        port = free_port(socket.AF_INET, dual=False)
        out = tmp_path / "c.csv"
        coll = Collector(tmp_path, "nfacctd_ip: 127.0.0.1\nnfacctd_port: %d\n"
                         "plugins: print\naggregate: %s,in_iface\nprint_output: csv\n"
                         "print_num_protos: true\nprint_output_file: %s\n" %
                         (port, AGG5, out), binary=Path(UACCTD).parent / "nfacctd",
                         name="coll", prefix=v.exec_a())
        coll.start()
        conf = ("uacctd_group: %d\nplugins: nfprobe\nnfprobe_version: 9\n"
                "nfprobe_receiver: 127.0.0.1:%d\naggregate: %s,in_iface\n"
                "nfprobe_timeouts: udp=1:expint=1\n" % (GROUP, port, AGG5))
        d = PacketDaemon(tmp_path, conf, binary=UACCTD, name="uacctd", prefix=v.exec_a())
        d.start()
        v.send_udp_from_b(v.addr_a, 9999, 20, 100, (41000, 41001))
        # the flows are idle after 1 s: expired and exported while uacctd runs
        wait_for(lambda: (coll.stats().total("records") >= 2), TIMEOUT * 2, "exported flows")
        d.stop(signal.SIGTERM)
        coll.stop(signal.SIGTERM)
        ifx = v.ifindex_a()
        got = {(r["SRC_IP"], r["SRC_PORT"], r["IN_IFACE"]): (int(r["PACKETS"]),
                                                             int(r["BYTES"]))
               for r in read_csv(out)}
        assert got == {(v.addr_b, str(sp), str(ifx)): (20, 20 * 128) for sp in (41000, 41001)}


# --------------------------------------------------------------------------
# the example


def test_example_config_runs(tmp_path):
    """contrib/examples/pmacctd-nfprobe.conf on a capture, its receivers moved to
    listeners here: both IPFIX receivers (IPv4 and IPv6) get the same datagrams with the
    VLAN and MACs, the v5 one its IPv4 flows, the print output its file."""
    example = (Path(__file__).resolve().parents[2] /
               "contrib/examples/pmacctd-nfprobe.conf").read_text()
    pcap = mixed_capture(tmp_path / "mixed.pcap")
    l4, l5 = Listener(), Listener()
    l6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    l6.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    l6.bind(("::1", 0))
    try:
        conf = (example.replace("pcap_interface: eth1", "pcap_savefile: %s" % pcap)
                .replace("192.0.2.50:4739", "127.0.0.1:%d" % l4.port)
                .replace("[2001:db8::50]:4739", "[::1]:%d" % l6.getsockname()[1])
                .replace("192.0.2.60:2055", "127.0.0.1:%d" % l5.port)
                .replace("192.0.2.10", "127.0.0.1")
                .replace("/var/lib/netacct", str(tmp_path)))
        d = run_to_end(tmp_path, conf, name="example")
        lines = STATS_MODULE.findall(d.log_text())
        st = {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
              for m in re.finditer(r"\( (\w+)/nfprobe \): stats module (.*)$", d.log_text(),
                                   re.M)}
        assert len(lines) == 2 and set(st) == {"ipfix", "legacy"}
        v4 = l4.drain(st["ipfix"]["datagrams"])
        l6.settimeout(TIMEOUT)
        v6 = [l6.recv(65535) for _ in range(st["ipfix"]["datagrams"])]
        assert v4 == v6
        templates, recs = {}, []
        for dg in v4:
            p = parse_nf(dg, templates)
            assert p["domain"] == 100
            recs += p["records"]
        assert record_totals(recs) == capture_totals(pcap)
        assert all(r["direction"] == 0 and r["in_if"] == 2 for r in recs)
        fields = {ie for ie, _ in templates[256]}
        assert {58, 56, 80, 61, 10, 14} <= fields  # vlan, MACs, direction, interfaces
        legacy = [parse_v5(dg) for dg in l5.drain(st["legacy"]["datagrams"])]
        assert {p["engine"] for p in legacy} == {(1, 0)}
        assert record_totals([r for p in legacy for r in p["records"]]) == \
            capture_totals(pcap, v4_only=True)
        assert list(tmp_path.glob("protos-*.csv"))
    finally:
        l4.close()
        l5.close()
        l6.close()


def test_nfprobe_beside_print_each_with_its_aggregate_and_filter(tmp_path, nfacctd):
    """pmacctd runs nfprobe beside print: the probe exports only what its aggregate_filter
    keeps (TCP), with its own aggregate; print, on another aggregate, counts every
    packet."""
    pcap = mixed_capture(tmp_path / "mixed.pcap")
    out = tmp_path / "collected.csv"
    d = nfacctd("plugins: print\naggregate: %s\nprint_output: csv\nprint_num_protos: true\n"
                "print_output_file: %s\nprint_refresh_time: 3600\n" % (AGG5, out))
    local = tmp_path / "local.csv"
    conf = ("pcap_savefile: %s\nplugins: nfprobe[n], print[p]\n"
            "nfprobe_receiver[n]: 127.0.0.1:%d\nnfprobe_version[n]: 10\n"
            "aggregate[n]: %s\naggregate_filter[n]: tcp\n"
            "aggregate[p]: proto\nprint_output[p]: csv\nprint_num_protos[p]: true\n"
            "print_output_file[p]: %s\nprint_refresh_time[p]: 3600\n" % (pcap, d.port, AGG5, local))
    p = run_to_end(tmp_path, conf, name="both")
    st = module_stats(p.log_text())
    d.wait_datagrams(st["datagrams"])
    d.stop()
    want = capture_totals(pcap)
    assert rows_totals(read_csv(out)) == {k: v for k, v in want.items() if k[4] == 6}
    per_proto = collections.Counter()
    for k, (pkts, _) in want.items():
        per_proto[k[4]] += pkts
    got = {int(r["PROTOCOL"]): int(r["PACKETS"]) for r in read_csv(local)}
    assert got == dict(per_proto) and len(got) >= 3  # TCP, UDP, ICMP at least
