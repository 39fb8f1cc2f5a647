"""kafka output: rows as JSON messages, read back with kcat from a Kafka-protocol
broker (librdkafka's mock cluster, tests/kafka_mock/kafka_mock) started here.

The outage tests take the broker down while flows keep coming and bring it
back: every row must arrive exactly once, rounds in order, or be counted as
dropped when the spool is full.
"""
import json
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILDDIR, TIMEOUT, Sender, v5_datagram, wait_for

MOCK = BUILDDIR / "tests/kafka_mock/kafka_mock"
KCAT = shutil.which("kcat")

pytestmark = [
    pytest.mark.skipif(not MOCK.exists(), reason="built without librdkafka (no kafka_mock)"),
    pytest.mark.skipif(KCAT is None, reason="kcat is not installed"),
]

MODULE_STATS = re.compile(r"\( ([^/ ]+)/kafka \): stats module (.*)$")


class Broker:
    def __init__(self, topics):
        self.proc = subprocess.Popen([str(MOCK)] + ["%s:%d" % t for t in topics],
                                     stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline().strip()
        assert first.startswith("bootstrap="), first
        self.bootstrap = first.split("=", 1)[1]
        assert self.proc.stdout.readline().strip() == "ready"

    def _signal(self, sig, ack):
        self.proc.send_signal(sig)
        assert self.proc.stdout.readline().strip() == ack

    def down(self):
        self._signal(signal.SIGUSR1, "down")

    def up(self):
        self._signal(signal.SIGUSR2, "up")

    def read(self, topic):
        """[(partition, key, JSON value)] of every message in topic, per partition in order."""
        out = subprocess.run([KCAT, "-b", self.bootstrap, "-C", "-t", topic, "-o", "beginning",
                              "-e", "-q", "-f", "%p\t%k\t%s\n"],
                             capture_output=True, text=True, timeout=TIMEOUT * 3)
        msgs = []
        for line in out.stdout.splitlines():
            p, k, v = line.split("\t", 2)
            msgs.append((int(p), k, json.loads(v)))
        return msgs

    def wait_count(self, topic, n, what=""):
        return wait_for(lambda: (lambda m: m if len(m) >= n else None)(self.read(topic)),
                        TIMEOUT * 3, "%d messages in %s %s" % (n, topic, what))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def broker():
    made = []

    def make(*topics):
        b = Broker(topics)
        made.append(b)
        return b
    yield make
    for b in made:
        b.stop()


def kafka_plugin(b, tmp_path, aggregate, extra="", name="k"):
    conf = tmp_path / "rdkafka.conf"
    conf.write_text("# quick failure detection for the tests\nmessage.timeout.ms=3000\n")
    return ("plugins: kafka[{n}]\nkafka_broker_host[{n}]: {b}\naggregate[{n}]: {a}\n"
            "kafka_refresh_time[{n}]: 1\nkafka_spool_dir[{n}]: {s}\n"
            "kafka_config_file[{n}]: {c}\n").format(n=name, b=b.bootstrap, a=aggregate,
                                                    s=tmp_path / "spool", c=conf) + extra


def module_stats(d, name="k"):
    start = len(d.log_text())
    d.send_signal(signal.SIGUSR1)

    def parse():
        for line in d.log_text()[start:].splitlines():
            m = MODULE_STATS.search(line)
            if m and m.group(1) == name:
                return dict(kv.split("=", 1) for kv in m.group(2).split())
        return None
    return wait_for(parse, what="kafka stats")


def rows(n, base="10.0.0", dst="10.9.9.9", packets=1):
    return [dict(src="%s.%d" % (base, i + 1), dst=dst, packets=packets, octets=100 * packets)
            for i in range(n)]


def values(msgs):
    return sorted((m[2]["ip_src"], m[2]["packets"], m[2]["bytes"]) for m in msgs)


def test_rows_arrive_as_json_messages(nfacctd, tmp_path, broker):
    b = broker(("pmacct.acct", 1))
    d = nfacctd(kafka_plugin(b, tmp_path, "src_host, dst_host, proto"))
    s = Sender(d.port)
    s.send(v5_datagram(rows(5)))
    msgs = b.wait_count("pmacct.acct", 5)
    assert sorted((m[2] for m in msgs), key=lambda r: r["ip_src"]) == [
        {"event_type": "purge", "ip_src": "10.0.0.%d" % i, "ip_dst": "10.9.9.9",
         "ip_proto": "tcp", "packets": 1, "bytes": 100} for i in range(1, 6)]
    st = module_stats(d)
    assert st["broker"] == "up" and st["delivered"] == "5" and st["spooled"] == "0"
    d.stop()


def test_topic_variable_and_partition_key_per_exporter(nfacctd, tmp_path, broker):
    b = broker(("flows.127.0.0.1", 4), ("flows.127.0.0.2", 4))
    d = nfacctd(kafka_plugin(b, tmp_path, "peer_src_ip, src_host",
                             "kafka_topic[k]: flows.$peer_src_ip\n"
                             "kafka_partition_key[k]: $peer_src_ip\n"
                             "kafka_partition_dynamic[k]: true\n"))
    for host, base in (("127.0.0.1", "10.1.0"), ("127.0.0.2", "10.2.0")):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((host, 0))
            sock.sendto(v5_datagram(rows(8, base=base)), ("127.0.0.1", d.port))
    for host, base in (("127.0.0.1", "10.1.0"), ("127.0.0.2", "10.2.0")):
        msgs = b.wait_count("flows." + host, 8)
        assert len(msgs) == 8
        # one exporter: one key, hence one partition
        assert {m[1] for m in msgs} == {host}
        assert len({m[0] for m in msgs}) == 1
        assert {m[2]["peer_ip_src"] for m in msgs} == {host}
        assert all(m[2]["ip_src"].startswith(base) for m in msgs)
    d.stop()


def test_topic_round_robin_and_markers(nfacctd, tmp_path, broker):
    b = broker(("rr_0", 1), ("rr_1", 1), ("rr_2", 1))
    d = nfacctd(kafka_plugin(b, tmp_path, "src_host",
                             "kafka_topic[k]: rr\nkafka_topic_rr[k]: 3\n"
                             "kafka_markers[k]: true\n"))
    Sender(d.port).send(v5_datagram(rows(7)))
    # purge_init, 7 rows, purge_close: 9 messages over 3 topics, 3 each
    got = [b.wait_count("rr_%d" % i, 3) for i in range(3)]
    assert [len(g) for g in got] == [3, 3, 3]
    allm = [m[2] for g in got for m in g]
    assert sum(1 for m in allm if m["event_type"] == "purge") == 7
    init = [m for m in allm if m["event_type"] == "purge_init"]
    close = [m for m in allm if m["event_type"] == "purge_close"]
    assert len(init) == 1 and len(close) == 1 and close[0]["purged_entries"] == 7
    assert init[0]["writer_id"].startswith("k/kafka/")
    d.stop()


def send_rounds(d, nrounds, per_round, first=0):
    """Round r: per_round rows from 10.<r>.0.x, in their own refresh interval."""
    s = Sender(d.port)
    sent = 0
    for r in range(first, first + nrounds):
        s.send(v5_datagram(rows(per_round, base="10.%d.0" % r)))
        sent += 1
        st = d.wait_datagrams(sent + first)
        # the next round's rows must land in a later interval: wait for this one's flush
        wait_for(lambda: d.log_text().count("flushed") >= r + 1, what="flush of round %d" % r)
    return st


def round_of(m):
    return int(m[2]["ip_src"].split(".")[1])


def test_outage_spools_then_replays_every_row_once_in_order(nfacctd, tmp_path, broker):
    b = broker(("pmacct.acct", 1))
    d = nfacctd(kafka_plugin(b, tmp_path, "src_host"))
    send_rounds(d, 2, 10)
    b.wait_count("pmacct.acct", 20, "before the outage")
    b.down()
    # flows keep coming and every datagram is received while the broker is away
    send_rounds(d, 4, 10, first=2)
    wait_for(lambda: module_stats(d)["broker"] == "down", what="the output to see the outage")
    wait_for(lambda: int(module_stats(d)["spool_records"]) >= 1, what="rows in the spool")
    b.up()
    msgs = b.wait_count("pmacct.acct", 60, "after the outage")
    st = module_stats(d)
    assert st["broker"] == "up" and st["spool_records"] == "0" and st["dropped"] == "0"
    assert len(msgs) == 60  # nothing twice
    assert values(msgs) == sorted(("10.%d.0.%d" % (r, i), 1, 100)
                                  for r in range(6) for i in range(1, 11))
    rounds = [round_of(m) for m in msgs]
    assert rounds == sorted(rounds)  # rounds in the order they were flushed
    d.stop()


def test_restart_with_a_spool_left_replays_it(nfacctd, tmp_path, broker):
    b = broker(("pmacct.acct", 1))
    body = kafka_plugin(b, tmp_path, "src_host")
    d = nfacctd(body)
    b.down()
    send_rounds(d, 3, 10)
    d.stop()
    assert "messages left in the spool for the next start" in d.log_text()
    b.up()
    d2 = nfacctd(body, name="restarted")
    d2.wait_log("holds 30 messages from an earlier run")
    msgs = b.wait_count("pmacct.acct", 30)
    assert len(msgs) == 30
    assert values(msgs) == sorted(("10.%d.0.%d" % (r, i), 1, 100)
                                  for r in range(3) for i in range(1, 11))
    assert module_stats(d2)["spool_records"] == "0"
    d2.stop()


def test_spool_limit_drops_are_counted(nfacctd, tmp_path, broker):
    b = broker(("pmacct.acct", 1))
    d = nfacctd(kafka_plugin(b, tmp_path, "src_host, dst_host",
                             "kafka_spool_max_size[k]: 1\nnfacctd_pipe_size: 8388608\n"))
    b.down()
    # 16 000 rows of ~110 bytes: more than the 1 MiB spool holds
    s = Sender(d.port)
    n = 0
    for j in range(16):
        dgrams = [v5_datagram(rows(30, base="10.%d.%d" % (j, k)), seq=0)
                  for k in range(34)]
        s.send(*dgrams)
        n += len(dgrams)
        d.wait_datagrams(n)  # a burst at a time: the socket buffer never overflows
    wait_for(lambda: int(module_stats(d)["dropped"]) > 0, TIMEOUT * 3, "drops")
    wait_for(lambda: int(module_stats(d)["spooled"]) + int(module_stats(d)["dropped"]) +
             int(module_stats(d)["delivered"]) >= n * 30, TIMEOUT * 3, "every row placed")
    b.up()
    st0 = module_stats(d)
    delivered_before = int(st0["delivered"])
    msgs = b.wait_count("pmacct.acct", int(st0["spooled"]) + delivered_before)
    st = module_stats(d)
    assert len(msgs) + int(st["dropped"]) == n * 30
    d.stop()


def test_config_errors(tmp_path):
    from conftest import run_config_check, free_port
    base = "nfacctd_ip: 127.0.0.1\nnfacctd_port: %d\nplugins: kafka[k]\n" % free_port()
    rc, err = run_config_check(tmp_path, base + "kafka_output[k]: xml\n"
                               "kafka_spool_dir[k]: %s\n" % tmp_path)
    assert rc != 0 and "kafka_output" in err and "xml" in err
    rc, err = run_config_check(tmp_path, base + "kafka_output[k]: avro\n"
                               "avro_schema_file[k]: /proc/no/such/k.avsc\n"
                               "kafka_spool_dir[k]: %s\n" % tmp_path)
    if _built_with_avro():
        assert rc != 0 and "avro_schema_file[k]" in err and "/proc/no/such/k.avsc" in err
    else:
        assert rc != 0 and "built without libavro" in err
    bad = tmp_path / "rd.conf"
    bad.write_text("linger.ms=5\nno.such.property=1\n")
    rc, err = run_config_check(tmp_path, base + "kafka_config_file[k]: %s\n"
                               "kafka_spool_dir[k]: %s\n" % (bad, tmp_path))
    assert rc != 0 and "%s:2:" % bad in err and "no.such.property" in err
    rc, err = run_config_check(tmp_path, base + "kafka_partition_dynamic[k]: true\n"
                               "kafka_spool_dir[k]: %s\n" % tmp_path)
    assert rc != 0 and "needs kafka_partition_key" in err
    rc, err = run_config_check(tmp_path, base + "kafka_spool_dir[k]: /proc/no/such\n")
    assert rc != 0 and "kafka_spool_dir[k]" in err


def contrib_dir():
    from conftest import REPO_ROOT
    return REPO_ROOT / "contrib" / "kafka"


def test_clickhouse_example_columns_match_the_json_output(nfacctd, tmp_path, broker):
    sql = (contrib_dir() / "clickhouse.sql").read_text()
    # the aggregate the example documents, as written in its header comment
    agg = re.search(r"^--\s+aggregate\[ch\]: (.*)$", sql, flags=re.M).group(1)
    queue = sql[sql.index("CREATE TABLE netacct_flows_queue"):sql.index("ENGINE = Kafka")]
    columns = re.findall(r"^\s+([a-z_]+)\s+\S", queue, flags=re.M)
    b = broker(("netacct.flows", 2))
    d = nfacctd(kafka_plugin(b, tmp_path, agg, "kafka_topic[k]: netacct.flows\n"
                             "kafka_history[k]: 5m\nkafka_partition_key[k]: $peer_src_ip\n"))
    Sender(d.port).send(v5_datagram(rows(3)))
    msgs = b.wait_count("netacct.flows", 3)
    for m in msgs:
        assert list(m[2].keys()) == columns
    d.stop()


def test_consumer_example_sums_per_exporter(nfacctd, tmp_path, broker):
    pytest.importorskip("confluent_kafka")
    b = broker(("pmacct.acct", 2))
    d = nfacctd(kafka_plugin(b, tmp_path, "peer_src_ip, src_host", "kafka_markers[k]: true\n"))
    Sender(d.port).send(v5_datagram(rows(4, packets=3)))
    b.wait_count("pmacct.acct", 6)
    out = subprocess.run(["/usr/bin/python3", str(contrib_dir() / "consumer.py"),
                          "--bootstrap", b.bootstrap, "--from-beginning", "--exit-at-end"],
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

AVRO_AGG = ("peer_src_ip, src_host, dst_host, src_port, dst_port, proto, tos, tcpflags, "
            "src_as, dst_as, in_iface, src_mask, flows")


def varied_rows():
    return [dict(src="10.0.0.%d" % (i + 1), dst="192.168.%d.1" % i, sport=1000 + i,
                 dport=[53, 80, 443][i % 3], proto=[6, 17, 1][i % 3], tos=i * 4,
                 tcp_flags=[0x12, 0x02, 0x11, 0][i % 4], src_as=64500 + i, dst_as=0,
                 in_if=i + 1, src_mask=24, packets=i + 1, octets=100 * (i + 1))
            for i in range(6)]


def consume_raw(bootstrap, topic, n):
    """The raw values of the first n messages of topic (python3-confluent-kafka)."""
    ck = pytest.importorskip("confluent_kafka")
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "t-" + topic,
                     "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    try:
        wait_for(lambda: (lambda m: m is not None and not m.error() and got.append(m.value()))
                 (c.poll(0.5)) or len(got) >= n, TIMEOUT * 3, "%d messages in %s" % (n, topic))
    finally:
        c.close()
    return got


def avro_plugins(b, tmp_path, extra=""):
    """Three plugins on one input: json to topic j, avro to a, avro_json to aj."""
    conf = ""
    for name, fmt in (("j", "json"), ("a", "avro"), ("aj", "avro_json")):
        conf += kafka_plugin(b, tmp_path, AVRO_AGG,
                             "kafka_topic[{n}]: {n}\nkafka_output[{n}]: {f}\n"
                             "kafka_history[{n}]: 5m\nkafka_history_roundoff[{n}]: h\n"
                             "tcpflags_encode_as_array[{n}]: true\n"
                             "avro_schema_file[{n}]: {p}\n".format(
                                 n=name, f=fmt, p=tmp_path / (name + ".avsc")),
                             name=name).replace("plugins: kafka[%s]\n" % name, "")
    return "plugins: kafka[j], kafka[a], kafka[aj]\n" + conf + extra


def avro_schema(path):
    import avro.schema
    return avro.schema.parse(path.read_text())


def avro_decode(schema, raw):
    import io
    import avro.io
    return avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(raw)))


def by_src(rows):
    return sorted(rows, key=lambda r: r["ip_src"])


@needs_avro
def test_avro_and_avro_json_rows_equal_the_json_rows(nfacctd, tmp_path, broker):
    avro_io = pytest.importorskip("avro.io")
    b = broker(("j", 1), ("a", 1), ("aj", 1))
    d = nfacctd(avro_plugins(b, tmp_path, "kafka_markers[a]: true\n"))
    Sender(d.port).send(v5_datagram(varied_rows()))
    n = len(varied_rows())
    want = by_src(json.loads(v) for v in consume_raw(b.bootstrap, "j", n))
    assert len(want) == n and want[0]["tcp_flags"] == ["ACK", "SYN"]
    # kafka_history_roundoff is accepted; bins follow the calendar whatever it says
    minute, second = want[0]["stamp_inserted"][-5:].split(":")
    assert int(minute) % 5 == 0 and second == "00"

    schema = avro_schema(tmp_path / "a.avsc")
    assert schema.name == "acct_data"
    # the record's fields are the JSON object's keys, in the same order
    assert [f.name for f in schema.fields] == list(want[0].keys())
    types = {f.name: str(f.type) for f in schema.fields}
    assert types["packets"] == '"long"' and types["ip_src"] == '"string"'
    assert types["port_src"] == '"long"' and json.loads(types["tcp_flags"]) == {
        "type": "array", "items": "string"}
    # the avro_json plugin wrote the same schema for the same aggregate
    assert avro_schema(tmp_path / "aj.avsc") == schema

    # avro: binary records, the markers stay JSON (as pmacct sends them)
    raw = consume_raw(b.bootstrap, "a", n + 2)
    markers = [json.loads(m) for m in raw if m[:1] == b"{"]
    assert [m["event_type"] for m in markers] == ["purge_init", "purge_close"]
    got = by_src(avro_decode(schema, m) for m in raw if m[:1] != b"{")
    assert got == want

    # avro_json: Avro's JSON encoding of the same records, valid for the schema
    aj = by_src(json.loads(m) for m in consume_raw(b.bootstrap, "aj", n))
    assert all(avro_io.validate(schema, r) for r in aj)
    assert aj == want
    d.stop()


@needs_avro
def test_consumer_example_decodes_avro(nfacctd, tmp_path, broker):
    pytest.importorskip("confluent_kafka")
    pytest.importorskip("avro.io")
    b = broker(("pmacct.acct", 2))
    schema = tmp_path / "acct.avsc"
    d = nfacctd(kafka_plugin(b, tmp_path, "peer_src_ip, src_host",
                             "kafka_markers[k]: true\nkafka_output[k]: avro\n"
                             "avro_schema_file[k]: %s\n" % schema))
    Sender(d.port).send(v5_datagram(rows(4, packets=3)))
    assert len(consume_raw(b.bootstrap, "pmacct.acct", 6)) == 6
    out = subprocess.run(["/usr/bin/python3", str(contrib_dir() / "consumer.py"),
                          "--bootstrap", b.bootstrap, "--from-beginning", "--exit-at-end",
                          "--avro-schema", str(schema)],
                         capture_output=True, text=True, timeout=TIMEOUT * 3)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["127.0.0.1 packets=12 bytes=1200 rows=4", "markers=2"]
    d.stop()
