"""The print output end to end: time bins, pro-rating, stitching, file name
variables, the latest link, append, markers, empty files, triggers, event
encodings, start-time checks and writes that fail while running."""
import calendar
import os
import shutil
import signal
import stat
import time
from pathlib import Path

import pytest

from conftest import (Sender, canon, read_csv, read_json, read_text, run_config_check,
                      v5_datagram, wait_for)

UPTIME = 400_000_000  # ms (4.6 days): the exporter has been up long enough for any flow below


def flow(start, end, export, **kw):
    """A v5 record lasting [start, end] (unix seconds), exported at `export`."""
    r = dict(first=UPTIME - (export - start) * 1000, last=UPTIME - (export - end) * 1000)
    r.update(kw)
    return r


def send_flows(d, records, export, sender=None):
    s = sender or Sender(d.port)
    s.send(v5_datagram(records, uptime=UPTIME, secs=export))
    if sender is None:
        s.close()


def stamp(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def bin_base(length):
    """A bin start in the recent past, well before now."""
    now = int(time.time())
    return now - now % length - 10 * length


def one_plugin(tmp_path, aggregate, extra=""):
    out = tmp_path / "out.json"
    body = ("plugins: print[a]\naggregate[a]: %s\nprint_output[a]: json\n"
            "print_output_file[a]: %s\nprint_refresh_time[a]: 3600\n"
            "timestamps_utc[a]: true\n%s" % (aggregate, out, extra))
    return body, out


def run_and_stop(nfacctd, body, records, export, ndgrams=1, name=None):
    d = nfacctd(body, name=name)
    send_flows(d, records, export)
    d.wait_datagrams(ndgrams)
    d.stop()
    return d


# --------------------------------------------------------------------------
# time bins


@pytest.mark.parametrize("prorate", [True, False])
def test_pro_rating_splits_over_bins(nfacctd, tmp_path, prorate):
    """pmacct's example: 5m bins, a 1000 s flow of 1000 bytes from a bin start:
    300, 300, 300 and 100 bytes; without pro-rating all of it in the start bin."""
    t0 = bin_base(300)
    body, out = one_plugin(tmp_path, "src_host",
                           "print_history[a]: 5m\nnfacctd_pro_rating: %s\n" %
                           ("true" if prorate else "false"))
    run_and_stop(nfacctd, body, [flow(t0, t0 + 1000, t0 + 1000, packets=8, octets=1000)],
                 t0 + 1000)
    rows = sorted(read_json(out), key=lambda r: r["stamp_inserted"])
    got = [(r["stamp_inserted"], r["bytes"]) for r in rows]
    if prorate:
        assert got == [(stamp(t0), 300), (stamp(t0 + 300), 300), (stamp(t0 + 600), 300),
                       (stamp(t0 + 900), 100)]
        assert sum(r["packets"] for r in rows) == 8
    else:
        assert got == [(stamp(t0), 1000)]
        assert rows[0]["packets"] == 8


@pytest.mark.parametrize("version", [9, 10], ids=["v9", "ipfix"])
def test_pro_rating_v9_ipfix(nfacctd, tmp_path, version):
    """The same split for v9 (uptime-relative times) and IPFIX (absolute seconds), with a
    flow starting mid-bin: 100 s in the first bin, 300, then 50."""
    from test_v9 import Tpl, data_set, ipfix_msg, ipfix_tpl_set, v9_msg, v9_tpl_set
    t0 = bin_base(300)
    start, end, now = t0 + 200, t0 + 650, t0 + 700
    if version == 10:
        t = Tpl(256, [(8, 4), (150, 4), (151, 4), (1, 4), (2, 4)])
        dg = ipfix_msg(ipfix_tpl_set(t), data_set(t, ("10.0.0.1", start, end, 450, 9)),
                       secs=now)
    else:
        t = Tpl(256, [(8, 4), (22, 4), (21, 4), (1, 4), (2, 4)])
        up = 10 ** 8
        dg = v9_msg(v9_tpl_set(t), data_set(t, ("10.0.0.1", up - (now - start) * 1000,
                                                up - (now - end) * 1000, 450, 9)),
                    secs=now, uptime=up)
    body, out = one_plugin(tmp_path, "src_host",
                           "print_history[a]: 5m\nnfacctd_pro_rating: true\n")
    d = nfacctd(body)
    s = Sender(d.port)
    s.send(dg)
    d.wait_datagrams(1)
    d.stop()
    s.close()
    rows = sorted(read_json(out), key=lambda r: r["stamp_inserted"])
    assert [(r["stamp_inserted"], r["bytes"]) for r in rows] == \
        [(stamp(t0), 100), (stamp(t0 + 300), 300), (stamp(t0 + 600), 50)]
    assert [r["packets"] for r in rows] == [2, 6, 1]


def test_month_bins(nfacctd, tmp_path):
    """1M: the bin is the calendar month of the flow start."""
    t = int(time.time()) - 3600
    g = time.gmtime(t)
    first = calendar.timegm((g.tm_year, g.tm_mon, 1, 0, 0, 0))
    body, out = one_plugin(tmp_path, "src_host", "print_history[a]: 1M\n")
    run_and_stop(nfacctd, body, [flow(t, t + 10, t + 10, octets=77)], t + 10)
    rows = read_json(out)
    assert [(r["stamp_inserted"], r["bytes"]) for r in rows] == [(stamp(first), 77)]


@pytest.mark.parametrize("utc", [False, True])
def test_day_bins_in_local_time_across_dst(nfacctd, tmp_path, monkeypatch, utc):
    """TZ=Europe/Berlin: 2024-03-31 has 23 hours; 1d bins run from local midnight to local
    midnight (and are UTC days with timestamps_utc)."""
    monkeypatch.setenv("TZ", ":Europe/Berlin")
    z = calendar.timegm
    times = {"early": z((2024, 3, 30, 23, 30, 0)),   # 00:30 CET, March 31st
             "late": z((2024, 3, 31, 21, 30, 0)),    # 23:30 CEST, March 31st
             "next": z((2024, 3, 31, 22, 30, 0))}    # 00:30 CEST, April 1st
    export = z((2024, 4, 1, 0, 0, 0))
    recs = [flow(t, t + 1, export, src="10.0.0.%d" % (i + 1), octets=1)
            for i, t in enumerate(times.values())]
    body, out = one_plugin(tmp_path, "src_host", "print_history[a]: 1d\n")
    if not utc:
        body = body.replace("timestamps_utc[a]: true\n", "")
    run_and_stop(nfacctd, body, recs, export)
    got = {r["ip_src"]: r["stamp_inserted"] for r in read_json(out)}
    if utc:
        assert got == {"10.0.0.1": "2024-03-30 00:00:00", "10.0.0.2": "2024-03-31 00:00:00",
                       "10.0.0.3": "2024-03-31 00:00:00"}
    else:
        assert got == {"10.0.0.1": "2024-03-31 00:00:00", "10.0.0.2": "2024-03-31 00:00:00",
                       "10.0.0.3": "2024-04-01 00:00:00"}


def test_history_offset(nfacctd, tmp_path):
    """30m bins with a 900 s offset start at :15 and :45."""
    base = bin_base(1800)
    t = base + 600  # hh:10 or hh:40: in the bin that started at hh-1:45 or hh:15
    body, out = one_plugin(tmp_path, "src_host",
                           "print_history[a]: 30m\nprint_history_offset[a]: 900\n"
                           "print_history_roundoff[a]: m\n")
    run_and_stop(nfacctd, body, [flow(t, t + 5, t + 5)], t + 5)
    assert [r["stamp_inserted"] for r in read_json(out)] == [stamp(base - 900)]


def test_stitching(nfacctd, tmp_path):
    """nfacctd_stitching adds timestamp_min / timestamp_max: the earliest start and
    the latest end of the row's flows."""
    t = int(time.time()) - 100
    body, out = one_plugin(tmp_path, "src_host",
                           "nfacctd_stitching: true\ntimestamps_since_epoch[a]: true\n")
    recs = [flow(t + 10, t + 20, t + 60, src="10.1.1.1"),
            flow(t, t + 5, t + 60, src="10.1.1.1"),
            flow(t + 30, t + 50, t + 60, src="10.1.1.1")]
    run_and_stop(nfacctd, body, recs, t + 60)
    rows = read_json(out)
    assert len(rows) == 1
    assert rows[0]["timestamp_min"] == "%d.000000" % t
    assert rows[0]["timestamp_max"] == "%d.000000" % (t + 50)
    assert rows[0]["packets"] == 3


def test_bins_since_epoch_are_whole_seconds(nfacctd, tmp_path):
    """timestamps_since_epoch: stamp_inserted/stamp_updated are integers as pmacct
    prints them ("1733310000"), not "1733310000.000000"."""
    t0 = bin_base(300)
    body, out = one_plugin(tmp_path, "src_host",
                           "print_history[a]: 5m\ntimestamps_since_epoch[a]: true\n")
    run_and_stop(nfacctd, body, [flow(t0 + 5, t0 + 6, t0 + 7)], t0 + 7)
    rows = read_json(out)
    assert rows[0]["stamp_inserted"] == str(t0)
    assert rows[0]["stamp_updated"].isdigit()


def test_stitching_excludes_pro_rating(tmp_path):
    rc, err = run_config_check(tmp_path, "nfacctd_port: 2100\nnfacctd_stitching: true\n"
                               "nfacctd_pro_rating: true\n")
    assert rc != 0 and "nfacctd_stitching" in err and "nfacctd_pro_rating" in err


# --------------------------------------------------------------------------
# file names, links, encodings


def test_file_per_peer_and_latest_link(nfacctd, tmp_path):
    """$peer_src_ip: one file per exporter; print_latest_file links to each one."""
    spool = tmp_path / "spool"
    body = ("plugins: print[a]\naggregate[a]: peer_src_ip, src_host\nprint_output[a]: json\n"
            "print_output_file[a]: %s/$peer_src_ip/out-%%Y.json\nprint_refresh_time[a]: 3600\n"
            "print_latest_file[a]: %s/latest-$peer_src_ip\n" % (spool, spool))
    d = nfacctd(body, ip=None)
    now = int(time.time())
    for i, peer in enumerate(("127.0.0.1", "127.0.0.2")):
        s = Sender(d.port, host=peer)
        s.send(v5_datagram([dict(src="10.0.0.%d" % (i + 1), octets=100 * (i + 1))], secs=now))
        s.close()
    d.wait_datagrams(2)
    d.stop()
    year = time.strftime("%Y", time.localtime(now))
    for i, peer in enumerate(("127.0.0.1", "127.0.0.2")):
        f = spool / peer / ("out-%s.json" % year)
        rows = read_json(f)
        assert [(r["peer_ip_src"], r["ip_src"], r["bytes"]) for r in rows] == \
            [(peer, "10.0.0.%d" % (i + 1), 100 * (i + 1))]
        link = spool / ("latest-%s" % peer)
        assert link.is_symlink() and os.readlink(link) == str(f)


def test_file_per_tag_and_post_tag(nfacctd, tmp_path):
    """$tag and $tag2 (from pre_tag_map): one file per value; $post_tag: the configured
    post_tag, which also becomes every row's tag in its plugin."""
    m = tmp_path / "pretag.map"
    m.write_text("set_tag=10 set_tag2=1 ip=127.0.0.1\nset_tag=20 set_tag2=2 ip=127.0.0.2\n")
    body = ("pre_tag_map: %s\nplugins: print[a], print[b]\naggregate: tag, tag2, src_host\n"
            "print_output: json\nprint_refresh_time: 3600\npost_tag[b]: 5\n"
            "print_output_file[a]: %s/t$tag-$tag2.json\n"
            "print_output_file[b]: %s/p$post_tag.json\n" % (m, tmp_path, tmp_path))
    d = nfacctd(body, ip=None)
    for i, peer in enumerate(("127.0.0.1", "127.0.0.2")):
        s = Sender(d.port, host=peer)
        s.send(v5_datagram([dict(src="10.0.0.%d" % (i + 1))]))
        s.close()
    d.wait_datagrams(2)
    d.stop()
    for tag, tag2, src in ((10, 1, "10.0.0.1"), (20, 2, "10.0.0.2")):
        rows = read_json(tmp_path / ("t%d-%d.json" % (tag, tag2)))
        assert [(r["tag"], r["tag2"], r["ip_src"]) for r in rows] == [(tag, tag2, src)]
    rows = read_json(tmp_path / "p5.json")
    assert sorted((r["tag"], r["tag2"], r["ip_src"]) for r in rows) == [
        (5, 1, "10.0.0.1"), (5, 2, "10.0.0.2")]


def test_file_name_constants(nfacctd, tmp_path):
    """$ref and $hst are the refresh time and the bin length; $tzone the zone (UTC: Z);
    a variable naming a primitive not in aggregate expands to nothing."""
    body = ("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: json\n"
            "print_output_file[a]: %s/o-$ref-$hst-$tzone-$peer_src_ip-%%Y.json\n"
            "print_refresh_time[a]: 3600\nprint_history[a]: 5m\ntimestamps_utc[a]: true\n"
            % tmp_path)
    run_and_stop(nfacctd, body, [dict(src="10.0.0.1")], int(time.time()))
    name = "o-3600-300-Z--%s.json" % time.strftime("%Y", time.gmtime())
    assert [r["ip_src"] for r in read_json(tmp_path / name)] == ["10.0.0.1"]


def test_latest_link_moves_forward(nfacctd, tmp_path):
    """Files per interval (%s); the link follows the newest one and never points at a
    temporary name."""
    body = ("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: csv\n"
            "print_output_file[a]: %s/out-%%s.csv\nprint_refresh_time[a]: 1\n"
            "print_latest_file[a]: %s/latest\n" % (tmp_path, tmp_path))
    d = nfacctd(body)
    s = Sender(d.port)
    seen = []

    def two_files():
        s.send(v5_datagram([dict(src="10.0.0.9")]))
        files = sorted(tmp_path.glob("out-*.csv"))
        link = tmp_path / "latest"
        if link.is_symlink():
            target = os.readlink(link)
            assert ".tmp." not in target
            if target not in seen:
                seen.append(target)
        return len(files) >= 2 and len(seen) >= 2 and files

    files = wait_for(two_files, what="two interval files and the link moved")
    d.stop()
    s.close()
    assert seen == sorted(seen)
    assert os.readlink(tmp_path / "latest") == str(sorted(tmp_path.glob("out-*.csv"))[-1])
    assert not list(tmp_path.glob("*.tmp.*")) and not list(tmp_path.glob(".*.tmp.*"))
    for f in files:
        assert read_csv(f)[0]["SRC_IP"] == "10.0.0.9"


@pytest.mark.parametrize("encoding", ["event_csv", "event_formatted"])
def test_event_encodings_have_no_counters(nfacctd, tmp_path, encoding):
    out = tmp_path / "out.txt"
    body = ("plugins: print[a]\naggregate[a]: src_host, dst_port\nprint_output[a]: %s\n"
            "print_output_file[a]: %s\nprint_refresh_time[a]: 3600\n" % (encoding, out))
    run_and_stop(nfacctd, body, [dict(src="10.0.0.1", dport=53, octets=99)], int(time.time()))
    lines = read_text(out).splitlines()
    assert lines[0].split() == ["SRC_IP", "DST_PORT"] or lines[0] == "SRC_IP,DST_PORT"
    assert "99" not in read_text(out)
    assert lines[1].replace(",", " ").split() == ["10.0.0.1", "53"]


def test_write_empty_file_and_trigger(nfacctd, tmp_path):
    """print_write_empty_file: a zero-length file for a purge without rows;
    print_trigger_exec runs after each purge."""
    marks = tmp_path / "marks"
    script = tmp_path / "trigger.sh"
    # each run notes its ignored signals: the daemon ignores SIGPIPE, the program must not
    script.write_text("#!/bin/sh\ngrep SigIgn /proc/$$/status >> %s\n" % marks)
    script.chmod(0o755)
    body = ("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: csv\n"
            "print_output_file[a]: %s/out-%%s.csv\nprint_refresh_time[a]: 1\n"
            "print_write_empty_file[a]: true\nprint_trigger_exec[a]: %s\n" % (tmp_path, script))
    d = nfacctd(body)
    wait_for(lambda: len(read_text(marks).splitlines()) >= 2, what="two trigger runs")
    files = wait_for(lambda: list(tmp_path.glob("out-*.csv")), what="an empty interval file")
    d.stop()
    assert all(f.stat().st_size == 0 for f in files)
    sigpipe = 1 << (signal.SIGPIPE - 1)
    assert all(not int(l.split()[1], 16) & sigpipe for l in read_text(marks).splitlines())


def test_markers_csv_and_append(nfacctd, tmp_path):
    out = tmp_path / "out.csv"
    body = ("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: csv\n"
            "print_output_file[a]: %s\nprint_refresh_time[a]: 3600\nprint_markers[a]: true\n"
            "print_output_file_append[a]: true\n" % out)
    for i in range(2):
        run_and_stop(nfacctd, body, [dict(src="10.0.0.1", octets=5)], int(time.time()),
                     name="run%d" % i)
    lines = read_text(out).splitlines()
    assert [l for l in lines if l.startswith("--START")].__len__() == 2
    assert lines.count("--END--") == 2
    assert lines.count("SRC_IP,PACKETS,BYTES") == 1  # one header: the file's top
    assert lines.count("10.0.0.1,1,5") == 2


def test_safe_purge_when_cache_full(nfacctd, tmp_path):
    """A full table (cache_max_entries) is purged at once instead of dropping records:
    the rows land in the interval's file (later purges of the interval add to it), the
    latest link and print_trigger_exec wait for the interval's own purge."""
    marks = tmp_path / "marks"
    script = tmp_path / "trigger.sh"
    script.write_text("#!/bin/sh\necho run >> %s\n" % marks)
    script.chmod(0o755)
    body = ("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: json\n"
            "print_output_file[a]: %s/out-%%Y%%m%%d.json\nprint_refresh_time[a]: 3600\n"
            "cache_max_entries[a]: 3\nprint_latest_file[a]: %s/latest\n"
            "print_trigger_exec[a]: %s\n" % (tmp_path, tmp_path, script))
    d = nfacctd(body)
    s = Sender(d.port)
    s.send(v5_datagram([dict(src="10.0.0.%d" % i, octets=i) for i in range(1, 8)]))
    d.wait_datagrams(1)
    d.wait_log(r"safe purge of 3 entries(.|\n)*safe purge of 3 entries")
    files = list(tmp_path.glob("out-*.json"))
    assert len(files) == 1 and len(read_json(files[0])) == 6
    assert not (tmp_path / "latest").is_symlink()
    assert not marks.exists()
    d.stop()
    s.close()
    rows = read_json(files[0])
    assert sorted((r["ip_src"], r["bytes"]) for r in rows) == \
        [("10.0.0.%d" % i, i) for i in range(1, 8)]
    assert os.readlink(tmp_path / "latest") == str(files[0])
    wait_for(marks.exists, what="the trigger after the interval's purge")
    assert "not accounted" not in d.log_text()


def test_safe_purge_at_ten_times_print_cache_entries(nfacctd, tmp_path):
    """print_cache_entries: 2 is a cache of 20 keys: 45 keys make two safe purges, and
    every key reaches the (appended-to) interval file."""
    out = tmp_path / "out.csv"
    body = ("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: csv\n"
            "print_output_file[a]: %s\nprint_refresh_time[a]: 3600\n"
            "print_cache_entries[a]: 2\n" % out)
    d = nfacctd(body)
    s = Sender(d.port)
    s.send(*[v5_datagram([dict(src="10.0.%d.%d" % (b, i)) for i in range(15)])
             for b in range(3)])
    d.wait_datagrams(3)
    d.stop()
    s.close()
    assert d.log_text().count("safe purge of 20 entries") == 2
    assert sorted(r["SRC_IP"] for r in read_csv(out)) == \
        sorted("10.0.%d.%d" % (b, i) for b in range(3) for i in range(15))


# --------------------------------------------------------------------------
# several plugins on one daemon (item 10)


def test_several_plugins_different_aggregates_and_refresh(nfacctd, tmp_path):
    """Two print instances, different aggregates, refresh times and time bins: each
    writes exactly its own view of the same traffic."""
    a, b = tmp_path / "a.json", tmp_path / "b-%s.csv"
    t0 = bin_base(300)
    body = ("plugins: print[a], print[b]\n"
            "aggregate[a]: src_host\nprint_output[a]: json\nprint_output_file[a]: %s\n"
            "print_refresh_time[a]: 3600\nprint_history[a]: 5m\ntimestamps_utc[a]: true\n"
            "aggregate[b]: dst_port, proto\nprint_output[b]: csv\nprint_output_file[b]: %s\n"
            "print_refresh_time[b]: 1\n" % (a, b))
    d = nfacctd(body)
    exp = t0 + 400
    recs = [flow(t0 + 10, t0 + 20, exp, src="10.0.0.1", dport=80, proto=6, octets=10),
            flow(t0 + 310, t0 + 320, exp, src="10.0.0.1", dport=80, proto=6, octets=20),
            flow(t0 + 10, t0 + 20, exp, src="10.0.0.2", dport=53, proto=17, octets=40)]
    send_flows(d, recs, exp)
    d.wait_datagrams(1)
    # b flushes every second: its rows appear while a still holds its interval
    rows_b = wait_for(lambda: [r for f in tmp_path.glob("b-*.csv") for r in read_csv(f)],
                      what="plugin b's file")
    assert not a.exists()
    d.stop()
    rows_b = [r for f in tmp_path.glob("b-*.csv") for r in read_csv(f)]
    assert sorted((r["DST_PORT"], r["PROTOCOL"], r["BYTES"]) for r in rows_b) == \
        [("53", "udp", "40"), ("80", "tcp", "30")]
    rows_a = read_json(a)
    assert canon([{k: r[k] for k in ("ip_src", "stamp_inserted", "bytes")} for r in rows_a]) == \
        canon([{"ip_src": "10.0.0.1", "stamp_inserted": stamp(t0), "bytes": 10},
               {"ip_src": "10.0.0.1", "stamp_inserted": stamp(t0 + 300), "bytes": 20},
               {"ip_src": "10.0.0.2", "stamp_inserted": stamp(t0), "bytes": 40}])


# --------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("text,key", [
    ("print_output_file[a]: /nonexistent-folder/x/out.json\n", "print_output_file[a]"),
    ("print_output_file[a]: out.json\nprint_latest_file[a]: latest-%Y\n", "print_latest_file[a]"),
    ("print_history[a]: 0M\n", "print_history"),
    ("print_history_roundoff[a]: dw\n", "print_history_roundoff"),
    ("print_output[a]: event_json\n", "print_output"),
])
def test_bad_settings_refused_at_start(tmp_path, text, key):
    rc, err = run_config_check(tmp_path, "nfacctd_port: 2100\nnfacctd_ip: 127.0.0.1\n"
                               "plugins: print[a]\n" + text)
    assert rc != 0
    assert key in err


def test_write_failure_keeps_rows_until_folder_returns(nfacctd, tmp_path):
    """The folder becomes a file (so even root cannot write): purges fail and keep
    their rows; once the folder is back, the kept rows and the new ones are written."""
    folder = tmp_path / "spool"
    folder.mkdir()
    out = folder / "out.json"
    body = ("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: json\n"
            "print_output_file[a]: %s\nprint_output_file_append[a]: true\n"
            "print_refresh_time[a]: 1\n" % out)
    d = nfacctd(body)
    s = Sender(d.port)
    s.send(v5_datagram([dict(src="10.0.0.1", octets=1)]))
    wait_for(lambda: read_json(out), what="the first purge")
    shutil.rmtree(folder)
    folder.write_text("not a folder")
    s.send(v5_datagram([dict(src="10.0.0.2", octets=2)]))
    d.wait_log(r"write .*out\.json: Not a directory; its 1 rows are kept")
    folder.unlink()
    folder.mkdir()
    s.send(v5_datagram([dict(src="10.0.0.3", octets=3)]))
    rows = wait_for(lambda: len(read_json(out)) >= 2 and read_json(out),
                    what="kept and new rows")
    d.stop()
    s.close()
    assert sorted(r["ip_src"] for r in read_json(out)) == ["10.0.0.2", "10.0.0.3"]


def test_write_failure_bounded(nfacctd, tmp_path):
    """Beyond print_write_retry failed purges the oldest kept rows are dropped and counted."""
    folder = tmp_path / "spool"
    folder.mkdir()
    out = folder / "out.json"
    body = ("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: json\n"
            "print_output_file[a]: %s\nprint_refresh_time[a]: 1\nprint_write_retry[a]: 1\n" % out)
    d = nfacctd(body)
    shutil.rmtree(folder)
    folder.write_text("not a folder")
    s = Sender(d.port)
    # keep traffic coming until two purges with rows failed and one was dropped
    wait_for(lambda: s.send(v5_datagram([dict(src="10.0.0.7")])) or
             "written 2 times without success" in d.log_text(), what="a dropped purge")
    d.stats()
    line = wait_for(lambda: [l for l in d.log_text().splitlines() if "stats module" in l],
                    what="module stats")[-1]
    assert "dropped_rows=0" not in line
    d.stop()
    s.close()
