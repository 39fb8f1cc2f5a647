"""Stream inputs end to end through the generic daemon: tests/stream_daemon/echod.

echod is the core's generic main with a test input module, "echo": TCP sessions
carrying frames of a 2-byte big-endian length and a payload.  Each frame is echoed
back and accounted as one record (src = the peer, proto 6, packets 1, bytes = the
payload length).  It reads nfacctd's keys (nfacctd_ip, nfacctd_port, reactor_workers,
plugins...).  SIGUSR1 logs one worker line with `exporters=` = its open sessions,
then a line per session: `stats worker=W exporter=ADDR port=P frames=.. payload_bytes=..
bytes_in=.. bytes_out=..`, which tells which worker holds which session.
"""
import re
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import (BUILDDIR, REPO_ROOT, SANITIZER_MARKERS, TIMEOUT, Daemon, base_config,
                      daemon_factory, read_json, wait_for)

ECHOD = BUILDDIR / "tests" / "stream_daemon" / "echod"
READY_ECHO = re.compile(
    r"waiting for echo data on (?P<ip>\S+):(?P<port>\d+)/tcp \((?P<workers>\d+) workers\)")


@pytest.fixture(scope="module", autouse=True)
def _echod_present():
    if not ECHOD.exists():
        pytest.fail("%s not found: build first (make -j2)" % ECHOD)


def free_tcp_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class EchoDaemon(Daemon):
    """echod: ready when it says it waits for echo data on its TCP port."""

    def __init__(self, tmp_path, config, logfile=True, name=None):
        super().__init__(tmp_path, config, binary=ECHOD, logfile=logfile, name=name or "echod")

    READY_RE = READY_ECHO

    def on_ready(self, m):
        assert int(m.group("port")) == self.port, m.group(0)
        super().on_ready(m)

    def sessions(self, st=None):
        """{peer port: that session's stats line} (the peers are all on loopback)."""
        st = st or self.stats()
        out = {}
        for e in st.exporters:
            assert e["port"] not in out, "session %d listed twice" % e["port"]
            out[e["port"]] = e
        return out


@pytest.fixture
def echod(tmp_path):
    """Factory: echod(body, workers=2, ip=..., port=None, start=True) -> EchoDaemon."""
    yield from daemon_factory(tmp_path, EchoDaemon, free_tcp_port, workers=2)


def frame(payload):
    return struct.pack("!H", len(payload)) + payload


class Client:
    """A TCP peer of echod: sends frames, reads their echoes, remembers what it sent."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = self.sock.getsockname()[1]
        self.frames = 0
        self.payload_bytes = 0

    def sent(self, *payloads):
        self.frames += len(payloads)
        self.payload_bytes += sum(len(p) for p in payloads)

    def send(self, *payloads):
        """All frames in one write."""
        self.sent(*payloads)
        self.sock.sendall(b"".join(frame(p) for p in payloads))

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "echod closed the session after %d of %d echoed bytes" % (len(buf), n)
            buf += chunk
        return bytes(buf)

    def roundtrip(self, *payloads):
        """Send the frames in one write; assert they come back unchanged."""
        self.send(*payloads)
        want = b"".join(frame(p) for p in payloads)
        assert self.recv_exact(len(want)) == want

    def close(self):
        self.sock.close()


def outputs(tmp_path):
    host = Path(tmp_path) / "host.json"
    sess = Path(tmp_path) / "sess.json"
    body = ("plugins: print[host], print[sess]\nprint_refresh_time: 3600\n"
            "aggregate[host]: src_host\nprint_output[host]: json\nprint_output_file[host]: %s\n"
            "aggregate[sess]: src_host, src_port, dst_host, dst_port, proto\n"
            "print_output[sess]: json\nprint_output_file[sess]: %s\n" % (host, sess))
    return host, sess, body


def test_frames_echoed_and_accounted_per_peer(tmp_path, echod):
    """Several sessions over 2 workers: every frame comes back unchanged (whole frames
    written together, a frame delivered byte by byte, an empty one, the largest one),
    each session stays on the worker that accepted it, and the print output counts one
    packet per frame and the payload length as bytes, per peer and per session."""
    host, sess, body = outputs(tmp_path)
    d = echod(body, workers=2)
    clients = [Client(d.port) for _ in range(6)]
    for i, c in enumerate(clients):
        # every session is accepted once its first echo is back
        c.roundtrip(b"hello %d" % i)
    clients[1].roundtrip(b"a", b"bb", b"", b"dddd" * 100)
    clients[2].roundtrip(bytes(range(256)) * 255 + b"x" * 255)  # 65535: the largest
    clients[3].roundtrip(*[b"%d" % k for k in range(50)])

    # a frame trickling in byte by byte: buffered (no frame yet) until its last byte
    split = clients[4]
    data = frame(b"split across seven")
    before = d.sessions()[split.port]
    for k in range(1, len(data)):
        split.sock.sendall(data[k - 1:k])
        s = wait_for(lambda: (lambda e: e if e["bytes_in"] == before["bytes_in"] + k else None)
                     (d.sessions()[split.port]), what="byte %d of the split frame" % k)
        assert s["frames"] == before["frames"], "a frame delivered before its last byte"
    split.sock.sendall(data[-1:])
    split.sent(b"split across seven")
    assert split.recv_exact(len(data)) == data

    st = d.stats()
    by_port = d.sessions(st)
    # total sessions = clients connected, each on exactly one worker, with its own counts
    assert sorted(by_port) == sorted(c.port for c in clients)
    assert st.total("exporters") == len(clients)
    for c in clients:
        e = by_port[c.port]
        assert e["exporter"] == "127.0.0.1"
        assert (e["frames"], e["payload_bytes"]) == (c.frames, c.payload_bytes), c.port
        assert e["bytes_in"] == e["bytes_out"] == c.payload_bytes + 2 * c.frames
    for wid, w in st.workers.items():
        mine = [e for e in st.exporters if e["worker"] == wid]
        assert w["exporters"] == w["sessions"] == len(mine)
        # what a worker accounted is exactly its own sessions' frames
        assert w["records"] == w["frames"] == sum(e["frames"] for e in mine)
        assert w["payload_bytes"] == sum(e["payload_bytes"] for e in mine)

    # two peers leave before the stop, the others are still connected at SIGINT
    for c in clients[:2]:
        c.close()
    wait_for(lambda: d.stats().total("closed") == 2, what="two sessions closed")
    assert d.stats().total("exporters") == len(clients) - 2
    d.stop()
    for c in clients[2:]:
        assert c.sock.recv(1) == b"", "session not closed at exit"
        c.close()

    frames = sum(c.frames for c in clients)
    payload = sum(c.payload_bytes for c in clients)
    assert [{k: v for k, v in r.items() if k != "event_type"} for r in read_json(host)] == [
        {"ip_src": "127.0.0.1", "packets": frames, "bytes": payload}]
    rows = {r["port_src"]: r for r in read_json(sess)}
    assert sorted(rows) == sorted(c.port for c in clients)
    for c in clients:
        r = rows[c.port]
        assert (r["ip_src"], r["ip_dst"], r["port_dst"], r["ip_proto"]) == \
            ("127.0.0.1", "127.0.0.1", d.port, "tcp")
        assert (r["packets"], r["bytes"]) == (c.frames, c.payload_bytes)


def test_ipv6_peer(tmp_path, echod):
    """On ::1 the peer's address is an IPv6 source host."""
    host, _, body = outputs(tmp_path)
    d = echod(body, workers=1, ip="::1")
    c = Client(d.port, host="::1")
    c.roundtrip(b"six", b"")
    d.stop()
    c.close()
    assert [{k: v for k, v in r.items() if k != "event_type"} for r in read_json(host)] == [
        {"ip_src": "::1", "packets": 2, "bytes": 3}]


def second(tmp_path, port, extra=""):
    """A second echod on port, logging to stderr (so its start-up error is there)."""
    conf = Path(tmp_path) / "second.conf"
    conf.write_text(base_config(port, "127.0.0.1", 1) + "plugins: print[b]\n"
                    "aggregate: src_host\n" + extra)
    return subprocess.run([str(ECHOD), "-f", str(conf)], cwd=str(tmp_path),
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=30)


def test_second_instance_on_the_port_fails_at_start(tmp_path, echod):
    """SO_REUSEPORT would let a second daemon join the listener group and take part of
    the sessions: it fails at start like an address in use; the first one keeps them."""
    first = echod("plugins: print[a]\naggregate: src_host\n")
    p = second(tmp_path, first.port)
    assert p.returncode == 1, p.stderr
    assert "port %d on 127.0.0.1 is already in use" % first.port in p.stderr
    assert "cluster_name" in p.stderr
    clients = [Client(first.port) for _ in range(4)]
    for c in clients:
        c.roundtrip(b"still here")
    assert first.stats().total("exporters") == len(clients)
    first.stop()
    for c in clients:
        c.close()


def test_refusal_names_the_tcp_port(tmp_path):
    """The start-up error names the protocol of the port in use: TCP for a stream input
    (here the port is held by a plain TCP socket of the test)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        p = second(tmp_path, port)
    finally:
        s.close()
    assert p.returncode == 1, p.stderr
    assert "TCP port %d on 127.0.0.1 is already in use" % port in p.stderr


def test_cluster_name_shares_the_port(tmp_path, echod):
    """With cluster_name on both, a second instance starts on the same TCP port and the
    kernel spreads sessions over the four listeners: every client is served by exactly
    one of them."""
    a = echod("cluster_name: x\nplugins: print[a]\naggregate: src_host\n", name="a")
    b = echod("cluster_name: x\nplugins: print[a]\naggregate: src_host\n", name="b",
              port=a.port)
    clients = [Client(a.port) for _ in range(8)]
    for c in clients:
        c.roundtrip(b"which one?")
    sa, sb = a.sessions(), b.sessions()
    assert not set(sa) & set(sb)
    assert sorted(set(sa) | set(sb)) == sorted(c.port for c in clients)
    for c in clients:
        c.close()
    a.stop()
    b.stop()


def test_pcap_savefile_refused_for_a_stream_input(tmp_path):
    """pcap_savefile replays datagrams: a daemon whose input reads streams has no use for
    it and must refuse it at start, naming the key, instead of starting (and crashing on
    the first packet)."""
    pcap = sorted(REPO_ROOT.glob("tests/fixtures/pmacct/*/*.pcap"))[0]
    conf = Path(tmp_path) / "savefile.conf"
    conf.write_text("pcap_savefile: %s\nplugins: print[a]\naggregate: src_host\n"
                    "print_output_file: %s/out.json\n" % (pcap, tmp_path))
    p = subprocess.run([str(ECHOD), "-f", str(conf)], cwd=str(tmp_path),
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    for marker in SANITIZER_MARKERS:
        assert marker not in p.stderr, p.stderr
    assert p.returncode == 1, p.stderr
    assert "pcap_savefile" in p.stderr
