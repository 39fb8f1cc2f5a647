#!/usr/bin/python3
"""Broker outputs: rows/s into Kafka (librdkafka's mock broker), RabbitMQ and Redis, and
what a broker outage does to reception.

    NETACCT_BUILDDIR=/tmp/netacct-rel /usr/bin/python3 tests/bench/broker_bench.py [kafka amqp redis]

BROKER_OUTPUT=avro (or avro_json) encodes the kafka and amqp rows in Avro instead of JSON
(redis has no Avro output).

For each broker, started here on loopback (the test suite's own helpers):
  1. throughput: BROKER_KEYS (default 50 000) distinct rows in one refresh; the write's
     own time (its log line) plus the time after it until the output says every row was
     taken (delivered, confirmed or replied) gives rows/s.  One row is one message (one
     XADD for redis).
  2. outage: the broker is taken away, nfsend sends BROKER_RATE records/s (default
     300 000, 30 per datagram) for BROKER_SECONDS (default 5); the table shows the
     datagrams the daemon received and the kernel dropped against those sent (the
     receive rate during the outage), the rows spooled, and how long the spool took to
     drain once the broker was back.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
os.environ.setdefault("NETACCT_BUILDDIR", str(HERE.parents[1]))

from conftest import NFACCTD, Daemon, base_config, free_port, wait_for  # noqa: E402

BUILD = Path(os.environ["NETACCT_BUILDDIR"])
NFSEND = BUILD / "tests/bench/nfsend"
KEYS = int(os.environ.get("BROKER_KEYS", "50000"))
RATE = int(os.environ.get("BROKER_RATE", "300000"))
SECONDS = int(os.environ.get("BROKER_SECONDS", "5"))
OUTPUT = os.environ.get("BROKER_OUTPUT", "json")
AGG = "src_host, dst_host, src_port, dst_port, proto"
TAKEN = {"kafka": "delivered", "amqp": "confirmed", "redis": "replied"}


def module_stats(d, kind):
    start = len(d.log_text())
    d.send_signal(signal.SIGUSR1)
    rx = re.compile(r"/%s \): stats module (.*)$" % kind, re.M)

    def parse():
        m = rx.search(d.log_text()[start:])
        return dict(kv.split("=", 1) for kv in m.group(1).split()) if m else None
    return wait_for(parse, 30, "stats")


def worker_stats(d):
    """(datagrams received, datagrams the kernel dropped) over the workers."""
    st = d.stats(timeout=30)
    return st.total("datagrams"), st.total("kernel_drops")


def nfsend(port, *args):
    out = subprocess.run([str(NFSEND), "--port", str(port), "--version", "5"] + list(args),
                         capture_output=True, text=True, check=True).stdout
    return dict(kv.split("=") for kv in out.strip().splitlines()[-1].split()[1:])


class Server:
    """The broker, through the integration tests' helpers."""

    def __init__(self, kind, tmp):
        self.kind = kind
        if kind == "kafka":
            from test_kafka import Broker
            self.b = Broker([("pmacct.acct", 1)])
            self.body = "kafka_broker_host[x]: %s\n" % self.b.bootstrap
        elif kind == "amqp":
            from test_amqp import Rabbit
            self.b = Rabbit()
            self.b.bind("bench")
            self.body = ("amqp_host[x]: 127.0.0.1\namqp_port[x]: %d\n"
                         "amqp_persistent_msg[x]: true\n" % self.b.port)
        else:
            from test_redis import Redis
            self.b = Redis()
            self.body = "redis_port[x]: %d\nredis_stream_maxlen[x]: 1000000\n" % self.b.port
        self.body += "%s_spool_dir[x]: %s\n" % (kind, tmp / "spool")
        if kind != "redis":
            self.body += "%s_output[x]: %s\n" % (kind, OUTPUT)
            if OUTPUT != "json":
                self.body += "avro_schema_file[x]: %s\n" % (tmp / "schema.avsc")

    def down(self):
        {"kafka": lambda: self.b.down(), "amqp": lambda: self.b.stop_app(),
         "redis": lambda: self.b.shutdown()}[self.kind]()

    def up(self):
        {"kafka": lambda: self.b.up(), "amqp": lambda: self.b.start_app(),
         "redis": lambda: self.b.start()}[self.kind]()

    def stop(self):
        self.b.stop()


def run(kind, tmp):
    srv = Server(kind, tmp)
    port = free_port()
    conf = (base_config(port, "127.0.0.1", 1) + "nfacctd_pipe_size: 33554432\n"
            "plugins: %s[x]\naggregate[x]: %s\n%s_refresh_time[x]: 2\n%s_cache_entries[x]: %d\n"
            % (kind, AGG, kind, kind, 2 * KEYS) + srv.body)
    d = Daemon(tmp, conf, name="nfacctd-%s" % kind)
    res = {"broker": kind}
    try:
        d.start()
        # 1. throughput
        nfsend(port, "--keys", str(KEYS), "--records", str(KEYS), "--rate", "500000")
        m = wait_for(lambda: re.search(r"flushed %d entries .* in (\d+) ms" % KEYS,
                                       d.log_text()), 60, "the flush")
        # the write itself (amqp, redis: confirmed inside it), then what is still in flight
        t0 = time.monotonic() - int(m.group(1)) / 1000.0
        def taken():
            st = module_stats(d, kind)
            if os.environ.get("BROKER_DEBUG"):
                print(st, file=sys.stderr)
            return int(st[TAKEN[kind]]) >= KEYS
        wait_for(taken, 120, "every row")
        res["rows_s"] = KEYS / (time.monotonic() - t0)
        # 2. outage
        dg0, kd0 = worker_stats(d)
        srv.down()
        sent = nfsend(port, "--keys", "1000", "--rate", str(RATE), "--duration", str(SECONDS))
        wait_for(lambda: int(module_stats(d, kind)["spooled"]) > 0, 60, "spooling")
        dg1, kd1 = worker_stats(d)
        res["sent_dg"] = int(sent["datagrams"])
        res["recv_dg"] = dg1 - dg0
        res["kdrop"] = kd1 - kd0
        res["spooled"] = int(module_stats(d, kind)["spooled"])
        srv.up()
        t0 = time.monotonic()
        wait_for(lambda: module_stats(d, kind).get("spool_records") == "0", 300, "the drain")
        res["drain_s"] = time.monotonic() - t0
    finally:
        d.stop()
        srv.stop()
    return res


def main():
    kinds = sys.argv[1:] or ["kafka", "amqp", "redis"]
    if b"__asan_init" in NFACCTD.read_bytes():
        print("warning: %s is a sanitizer build; figures are not representative" % NFACCTD)
    rows = []
    for k in kinds:
        with tempfile.TemporaryDirectory(prefix="broker-bench.") as t:
            rows.append(run(k, Path(t)))
    print("output: %s (kafka, amqp)" % OUTPUT)
    print("%-6s %10s | %9s %9s %6s %8s %8s" % ("broker", "rows/s", "sent dg", "recv dg",
                                              "kdrop", "spooled", "drain s"))
    for r in rows:
        print("%-6s %10.0f | %9d %9d %6d %8d %8.1f" % (
            r["broker"], r["rows_s"], r["sent_dg"], r["recv_dg"], r["kdrop"], r["spooled"],
            r["drain_s"]))


if __name__ == "__main__":
    sys.exit(main())
