"""redis output: stream entries, counter hashes and published messages in a real
redis-server started here (its own port and folder, append-only file so a
restart keeps the data), read back with python3-redis.
"""
import json
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import TIMEOUT, Sender, free_port, run_config_check, v5_datagram, wait_for

redis = pytest.importorskip("redis")
SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(SERVER is None, reason="redis-server is not installed")


def tcp_free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="netacct-redis."))
        self.port = tcp_free_port()
        self.start()

    def start(self):
        subprocess.run([SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                        str(self.dir), "--daemonize", "yes", "--pidfile",
                        str(self.dir / "redis.pid"), "--logfile", str(self.dir / "redis.log"),
                        "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
                       check=True)
        self.client = redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)

        def ping():
            try:
                return self.client.ping()
            except redis.exceptions.ConnectionError:
                return False
        wait_for(ping, what="redis-server to answer")

    def shutdown(self):
        """Stop the server (keeping its data in the append-only file)."""
        pid = int((self.dir / "redis.pid").read_text())
        try:
            self.client.shutdown()
        except redis.exceptions.ConnectionError:
            pass
        wait_for(lambda: not Path("/proc/%d" % pid).exists(), what="redis-server to exit")

    def stop(self):
        self.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def rserver():
    r = Redis()
    yield r
    r.stop()


def redis_plugin(r, tmp_path, aggregate, extra="", name="r"):
    return ("plugins: redis[{n}]\nredis_port[{n}]: {p}\naggregate[{n}]: {a}\n"
            "redis_refresh_time[{n}]: 1\nredis_spool_dir[{n}]: {s}\n").format(
                n=name, p=r.port, a=aggregate, s=tmp_path / "spool") + extra


def module_stats(d, name="r"):
    start = len(d.log_text())
    d.send_signal(signal.SIGUSR1)

    def parse():
        for line in d.log_text()[start:].splitlines():
            if "( %s/redis ): stats module" % name in line:
                return dict(kv.split("=", 1) for kv in line.split("stats module ")[1].split())
        return None
    return wait_for(parse, what="redis stats")


def rows(n, base="10.0.0", packets=1):
    return [dict(src="%s.%d" % (base, i + 1), dst="10.9.9.9", packets=packets,
                 octets=100 * packets) for i in range(n)]


def stream(r, key, n):
    return wait_for(lambda: (lambda e: e if len(e) >= n else None)(r.client.xrange(key)),
                    TIMEOUT * 3, "%d entries in stream %s" % (n, key))


def test_stream_entries_carry_the_json_fields(nfacctd, tmp_path, rserver):
    d = nfacctd(redis_plugin(rserver, tmp_path, "peer_src_ip, src_host, proto",
                             "redis_key[r]: flows:$peer_src_ip\nredis_stream_maxlen[r]: 1000\n"))
    Sender(d.port).send(v5_datagram(rows(5)))
    entries = stream(rserver, "flows:127.0.0.1", 5)
    got = sorted((f for _, f in entries), key=lambda f: f["ip_src"])
    assert got == [{"peer_ip_src": "127.0.0.1", "ip_src": "10.0.0.%d" % i, "ip_proto": "tcp",
                    "packets": "1", "bytes": "100"} for i in range(1, 6)]
    st = module_stats(d)
    assert st["redis"] == "up" and st["replied"] == "5" and st["reply_errors"] == "0"
    d.stop()


def test_hash_counters_add_up_across_rounds_and_expire(nfacctd, tmp_path, rserver):
    d = nfacctd(redis_plugin(rserver, tmp_path, "src_host, dst_host",
                             "redis_output[r]: hash\nredis_key[r]: h\nredis_ttl[r]: 3600\n"))
    s = Sender(d.port)
    for rnd in range(2):
        s.send(v5_datagram(rows(3, packets=2)))
        d.wait_datagrams(rnd + 1)
        wait_for(lambda: d.log_text().count("flushed") >= rnd + 1, what="round %d" % rnd)
    key = "h:10.0.0.1|10.9.9.9"
    wait_for(lambda: rserver.client.hget(key, "packets") == "4", TIMEOUT * 3, "both rounds")
    assert rserver.client.hgetall(key) == {"ip_src": "10.0.0.1", "ip_dst": "10.9.9.9",
                                           "packets": "4", "bytes": "400"}
    assert 0 < rserver.client.ttl(key) <= 3600
    assert sorted(rserver.client.keys("h:*")) == ["h:10.0.0.%d|10.9.9.9" % i for i in (1, 2, 3)]
    d.stop()


def test_pubsub_publishes_json_rows(nfacctd, tmp_path, rserver):
    sub = rserver.client.pubsub()
    sub.subscribe("live")
    wait_for(lambda: sub.get_message(timeout=0.1), what="subscription")
    d = nfacctd(redis_plugin(rserver, tmp_path, "src_host", "redis_output[r]: pubsub\n"
                             "redis_key[r]: live\n"))
    Sender(d.port).send(v5_datagram(rows(3)))
    got = []

    def three():
        m = sub.get_message(timeout=0.1)
        if m and m["type"] == "message":
            got.append(json.loads(m["data"]))
        return len(got) >= 3
    wait_for(three, TIMEOUT * 3, "3 published rows")
    assert sorted(g["ip_src"] for g in got) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert all(g["event_type"] == "purge" for g in got)
    sub.close()
    d.stop()


def test_outage_spools_then_replays_in_order(nfacctd, tmp_path, rserver):
    d = nfacctd(redis_plugin(rserver, tmp_path, "src_host", "redis_key[r]: outage\n"))
    s = Sender(d.port)

    def round_(r):
        s.send(v5_datagram(rows(10, base="10.%d.0" % r)))
        d.wait_datagrams(r + 1)
        wait_for(lambda: d.log_text().count("flushed") >= r + 1, what="round %d" % r)
    round_(0)
    stream(rserver, "outage", 10)
    rserver.shutdown()
    try:
        for r in range(1, 4):
            round_(r)
        wait_for(lambda: module_stats(d)["redis"] == "down", what="the output to see it")
        assert int(module_stats(d)["spool_records"]) >= 1
    finally:
        rserver.start()
    entries = stream(rserver, "outage", 40)
    assert len(entries) == 40
    srcs = [f["ip_src"] for _, f in entries]
    assert sorted(srcs) == sorted("10.%d.0.%d" % (r, i) for r in range(4) for i in range(1, 11))
    rounds = [int(x.split(".")[1]) for x in srcs]
    assert rounds == sorted(rounds)
    st = module_stats(d)
    assert st["spool_records"] == "0" and st["dropped"] == "0"
    d.stop()


def test_down_at_start_and_restart_with_spool(nfacctd, tmp_path, rserver):
    body = redis_plugin(rserver, tmp_path, "src_host", "redis_key[r]: restart\n")
    rserver.shutdown()
    try:
        d = nfacctd(body)
        d.wait_log("not reachable at start")
        Sender(d.port).send(v5_datagram(rows(10)))
        d.wait_datagrams(1)
        wait_for(lambda: d.log_text().count("flushed") >= 1, what="a flush")
        d.stop()
        assert "10 commands left in the spool for the next start" in d.log_text()
    finally:
        rserver.start()
    d2 = nfacctd(body, name="restarted")
    d2.wait_log("holds 10 commands from an earlier run")
    assert len(stream(rserver, "restart", 10)) == 10
    d2.stop()


def test_config_errors(tmp_path):
    base = "nfacctd_ip: 127.0.0.1\nnfacctd_port: %d\nplugins: redis[r]\n" % free_port()
    rc, err = run_config_check(tmp_path, base + "redis_output[r]: list\n")
    assert rc != 0 and "redis_output" in err
    rc, err = run_config_check(tmp_path, base + "redis_spool_dir[r]: /proc/no/such\n")
    assert rc != 0 and "redis_spool_dir[r]" in err
