#!/usr/bin/python3
"""Benchmark of the memory table and the SQL outputs.

  NETACCT_BUILDDIR=<build> /usr/bin/python3 tests/bench/memsql_bench.py [memory|sql] [N]

memory: fills a memory table with N distinct keys (default 1M) and times pmacct client
queries on it (median of 5).  sql: writes N distinct rows (default 100k) per backend and
mode, and reports rows/s from the writer's own "flushed N entries ... in X ms" lines
(the time of write(): statements, transaction, commit).  The servers are the throwaway
ones of tests/integration/test_sql.py.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

from conftest import BUILDDIR, NFACCTD, Daemon, Sender, base_config, free_port, v5_record  # noqa
from conftest import v5_datagram, wait_for  # noqa
import test_sql  # noqa

PMACCT = BUILDDIR / "pmacct"


def keys(n):
    for i in range(n):
        yield dict(src="10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255),
                   dst="172.16.%d.%d" % (i >> 8 & 255, i & 255), packets=1, octets=100)


def send_keys(port, n, per=30):
    s = Sender(port)
    batch, seq = [], 0
    for r in keys(n):
        batch.append(r)
        if len(batch) == per:
            s.send(v5_datagram(batch, seq=seq))
            seq += per
            batch = []
            if seq % 3000 == 0:
                time.sleep(0.002)  # pace: the kernel's socket buffer is finite
    if batch:
        s.send(v5_datagram(batch, seq=seq))
    s.close()


def daemon(tmp, body, workers=2):
    port = free_port()
    d = Daemon(tmp, base_config(port, "127.0.0.1", workers) + body)
    d.port = port
    d.start()
    return d


def timed(args, runs=5):
    ts = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([str(PMACCT)] + args, stdout=subprocess.DEVNULL, check=False)
        ts.append(time.monotonic() - t0)
    return statistics.median(ts)


def bench_memory(n):
    tmp = Path(tempfile.mkdtemp(prefix="netacct-bench-"))
    sock = tmp / "imt.pipe"
    d = daemon(tmp, "plugins: memory[m]\naggregate[m]: src_host, dst_host\nimt_path[m]: %s\n"
               "imt_buckets[m]: 2000000\n" % sock)
    try:
        send_keys(d.port, n)

        def entries():
            out = subprocess.run([str(PMACCT), "-p", str(sock), "-t"], capture_output=True,
                                 text=True).stdout
            return int(re.search(r"entries: (\d+)", out).group(1))
        last = [-1]

        def settled():  # two equal readings a round apart: the burst is folded
            e = entries()
            time.sleep(1.5)
            ok = e == entries() and e == last[0]
            last[0] = e
            return ok
        wait_for(settled, 300, "the table to settle")
        e = entries()
        print("memory table: %d entries (%d sent; UDP may drop)" % (e, n))
        p = ["-p", str(sock)]
        print("  pmacct -t                          %.3f s" % timed(p + ["-t"]))
        print("  pmacct -c src_host -N <one key>    %.3f s" %
              timed(p + ["-c", "src_host", "-N", "10.0.0.5"]))
        print("  pmacct -s -T bytes,10              %.3f s" % timed(p + ["-s", "-T", "bytes,10"]))
        print("  pmacct -s -O json (whole table)    %.3f s" % timed(p + ["-s", "-O", "json"], 3))
    finally:
        d.stop()


def flushed(d):
    tot_e = tot_ms = 0
    for m in re.finditer(r"flushed (\d+) entries of .* in (\d+) ms", d.log_text()):
        tot_e += int(m.group(1))
        tot_ms += int(m.group(2))
    return tot_e, tot_ms


def settle(d, before):
    """Wait until the writer's flush totals moved past before and stopped moving."""
    seen = [before]

    def still():
        time.sleep(6)  # a refresh interval (5 s) and some
        now = flushed(d)
        ok = now == seen[0] and now != before
        seen[0] = now
        return ok
    wait_for(still, 600, "the writes to settle")
    return seen[0]


def bench_sql(n):
    servers = {"pgsql": test_sql.Postgres(), "mysql": test_sql.MariaDB()}
    modes = {
        "update-then-insert": "",
        "insert only": "sql_dont_try_update[s]: true\n",
        "multi-values 1 MiB": "sql_dont_try_update[s]: true\nsql_multi_values[s]: 1048576\n",
        "copy": "sql_dont_try_update[s]: true\nsql_use_copy[s]: true\n",
    }
    try:
        for kind in ("sqlite3", "pgsql", "mysql"):
            for mode, extra in modes.items():
                if mode == "copy" and kind != "pgsql":
                    continue
                tmp = Path(tempfile.mkdtemp(prefix="netacct-bench-"))

                class Req:  # what test_sql.Backend asks of pytest's request
                    @staticmethod
                    def getfixturevalue(name):
                        return servers["pgsql" if name == "pg_server" else "mysql"]
                be = test_sql.Backend(kind, Req, tmp)
                sf = be.schema_file()
                body = be.config(extra="sql_table_version[s]: 9\nsql_table_schema[s]: %s\n"
                                 "sql_refresh_time[s]: 5\n%s" % (sf, extra))
                body = body.replace("sql_refresh_time[s]: 1\n", "")
                body = body.replace("aggregate[s]: " + test_sql.AGG, "aggregate[s]: src_host, "
                                    "dst_host")
                d = daemon(tmp, body)
                send_keys(d.port, n)
                rows, ms = settle(d, (0, 0))
                if mode == "update-then-insert":  # the same keys again: every UPDATE hits
                    send_keys(d.port, n)
                    r2, ms2 = settle(d, (rows, ms))
                    upd = " ; all-UPDATE round: %d rows/s" % ((r2 - rows) * 1000 / max(ms2 - ms, 1))
                else:
                    upd = ""
                d.stop()
                print("%-8s %-20s %7d rows in %6d ms: %8.0f rows/s%s" %
                      (kind, mode, rows, ms, rows * 1000 / max(ms, 1), upd))
    finally:
        for s in servers.values():
            s.close()


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "memory"
    if what == "memory":
        bench_memory(int(sys.argv[2]) if len(sys.argv) > 2 else 1000000)
    else:
        bench_sql(int(sys.argv[2]) if len(sys.argv) > 2 else 100000)
