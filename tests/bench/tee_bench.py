#!/usr/bin/python3
"""Tee benchmark: datagrams/s replicated to 1 and to 4 receivers, with the loss
ratio and the CPU the collector spent, for netacct's nfacctd and Debian's pmacct
nfacctd (its tee plugin), one after the other on the same input.

    make bench-tee
    NETACCT_BUILDDIR=/tmp/netacct-rel /usr/bin/python3 tests/bench/tee_bench.py

Input: tests/bench/nfsend, NetFlow v5 (30 records per datagram) from 4
exporters on 127.0.0.1-4, paced at TEE_RATE records/s (default 1.5 M, i.e.
50 000 datagrams/s) for TEE_SECONDS (default 10).  Receivers:
tests/bench/udpsink on 127.0.0.1 (32 MiB buffers), which counts datagrams and
its own kernel drops.  Everything stays on loopback.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = Path(os.environ.get("NETACCT_BUILDDIR", str(HERE.parents[1])))
NETACCT = Path(os.environ.get("NETACCT_NFACCTD", str(BUILD / "nfacctd")))
PMACCT = Path(os.environ.get("PMACCT_NFACCTD", "/usr/sbin/nfacctd"))
NFSEND = Path(os.environ.get("NFSEND", str(BUILD / "tests/bench/nfsend")))
SINK = Path(os.environ.get("UDPSINK", str(BUILD / "tests/bench/udpsink")))
RATE = int(os.environ.get("TEE_RATE", "1500000"))
SECONDS = int(os.environ.get("TEE_SECONDS", "10"))
DAEMONS = os.environ.get("TEE_DAEMONS", "netacct pmacct").split()
HZ = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_cpu(root):
    """utime + stime (s) of root and its live descendants, threads included."""
    kids = {}
    stats = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            s = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        kids.setdefault(int(f[1]), []).append(int(d))
        # utime, stime, cutime, cstime: reaped children (pmacct's writers) count too
        stats[int(d)] = sum(int(x) for x in f[11:15])
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += stats.get(p, 0)
        todo += kids.get(p, [])
    return total / HZ


def wait_log(path, text, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise SystemExit("timed out waiting for %r in %s" % (text, path))


def run(daemon, nrecv, work):
    d = work / ("%s-%d" % (daemon, nrecv))
    d.mkdir()
    ports = [free_port() for _ in range(nrecv)]
    sink = subprocess.Popen([str(SINK), ",".join(map(str, ports)), "1500"],
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    (d / "tee.lst").write_text("id=1 ip=%s\n" % ",".join("127.0.0.1:%d" % p for p in ports))
    port = free_port()
    log = d / "nfacctd.log"
    conf = ["logfile: %s" % log, "nfacctd_ip: 127.0.0.1", "nfacctd_port: %d" % port,
            "nfacctd_pipe_size: 33554432", "plugins: tee[t]",
            "tee_receivers[t]: %s" % (d / "tee.lst"), "tee_transparent[t]: false"]
    if daemon == "pmacct":
        conf += ["plugin_pipe_size: 10240000", "plugin_buffer_size: 10240"]
    (d / "nfacctd.conf").write_text("\n".join(conf) + "\n")
    binary = NETACCT if daemon == "netacct" else PMACCT
    proc = subprocess.Popen([str(binary), "-f", str(d / "nfacctd.conf")],
                            stdout=subprocess.DEVNULL, stderr=open(d / "stderr", "w"))
    wait_log(log, "waiting for NetFlow/IPFIX data")
    if daemon == "pmacct":  # its tee plugin process starts after the core says "waiting"
        wait_log(log, "map successfully (re)loaded")
    cpu0 = tree_cpu(proc.pid)
    out = subprocess.run([str(NFSEND), "--port", str(port), "--version", "5", "--keys", "64",
                          "--rate", str(RATE), "--duration", str(SECONDS), "--sources", "4"],
                         capture_output=True, text=True, check=True).stdout
    sent = dict(kv.split("=") for kv in out.strip().splitlines()[-1].split()[1:])
    res = sink.communicate(timeout=SECONDS + 30)[0]  # exits 1.5 s after the last datagram
    cpu = tree_cpu(proc.pid) - cpu0
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    got = [l for l in res.splitlines() if l.startswith("port=")]
    per = [int(dict(kv.split("=") for kv in l.split())["datagrams"]) for l in got]
    kdrop = int(res.strip().splitlines()[-1].split("=")[1])
    dgrams = int(sent["datagrams"])
    want = dgrams * nrecv
    return dict(daemon=daemon, nrecv=nrecv, sent=dgrams, rate=float(sent["rate"]) / 30,
                received=sum(per), least=min(per), loss=1 - sum(per) / want if want else 0,
                kdrop=kdrop, cpu=cpu, per_cpu=sum(per) / cpu if cpu > 0 else 0)


def main():
    for b in (NETACCT, NFSEND, SINK):
        if not b.exists():
            raise SystemExit("%s missing: make nfacctd tests/bench/nfsend tests/bench/udpsink" % b)
    if b"__asan_init" in NETACCT.read_bytes():
        print("warning: %s is a sanitizer build; figures are not representative" % NETACCT)
    daemons = [x for x in DAEMONS if x == "netacct" or PMACCT.exists()]
    work = Path(tempfile.mkdtemp(prefix="tee-bench."))
    rows = []
    try:
        for nrecv in (1, 4):
            for daemon in daemons:
                rows.append(run(daemon, nrecv, work))
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)
    print("%-8s %5s %9s %10s %11s %7s %6s %7s %14s" % ("daemon", "recv", "sent dg", "sent dg/s",
          "received", "loss", "kdrop", "cpu s", "out dg/cpu-s"))
    for r in rows:
        print("%-8s %5d %9d %10.0f %11d %6.2f%% %6d %7.2f %14.0f" % (
            r["daemon"], r["nrecv"], r["sent"], r["rate"], r["received"], 100 * r["loss"],
            r["kdrop"], r["cpu"], r["per_cpu"]))
    by = {(r["daemon"], r["nrecv"]): r for r in rows}
    for n in (1, 4):
        a, b = by.get(("netacct", n)), by.get(("pmacct", n))
        if a and b and b["per_cpu"]:
            print("receivers=%d: netacct/pmacct datagrams out per CPU-second = %.2fx" %
                  (n, a["per_cpu"] / b["per_cpu"]))


if __name__ == "__main__":
    sys.exit(main())
