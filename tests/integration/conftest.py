"""Fixtures and helpers for netacct's integration tests.

Everything runs on loopback.  Synchronisation is done by polling (log lines,
SIGUSR1 statistics, files) with timeouts, never by fixed sleeps.
"""
import csv
import io
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILDDIR = Path(os.environ.get("NETACCT_BUILDDIR", str(REPO_ROOT)))
NFACCTD = BUILDDIR / "nfacctd"

READY = "waiting for NetFlow/IPFIX data on"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                     "ThreadSanitizer", "UndefinedBehaviorSanitizer")
TIMEOUT = 10.0
POLL = 0.02


# --------------------------------------------------------------------------
# generic polling


def wait_for(pred, timeout=TIMEOUT, what="condition"):
    """Poll pred() until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(POLL)


def read_text(path):
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


# --------------------------------------------------------------------------
# ports


def free_port(family=socket.AF_INET6, dual=True):
    """A UDP port the kernel says is free (on both stacks when dual)."""
    if family == socket.AF_INET6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        if dual:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", 0))
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------
# NetFlow v5 crafting

V5_HDR = struct.Struct("!HHIIIIBBH")
V5_REC = struct.Struct("!4s4s4sHHIIIIHHBBBBHHBBH")


def _ip4(s):
    return socket.inet_aton(s)


def v5_record(src="10.0.0.1", dst="10.0.0.2", nexthop="0.0.0.0", in_if=0, out_if=0,
              packets=1, octets=100, first=1000, last=2000, sport=0, dport=0,
              tcp_flags=0, proto=6, tos=0, src_as=0, dst_as=0, src_mask=0, dst_mask=0):
    return V5_REC.pack(_ip4(src), _ip4(dst), _ip4(nexthop), in_if, out_if, packets, octets,
                       first, last, sport, dport, 0, tcp_flags, proto, tos, src_as, dst_as,
                       src_mask, dst_mask, 0)


def v5_datagram(records, seq=0, count=None, uptime=10000, secs=None, nsecs=0,
                engine_type=0, engine_id=0, sampling=0, version=5):
    """records: list of dicts (v5_record keywords) or pre-packed bytes."""
    body = b"".join(r if isinstance(r, bytes) else v5_record(**r) for r in records)
    if count is None:
        count = len(records)
    if secs is None:
        secs = int(time.time())
    return V5_HDR.pack(version, count, uptime, secs, nsecs, seq, engine_type, engine_id,
                       sampling) + body


class Sender:
    """A UDP socket bound to loopback, sending to the collector."""

    def __init__(self, port, host="127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.dest = (host, port)

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def send(self, *datagrams):
        for d in datagrams:
            self.sock.sendto(d, self.dest)

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------
# output readers


def read_json(path):
    rows = []
    for line in read_text(path).splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def read_csv(path, sep=","):
    text = read_text(path)
    if not text:
        return []
    lines = [l for l in text.splitlines() if l.strip()]
    header = lines[0].split(sep)
    return [dict(zip(header, l.split(sep))) for l in lines[1:]]


def without(rows, *keys):
    return [{k: v for k, v in r.items() if k not in keys} for r in rows]


def merge_rows(rows, counters=("packets", "bytes", "flows")):
    """Sum counters of rows sharing the same key fields (a key seen in several intervals)."""
    out = {}
    for r in rows:
        key = tuple(sorted((k, json.dumps(v)) for k, v in r.items() if k not in counters))
        if key in out:
            for c in counters:
                if c in r:
                    out[key][c] += r[c]
        else:
            out[key] = dict(r)
    return list(out.values())


def canon(rows):
    """Rows as a sorted list of JSON strings: comparable as multisets."""
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


# --------------------------------------------------------------------------
# the daemon under test

PMACCT_NFACCTD = Path("/usr/sbin/nfacctd")

STATS_WORKER = re.compile(r"stats worker=(\d+) datagrams=(\d+) bytes=(\d+) records=(\d+) "
                          r"malformed=(\d+) truncated=(\d+) recv_errors=(\d+) exporters=(\d+)")
STATS_EXPORTER = re.compile(r"stats worker=(\d+) exporter=(\S+) (.*)$")
STATS_OUTPUT = re.compile(r"\( ([^/ ]+)/([^ ]+) \): stats output (.*)$")


def _kv(text):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text)}


class Stats:
    def __init__(self):
        self.workers = {}    # id -> counters
        self.exporters = []  # dicts with worker, exporter and counters
        self.outputs = {}    # plugin name -> counters

    def total(self, field):
        return sum(w[field] for w in self.workers.values())

    def exporter(self, addr):
        """Counters of one exporter summed over workers."""
        tot = {}
        for e in self.exporters:
            if e["exporter"] == addr:
                for k, v in e.items():
                    if isinstance(v, int) and k != "worker":
                        tot[k] = tot.get(k, 0) + v
        return tot


class Daemon:
    def __init__(self, tmp_path, config, binary=NFACCTD, logfile=True, name="nfacctd",
                 prefix=()):
        """prefix: a command the daemon runs under (e.g. `ip netns exec NS`)."""
        self.prefix = list(prefix)
        self.tmp = Path(tmp_path)
        self.conf = self.tmp / ("%s.conf" % name)
        self.stderr_path = self.tmp / ("%s.stderr" % name)
        self.stdout_path = self.tmp / ("%s.stdout" % name)
        self.logfile = self.tmp / ("%s.log" % name) if logfile else None
        text = config
        if self.logfile:
            text = "logfile: %s\n%s" % (self.logfile, config)
        self.conf.write_text(text)
        self.binary = str(binary)
        self.proc = None
        self.nworkers = None
        self.returncode = None

    # -- process control
    def start(self, wait=True):
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        self.proc = subprocess.Popen(self.prefix + [self.binary, "-f", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, cwd=str(self.tmp))
        if wait:
            self.wait_ready()
        return self

    def log_text(self):
        return read_text(self.logfile) if self.logfile else read_text(self.stderr_path)

    def stderr(self):
        return read_text(self.stderr_path)

    def stdout(self):
        return read_text(self.stdout_path)

    # the readiness line; a subclass for another daemon names its own
    READY_RE = re.compile(re.escape(READY) + r".*\((?P<workers>\d+) workers\)")

    def wait_ready(self, timeout=TIMEOUT):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s before becoming ready:\n%s\n%s" %
                                     (Path(self.binary).name, self.proc.returncode,
                                      self.stderr(), self.log_text()))
            return self.READY_RE.search(self.log_text())
        self.on_ready(wait_for(ready, timeout, "readiness line"))

    def on_ready(self, m):
        self.nworkers = int(m.group("workers"))

    def wait_log(self, pattern, timeout=TIMEOUT, start=0):
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log_text()[start:]), timeout,
                        "log line matching %r" % pattern)

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGINT, timeout=TIMEOUT * 2):
        """Stop, assert a clean exit (code 0, no sanitizer report) and return stderr."""
        self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("nfacctd did not exit on %s" % sig)
        self._close_files()
        err = self.stderr()
        for marker in SANITIZER_MARKERS:
            assert marker not in err, "sanitizer report in stderr:\n" + err
        assert self.returncode == 0, "exit code %s, stderr:\n%s" % (self.returncode, err)
        return err

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_files()

    def _close_files(self):
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f and not f.closed:
                f.close()

    # -- statistics
    def stats(self, timeout=TIMEOUT):
        """SIGUSR1, then wait for a complete fresh set of stats lines and parse it."""
        assert self.nworkers, "daemon not ready"
        start = len(self.log_text())
        self.send_signal(signal.SIGUSR1)

        def parse():
            lines = self.log_text()[start:].splitlines()
            st = Stats()
            for l in lines:
                m = STATS_WORKER.search(l)
                if m and int(m.group(1)) not in st.workers:
                    # every key=value of the line, so new counters need no change here
                    st.workers[int(m.group(1))] = _kv(l[m.start():])
                    continue
                m = STATS_EXPORTER.search(l)
                if m:
                    e = _kv(m.group(3))
                    e["worker"] = int(m.group(1))
                    e["exporter"] = m.group(2)
                    st.exporters.append(e)
                    continue
                m = STATS_OUTPUT.search(l)
                if m:
                    st.outputs[m.group(1)] = _kv(m.group(3))
            if len(st.workers) < self.nworkers:
                return None
            for wid, w in st.workers.items():
                if sum(1 for e in st.exporters if e["worker"] == wid) < w["exporters"]:
                    return None
            return st
        return wait_for(parse, timeout, "SIGUSR1 stats lines")

    def wait_datagrams(self, n, timeout=TIMEOUT):
        """Poll SIGUSR1 stats until the workers have received n datagrams in total."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.stats()
            got = st.total("datagrams")
            if got >= n:
                assert got == n, "received %d datagrams, expected %d" % (got, n)
                return st
            if time.monotonic() > deadline:
                raise AssertionError("only %d of %d datagrams received" % (got, n))
            time.sleep(POLL)


def base_config(port, ip="127.0.0.1", workers=1):
    lines = ["nfacctd_port: %d" % port]
    if ip is not None:
        lines.append("nfacctd_ip: %s" % ip)
    if workers is not None:
        lines.append("reactor_workers: %d" % workers)
    return "\n".join(lines) + "\n"


def daemon_factory(tmp_path, new_daemon, pick_port, workers):
    """The body of a daemon fixture: yields make(body, ip=..., workers=..., port=None,
    start=True, logfile=True, name=None) -> daemon, and kills the daemons still running
    at the end of the test.  new_daemon(tmp_path, config, logfile, name) builds one;
    pick_port(ip) chooses a free port when none is given (daemon.port)."""
    started = []

    def make(body="", ip="127.0.0.1", workers=workers, port=None, start=True, logfile=True,
             name=None):
        if port is None:
            port = pick_port(ip)
        d = new_daemon(tmp_path, base_config(port, ip, workers) + body, logfile, name)
        d.port = port
        started.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in started:
        d.kill()


@pytest.fixture
def nfacctd(tmp_path):
    """Factory: nfacctd(config_body, ip=..., workers=..., start=True) -> Daemon.

    The body is appended to nfacctd_ip/nfacctd_port/reactor_workers lines; the
    chosen port is available as daemon.port.  Daemons still running at the end
    of the test are killed.
    """
    yield from daemon_factory(
        tmp_path, lambda t, conf, logfile, name: Daemon(t, conf, logfile=logfile,
                                                        name=name or "nfacctd"),
        lambda ip: free_port(), workers=1)


def run_config_check(tmp_path, text, name="bad.conf", timeout=TIMEOUT):
    """Run nfacctd on a config expected to be rejected; return (rc, stderr)."""
    conf = Path(tmp_path) / name
    conf.write_text(text)
    p = subprocess.run([str(NFACCTD), "-f", name], cwd=str(tmp_path), capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr


@pytest.fixture(scope="session", autouse=True)
def _binary_present():
    if not NFACCTD.exists():
        pytest.fail("%s not found: build first (make -j2) or set NETACCT_BUILDDIR" % NFACCTD)


class PmacctDaemon(Daemon):
    """Debian's pmacct nfacctd, the reference implementation (the oracle).

    It has no SIGUSR1 statistics: callers wait for its output files instead.
    SIGTERM is ignored by its core process: stop it with SIGINT.

    Readiness: its "waiting for ..." line comes before the print plugins can
    take data (records sent at once sit in the core for seconds), so wait for
    every plugin's first purge too: that needs a short print_refresh_time.
    """

    def __init__(self, tmp_path, config, plugins=("a",), name="pmacct"):
        super().__init__(tmp_path, config, binary=PMACCT_NFACCTD, logfile=True, name=name)
        self.plugins = plugins

    def wait_ready(self, timeout=TIMEOUT):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("pmacct nfacctd exited with %s:\n%s\n%s" %
                                     (self.proc.returncode, self.stderr(), self.log_text()))
            log = self.log_text()
            return READY in log and all("( %s/print ): *** Purging cache - END" % p in log
                                        for p in self.plugins)
        wait_for(ready, timeout, "pmacct readiness")

    def stats(self, timeout=TIMEOUT):
        raise NotImplementedError("pmacct has no SIGUSR1 statistics")


@pytest.fixture
def pmacct(tmp_path):
    """Factory: pmacct(config_body, plugins=("a",)) -> PmacctDaemon (skips if not installed)."""
    if not PMACCT_NFACCTD.exists():
        pytest.skip("Debian's pmacct nfacctd (%s) is not installed" % PMACCT_NFACCTD)
    started = []

    def make(body, plugins=("a",), ip="127.0.0.1", port=None):
        if port is None:
            port = free_port()
        d = PmacctDaemon(tmp_path, base_config(port, ip, None) + body, plugins=plugins)
        d.port = port
        started.append(d)
        d.start()
        return d

    yield make
    for d in started:
        d.kill()
