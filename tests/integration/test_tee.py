"""tee output: datagrams replicated and balanced to the pools of tee_receivers.

Receivers are UDP sockets the test opens on 127.0.0.0/8; exporters send from
several 127.0.0.x addresses.  Every check compares what the receivers got with
what was sent, byte for byte.
"""
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import (NFACCTD, TIMEOUT, Sender, canon, free_port, merge_rows, read_json,
                      v5_datagram, wait_for)
from test_v9 import (BASIC_FIELDS, Tpl, basic, data_set, ipfix_msg, ipfix_tpl_set, v9_msg,
                     v9_tpl_set)

SO_RCVBUFFORCE = 33  # <asm-generic/socket.h>; Python does not name it
RECEIVER = re.compile(r"receiver=(\d+)/(\S+) sent=(\d+) bytes=(\d+) send_errors=(\d+) "
                      r"drops=(\d+)")


class Receiver:
    """A UDP socket on loopback collecting (payload, source) pairs."""

    def __init__(self, host="127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        # room for a whole test's datagrams: the kernel must not drop any under load
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        except PermissionError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.got = []

    @property
    def spec(self):
        return ("[%s]:%d" if ":" in self.host else "%s:%d") % (self.host, self.port)

    def drain(self):
        while True:
            try:
                data, src = self.sock.recvfrom(70000)
            except BlockingIOError:
                return self.got
            self.got.append((data, src[:2]))

    def wait(self, n, what=""):
        wait_for(lambda: len(self.drain()) >= n, what="%d datagrams at %s %s" %
                 (n, self.spec, what))
        assert len(self.drain()) == n, (len(self.got), n)
        return self.got

    def payloads(self):
        return [d for d, _ in self.drain()]

    def close(self):
        self.sock.close()


@pytest.fixture
def receivers():
    made = []

    def make(n, host="127.0.0.1"):
        rs = [Receiver(host) for _ in range(n)]
        made.extend(rs)
        return rs

    yield make
    for r in made:
        r.close()


def tee_daemon(nfacctd, tmp_path, pools, extra="", workers=1, name="a", ip="127.0.0.1"):
    m = tmp_path / ("tee_%s.lst" % name)
    m.write_text("".join(p + "\n" for p in pools))
    body = ("plugins: tee[%s]\ntee_receivers[%s]: %s\nnfacctd_pipe_size: 8388608\n"
            % (name, name, m) + extra)
    return nfacctd(body, workers=workers, ip=ip), m


def tee_stats(d):
    """{(pool, receiver): (sent, bytes, errors, drops)} from the SIGUSR1 stats line."""
    start = len(d.log_text())
    d.send_signal(signal.SIGUSR1)

    def parse():
        for line in d.log_text()[start:].splitlines():
            if "/tee ): stats module" in line:
                return {(int(p), r): tuple(int(x) for x in rest)
                        for p, r, *rest in RECEIVER.findall(line)}
        return None
    return wait_for(parse, what="tee stats")


def datagrams(n, tag=b"dg"):
    """n distinct payloads (not NetFlow: tee never needs to decode them)."""
    return [tag + b"-%06d-" % i + bytes(range(i % 200)) for i in range(n)]


def test_replicates_every_datagram_byte_identical_to_every_pool(nfacctd, tmp_path, receivers):
    a, b, c = receivers(3)
    d, _ = tee_daemon(nfacctd, tmp_path, ["id=1 ip=%s,%s" % (a.spec, b.spec),
                                          "id=2 ip=%s" % c.spec])
    s = Sender(d.port)
    sent = datagrams(200)
    s.send(*sent)
    for r in (a, b, c):
        r.wait(len(sent))
        # same bytes, same order (one exporter, one worker, one socket)
        assert r.payloads() == sent
    st = tee_stats(d)
    total = sum(len(x) for x in sent)
    for pool, r in ((1, a), (1, b), (2, c)):
        assert st[(pool, r.spec)] == (200, total, 0, 0)
    # nothing was decoded: a tee alone does not need records
    assert d.stats().total("records") == 0
    d.stop()
    s.close()


def test_source_ip_and_pool_src_port(nfacctd, tmp_path, receivers):
    (a,) = receivers(1)
    sport = free_port(socket.AF_INET)
    d, _ = tee_daemon(nfacctd, tmp_path, ["id=7 ip=%s src_port=%d" % (a.spec, sport)],
                      extra="tee_source_ip[a]: 127.0.0.9\n", workers=2)
    s = Sender(d.port, host="127.0.0.1")
    s.send(b"one", b"two")
    got = a.wait(2)
    assert {src for _, src in got} == {("127.0.0.9", sport)}
    d.stop()


def test_rr_spreads_evenly(nfacctd, tmp_path, receivers):
    rs = receivers(4)
    d, _ = tee_daemon(nfacctd, tmp_path,
                      ["id=1 ip=%s balance-alg=rr" % ",".join(r.spec for r in rs)])
    s = Sender(d.port)
    sent = datagrams(400)
    s.send(*sent)
    got = []
    for r in rs:
        got += r.wait(100)
    # each datagram reached exactly one receiver, in turn
    assert sorted(p for p, _ in got) == sorted(sent)
    for i, r in enumerate(rs):
        assert r.payloads() == sent[i::4]
    d.stop()


def test_hash_agent_is_sticky_per_exporter(nfacctd, tmp_path, receivers):
    rs = receivers(3)
    d, _ = tee_daemon(nfacctd, tmp_path,
                      ["id=1 ip=%s balance-alg=hash-agent" % ",".join(r.spec for r in rs)],
                      workers=2)
    exporters = ["127.0.0.%d" % i for i in range(10, 26)]
    sent = {}
    for e in exporters:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((e, 0))
            sent[e] = datagrams(20, tag=e.encode())
            for p in sent[e]:
                s.sendto(p, ("127.0.0.1", d.port))
    n = sum(len(v) for v in sent.values())
    wait_for(lambda: sum(len(r.drain()) for r in rs) >= n, what="all datagrams")
    where = {}
    for i, r in enumerate(rs):
        for p in r.payloads():
            where.setdefault(p.split(b"-")[0].decode(), set()).add(i)
    assert set(where) == set(exporters)
    # one receiver per exporter, and the exporters are spread over more than one receiver
    assert all(len(v) == 1 for v in where.values()), where
    assert len({next(iter(v)) for v in where.values()}) > 1
    assert sum(len(r.got) for r in rs) == n
    d.stop()


@pytest.mark.parametrize("version", [9, 10])
def test_balancing_sends_templates_to_every_receiver(nfacctd, tmp_path, receivers, version):
    rs = receivers(3)
    d, _ = tee_daemon(nfacctd, tmp_path,
                      ["id=1 ip=%s balance-alg=rr" % ",".join(r.spec for r in rs)])
    tpl = Tpl(300, BASIC_FIELDS)
    rec = basic("10.0.0.1", "10.0.0.2", 1, 2, 6, 3, 300)
    if version == 9:
        tset = v9_tpl_set(tpl)
        msg = v9_msg(tset, data_set(tpl, rec), seq=5, source_id=3)
    else:
        tset = ipfix_tpl_set(tpl)
        msg = ipfix_msg(tset, data_set(tpl, rec), seq=5, domain=3)
    s = Sender(d.port)
    s.send(msg)
    got = [r.wait(1, "(template)") for r in rs]
    # the chosen receiver (rr: the first) gets the datagram as it arrived ...
    assert got[0][0][0] == msg
    # ... the others its header and template set only, with the count/length fixed
    for g in got[1:]:
        p = g[0][0]
        hdr = 20 if version == 9 else 16
        assert p[hdr:] == tset
        assert p[:2] == msg[:2] and p[4:hdr] == msg[4:hdr]
        if version == 9:
            assert int.from_bytes(p[2:4], "big") == 1  # one template record
        else:
            assert int.from_bytes(p[2:4], "big") == len(p)
    d.stop()


def test_balanced_downstream_collectors_account_like_a_direct_feed(nfacctd, tmp_path, receivers):
    """Two netacct collectors behind an rr tee (templates only sent once) together account
    every record a direct feed accounts."""
    outs = []
    downs = []
    for i in range(2):
        out = tmp_path / ("down%d.json" % i)
        outs.append(out)
        downs.append(nfacctd("plugins: print[p]\nprint_output[p]: json\n"
                             "print_output_file[p]: %s\nprint_refresh_time[p]: 3600\n"
                             "aggregate[p]: src_host, dst_host, proto\n" % out,
                             name="down%d" % i))
    direct_out = tmp_path / "direct.json"
    direct = nfacctd("plugins: print[p]\nprint_output[p]: json\nprint_output_file[p]: %s\n"
                     "print_refresh_time[p]: 3600\naggregate[p]: src_host, dst_host, proto\n"
                     % direct_out, name="direct")
    d, _ = tee_daemon(nfacctd, tmp_path, ["id=1 ip=127.0.0.1:%d,127.0.0.1:%d balance-alg=rr"
                                          % (downs[0].port, downs[1].port),
                                          "id=2 ip=127.0.0.1:%d" % direct.port])
    tpl = Tpl(260, BASIC_FIELDS)
    msgs = [v9_msg(v9_tpl_set(tpl), seq=0)]  # template alone first: every receiver gets it
    for i in range(1, 21):
        msgs.append(v9_msg(data_set(tpl, basic("10.1.0.%d" % (i % 5), "10.2.0.1", 1, 2, 17,
                                                i, 100 * i)), seq=i))
    s = Sender(d.port)
    s.send(*msgs)
    direct.wait_datagrams(len(msgs))
    # the template-only datagram reached both, the data datagrams one each
    wait_for(lambda: sum(x.stats().total("datagrams") for x in downs) >= len(msgs) + 1,
             what="downstream datagrams")
    sts = [x.stats() for x in downs]
    assert [x.total("datagrams") for x in sts] == [11, 11]
    assert [x.total("malformed") for x in sts] == [0, 0]
    for x in downs + [direct]:
        x.stop()
    rows = read_json(outs[0]) + read_json(outs[1])
    merged = {}
    for r in rows:
        k = (r["ip_src"], r["ip_dst"], r["ip_proto"])
        merged[k] = (merged.get(k, (0, 0))[0] + r["packets"], merged.get(k, (0, 0))[1] + r["bytes"])
    want = {(r["ip_src"], r["ip_dst"], r["ip_proto"]): (r["packets"], r["bytes"])
            for r in read_json(direct_out)}
    assert want and merged == want


def test_transparent_keeps_exporter_address_and_port(nfacctd, tmp_path, receivers):
    if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0":
        pytest.skip("transparent mode needs CAP_NET_RAW (run as root)")
    (a,) = receivers(1)
    (b,) = receivers(1, host="::1")
    d, _ = tee_daemon(nfacctd, tmp_path, ["id=1 ip=%s" % a.spec, "id=2 ip=%s" % b.spec],
                      extra="tee_transparent[a]: true\n", ip="::", workers=1)
    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s4.bind(("127.0.0.77", 0))
    s4.sendto(b"from-v4", ("127.0.0.1", d.port))
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s6.bind(("::1", 0))
    s6.sendto(b"from-v6", ("::1", d.port))
    assert wait_for(lambda: a.drain())[0] == (b"from-v4", ("127.0.0.77", s4.getsockname()[1]))
    assert wait_for(lambda: b.drain())[0] == (b"from-v6", ("::1", s6.getsockname()[1]))
    # an IPv6 exporter cannot be replayed as itself to an IPv4 receiver: counted, not sent
    st = tee_stats(d)
    assert st[(1, a.spec)][0] == 1 and st[(1, a.spec)][2] == 1
    assert st[(2, b.spec)][0] == 1 and st[(2, b.spec)][2] == 1
    d.stop()
    s4.close()
    s6.close()


def test_transparent_without_cap_net_raw_is_a_clear_error(tmp_path):
    if not Path("/usr/bin/setpriv").exists():
        pytest.skip("setpriv (util-linux) not installed")
    m = tmp_path / "tee.lst"
    m.write_text("id=1 ip=127.0.0.1:9\n")
    conf = tmp_path / "t.conf"
    conf.write_text("nfacctd_ip: 127.0.0.1\nnfacctd_port: %d\nplugins: tee[a]\n"
                    "tee_receivers[a]: %s\ntee_transparent[a]: true\n" % (free_port(), m))
    p = subprocess.run(["/usr/bin/setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw",
                        str(NFACCTD), "-f", str(conf)],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode != 0
    assert "tee_transparent needs a raw IPv4 socket" in p.stderr
    assert "CAP_NET_RAW" in p.stderr


@pytest.mark.parametrize("line,why", [
    ("id=1", "missing ip"),
    ("ip=127.0.0.1:2100", "missing id"),
    ("id=0 ip=127.0.0.1:2100", "bad id"),
    ("id=1 ip=127.0.0.1", "bad receiver"),
    ("id=1 ip=127.0.0.1:99999", "the port is not 1..65535"),
    ("id=1 ip=[::1:2100", "bad receiver"),
    ("id=1 ip=127.0.0.1:2100 balance-alg=random", "bad balance-alg"),
    ("id=1 ip=127.0.0.1:2100 tag=5-1", "bad tag range"),
    ("id=1 ip=127.0.0.1:2100 colour=red", "unknown key 'colour'"),
    ("id=1 kafka_broker=127.0.0.1:9092", "needs both kafka_broker and kafka_topic"),
])
def test_map_errors_name_file_and_line(tmp_path, line, why):
    m = tmp_path / "tee.lst"
    m.write_text("! receivers\nid=5 ip=127.0.0.1:2100\n%s\n" % line)
    conf = tmp_path / "t.conf"
    conf.write_text("nfacctd_ip: 127.0.0.1\nnfacctd_port: %d\nplugins: tee[a]\n"
                    "tee_receivers[a]: %s\n" % (free_port(), m))
    p = subprocess.run([str(NFACCTD), "-f", str(conf)], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert p.returncode != 0
    assert "%s:3:" % m in p.stderr and why in p.stderr, p.stderr


def test_duplicate_pool_id_and_missing_map_key(tmp_path):
    m = tmp_path / "tee.lst"
    m.write_text("id=1 ip=127.0.0.1:2100\nid=1 ip=127.0.0.1:2101\n")
    conf = tmp_path / "t.conf"
    conf.write_text("nfacctd_ip: 127.0.0.1\nnfacctd_port: %d\nplugins: tee[a]\n"
                    "tee_receivers[a]: %s\n" % (free_port(), m))
    p = subprocess.run([str(NFACCTD), "-f", str(conf)], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert p.returncode != 0 and "%s:2: pool id 1 defined twice" % m in p.stderr
    conf.write_text("nfacctd_ip: 127.0.0.1\nnfacctd_port: %d\nplugins: tee[a]\n" % free_port())
    p = subprocess.run([str(NFACCTD), "-f", str(conf)], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert p.returncode != 0 and "tee_receivers is not set" in p.stderr


def test_sigusr2_reload_switches_receivers_without_loss(nfacctd, tmp_path, receivers):
    a, b = receivers(2)
    d, m = tee_daemon(nfacctd, tmp_path, ["id=1 ip=%s" % a.spec])
    s = Sender(d.port)
    first = datagrams(300, tag=b"before")
    s.send(*first)
    a.wait(len(first))
    m.write_text("id=1 ip=%s\n" % b.spec)
    mark = len(d.log_text())
    d.send_signal(signal.SIGUSR2)
    # datagrams keep flowing while the map is swapped: each reaches exactly one of a, b
    during = datagrams(300, tag=b"during")
    s.send(*during)
    d.wait_log(r"tee_receivers\[a\] .*: 1 entries reloaded", start=mark)
    after = datagrams(50, tag=b"after")
    s.send(*after)
    wait_for(lambda: len(a.drain()) + len(b.drain()) >= len(first) + len(during) + len(after),
             what="every datagram at a or b")
    got_a, got_b = a.payloads(), b.payloads()
    assert sorted(got_a + got_b) == sorted(first + during + after)
    assert set(after) <= set(got_b)
    d.stop()


def test_debian_nfacctd_behind_the_tee_accounts_like_a_direct_feed(nfacctd, pmacct, tmp_path):
    """A collector nobody here wrote, fed through the tee, agrees with a direct feed."""
    from test_pmacct_oracle import V5_RECORDS, plugins_body
    specs = [("hosts", "src_host, dst_host, proto, src_port, dst_port", "json")]
    pbody, ppaths = plugins_body(tmp_path, "pmacct", specs, 1, True)
    p = pmacct(pbody, plugins=("hosts",))
    dbody, dpaths = plugins_body(tmp_path, "direct", specs, 3600, False)
    direct = nfacctd(dbody, name="direct")
    d, _ = tee_daemon(nfacctd, tmp_path, ["id=1 ip=127.0.0.1:%d" % p.port,
                                          "id=2 ip=127.0.0.1:%d" % direct.port])
    s = Sender(d.port)
    for i, recs in enumerate(V5_RECORDS):
        s.send(v5_datagram(recs, seq=10 * i, secs=1700000000))
    direct.wait_datagrams(len(V5_RECORDS))
    direct.stop()
    want = canon(read_json(dpaths["hosts"]))

    def pmacct_rows():
        rows = merge_rows(read_json(ppaths["hosts"]))
        return rows if canon(rows) == want else None
    wait_for(pmacct_rows, what="Debian nfacctd's rows equal to the direct feed's")
    p.stop()
    d.stop()


def test_pre_tag_map_tags_pools_without_decoding(nfacctd, tmp_path, receivers):
    """pre_tag_map keys a tee can read off the header: v5 engine_type/engine_id, v9
    source_id, the exporter ip; pools filter on tag= and hash-tag balances by tag."""
    a, b, c, d1, d2 = receivers(5)
    m = tmp_path / "pretag.map"
    m.write_text("set_tag=100 engine_type=1 engine_id=2\n"
                 "set_tag=200 source_id=77\n"
                 "set_tag=300 ip=127.0.0.5\n")
    d, _ = tee_daemon(nfacctd, tmp_path,
                      ["id=1 ip=%s tag=100" % a.spec,
                       "id=2 ip=%s tag=200-299" % b.spec,
                       "id=3 ip=%s tag=-100,-200,-300" % c.spec,
                       "id=4 ip=%s,%s balance-alg=hash-tag tag=100,200,300" % (d1.spec, d2.spec)],
                      extra="pre_tag_map: %s\n" % m)
    s = Sender(d.port)
    v5 = v5_datagram([dict(src="10.0.0.1")], engine_type=1, engine_id=2)
    v5other = v5_datagram([dict(src="10.0.0.2")], engine_type=1, engine_id=3)
    tpl = Tpl(256, BASIC_FIELDS)
    v9 = v9_msg(v9_tpl_set(tpl), data_set(tpl, basic("10.0.0.3", "10.0.0.4", 1, 2, 6, 1, 1)),
                source_id=77)
    s.send(v5, v5other, v9)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as x:
        x.bind(("127.0.0.5", 0))
        x.sendto(b"from-five", ("127.0.0.1", d.port))
    assert a.wait(1)[0][0] == v5
    assert b.wait(1)[0][0] == v9
    assert c.wait(1)[0][0] == v5other  # untagged (0): only the pool excluding the tags
    # hash-tag: tag % 2 picks the receiver: 100 and 200 and 300 are even: all on d1
    got = d1.wait(3)
    assert sorted(p for p, _ in got) == sorted([v5, v9, b"from-five"])
    # d2 only got the v9 datagram's template set, so it could decode what may come
    assert [p[20:] for p, _ in d2.drain()] == [v9_tpl_set(tpl)]
    assert d.stats().total("records") == 0  # tagged from the headers, nothing decoded
    d.stop()


def test_sfacctd_tee_with_agent_id_tags(tmp_path, receivers):
    """sfacctd's tee: datagrams unchanged, pools chosen by the sFlow agent address and
    sub-agent id (pre_tag_map agent_id)."""
    from test_sflow import SFACCTD, SfDaemon, sf_base
    from sflow_util import datagram, flow_sample, ipv4_record
    if not SFACCTD.exists():
        pytest.skip("sfacctd not built")
    a, b = receivers(2)
    lst = tmp_path / "tee.lst"
    lst.write_text("id=1 ip=%s tag=7\nid=2 ip=%s tag=-7\n" % (a.spec, b.spec))
    m = tmp_path / "pretag.map"
    m.write_text("set_tag=7 ip=192.0.2.1 agent_id=3\n")
    port = free_port()
    d = SfDaemon(tmp_path, sf_base(port, "127.0.0.1", 1) +
                 "plugins: tee[t]\ntee_receivers[t]: %s\npre_tag_map: %s\n" % (lst, m),
                 binary=SFACCTD, name="sfacctd")
    d.start()
    try:
        rec = [ipv4_record(10, 6, "10.0.0.1", "10.0.0.2", 1, 2)]
        one = datagram([flow_sample(rec)], agent="192.0.2.1", sub_id=3)
        two = datagram([flow_sample(rec)], agent="192.0.2.1", sub_id=4)
        Sender(port).send(one, two)
        assert a.wait(1)[0][0] == one
        assert b.wait(1)[0][0] == two
    finally:
        d.stop()


def test_kafka_pool_gets_each_datagram_as_a_message(nfacctd, tmp_path, receivers):
    """A kafka_broker/kafka_topic pool: every datagram, unchanged, is one message keyed by
    its exporter, next to a UDP pool; read back with kcat from librdkafka's mock broker."""
    from test_kafka import MOCK, KCAT, Broker
    if not MOCK.exists() or KCAT is None:
        pytest.skip("built without librdkafka, or kcat missing")
    b = Broker([("raw", 1)])
    (a,) = receivers(1)
    try:
        d, _ = tee_daemon(nfacctd, tmp_path, ["id=1 ip=%s" % a.spec,
                                              "id=2 kafka_broker=%s kafka_topic=raw" %
                                              b.bootstrap])
        sent = datagrams(20)
        Sender(d.port).send(*sent)
        a.wait(20)
        out = wait_for(lambda: (lambda o: o if o.count(b"\n") >= 20 else None)(
            subprocess.run([KCAT, "-b", b.bootstrap, "-C", "-t", "raw", "-o", "beginning",
                            "-e", "-q", "-f", "%k|%S\n"], capture_output=True,
                           timeout=TIMEOUT).stdout), what="20 messages")
        lines = out.decode().splitlines()
        assert lines == ["127.0.0.1|%d" % len(p) for p in sent]
        raw = subprocess.run([KCAT, "-b", b.bootstrap, "-C", "-t", "raw", "-o", "beginning",
                              "-e", "-q", "-f", "%S:%s"], capture_output=True,
                             timeout=TIMEOUT).stdout
        got, o = [], 0
        while o < len(raw):  # "<length>:<bytes>" per message: payloads hold any byte
            colon = raw.index(b":", o)
            n = int(raw[o:colon])
            got.append(raw[colon + 1:colon + 1 + n])
            o = colon + 1 + n
        assert got == sent
        st = tee_stats(d)
        assert st[(2, "raw")][0] == 20 and st[(2, "raw")][2:] == (0, 0)
        d.stop()
    finally:
        b.stop()
