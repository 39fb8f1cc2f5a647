"""nfacctd reading NetFlow/IPFIX from a capture file (pcap_savefile, issue 6 part 2).

The daemon reads the capture through libpcap (reactor/capture.c, proto/decap.c) and hands
every UDP datagram to the same decode path as live datagrams, the exporter being the
capture's source address.  With `pcap_savefile_wait: false` it exits at the end of the
file, after the final flush.

* every shared fixture (100-106) gives the rows its UDP replay gives (test_fixtures.py's
  replay, peer_ip_src mapped from the capture's exporter address to the replay address);
* `pcap_savefile_replay: 3` gives exactly three times the counters of one pass;
* SIGINT while the file is still being read: the rows written account for exactly the
  records the daemon says it accounted (its last per-worker stats lines, logged at exit);
* a capture spanning 3 minutes with `print_refresh_time: 60` and `nfacctd_time_new: false`
  flushes once per interval of capture time, and the intervals sum to the whole file.
"""
import collections
import re
import signal
import subprocess

import pytest

import fixtures_replay as fr
from conftest import (SANITIZER_MARKERS, STATS_WORKER, TIMEOUT, Daemon, read_json,
                      v5_datagram, wait_for)

FIXTURES = [("100-IPFIXv10-CISCO", 9991), ("101-NFv9-CISCO-cust_primitives", 9991),
            ("102-NFv9-CISCO-f2rd-pretag-sampling-reload", 9991),
            ("103-IPFIXv10-CISCO-pretag-JSON_encoding", 9991),
            ("104-IPFIXv10-IPv6-CISCO-sampling_option", 9992),
            ("106-IPFIXv10-HUAWEI-vrf_name", 9991)]

AGGREGATE = ["peer_src_ip", "in_iface", "out_iface", "src_host", "dst_host", "src_port",
             "dst_port", "proto", "tos", "src_mask", "dst_mask", "timestamp_start",
             "timestamp_end", "flows"]

pytestmark = pytest.mark.skipif(not fr.FIXTURES.exists(),
                                reason="pmacct fixtures not found in %s" % fr.FIXTURES)


def savefile_config(pcap, out, aggregate, extra=None, time_new=True, refresh=3600):
    lines = ["pcap_savefile: %s" % pcap, "pcap_savefile_wait: false"]
    body = fr.collector_config(out, aggregate, extra, refresh=refresh)
    if not time_new:
        body = body.replace("nfacctd_time_new: true", "nfacctd_time_new: false")
    return "\n".join(lines) + "\n" + body


def run_to_end(tmp_path, conf, name="savefile", timeout=TIMEOUT * 4):
    """Start nfacctd on conf, wait for it to exit by itself (end of file); return the
    Daemon (exit code 0 and no sanitizer report asserted)."""
    d = Daemon(tmp_path, conf, name=name)
    d.start(wait=False)
    try:
        rc = d.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        d.kill()
        raise AssertionError("nfacctd did not exit at the end of the file:\n" + d.log_text())
    d._close_files()
    err = d.stderr()
    for marker in SANITIZER_MARKERS:
        assert marker not in err, "sanitizer report:\n" + err
    assert rc == 0, "exit code %s:\n%s\n%s" % (rc, err, d.log_text())
    assert not re.search(r" (WARN|ERROR) ", d.log_text()), d.log_text()
    return d


def exporters_of(pcap, dport):
    return {src for (src, _sport), _ in fr.pcap_payloads(pcap, dport)}


def canon(rows):
    return collections.Counter(tuple(sorted((k, repr(v)) for k, v in r.items())) for r in rows)


def last_worker_stats(log):
    """{worker: counters} from the last stats line of each worker."""
    out = {}
    for line in log.splitlines():
        m = STATS_WORKER.search(line)
        if m:
            out[int(m.group(1))] = {k: int(v) for k, v in
                                    re.findall(r"(\w+)=(\d+)", line[m.start():])}
    return out


@pytest.mark.parametrize("fixture, dport", FIXTURES, ids=[f[:3] for f, _ in FIXTURES])
def test_savefile_equals_udp_replay(nfacctd, tmp_path, fixture, dport):
    pcap = fr.fixture_dir(fixture) / "traffic-00.pcap"
    payloads = fr.pcap_payloads(pcap, dport)
    replay_rows, _ = fr.run_collector(nfacctd, tmp_path, payloads, AGGREGATE, tag="replay")
    assert replay_rows

    out = tmp_path / "savefile.json"
    run_to_end(tmp_path, savefile_config(pcap, out, AGGREGATE))
    rows = read_json(out)
    # the exporter is the capture's source address
    exporters = exporters_of(pcap, dport)
    assert {r["peer_ip_src"] for r in rows} <= exporters, exporters
    for r in rows:
        r["peer_ip_src"] = "127.0.0.1"
    assert canon(rows) == canon(replay_rows)


def test_savefile_replay_three_times(tmp_path):
    pcap = fr.fixture_dir(FIXTURES[1][0]) / "traffic-00.pcap"
    once = tmp_path / "once.json"
    run_to_end(tmp_path, savefile_config(pcap, once, AGGREGATE), name="once")
    thrice = tmp_path / "thrice.json"
    run_to_end(tmp_path, savefile_config(pcap, thrice, AGGREGATE,
                                         {"pcap_savefile_replay": 3}), name="thrice")
    one, three = read_json(once), read_json(thrice)
    assert one

    def key(r):
        return tuple(sorted((k, repr(v)) for k, v in r.items()
                            if k not in ("packets", "bytes", "flows")))
    a = {key(r): r for r in one}
    b = {key(r): r for r in three}
    assert a.keys() == b.keys()
    for k, r in a.items():
        for c in ("packets", "bytes", "flows"):
            assert b[k][c] == 3 * r[c], (k, c)


def test_sigint_mid_file_accounts_exactly_once(tmp_path):
    pcap = fr.fixture_dir(FIXTURES[1][0]) / "traffic-00.pcap"
    # one pass first: every record is one flow in the output, and the stats say so
    once = tmp_path / "once.json"
    d1 = run_to_end(tmp_path, savefile_config(pcap, once, AGGREGATE), name="once")
    per_pass = sum(w["records"] for w in last_worker_stats(d1.log_text()).values())
    assert per_pass > 0
    assert sum(r["flows"] for r in read_json(once)) == per_pass

    out = tmp_path / "stopped.json"
    passes = 1000000
    d = Daemon(tmp_path, savefile_config(pcap, out, AGGREGATE,
                                         {"pcap_savefile_replay": passes}), name="stopped")
    d.start(wait=False)
    try:
        # reading has started: the daemon has accounted records (SIGUSR1 stats)
        wait_for(lambda: d.proc.poll() is not None or
                 re.search(r"reading \S+ data from pcap_savefile", d.log_text()), TIMEOUT,
                 "the daemon to start reading")

        def accounting():
            if d.proc.poll() is not None:
                return True
            d.send_signal(signal.SIGUSR1)
            return re.search(r"stats worker=\d+ .*records=[1-9]", d.log_text())
        wait_for(accounting, TIMEOUT, "the first records accounted")
        assert d.proc.poll() is None, d.log_text()
        d.stop(signal.SIGINT)
    finally:
        d.kill()
    accounted = sum(w["records"] for w in last_worker_stats(d.log_text()).values())
    rows = read_json(out)
    assert 0 < accounted < passes * per_pass, "SIGINT did not land mid-file"
    assert sum(r["flows"] for r in rows) == accounted


def _pcap_v5_minutes(path, t0, minutes):
    """A pcap (Ethernet/IPv4/UDP) of NetFlow v5 datagrams from 192.0.2.7, one every 10 s
    from t0 + 5 for `minutes` minutes; minute m's records come from 10.0.m.x.  Returns
    {src: packets}."""
    from scapy.all import IP, UDP, Ether, wrpcap
    pkts, want = [], {}
    for k in range(minutes * 6):
        ts = t0 + 5 + 10 * k
        src = "10.0.%d.%d" % (k // 6, k % 6)
        want[src] = k + 1
        dg = v5_datagram([dict(src=src, packets=k + 1, octets=100 * (k + 1))], seq=k,
                         secs=ts, uptime=1000000 + 10000 * k)
        p = Ether() / IP(src="192.0.2.7", dst="192.0.2.1") / UDP(sport=2055, dport=2100) / dg
        p.time = ts
        pkts.append(p)
    wrpcap(str(path), pkts)
    return want


def test_flushes_per_interval_of_capture_time(tmp_path):
    t0 = 1699999980  # a minute boundary (1699999980 % 60 == 0)
    pcap = tmp_path / "minutes.pcap"
    want = _pcap_v5_minutes(pcap, t0, 3)
    out = tmp_path / "out-%Y%m%d-%H%M.json"
    run_to_end(tmp_path, savefile_config(pcap, out, ["src_host"], time_new=False,
                                         refresh=60))
    files = sorted(tmp_path.glob("out-*.json"))
    assert len(files) >= 3, "flushed %d times over 3 minutes of capture" % len(files)
    seen = {}
    for f in files:
        for r in read_json(f):
            assert r["ip_src"] not in seen, "%s in two intervals" % r["ip_src"]
            seen[r["ip_src"]] = r["packets"]
    assert seen == want


def test_savefile_errors_name_the_key(tmp_path):
    """A missing capture and a bad pcap_filter stop the daemon at start with an error
    naming them."""
    from conftest import run_config_check
    rc, err = run_config_check(tmp_path, savefile_config(tmp_path / "missing.pcap",
                                                         tmp_path / "o.json", ["src_host"]))
    assert rc != 0 and "missing.pcap" in err, err
    pcap = fr.fixture_dir(FIXTURES[0][0]) / "traffic-00.pcap"
    rc, err = run_config_check(tmp_path, savefile_config(pcap, tmp_path / "o.json", ["src_host"],
                                                         {"pcap_filter": "udp prot 1"}))
    assert rc != 0 and "pcap_filter" in err, err
