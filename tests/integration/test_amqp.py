"""amqp output: rows as JSON messages published to a real RabbitMQ server started
here (its own node name, ports and folder), read back with python3-pika.

The outage test stops the RabbitMQ application while flows keep coming and starts
it again: every row must arrive exactly once, rounds in order.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (TIMEOUT, Sender, free_port, run_config_check, v5_datagram, wait_for)

RMQ = Path("/usr/lib/rabbitmq/bin")
pika = pytest.importorskip("pika")

pytestmark = pytest.mark.skipif(not (RMQ / "rabbitmq-server").exists(),
                                reason="rabbitmq-server is not installed")


def tcp_free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rabbit:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="netacct-rmq."))
        self.port = tcp_free_port()
        self.node = "netacct%d@localhost" % os.getpid()
        self.env = dict(os.environ, HOME=str(self.dir), ERL_EPMD_PORT=str(tcp_free_port()),
                        RABBITMQ_NODENAME=self.node, RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
                        RABBITMQ_NODE_PORT=str(self.port),
                        RABBITMQ_DIST_PORT=str(tcp_free_port()),
                        RABBITMQ_MNESIA_BASE=str(self.dir / "mnesia"),
                        RABBITMQ_LOG_BASE=str(self.dir / "log"),
                        RABBITMQ_PID_FILE=str(self.dir / "rmq.pid"),
                        RABBITMQ_ENABLED_PLUGINS_FILE=str(self.dir / "enabled_plugins"),
                        RABBITMQ_CONFIG_FILE=str(self.dir / "rabbitmq"),
                        RABBITMQ_CONF_ENV_FILE=str(self.dir / "rabbitmq-env.conf"))
        (self.dir / "enabled_plugins").write_text("[].\n")
        subprocess.run([str(RMQ / "rabbitmq-server"), "-detached"], env=self.env, check=True,
                       capture_output=True)
        self.ctl("await_startup", "--timeout", "60", retry=True)

    def ctl(self, *args, retry=False):
        deadline = time.monotonic() + 90
        while True:
            p = subprocess.run([str(RMQ / "rabbitmqctl"), "-n", self.node, "-q"] + list(args),
                               env=self.env, capture_output=True, text=True)
            if p.returncode == 0 or not retry:
                return p
            if time.monotonic() > deadline:
                raise AssertionError("rabbitmqctl %s: %s" % (args, p.stderr))
            time.sleep(0.5)  # the node is not registered yet: nothing to wait on but time

    def stop_app(self):
        assert self.ctl("stop_app").returncode == 0

    def start_app(self):
        assert self.ctl("start_app").returncode == 0
        self.ctl("await_startup", "--timeout", "60", retry=True)

    def channel(self):
        conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", self.port))
        return conn, conn.channel()

    def bind(self, queue, exchange="pmacct", key="acct", durable=True, etype="direct"):
        conn, ch = self.channel()
        ch.exchange_declare(exchange, exchange_type=etype, durable=durable)
        ch.queue_declare(queue, durable=True)
        ch.queue_purge(queue)
        ch.queue_bind(queue, exchange, routing_key=key)
        conn.close()

    def drain(self, queue):
        """Every message now in queue: [(routing key, JSON)]."""
        conn, ch = self.channel()
        out = []
        while True:
            m, props, body = ch.basic_get(queue, auto_ack=True)
            if m is None:
                break
            out.append((m.routing_key, json.loads(body)))
        conn.close()
        return out

    def stop(self):
        self.ctl("shutdown")
        subprocess.run(["epmd", "-port", self.env["ERL_EPMD_PORT"], "-kill"], env=self.env,
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def rabbit():
    r = Rabbit()
    yield r
    r.stop()


def amqp_plugin(r, tmp_path, aggregate, extra="", name="a"):
    return ("plugins: amqp[{n}]\namqp_host[{n}]: 127.0.0.1\namqp_port[{n}]: {p}\n"
            "aggregate[{n}]: {a}\namqp_refresh_time[{n}]: 1\namqp_spool_dir[{n}]: {s}\n"
            "amqp_persistent_msg[{n}]: true\n").format(n=name, p=r.port, a=aggregate,
                                                      s=tmp_path / "spool") + extra


def module_stats(d, name="a"):
    start = len(d.log_text())
    d.send_signal(signal.SIGUSR1)

    def parse():
        for line in d.log_text()[start:].splitlines():
            if "( %s/amqp ): stats module" % name in line:
                return dict(kv.split("=", 1) for kv in line.split("stats module ")[1].split())
        return None
    return wait_for(parse, what="amqp stats")


def rows(n, base="10.0.0", packets=1):
    return [dict(src="%s.%d" % (base, i + 1), dst="10.9.9.9", packets=packets,
                 octets=100 * packets) for i in range(n)]


def collect(r, queue, n):
    got = []
    wait_for(lambda: len(got.extend(r.drain(queue)) or got) >= n, TIMEOUT * 3,
             "%d messages in %s" % (n, queue))
    return got


def test_rows_published_and_confirmed(nfacctd, tmp_path, rabbit):
    rabbit.bind("q_rows")
    d = nfacctd(amqp_plugin(rabbit, tmp_path, "src_host, dst_host, proto",
                            "amqp_markers[a]: true\n"))
    Sender(d.port).send(v5_datagram(rows(5)))
    got = collect(rabbit, "q_rows", 7)
    assert [k for k, _ in got] == ["acct"] * 7
    body = [m for _, m in got]
    assert body[0]["event_type"] == "purge_init" and body[-1]["event_type"] == "purge_close"
    assert body[-1]["purged_entries"] == 5
    assert sorted(m["ip_src"] for m in body[1:-1]) == ["10.0.0.%d" % i for i in range(1, 6)]
    assert all(m["packets"] == 1 and m["bytes"] == 100 for m in body[1:-1])
    st = module_stats(d)
    assert st["broker"] == "up" and st["confirmed"] == "7" and st["spooled"] == "0"
    d.stop()


def test_routing_key_variable_and_round_robin(nfacctd, tmp_path, rabbit):
    rabbit.bind("q_peer", key="flows.127.0.0.1")
    for i in range(3):
        rabbit.bind("q_rr%d" % i, exchange="rr", key="k_%d" % i)
    body = amqp_plugin(rabbit, tmp_path, "peer_src_ip, src_host",
                       "amqp_routing_key[a]: flows.$peer_src_ip\n")
    body = body.replace("plugins: amqp[a]", "plugins: amqp[a], amqp[b]")
    body += ("amqp_host[b]: 127.0.0.1\namqp_port[b]: %d\naggregate[b]: src_host\n"
             "amqp_refresh_time[b]: 1\namqp_spool_dir[b]: %s\namqp_persistent_msg[b]: true\n"
             "amqp_exchange[b]: rr\namqp_routing_key[b]: k\namqp_routing_key_rr[b]: 3\n"
             % (rabbit.port, tmp_path / "spool"))
    d = nfacctd(body)
    Sender(d.port).send(v5_datagram(rows(6)))
    got = collect(rabbit, "q_peer", 6)
    assert {k for k, _ in got} == {"flows.127.0.0.1"}
    assert {m["peer_ip_src"] for _, m in got} == {"127.0.0.1"}
    for i in range(3):
        assert len(collect(rabbit, "q_rr%d" % i, 2)) == 2
    d.stop()


def send_rounds(d, nrounds, per_round, first=0):
    s = Sender(d.port)
    for r in range(first, first + nrounds):
        s.send(v5_datagram(rows(per_round, base="10.%d.0" % r)))
        d.wait_datagrams(r + 1)
        wait_for(lambda: d.log_text().count("flushed") >= r + 1, what="flush of round %d" % r)


def test_outage_spools_then_replays_every_row_once_in_order(nfacctd, tmp_path, rabbit):
    rabbit.bind("q_outage")
    d = nfacctd(amqp_plugin(rabbit, tmp_path, "src_host"))
    send_rounds(d, 2, 10)
    got = collect(rabbit, "q_outage", 20)
    rabbit.stop_app()
    try:
        send_rounds(d, 3, 10, first=2)
        wait_for(lambda: module_stats(d)["broker"] == "down", what="the output to see it")
        assert int(module_stats(d)["spool_records"]) >= 1
    finally:
        rabbit.start_app()
    got += collect(rabbit, "q_outage", 30)
    st = module_stats(d)
    assert st["broker"] == "up" and st["spool_records"] == "0" and st["dropped"] == "0"
    srcs = [m["ip_src"] for _, m in got]
    assert sorted(srcs) == sorted("10.%d.0.%d" % (r, i) for r in range(5) for i in range(1, 11))
    rounds = [int(s.split(".")[1]) for s in srcs]
    assert rounds == sorted(rounds)
    d.stop()


def test_broker_down_at_start_then_restart_with_spool(nfacctd, tmp_path, rabbit):
    rabbit.bind("q_restart")
    body = amqp_plugin(rabbit, tmp_path, "src_host")
    rabbit.stop_app()
    try:
        d = nfacctd(body)
        d.wait_log("not reachable at start")
        send_rounds(d, 2, 10)
        d.stop()
        assert "20 messages left in the spool for the next start" in d.log_text()
    finally:
        rabbit.start_app()
    d2 = nfacctd(body, name="restarted")
    d2.wait_log("holds 20 messages from an earlier run")
    got = collect(rabbit, "q_restart", 20)
    assert sorted(m["ip_src"] for _, m in got) == sorted(
        "10.%d.0.%d" % (r, i) for r in range(2) for i in range(1, 11))
    assert module_stats(d2)["spool_records"] == "0"
    d2.stop()


def test_config_errors(tmp_path):
    base = "nfacctd_ip: 127.0.0.1\nnfacctd_port: %d\nplugins: amqp[a]\n" % free_port()
    rc, err = run_config_check(tmp_path, base + "amqp_output[a]: xml\n"
                               "amqp_spool_dir[a]: %s\n" % tmp_path)
    assert rc != 0 and "amqp_output" in err and "xml" in err
    rc, err = run_config_check(tmp_path, base + "amqp_output[a]: avro_json\n"
                               "avro_schema_file[a]: /proc/no/such/a.avsc\n"
                               "amqp_spool_dir[a]: %s\n" % tmp_path)
    if _built_with_avro():
        assert rc != 0 and "avro_schema_file[a]" in err and "/proc/no/such/a.avsc" in err
    else:
        assert rc != 0 and "built without libavro" in err
    rc, err = run_config_check(tmp_path, base + "amqp_spool_dir[a]: /proc/no/such\n")
    assert rc != 0 and "amqp_spool_dir[a]" in err


def test_consumer_example_sums_per_exporter(nfacctd, tmp_path, rabbit):
    from conftest import REPO_ROOT
    consumer = REPO_ROOT / "contrib" / "amqp" / "consumer.py"
    rabbit.bind("q_example")
    d = nfacctd(amqp_plugin(rabbit, tmp_path, "peer_src_ip, src_host", "amqp_markers[a]: true\n"))
    Sender(d.port).send(v5_datagram(rows(4, packets=3)))
    wait_for(lambda: int(module_stats(d)["confirmed"]) >= 6, what="6 confirmed messages")
    out = subprocess.run(["/usr/bin/python3", str(consumer), "--port", str(rabbit.port),
                          "--durable", "--queue", "q_example", "--exit-when-idle", "2"],
                         capture_output=True, text=True, timeout=TIMEOUT * 3)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["127.0.0.1 packets=12 bytes=1200 rows=4", "markers=2"]
    d.stop()


# ---- Avro: the same rows as the JSON output, decoded with the schema netacct wrote ----

def _built_with_avro():
    from conftest import BUILDDIR
    conf = BUILDDIR / "config.h"
    return conf.exists() and "#define HAVE_AVRO 1" in conf.read_text()


needs_avro = pytest.mark.skipif(not _built_with_avro(), reason="built without libavro")

def drain_raw(r, queue, n):
    """[(content type, body bytes)] of the first n messages of queue."""
    got = []

    def more():
        conn, ch = r.channel()
        while True:
            m, props, body = ch.basic_get(queue, auto_ack=True)
            if m is None:
                break
            got.append((props.content_type, body))
        conn.close()
        return len(got) >= n
    wait_for(more, TIMEOUT * 3, "%d messages in %s" % (n, queue))
    return got


@needs_avro
def test_avro_and_avro_json_rows_equal_the_json_rows(nfacctd, tmp_path, rabbit):
    import io
    avro_io = pytest.importorskip("avro.io")
    import avro.schema
    agg = "peer_src_ip, src_host, dst_host, src_port, dst_port, proto, tcpflags, src_as, flows"
    body = "plugins: amqp[j], amqp[a], amqp[aj]\n"
    for name, fmt in (("j", "json"), ("a", "avro"), ("aj", "avro_json")):
        rabbit.bind("q_avro_" + name, key=name)
        body += amqp_plugin(rabbit, tmp_path, agg,
                            "amqp_routing_key[{n}]: {n}\namqp_output[{n}]: {f}\n"
                            "amqp_history[{n}]: 1h\navro_schema_file[{n}]: {p}\n".format(
                                n=name, f=fmt, p=tmp_path / (name + ".avsc")),
                            name=name).replace("plugins: amqp[%s]\n" % name, "")
    body += "amqp_markers[a]: true\n"
    d = nfacctd(body)
    recs = [dict(src="10.0.0.%d" % (i + 1), dst="10.9.9.9", sport=40000 + i, dport=443,
                 proto=[6, 17][i % 2], tcp_flags=0x18, src_as=65000 + i, packets=i + 1,
                 octets=64 * (i + 1)) for i in range(5)]
    Sender(d.port).send(v5_datagram(recs))

    def key(r):
        return r["ip_src"]
    want = sorted((json.loads(b) for _, b in drain_raw(rabbit, "q_avro_j", 5)), key=key)
    schema = avro.schema.parse((tmp_path / "a.avsc").read_text())
    assert [f.name for f in schema.fields] == list(want[0].keys())

    got = drain_raw(rabbit, "q_avro_a", 7)  # purge_init, 5 records, purge_close
    assert [t for t, _ in got] == ["application/json"] + ["application/avro"] * 5 + [
        "application/json"]
    assert json.loads(got[-1][1])["purged_entries"] == 5
    reader = avro_io.DatumReader(schema)
    dec = sorted((reader.read(avro_io.BinaryDecoder(io.BytesIO(b))) for _, b in got[1:-1]),
                 key=key)
    assert dec == want

    aj = sorted((json.loads(b) for _, b in drain_raw(rabbit, "q_avro_aj", 5)), key=key)
    assert all(avro_io.validate(schema, r) for r in aj)
    assert aj == want
    d.stop()
