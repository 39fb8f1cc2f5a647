"""The generic core: one daemon per port unless the operator asks otherwise (cluster_name),
one write per refresh round whatever the load, and a per-worker table cap that merging
the workers' tables does not re-apply."""
import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import BUILDDIR, NFACCTD, Sender, base_config, read_text, v5_datagram, wait_for

GOOD = v5_datagram([dict(src="10.1.2.3", packets=5, octets=500)], seq=0)
NFSEND = BUILDDIR / "tests" / "bench" / "nfsend"


def run_second(tmp_path, port, extra=""):
    """Start a second nfacctd on port; return (returncode, stderr) once it exits or is
    stopped after becoming ready."""
    conf = Path(tmp_path) / "second.conf"
    conf.write_text(base_config(port) + "plugins: print[b]\naggregate: src_host\n" + extra)
    p = subprocess.Popen([str(NFACCTD), "-f", str(conf)], cwd=str(tmp_path),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    return p


def test_second_daemon_on_a_served_port_fails_at_start(tmp_path, nfacctd):
    """SO_REUSEPORT would let a second daemon bind the port and take part of the
    traffic silently: it must fail at start like an address in use, and the first one
    keeps receiving everything."""
    first = nfacctd("plugins: print[a]\naggregate: src_host\n")
    p = run_second(tmp_path, first.port)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 1, err
    assert "UDP port %d on 127.0.0.1 is already in use" % first.port in err
    assert "cluster_name" in err
    s = Sender(first.port)
    for _ in range(20):
        s.send(GOOD)
    s.close()
    first.wait_datagrams(20)
    first.stop()


def test_port_held_by_another_program_is_refused(tmp_path):
    """Not only another netacct: any socket on the port (here a plain UDP socket of the
    test) makes the daemon refuse to start, naming the port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    try:
        p = run_second(tmp_path, port)
        _, err = p.communicate(timeout=30)
    finally:
        s.close()
    assert p.returncode == 1
    assert "UDP port %d on 127.0.0.1 is already in use" % port in err


@pytest.mark.skipif(not NFSEND.exists(), reason="tests/bench/nfsend not built")
def test_one_write_per_round_under_load(tmp_path, nfacctd):
    """Benchmark-style: two workers, one exporter flooding one of them with many keys,
    a 2 s refresh and a file per interval written in append mode with markers.  Each
    interval's file must hold exactly one flush: a round split over two hand-offs (a
    timer fired early, then again at the boundary) would append a second, partial one
    (and, without append, overwrite the full table with the partial one)."""
    out = Path(tmp_path) / "out"
    out.mkdir()
    d = nfacctd("plugins: print[a]\naggregate: src_host, dst_host, src_port, dst_port, proto\n"
                "print_output: json\nprint_output_file: %s/round-%%s.json\n"
                "print_output_file_append: true\nprint_markers: true\n"
                "print_refresh_time: 2\n" % out, workers=2)
    sent = subprocess.run([str(NFSEND), "--port", str(d.port), "--version", "9",
                           "--keys", "100000", "--duration", "9", "--quiet"],
                          capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    d.stop()
    files = sorted(out.glob("round-*.json"))
    assert len(files) >= 4, files
    for f in files:
        lines = [json.loads(l) for l in read_text(f).splitlines() if l.strip()]
        inits = [l for l in lines if l.get("event_type") == "purge_init"]
        assert len(inits) == 1, "%s was written %d times" % (f.name, len(inits))
    log = d.log_text()
    # every flush line names a distinct interval: one per round per output
    flushes = [l for l in log.splitlines() if "flushed " in l and "worker tables" in l]
    assert len(flushes) == len(files), "\n".join(flushes)


def send_from(src, port, *datagrams):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    for d in datagrams:
        s.sendto(d, ("127.0.0.1", port))
    s.close()


def test_cap_is_per_worker_not_per_merged_table(tmp_path, nfacctd):
    """cache_max_entries caps each worker's table; merging the workers' tables must keep
    every key they hold (2 workers x 10 distinct keys, cap 10: 20 rows, none dropped)."""
    out = Path(tmp_path) / "out.json"
    d = nfacctd("plugins: print[a]\naggregate: src_host\nprint_output: json\n"
                "print_output_file: %s\ncache_max_entries: 10\nprint_refresh_time: 3600\n"
                % out, workers=2)
    # empty datagrams place exporters on workers without adding keys
    sources = ["127.0.0.%d" % i for i in range(2, 34)]
    for src in sources:
        send_from(src, d.port, v5_datagram([], seq=0))
    st = d.wait_datagrams(len(sources))
    worker_of = {e["exporter"]: e["worker"] for e in st.exporters}
    a = next(s for s in sources if worker_of[s] == 0)
    b = next(s for s in sources if worker_of[s] == 1)
    for src, net in ((a, 1), (b, 2)):
        recs = [dict(src="10.%d.0.%d" % (net, k), packets=1, octets=100) for k in range(10)]
        send_from(src, d.port, v5_datagram(recs, seq=0))
    d.wait_datagrams(len(sources) + 2)
    d.stop()
    rows = [json.loads(l) for l in read_text(out).splitlines() if l.strip()]
    assert len(rows) == 20
    assert sorted(r["ip_src"] for r in rows) == sorted(
        ["10.1.0.%d" % k for k in range(10)] + ["10.2.0.%d" % k for k in range(10)])
    assert "not accounted" not in d.log_text()


def test_cluster_name_lets_instances_share_a_port(tmp_path, nfacctd):
    """The opt-in: with cluster_name on both, a second instance joins the reuseport group."""
    first = nfacctd("plugins: print[a]\naggregate: src_host\ncluster_name: edge\n")
    p = run_second(tmp_path, first.port, "cluster_name: edge\nlogfile: %s/second.log\n" % tmp_path)
    try:
        log = Path(tmp_path) / "second.log"
        wait_for(lambda: log.exists() and "waiting for NetFlow/IPFIX data" in read_text(log),
                 30, "second instance ready")
        assert p.poll() is None
    finally:
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=30)
    assert p.returncode == 0
    first.stop()
