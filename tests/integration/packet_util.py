"""Helpers for the packet daemons' tests (pmacctd, uacctd): running a daemon on a
capture file to its end, Debian's pmacctd as oracle, and network namespaces joined
by a veth pair for live capture."""
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import (BUILDDIR, SANITIZER_MARKERS, STATS_WORKER, TIMEOUT, Daemon, read_csv,
                      wait_for)

PMACCTD = BUILDDIR / "pmacctd"
UACCTD = BUILDDIR / "uacctd"
ORACLE_PMACCTD = Path("/usr/sbin/pmacctd")


def print_config(out, aggregate, extra=None, refresh=3600):
    lines = ["plugins: print", "aggregate: %s" % ",".join(aggregate), "print_output: csv",
             "print_output_file: %s" % out, "print_refresh_time: %d" % refresh]
    for k, v in (extra or {}).items():
        lines.append("%s: %s" % (k, v))
    return "\n".join(lines) + "\n"


def savefile_config(pcap, out, aggregate, extra=None, refresh=3600):
    return "pcap_savefile: %s\n" % pcap + print_config(out, aggregate, extra, refresh)


def check_clean_exit(d, rc, what):
    err = d.stderr()
    for marker in SANITIZER_MARKERS:
        assert marker not in err, "sanitizer report:\n" + err
    assert rc == 0, "%s: exit code %s:\n%s\n%s" % (what, rc, err, d.log_text())


class PacketDaemon(Daemon):
    """Our pmacctd or uacctd; ready when it logs that it captures (or reads the file)."""
    READY_RE = re.compile(r"(capturing packet data on|reading packet data from).*"
                          r"\((?P<workers>\d+) workers\)")

    def __init__(self, tmp_path, config, binary=PMACCTD, name="pmacctd", prefix=()):
        super().__init__(tmp_path, config, binary=binary, name=name, prefix=prefix)


def run_to_end(tmp_path, conf, binary=PMACCTD, name="pmacctd", timeout=TIMEOUT * 4):
    """Run the daemon on a pcap_savefile config until it exits by itself; return it."""
    d = PacketDaemon(tmp_path, conf, binary=binary, name=name)
    d.start(wait=False)
    try:
        rc = d.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        d.kill()
        raise AssertionError("%s did not exit at the end of the file:\n%s" %
                             (name, d.log_text()))
    d._close_files()
    check_clean_exit(d, rc, name)
    assert not re.search(r" (WARN|ERROR) ", d.log_text()), d.log_text()
    return d


def netacct_rows(tmp_path, pcap, aggregate, extra=None, name="netacct"):
    out = tmp_path / ("%s.csv" % name)
    run_to_end(tmp_path, savefile_config(pcap, out, aggregate, extra), name=name)
    return read_csv(out)


def oracle_rows(tmp_path, pcap, aggregate, extra=None, name="oracle"):
    """Debian's pmacctd on the same file and configuration (it exits at the end too)."""
    if not ORACLE_PMACCTD.exists():
        pytest.skip("Debian's pmacctd not installed (apt-get install pmacct)")
    out = tmp_path / ("%s.csv" % name)
    conf = tmp_path / ("%s.conf" % name)
    conf.write_text("logfile: %s\n" % (tmp_path / ("%s.log" % name)) +
                    savefile_config(pcap, out, aggregate, extra))
    p = subprocess.run([str(ORACLE_PMACCTD), "-f", str(conf)], cwd=str(tmp_path),
                       capture_output=True, timeout=TIMEOUT * 3, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    return read_csv(out)


def last_worker_stats(log):
    """{worker: counters} from the last stats line of each worker."""
    out = {}
    for line in log.splitlines():
        m = STATS_WORKER.search(line)
        if m:
            out[int(m.group(1))] = {k: int(v) for k, v in
                                    re.findall(r"(\w+)=(\d+)", line[m.start():])}
    return out


# --------------------------------------------------------------------------
# network namespaces


def need_netns():
    if os.geteuid() != 0:
        pytest.skip("live capture needs root (CAP_NET_ADMIN, CAP_NET_RAW) to create a "
                    "network namespace")
    if not shutil.which("ip"):
        pytest.skip("iproute2's ip not found")


def sh(*args, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=TIMEOUT)
    if check and p.returncode != 0:
        raise AssertionError("%s: %s" % (" ".join(args), p.stderr))
    return p.stdout


class VethPair:
    """Two namespaces joined by a veth pair: `a` (10.99.0.1, fd99::1) in ns_a and `b`
    (10.99.0.2, fd99::2) in ns_b.  exec_a/exec_b prefix a command to run there."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.ns_a, self.ns_b = "nta%s" % tag, "ntb%s" % tag
        self.a, self.b = "va%s" % tag, "vb%s" % tag
        self.addr_a, self.addr_b = "10.99.0.1", "10.99.0.2"

    def __enter__(self):
        try:
            sh("ip", "netns", "add", self.ns_a)
        except AssertionError as e:
            pytest.skip("cannot create a network namespace: %s" % e)
        sh("ip", "netns", "add", self.ns_b)
        sh("ip", "link", "add", self.a, "netns", self.ns_a, "type", "veth", "peer", "name",
           self.b, "netns", self.ns_b)
        for ns, dev, a4, a6 in ((self.ns_a, self.a, self.addr_a, "fd99::1"),
                                (self.ns_b, self.b, self.addr_b, "fd99::2")):
            sh("ip", "-n", ns, "addr", "add", a4 + "/24", "dev", dev)
            sh("ip", "-n", ns, "addr", "add", a6 + "/64", "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc):
        sh("ip", "netns", "del", self.ns_a, check=False)
        sh("ip", "netns", "del", self.ns_b, check=False)

    def exec_a(self):
        return ["ip", "netns", "exec", self.ns_a]

    def exec_b(self):
        return ["ip", "netns", "exec", self.ns_b]

    def ifindex_a(self):
        return int(sh(*self.exec_a(), "cat", "/sys/class/net/%s/ifindex" % self.a))

    def mac(self, which):
        ns, dev = (self.ns_a, self.a) if which == "a" else (self.ns_b, self.b)
        return sh("ip", "netns", "exec", ns, "cat", "/sys/class/net/%s/address" % dev).strip()

    def add_addr_b(self, addr):
        sh("ip", "-n", self.ns_b, "addr", "add", addr + "/24", "dev", self.b)

    def send_udp_from_b(self, dst, dport, count, size, sports=(40000,), src=""):
        """count datagrams of size payload bytes from each source port, sent in ns_b."""
        fam = "AF_INET6" if ":" in dst else "AF_INET"
        code = ("import socket\n"
                "for sp in %r:\n"
                "    s = socket.socket(socket.%s, socket.SOCK_DGRAM)\n"
                "    s.bind((%r, sp))\n"
                "    for i in range(%d):\n"
                "        s.sendto(b'x' * %d, (%r, %d))\n"
                "    s.close()\n" % (tuple(sports), fam, src, count, size, dst, dport))
        sh(*self.exec_b(), "/usr/bin/python3", "-c", code)


def wait_packets(d, n, timeout=TIMEOUT):
    """SIGUSR1 stats until the workers have taken n packets in all; they must not take more."""
    def got():
        st = d.stats()
        t = st.total("datagrams")
        assert t <= n, "took %d packets, expected %d" % (t, n)
        return t == n
    wait_for(got, timeout, "%d packets" % n)
