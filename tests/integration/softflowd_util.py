"""A crafted pcap, its exact expected aggregates, and a softflowd runner."""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

SOFTFLOWD = shutil.which("softflowd") or "/usr/sbin/softflowd"
SOFTFLOWCTL = shutil.which("softflowctl") or "/usr/sbin/softflowctl"


def have_softflowd():
    return os.path.exists(SOFTFLOWD) and os.path.exists(SOFTFLOWCTL)


def build_packets():
    """A handful of TCP/UDP/ICMP flows (both directions for some), with payload sizes varied."""
    from scapy.all import ICMP, IP, TCP, UDP, Ether, Raw

    pkts = []
    t = [1700000000.0]

    def add(p):
        p.time = t[0]
        t[0] += 0.01
        pkts.append(p)

    c, s = "10.1.0.1", "10.2.0.1"
    # TCP handshake, request, response, close in both directions
    add(Ether() / IP(src=c, dst=s, tos=0) / TCP(sport=40001, dport=80, flags="S"))
    add(Ether() / IP(src=s, dst=c) / TCP(sport=80, dport=40001, flags="SA"))
    add(Ether() / IP(src=c, dst=s) / TCP(sport=40001, dport=80, flags="A"))
    add(Ether() / IP(src=c, dst=s) / TCP(sport=40001, dport=80, flags="PA") / Raw(b"G" * 120))
    add(Ether() / IP(src=s, dst=c) / TCP(sport=80, dport=40001, flags="PA") / Raw(b"R" * 900))
    add(Ether() / IP(src=s, dst=c) / TCP(sport=80, dport=40001, flags="PA") / Raw(b"R" * 333))
    add(Ether() / IP(src=c, dst=s) / TCP(sport=40001, dport=80, flags="A"))
    # second TCP flow, one direction only
    add(Ether() / IP(src="10.1.0.5", dst="10.2.0.5") / TCP(sport=50000, dport=22, flags="S"))
    add(Ether() / IP(src="10.1.0.5", dst="10.2.0.5") / TCP(sport=50000, dport=22, flags="S"))
    # UDP DNS-like exchange
    add(Ether() / IP(src="10.1.0.2", dst="10.2.0.2") / UDP(sport=2222, dport=53) / Raw(b"q" * 30))
    add(Ether() / IP(src="10.2.0.2", dst="10.1.0.2") / UDP(sport=53, dport=2222) / Raw(b"a" * 80))
    add(Ether() / IP(src="10.1.0.2", dst="10.2.0.2") / UDP(sport=2222, dport=53) / Raw(b"q" * 31))
    # UDP one way, 4 packets of different sizes
    for n in (10, 200, 500, 1000):
        add(Ether() / IP(src="10.1.0.4", dst="10.2.0.4") / UDP(sport=5000, dport=6000) /
            Raw(b"u" * n))
    # ICMP echo request x2 and one reply
    add(Ether() / IP(src="10.1.0.3", dst="10.2.0.3") / ICMP(type=8, id=1, seq=1) / Raw(b"p" * 56))
    add(Ether() / IP(src="10.1.0.3", dst="10.2.0.3") / ICMP(type=8, id=1, seq=2) / Raw(b"p" * 56))
    add(Ether() / IP(src="10.2.0.3", dst="10.1.0.3") / ICMP(type=0, id=1, seq=1) / Raw(b"p" * 56))
    return pkts


PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp"}


def expected_rows(pkts):
    """Exact aggregates on src_host, dst_host, src_port, dst_port, proto (+ flows).

    One unidirectional flow per 5-tuple; NetFlow carries ICMP type/code in the
    destination port (type * 256 + code) with source port 0, as softflowd does.
    """
    from scapy.all import ICMP, IP, TCP, UDP

    agg = {}
    for p in pkts:
        ip = p[IP]
        if TCP in p:
            sp, dp = ip[TCP].sport, ip[TCP].dport
        elif UDP in p:
            sp, dp = ip[UDP].sport, ip[UDP].dport
        else:
            sp, dp = 0, ip[ICMP].type * 256 + ip[ICMP].code
        key = (ip.src, ip.dst, sp, dp, PROTO_NAMES[ip.proto])
        e = agg.setdefault(key, [0, 0])
        e[0] += 1
        e[1] += len(ip)  # NetFlow octets: IP header and payload
    rows = []
    for (src, dst, sp, dp, proto), (packets, octets) in agg.items():
        rows.append({"event_type": "purge", "ip_src": src, "ip_dst": dst, "port_src": sp,
                     "port_dst": dp, "ip_proto": proto, "packets": packets, "flows": 1,
                     "bytes": octets})
    return rows


AGGREGATE = "src_host, dst_host, src_port, dst_port, proto, flows"


def write_pcap(path):
    from scapy.all import wrpcap

    pkts = build_packets()
    wrpcap(str(path), pkts)
    return pkts


def export(pcap, port, version, workdir, host="127.0.0.1", timeout=10.0):
    """Run softflowd on pcap, exporting to host:port; return what it says it sent.

    softflowd 1.1.0 keeps running after the pcap's EOF until a control command
    arrives: poke it with `softflowctl statistics` until it exits.  On the way
    out it expires every flow and prints its final statistics on stdout; those
    (not softflowctl's answers, which may predate the final expiry) tell how
    many datagrams were sent.
    """
    workdir = Path(workdir)
    ctl = workdir / ("softflowd-v%s.ctl" % version)
    pid = workdir / ("softflowd-v%s.pid" % version)
    log = open(workdir / ("softflowd-v%s.log" % version), "wb")
    dest = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    proc = subprocess.Popen([SOFTFLOWD, "-r", str(pcap), "-n", dest, "-v", str(version), "-d",
                             "-c", str(ctl), "-p", str(pid)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError("softflowd did not exit")
            if ctl.exists():
                subprocess.run([SOFTFLOWCTL, "-c", str(ctl), "statistics"],
                               capture_output=True, timeout=5)
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert proc.returncode == 0, "softflowd exit code %s" % proc.returncode
    text = (workdir / ("softflowd-v%s.log" % version)).read_text(errors="replace")
    finals = text.split("Number of active flows:")
    assert len(finals) > 1, "no final statistics from softflowd:\n" + text
    last = "Number of active flows:" + finals[-1]
    assert "Number of active flows: 0\n" in last, last
    m = re.search(r"Flows exported: (\d+) \((\d+) records\) in (\d+) packets \((\d+) failures\)",
                  last)
    assert m, last
    flows, records, datagrams, failures = (int(x) for x in m.groups())
    assert failures == 0, last
    return {"flows": flows, "records": records, "datagrams": datagrams}
