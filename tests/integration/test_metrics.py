"""The metrics endpoint (metrics_listen), the stats file (stats_file) and kernel drops.

The endpoint is scraped over HTTP like Prometheus would, and its values are checked
against what the test sent.  Kernel drops are forced with the smallest receive buffer
while the daemon is stopped (SIGSTOP): the counter must equal what was lost.
"""
import json
import re
import signal
import socket
import urllib.error
import urllib.request
from pathlib import Path

from conftest import (Sender, read_json, read_text, run_config_check, v5_datagram, wait_for)

SAMPLE = re.compile(r'^(\w+)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def tcp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scrape(port):
    """GET /metrics: {(name, frozenset(labels)): value}, checking the text format."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in typed, "family %s split in two groups" % name
            typed.add(name)
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        assert m.group(1) in typed or m.group(1).rsplit("_", 1)[0] in typed, line
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())))


def metrics_conf(port, extra=""):
    return ("metrics_listen: 127.0.0.1:%d\nplugins: print[a]\naggregate: src_host\n"
            "print_output: json\nprint_output_file: out.json\nprint_refresh_time: 3600\n%s"
            % (port, extra))


def test_metrics_match_a_known_input(tmp_path, nfacctd):
    mport = tcp_port()
    d = nfacctd(metrics_conf(mport))
    s = Sender(d.port)
    # three v5 datagrams of two records each; the third skips 6 records (a gap)
    recs = [dict(src="10.0.0.1", packets=3), dict(src="10.0.0.2", packets=4)]
    s.send(v5_datagram(recs, seq=0), v5_datagram(recs, seq=2), v5_datagram(recs, seq=10))
    s.send(b"\x00\x05\x00")  # shorter than a v5 header: malformed (short)
    me = "127.0.0.1"

    m = wait_for(lambda: (lambda x: x if value(x, "netacct_worker_datagrams_total",
                                               worker="0") == 4 else None)(scrape(mport)),
                 what="4 datagrams in the metrics")
    assert value(m, "netacct_worker_records_total", worker="0") == 6
    assert value(m, "netacct_worker_malformed_datagrams_total", worker="0") == 1
    assert value(m, "netacct_worker_kernel_drops_total", worker="0") == 0
    assert value(m, "netacct_worker_exporters", worker="0") == 1
    assert value(m, "netacct_exporter_datagrams_total", worker="0", exporter=me) == 4
    assert value(m, "netacct_exporter_records_total", worker="0", exporter=me) == 6
    assert value(m, "netacct_exporter_sequence_gaps_total", worker="0", exporter=me) == 1
    assert value(m, "netacct_exporter_lost_flows_total", worker="0", exporter=me) == 6
    assert value(m, "netacct_exporter_decode_errors_total", worker="0", exporter=me,
                 reason="short_datagram") == 1
    assert value(m, "netacct_exporter_decode_errors_total", worker="0", exporter=me,
                 reason="truncated") == 0
    assert value(m, "netacct_exporter_templates", worker="0", exporter=me) == 0
    assert value(m, "netacct_build_info", daemon="nfacctd", version=value_version(m)) == 1
    # nothing flushed yet (refresh of an hour)
    assert value(m, "netacct_output_written_entries_total", output="a", type="print") == 0
    assert value(m, "netacct_output_flushes_total", output="a", type="print") == 0

    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport) as r:
        assert r.status == 200
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/other" % mport, timeout=10)
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    d.stop()
    rows = read_json(tmp_path / "out.json")
    assert sum(r["packets"] for r in rows) == 3 * (3 + 4)


def value_version(m):
    for (name, labels) in m:
        if name == "netacct_build_info":
            return dict(labels)["version"]
    raise AssertionError("no netacct_build_info")


def all_threads_stopped(pid):
    states = []
    for task in Path("/proc/%d/task" % pid).iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # a thread that just exited
        states.append(stat[stat.rindex(")") + 2])
    return bool(states) and all(st in "tT" for st in states)


def test_kernel_drops_are_counted_exactly(tmp_path, nfacctd):
    """The smallest receive buffer and a stopped daemon: the kernel drops most of what
    is sent.  Once everything sent has been read or dropped, kernel_drops is exactly
    sent - received, in the metrics, the SIGUSR1 stats and the output."""
    mport = tcp_port()
    d = nfacctd(metrics_conf(mport, "nfacctd_pipe_size: 1\n"))
    s = Sender(d.port)
    n = 300
    d.send_signal(signal.SIGSTOP)
    try:
        # SIGSTOP is delivered asynchronously: a worker still running would read a
        # datagram between drops and see part of them first
        wait_for(lambda: all_threads_stopped(d.proc.pid), what="every thread stopped")
        for i in range(n):
            s.send(v5_datagram([dict(src="10.9.0.1", packets=1)], seq=i))
    finally:
        d.send_signal(signal.SIGCONT)

    def settled():
        m = scrape(mport)
        got = value(m, "netacct_worker_datagrams_total", worker="0")
        drops = value(m, "netacct_worker_kernel_drops_total", worker="0")
        return (m, got, drops) if got + drops == n else None
    m, got, drops = wait_for(settled, what="received + kernel drops == sent")
    assert drops > 0 and got > 0, (got, drops)
    assert value(m, "netacct_exporter_records_total", worker="0", exporter="127.0.0.1") == got

    st = d.stats()
    assert st.workers[0]["kernel_drops"] == drops
    assert st.workers[0]["datagrams"] == got
    # the drops reached the log too, naming the fix (logged by the first reading of the
    # counter that saw them: a datagram's control message or the scrape's SO_MEMINFO)
    d.wait_log(r"WARN .*worker 0: the kernel dropped %d datagrams \(%d in total\).*"
               r"nfacctd_pipe_size" % (drops, drops))
    d.stop()
    rows = read_json(tmp_path / "out.json")
    assert sum(r["packets"] for r in rows) == got  # one record per datagram received


def test_stats_file_rewritten_atomically(tmp_path, nfacctd):
    path = tmp_path / "stats.json"
    d = nfacctd("stats_file: %s\nstats_file_interval: 1\nplugins: print[a]\n"
                "aggregate: src_host\nprint_output: json\nprint_output_file: out.json\n"
                "print_refresh_time: 3600\n" % path)
    Sender(d.port).send(v5_datagram([dict(src="10.0.0.1", packets=2)]))

    def worker_datagrams():
        try:
            doc = json.loads(read_text(path))
        except ValueError:
            return None  # not written yet: a partial file would fail here too
        v = [x["value"] for x in doc["metrics"]["netacct_worker_datagrams_total"]
             if x["labels"] == {"worker": "0"}]
        return doc if v == [1] else None
    doc = wait_for(worker_datagrams, what="stats_file with the datagram")
    assert isinstance(doc["timestamp"], int)
    assert not (tmp_path / "stats.json.tmp").exists()
    d.stop()
    # written once more at exit, after the final flush
    doc = json.loads(read_text(path))
    written = [x["value"] for x in doc["metrics"]["netacct_output_written_entries_total"]
               if x["labels"] == {"output": "a", "type": "print"}]
    assert written == [1]


def test_metrics_listen_is_checked(tmp_path):
    for bad in ("9105", "localhost:9105", "127.0.0.1:0", "::1:9105", "[::1:9105"):
        rc, err = run_config_check(tmp_path, "metrics_listen: %s\n" % bad)
        assert rc != 0 and "metrics_listen" in err, (bad, err)


def test_metrics_listen_in_use_fails_at_start(tmp_path, nfacctd):
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        d = nfacctd("metrics_listen: 127.0.0.1:%d\n" % holder.getsockname()[1], start=False)
        d.start(wait=False)
        assert d.proc.wait(10) != 0
        assert "metrics_listen" in d.log_text()
    finally:
        holder.close()


def test_templates_and_no_template_in_the_metrics(tmp_path, nfacctd):
    from test_v9 import BASIC_FIELDS, Tpl, data_set, ipfix_msg, ipfix_tpl_set
    mport = tcp_port()
    d = nfacctd(metrics_conf(mport))
    t1, t2, unknown = Tpl(256, BASIC_FIELDS), Tpl(257, BASIC_FIELDS[:5]), Tpl(300, BASIC_FIELDS)
    rec = ("10.0.0.1", "10.0.0.2", 1000, 80, 6, 10, 1000)
    Sender(d.port).send(ipfix_msg(ipfix_tpl_set(t1, t2), seq=0),
                        ipfix_msg(data_set(t1, rec, rec, rec), seq=0),
                        ipfix_msg(data_set(unknown, rec), seq=3))
    me = "127.0.0.1"
    m = wait_for(lambda: (lambda x: x if value(x, "netacct_worker_datagrams_total",
                                               worker="0") == 3 else None)(scrape(mport)),
                 what="3 datagrams in the metrics")
    assert value(m, "netacct_exporter_templates", worker="0", exporter=me) == 2
    assert value(m, "netacct_worker_templates", worker="0") == 2
    assert value(m, "netacct_exporter_records_total", worker="0", exporter=me) == 3
    assert value(m, "netacct_exporter_decode_errors_total", worker="0", exporter=me,
                 reason="no_template") == 1
    assert value(m, "netacct_worker_malformed_datagrams_total", worker="0") == 0
    d.stop()


def test_receive_buffer_granted_less_is_logged(tmp_path, nfacctd):
    """The kernel caps every receive buffer (at INT_MAX / 2 even for root): asking
    more says what was granted and the sysctl that raises the limit."""
    d = nfacctd("nfacctd_pipe_size: 1073741824\n")
    d.wait_log(r"WARN .*receive buffer of 1073741824 bytes asked \(nfacctd_pipe_size\), "
               r"the kernel granted \d+.*sysctl -w net.core.rmem_max=1073741824")
    d.stop()


def test_default_receive_buffer_is_large(tmp_path, nfacctd):
    mport = tcp_port()
    d = nfacctd(metrics_conf(mport))
    m = scrape(mport)
    granted = value(m, "netacct_worker_receive_buffer_bytes", worker="0")
    if "kernel granted" not in d.log_text():  # as root, or with rmem_max raised
        assert granted >= 2 * 32 * 1024 * 1024
    d.stop()


def send_from(src, port, *datagrams):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    for d in datagrams:
        s.sendto(d, ("127.0.0.1", port))
    s.close()


def test_two_workers_and_concurrent_scrapes(tmp_path, nfacctd):
    """Every worker answers a scrape; scrapes arriving together are all answered."""
    import threading
    mport = tcp_port()
    d = nfacctd(metrics_conf(mport), workers=2)
    sources = ["127.0.0.%d" % i for i in range(1, 9)]
    for i, src in enumerate(sources):
        send_from(src, d.port, *[v5_datagram([dict(src="10.0.0.1", packets=1)], seq=k)
                                 for k in range(i + 1)])
    total = sum(range(1, len(sources) + 1))

    def all_in():
        m = scrape(mport)
        w = [value(m, "netacct_worker_datagrams_total", worker=str(i)) for i in (0, 1)]
        return m if None not in w and sum(w) == total else None
    m = wait_for(all_in, what="%d datagrams over both workers" % total)
    for i, src in enumerate(sources):
        per = [value(m, "netacct_exporter_datagrams_total", worker=str(w), exporter=src)
               for w in (0, 1)]
        # an exporter lives on one worker (steered by its address)
        assert [v for v in per if v is not None] == [i + 1], (src, per)
    results = []

    def one():
        results.append(scrape(mport))
    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8
    assert all(value(r, "netacct_workers") == 2 for r in results)
    d.stop()
