#!/usr/bin/env python3
"""sFlow benchmark: the same paced sFlow v5 stream into netacct's sfacctd,
Debian's pmacct sfacctd and nfdump's sfcapd (package nfdump-sflow), one after
the other, on 127.0.0.1; reports samples accounted, loss, and CPU per sample.

The stream: BENCH_SFLOW_DGRAMS distinct datagrams (default 512), each of 8
flow samples with a 128-byte raw Ethernet/IPv4/TCP-or-UDP header (sampling
rate 1), cycled at a fixed rate of samples per second for a fixed time.  The
rate is meant to be one every collector sustains (no loss), so CPU per sample
compares work, not overload.  CPU is utime+stime of the daemon's whole
process tree (pmacct's plugins included), read from /proc before and after
the stream.

Usage: tests/bench/sflow_bench.py [--rate N] [--seconds N] [--daemons a,b,c]
Build netacct without sanitizers first (the figures of an ASan build mean
little).  Needs root only to raise net.core.rmem_max (restored on exit).
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from sflow_util import datagram, flow_sample, header_record  # noqa: E402

BUILDDIR = os.environ.get("NETACCT_BUILDDIR", os.path.join(HERE, "..", ".."))
BINARIES = {
    "netacct": os.environ.get("NETACCT_SFACCTD", os.path.join(BUILDDIR, "sfacctd")),
    "pmacct": os.environ.get("PMACCT_SFACCTD", "/usr/sbin/sfacctd"),
    "sfcapd": os.environ.get("SFCAPD", "/usr/bin/sfcapd"),
}
SAMPLES_PER_DGRAM = 8
TICK = os.sysconf("SC_CLK_TCK")


def frame(rnd):
    src = bytes([10, rnd.randrange(4), rnd.randrange(256), rnd.randrange(1, 255)])
    dst = bytes([10, 128 + rnd.randrange(4), rnd.randrange(256), rnd.randrange(1, 255)])
    proto = rnd.choice([6, 17])
    l4 = (struct.pack("!HHIIBBHHH", rnd.randrange(1024, 65535), rnd.choice([80, 443, 53]), 1, 0,
                      0x50, 0x18, 8192, 0, 0) if proto == 6 else
          struct.pack("!HHHH", rnd.randrange(1024, 65535), 53, 1000, 0))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1400, 1, 0, 64, proto, 0, src, dst)
    eth = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00"
    pkt = eth + ip + l4
    return (pkt + bytes(128 - len(pkt)))[:128]


def stream(n):
    rnd = random.Random(1)
    out, seq = [], 0
    for i in range(n):
        samples = []
        for _ in range(SAMPLES_PER_DGRAM):
            seq += 1
            samples.append(flow_sample([header_record(frame(rnd), 1418)], seq=seq, rate=1))
        out.append(datagram(samples, agent="192.0.2.%d" % (1 + i % 4), seq=i + 1))
    return out


def tree_ticks(root):
    kids, stat = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(d))
        stat[int(d)] = sum(int(x) for x in rest[11:15])
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += stat.get(p, 0)
        todo.extend(kids.get(p, []))
    return total


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def json_packets(path):
    n = 0
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("{"):
                    n += json.loads(line).get("packets", 0)
    except OSError:
        pass
    return n


class Collector:
    def __init__(self, name, work):
        self.name, self.dir = name, os.path.join(work, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.out = os.path.join(self.dir, "out.json")
        self.log = os.path.join(self.dir, "daemon.log")

    def start(self):
        agg = "src_host, dst_host, src_port, dst_port, proto"
        conf = os.path.join(self.dir, "daemon.conf")
        if self.name == "sfcapd":
            cmd = [BINARIES["sfcapd"], "-b", "127.0.0.1", "-p", str(self.port), "-w", self.dir,
                   "-B", "33554432", "-t", "3600"]
        else:
            with open(conf, "w") as f:
                f.write("sfacctd_ip: 127.0.0.1\nsfacctd_port: %d\nsfacctd_pipe_size: 33554432\n"
                        "logfile: %s\nplugins: print[b]\naggregate[b]: %s\n"
                        "print_output[b]: json\nprint_output_file[b]: %s\n"
                        "print_output_file_append[b]: true\nprint_refresh_time[b]: 5\n"
                        "plugin_pipe_size: 10240000\nplugin_buffer_size: 10240\n" %
                        (self.port, self.log, agg, self.out))
                if self.name == "netacct":
                    f.write("reactor_workers: 1\n")
            cmd = [BINARIES[self.name], "-f", conf]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "stderr"), "w"),
                                     start_new_session=True)
        self.wait_ready()

    def wait_ready(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("%s exited at start (see %s)" % (self.name, self.dir))
            if self.name == "sfcapd":
                if any((":%04X " % self.port) in l for l in open("/proc/net/udp")):
                    return
            else:
                try:
                    log = open(self.log).read()
                except OSError:
                    log = ""
                if "waiting for sFlow data" in log and (
                        self.name == "netacct" or "( b/print ): *** Purging cache - END" in log):
                    return
            time.sleep(0.05)
        raise SystemExit("%s not ready" % self.name)

    def stop(self):
        self.proc.send_signal(signal.SIGINT if self.name != "sfcapd" else signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def accounted(self):
        if self.name != "sfcapd":
            return json_packets(self.out)
        out = subprocess.run(["nfdump", "-R", self.dir, "-I"], capture_output=True, text=True)
        for line in out.stdout.splitlines():
            if line.startswith("Packets:"):
                return int(line.split()[1])
        return 0


def send(dgrams, port, rate, seconds):
    """Cycle the datagrams at `rate` samples/s for `seconds`; returns samples sent."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    per_sec = rate / SAMPLES_PER_DGRAM
    sent, i = 0, 0
    start = time.monotonic()
    total = int(per_sec * seconds)
    while sent < total:
        due = min(total, int((time.monotonic() - start) * per_sec) + 1)
        while sent < due:
            s.send(dgrams[i])
            i = (i + 1) % len(dgrams)
            sent += 1
        time.sleep(0.001)
    s.close()
    return sent * SAMPLES_PER_DGRAM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=int(os.environ.get("BENCH_SFLOW_RATE", 40000)))
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 10)))
    ap.add_argument("--daemons", default=os.environ.get("BENCH_DAEMONS", "netacct,pmacct,sfcapd"))
    a = ap.parse_args()
    dgrams = stream(int(os.environ.get("BENCH_SFLOW_DGRAMS", 512)))
    work = tempfile.mkdtemp(prefix="netacct-sflow-bench.")
    rmem = open("/proc/sys/net/core/rmem_max").read().strip()
    try:
        if int(rmem) < 33554432 and os.access("/proc/sys/net/core/rmem_max", os.W_OK):
            open("/proc/sys/net/core/rmem_max", "w").write("33554432")
        rows = []
        for name in a.daemons.split(","):
            if not os.access(BINARIES[name], os.X_OK):
                print("skipping %s: %s not found" % (name, BINARIES[name]))
                continue
            c = Collector(name, work)
            c.start()
            t0 = tree_ticks(c.proc.pid)
            sent = send(dgrams, c.port, a.rate, a.seconds)
            # let the collector drain its socket before reading its CPU time
            time.sleep(2)
            t1 = tree_ticks(c.proc.pid)
            c.stop()
            got = c.accounted()
            cpu = (t1 - t0) / TICK
            rows.append((name, sent, got, cpu))
        print("sFlow v5, %d samples/s for %d s, %d samples a datagram, 128-byte headers" %
              (a.rate, a.seconds, SAMPLES_PER_DGRAM))
        print("%-8s %10s %10s %7s %8s %12s %14s" % ("daemon", "sent", "accounted", "loss%",
                                                  "cpu_s", "us/sample", "samples/cpu-s"))
        for name, sent, got, cpu in rows:
            print("%-8s %10d %10d %7.2f %8.2f %12.2f %14.0f" % (
                name, sent, got, 100.0 * (sent - got) / sent if sent else 0, cpu,
                1e6 * cpu / got if got else 0, got / cpu if cpu else 0))
    finally:
        open("/proc/sys/net/core/rmem_max", "w").write(rmem) if os.access(
            "/proc/sys/net/core/rmem_max", os.W_OK) else None
        if os.environ.get("BENCH_KEEP"):
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
