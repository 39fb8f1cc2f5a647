"""Tagging end to end: pre_tag_map (tags, tag2, labels, jeq/stack, reload on SIGUSR2, bad
lines), per-output filters (aggregate_filter, pre_tag_filter, pre_tag2_filter,
pre_tag_label_filter), post_tag, several print outputs with their own aggregate and filter,
pre_tag_label_encode_as_map, writer_id_string, core_proc_name and
nfacctd_pre_processing_checks, driving nfacctd with crafted NetFlow v5 / v9 datagrams.
"""
import signal

from conftest import Sender, read_json, read_text, run_config_check, base_config, free_port
from test_v9 import (BASIC_FIELDS, Tpl, basic, data_set, set_, v9_msg, v9_tpl_set)


def plugin(tmp_path, name, aggregate, extra=""):
    """A JSON print output `name` (written at exit) and its file."""
    out = tmp_path / ("%s.json" % name)
    body = ("print_output[{n}]: json\nprint_output_file[{n}]: {o}\nprint_refresh_time[{n}]: 3600\n"
            "aggregate[{n}]: {a}\n").format(n=name, o=out, a=aggregate) + extra
    return body, out


def run(nfacctd, tmp_path, outputs, datagrams, glob="", between=None, name=None):
    """outputs: list of (name, aggregate, extra keys).  Start nfacctd with one print output
    each, send the datagrams, wait until all are received, stop with SIGINT; returns
    (daemon, {name: rows}).  between(d, sender) runs after the datagrams, before the stop."""
    body, files = "", {}
    for out, agg, extra in outputs:
        b, f = plugin(tmp_path, out, agg, extra)
        body += b
        files[out] = f
    body = "plugins: %s\n" % ", ".join("print[%s]" % o[0] for o in outputs) + body + glob
    d = nfacctd(body, name=name)
    s = Sender(d.port)
    s.send(*datagrams)
    d.wait_datagrams(len(datagrams))
    if between:
        between(d, s)
    d.stop()
    s.close()
    return d, {n: read_json(f) for n, f in files.items()}


def v5(*recs, engine_type=0, engine_id=0):
    from conftest import v5_datagram
    return v5_datagram(list(recs), engine_type=engine_type, engine_id=engine_id)


def rows_by(rows, *keys):
    """{(values of keys): (packets, bytes)} with every row's keys unique."""
    out = {}
    for r in rows:
        k = tuple(r[x] for x in keys)
        assert k not in out, "duplicate row %s" % r
        out[k] = (r["packets"], r["bytes"])
    return out


def write_map(tmp_path, text, name="pretag.map"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ---------------------------------------------------------------------------
# pre_tag_map


def test_tags_tag2_and_labels(nfacctd, tmp_path):
    m = write_map(tmp_path, """! interfaces give the tag, networks tag2, the exporter a label
set_tag=10 ip=127.0.0.1 in=1
set_tag=20 ip=127.0.0.0/8 in=2
set_tag=30 ip=10.9.9.9
set_tag2=7 src_net=10.1.0.0/16
set_label=rack-a ip=127.0.0.1 dst_port=443
""")
    recs = [dict(src="10.1.0.1", dst="10.2.0.1", in_if=1, packets=1, octets=100, dport=80),
            dict(src="10.1.0.2", dst="10.2.0.1", in_if=2, packets=2, octets=200, dport=80),
            dict(src="10.3.0.1", dst="10.2.0.1", in_if=3, packets=4, octets=400, dport=443)]
    _, out = run(nfacctd, tmp_path, [("a", "tag, src_host", ""), ("b", "tag2, label", "")],
                 [v5(*recs)], glob="pre_tag_map: %s\n" % m)
    assert rows_by(out["a"], "tag", "ip_src") == {
        (10, "10.1.0.1"): (1, 100), (20, "10.1.0.2"): (2, 200), (0, "10.3.0.1"): (4, 400)}
    # first match wins: a record is tagged by one rule; tag2 and label come from other rules
    # only when nothing before them matched (no jeq here)
    assert rows_by(out["b"], "tag2", "label") == {(0, ""): (3, 300), (0, "rack-a"): (4, 400)}


def test_jeq_label_and_stack(nfacctd, tmp_path):
    m = write_map(tmp_path, """set_tag=1000 ip=127.0.0.1 in=1 jeq=eval_out
set_tag=2000 ip=127.0.0.1 in=2 jeq=eval_out
set_tag=100 ip=127.0.0.1 out=5 label=eval_out stack=sum
set_tag=200 ip=127.0.0.1 out=6 stack=sum
set_label=one in=1 jeq=more
set_tag2=3 label=more out=99
set_label=two label=more2 out=5
""")
    recs = [dict(src="10.0.0.1", in_if=1, out_if=5, packets=1, octets=1),
            dict(src="10.0.0.2", in_if=2, out_if=6, packets=1, octets=2),
            dict(src="10.0.0.3", in_if=2, out_if=7, packets=1, octets=4),
            dict(src="10.0.0.4", in_if=3, out_if=5, packets=1, octets=8)]
    _, out = run(nfacctd, tmp_path, [("a", "tag, src_host", "")], [v5(*recs)],
                 glob="pre_tag_map: %s\n" % m)
    assert rows_by(out["a"], "ip_src", "tag") == {
        ("10.0.0.1", 1100): (1, 1),   # 1000, jump, + 100 (out=5)
        ("10.0.0.2", 2200): (1, 2),   # 2000, jump, + 200 (out=6)
        ("10.0.0.3", 2000): (1, 4),   # 2000, jump, nothing matches after the label
        ("10.0.0.4", 100): (1, 8)}    # in=3: the first rule that matches is out=5


def test_labels_join_along_a_chain_and_encode_as_map(nfacctd, tmp_path):
    m = write_map(tmp_path, """set_label=nkey%node1 ip=127.0.0.1 jeq=p
set_label=pkey%plat1 label=p in=1
set_label=pkey%other label=q
""")
    recs = [dict(src="10.0.0.1", in_if=1, packets=1, octets=10),
            dict(src="10.0.0.2", in_if=2, packets=1, octets=20)]
    _, out = run(nfacctd, tmp_path,
                 [("m", "label, src_host", "pre_tag_label_encode_as_map[m]: true\n"),
                  ("s", "label, src_host", "")],
                 [v5(*recs)], glob="pre_tag_map: %s\n" % m)
    got = {r["ip_src"]: r["label"] for r in out["m"]}
    assert got == {"10.0.0.1": {"nkey": "node1", "pkey": "plat1"},
                   "10.0.0.2": {"nkey": "node1", "pkey": "other"}}
    got = {r["ip_src"]: r["label"] for r in out["s"]}
    assert got == {"10.0.0.1": "nkey%node1,pkey%plat1", "10.0.0.2": "nkey%node1,pkey%other"}


def test_no_map_label_is_empty_string_or_empty_object(nfacctd, tmp_path):
    _, out = run(nfacctd, tmp_path, [("s", "label, tag", ""),
                                      ("m", "label", "pre_tag_label_encode_as_map[m]: true\n")],
                 [v5(dict(src="10.0.0.1"))])
    assert [(r["label"], r["tag"]) for r in out["s"]] == [("", 0)]
    assert [r["label"] for r in out["m"]] == [{}]


def test_filter_key_engine_and_ports(nfacctd, tmp_path):
    m = write_map(tmp_path, """set_tag=1 filter='src net 10.1.0.0/16 and tcp dst port 22'
set_tag=2 engine_type=3 engine_id=4
set_tag=3 ip_proto=udp src_port=53
set_tag=4 tcp_flags=0x02
""")
    d1 = v5(dict(src="10.1.2.3", proto=6, dport=22, octets=1),
            dict(src="10.1.2.4", proto=6, dport=23, tcp_flags=2, octets=2),
            dict(src="10.2.0.1", proto=17, sport=53, octets=4))
    d2 = v5(dict(src="10.9.9.9", proto=6, dport=22, octets=8), engine_type=3, engine_id=4)
    _, out = run(nfacctd, tmp_path, [("a", "tag, src_host", "")], [d1, d2],
                 glob="pre_tag_map: %s\n" % m)
    assert {r["ip_src"]: r["tag"] for r in out["a"]} == {
        "10.1.2.3": 1, "10.1.2.4": 4, "10.2.0.1": 3, "10.9.9.9": 2}


def test_v9_source_id_and_index(nfacctd, tmp_path):
    """maps_index with a large map: each record finds its rule; source_id is the v9 header's."""
    lines = ["set_tag=%d ip=127.0.0.1 in=%d" % (i + 1, i) for i in range(5000)]
    lines.append("set_tag=99999 source_id=77")
    m = write_map(tmp_path, "\n".join(lines) + "\n")
    tpl = Tpl(300, BASIC_FIELDS + [(10, 4)])
    recs = [basic("10.0.0.%d" % i, "10.1.0.1", 1, 2, 6, 1, 10) + (i * 1000,) for i in range(1, 5)]
    recs.append(basic("10.0.0.99", "10.1.0.1", 1, 2, 6, 1, 10) + (70000,))
    dg = v9_msg(v9_tpl_set(tpl), data_set(tpl, *recs), source_id=77)
    d, out = run(nfacctd, tmp_path, [("a", "tag, src_host", "")], [dg],
                 glob="pre_tag_map: %s\nmaps_index: true\nmaps_entries: 10000\n" % m)
    assert {r["ip_src"]: r["tag"] for r in out["a"]} == {
        "10.0.0.1": 1001, "10.0.0.2": 2001, "10.0.0.3": 3001, "10.0.0.4": 4001,
        "10.0.0.99": 99999}
    assert "maps_index: 1 indexed runs" in d.log_text()
    assert "5001 entries loaded" in d.log_text()


def test_bad_lines_are_logged_with_their_number_and_the_rest_loads(nfacctd, tmp_path):
    m = write_map(tmp_path, """set_tag=1 in=1
set_tag=2 in=nope
set_tag=3 bogus=1
set_tag=4 filter='src nett 10.0.0.0/8'
set_tag=5 'in=2
set_tag=6 in=2 jeq=nowhere
set_tag=7 cvlan=3
set_tag=8 in=3
""")
    recs = [dict(src="10.0.0.1", in_if=1, octets=1), dict(src="10.0.0.2", in_if=2, octets=2),
            dict(src="10.0.0.3", in_if=3, octets=4)]
    d, out = run(nfacctd, tmp_path, [("a", "tag, src_host", "")], [v5(*recs)],
                 glob="pre_tag_map: %s\n" % m)
    log = d.log_text()
    for line, what in ((2, "bad in 'nope'"), (3, "unknown key 'bogus'"), (4, "bad filter"),
                       (5, "quote"), (6, "jeq 'nowhere'"), (7, "'cvlan' is not supported")):
        assert any(("pretag.map:%d:" % line) in l and what in l and " ERROR " in l
                   for l in log.splitlines()), (line, what, log)
    assert "pre_tag_map %s: 3 entries loaded" % m in log
    assert {r["ip_src"]: r["tag"] for r in out["a"]} == {
        "10.0.0.1": 1, "10.0.0.2": 6, "10.0.0.3": 8}


def test_reload_on_sigusr2_keeps_the_running_tables(nfacctd, tmp_path):
    m = write_map(tmp_path, "set_tag=1 ip=127.0.0.1\n")

    def reload_and_send(d, s):
        start = len(d.log_text())
        m.write_text("set_tag=2 ip=127.0.0.1\nset_tag=3 bad=key\n")
        d.send_signal(signal.SIGUSR2)
        d.wait_log(r"pre_tag_map \S+: 1 entries reloaded", start=start)
        assert "pretag.map:2: unknown key 'bad'" in d.log_text()[start:]
        s.send(v5(dict(src="10.0.0.1", octets=20)))
        d.wait_datagrams(2)
        # a map that cannot be read keeps the previous one
        start = len(d.log_text())
        m.unlink()
        d.send_signal(signal.SIGUSR2)
        d.wait_log(r"pre_tag_map: .*keeping the previous map", start=start)
        s.send(v5(dict(src="10.0.0.1", octets=40)))
        d.wait_datagrams(3)

    _, out = run(nfacctd, tmp_path, [("a", "tag, src_host", "")],
                 [v5(dict(src="10.0.0.1", octets=10))],
                 glob="pre_tag_map: %s\n" % m, between=reload_and_send)
    assert rows_by(out["a"], "tag", "ip_src") == {(1, "10.0.0.1"): (1, 10),
                                                 (2, "10.0.0.1"): (2, 60)}


def test_maps_entries_limits_the_map(nfacctd, tmp_path):
    m = write_map(tmp_path, "set_tag=1 in=1\nset_tag=2 in=2\nset_tag=3 in=3\n")
    d, out = run(nfacctd, tmp_path, [("a", "tag, in_iface", "")],
                 [v5(dict(in_if=1), dict(in_if=3))],
                 glob="pre_tag_map: %s\nmaps_entries: 2\n" % m)
    assert "pretag.map:3: more than maps_entries (2)" in d.log_text()
    assert {r["iface_in"]: r["tag"] for r in out["a"]} == {1: 1, 3: 0}


def test_an_output_with_its_own_map(nfacctd, tmp_path):
    """pre_tag_map for every output and pre_tag_map[own] for one: each output sees its own
    map's tags (and its pre_tag_filter reads them); a reload changes both."""
    common = write_map(tmp_path, "set_tag=1 in=1\nset_tag=2 in=2\n", "common.map")
    own = write_map(tmp_path, "set_tag=10 in=1\nset_label=x in=2\n", "own.map")

    def reload_and_send(d, s):
        start = len(d.log_text())
        own.write_text("set_tag=11 in=1\n")
        d.send_signal(signal.SIGUSR2)
        d.wait_log(r"pre_tag_map\[own\] \S+: 1 entries reloaded", start=start)
        s.send(v5(dict(src="10.0.0.1", in_if=1, octets=1000)))
        d.wait_datagrams(2)

    d, out = run(nfacctd, tmp_path,
                 [("a", "tag, label, src_host", ""),
                  ("own", "tag, label, src_host", "pre_tag_map[own]: %s\n" % own),
                  ("ownf", "src_host", "pre_tag_map[ownf]: %s\npre_tag_filter[ownf]: 10\n"
                   % own)],
                 [v5(dict(src="10.0.0.1", in_if=1, octets=1),
                     dict(src="10.0.0.2", in_if=2, octets=10))],
                 glob="pre_tag_map: %s\n" % common, between=reload_and_send)
    assert rows_by(out["a"], "ip_src", "tag", "label") == {
        ("10.0.0.1", 1, ""): (2, 1001), ("10.0.0.2", 2, ""): (1, 10)}
    assert rows_by(out["own"], "ip_src", "tag", "label") == {
        ("10.0.0.1", 10, ""): (1, 1), ("10.0.0.2", 0, "x"): (1, 10),
        ("10.0.0.1", 11, ""): (1, 1000)}
    assert rows_by(out["ownf"], "ip_src") == {("10.0.0.1",): (1, 1)}
    # the two outputs naming own.map share one map
    assert d.log_text().count("own.map: 2 entries loaded") == 1


# ---------------------------------------------------------------------------
# per-output selection


RECS = [dict(src="10.1.0.1", dst="192.168.0.1", proto=6, sport=1000, dport=80, in_if=1,
             packets=1, octets=100),
        dict(src="10.1.0.2", dst="192.168.0.2", proto=17, sport=53, dport=5353, in_if=2,
             packets=2, octets=200),
        dict(src="10.2.0.1", dst="192.168.0.1", proto=6, sport=1001, dport=443, in_if=3,
             packets=4, octets=400),
        dict(src="10.2.0.2", dst="172.16.0.1", proto=1, dport=0x0800, in_if=4,
             packets=8, octets=800)]


def test_two_print_outputs_with_their_own_aggregate_and_filter(nfacctd, tmp_path):
    _, out = run(nfacctd, tmp_path,
                 [("inbound", "dst_host", "aggregate_filter[inbound]: dst net 192.168.0.0/16\n"),
                  ("web", "src_host, dst_port",
                   "aggregate_filter[web]: tcp and (dst port 80 or dst port 443)\n"),
                  ("icmp", "proto", "aggregate_filter[icmp]: icmp[icmptype] == icmp-echo\n"),
                  ("all", "proto", "")],
                 [v5(*RECS)])
    assert rows_by(out["inbound"], "ip_dst") == {("192.168.0.1",): (5, 500),
                                                 ("192.168.0.2",): (2, 200)}
    assert rows_by(out["web"], "ip_src", "port_dst") == {("10.1.0.1", 80): (1, 100),
                                                         ("10.2.0.1", 443): (4, 400)}
    assert rows_by(out["icmp"], "ip_proto") == {("icmp",): (8, 800)}
    assert rows_by(out["all"], "ip_proto") == {("tcp",): (5, 500), ("udp",): (2, 200),
                                               ("icmp",): (8, 800)}


def test_outputs_with_different_refresh_times(nfacctd, tmp_path):
    """One output flushes every second (appending), one at exit: each has its own rows."""
    from conftest import merge_rows, wait_for
    fast = tmp_path / "fast.json"

    def wait_fast(d, s):
        wait_for(lambda: sum(r["packets"] for r in read_json(fast)) == 7,
                 timeout=15, what="the 1 s output's flush")

    _, out = run(nfacctd, tmp_path,
                 [("fast", "src_host",
                   "print_refresh_time[fast]: 1\nprint_output_file_append[fast]: true\n"
                   "aggregate_filter[fast]: not icmp\n"),
                  ("slow", "proto", "pre_tag_filter[slow]: 2\n")],
                 [v5(*RECS[:3])], glob="pre_tag_map: %s\n" % write_map(
                     tmp_path, "set_tag=2 in=2\nset_tag=2 in=3\n"), between=wait_fast)
    assert rows_by(merge_rows(out["fast"]), "ip_src") == {
        ("10.1.0.1",): (1, 100), ("10.1.0.2",): (2, 200), ("10.2.0.1",): (4, 400)}
    assert rows_by(out["slow"], "ip_proto") == {("udp",): (2, 200), ("tcp",): (4, 400)}


def test_pre_tag_filters_and_post_tag(nfacctd, tmp_path):
    m = write_map(tmp_path, """set_tag=1 set_tag2=11 in=1
set_tag=2 set_label=two in=2
set_tag=5 set_tag2=12 set_label=five in=3
""")
    outputs = [("t1", "src_host", "pre_tag_filter[t1]: 1\n"),
               ("notone", "src_host", "pre_tag_filter[notone]: -1\n"),
               ("range", "src_host", "pre_tag_filter[range]: 0,4-9\n"),
               ("t2", "src_host", "pre_tag2_filter[t2]: 11-12\n"),
               ("lab", "src_host", "pre_tag_label_filter[lab]: null, five\n"),
               ("post", "tag, tag2, src_host",
                "pre_tag_filter[post]: 2\npost_tag[post]: 77\npost_tag2[post]: 78\n"),
               ("plain", "tag, src_host", "")]
    _, out = run(nfacctd, tmp_path, outputs, [v5(*RECS)], glob="pre_tag_map: %s\n" % m)
    src = {n: sorted(r["ip_src"] for r in out[n]) for n in out}
    assert src["t1"] == ["10.1.0.1"]
    assert src["notone"] == ["10.1.0.2", "10.2.0.1", "10.2.0.2"]
    assert src["range"] == ["10.2.0.1", "10.2.0.2"]
    assert src["t2"] == ["10.1.0.1", "10.2.0.1"]
    assert src["lab"] == ["10.1.0.1", "10.2.0.1", "10.2.0.2"]
    assert [(r["tag"], r["tag2"], r["ip_src"]) for r in out["post"]] == [(77, 78, "10.1.0.2")]
    # post_tag of one output does not leak into another
    assert {r["ip_src"]: r["tag"] for r in out["plain"]} == {
        "10.1.0.1": 1, "10.1.0.2": 2, "10.2.0.1": 5, "10.2.0.2": 0}


def test_bad_filter_expressions_are_config_errors_naming_the_key(tmp_path):
    port = free_port()
    for key, value in (("aggregate_filter[a]", "src nett 10.0.0.0/8"),
                       ("pre_tag_filter[a]", "1-x"),
                       ("pre_tag_label_filter[a]", "a,,b"),
                       ("post_tag[a]", "0")):
        conf = base_config(port) + "plugins: print[a]\n%s: %s\n" % (key, value)
        rc, err = run_config_check(tmp_path, conf)
        assert rc != 0, conf
        assert "bad.conf:" in err and key.split("[")[0] in err, err


# ---------------------------------------------------------------------------
# general keys


def test_writer_id_string_and_core_proc_name(nfacctd, tmp_path):
    d, out = run(nfacctd, tmp_path,
                 [("nfacctd_kafka", "src_host", "writer_id_string[nfacctd_kafka]: $proc_name\n"),
                  ("x", "src_host", "writer_id_string[x]: $proc_name/$writer_pid/$pmacct_build\n"),
                  ("none", "src_host", "")],
                 [v5(dict(src="10.0.0.1"))], glob="core_proc_name: nfacctd_core\n")
    assert [r["writer_id"] for r in out["nfacctd_kafka"]] == ["nfacctd_kafka"]
    name, pid, build = out["x"][0]["writer_id"].split("/")
    assert name == "x" and int(pid) == d.proc.pid and build
    assert "writer_id" not in out["none"][0]
    assert list(out["nfacctd_kafka"][0])[-1] == "writer_id"
    assert "( nfacctd_core/core ): " in d.log_text()
    assert "( default/core )" not in d.log_text()


def test_pre_processing_checks_drop_a_datagram_damaged_half_way(nfacctd, tmp_path):
    tpl = Tpl(301, BASIC_FIELDS)
    good = data_set(tpl, basic("10.0.0.1", "10.0.0.2", 1, 2, 6, 1, 10))
    broken = set_(301, b"\x00" * 8)[:2] + b"\x00\x40" + b"\x00" * 8  # says 64 bytes, has 12
    dgs = [v9_msg(v9_tpl_set(tpl)), v9_msg(good, broken, seq=1), v9_msg(good, seq=2)]
    for checks, packets in (("false", 2), ("true", 1)):
        sub = tmp_path / checks
        sub.mkdir()
        _, out = run(nfacctd, sub, [("a", "src_host", "")], dgs,
                     glob="nfacctd_pre_processing_checks: %s\n" % checks,
                     name="nfacctd-" + checks)
        assert [r["packets"] for r in out["a"]] == [packets], checks


# ---------------------------------------------------------------------------
# Debian's pmacct as the oracle: the same map, filters and datagrams


ORACLE_MAP = """set_tag=1000 ip=127.0.0.1 in=1 jeq=eval_out
set_tag=2000 ip=127.0.0.1 in=2 jeq=eval_out
set_tag=5 in=9
set_tag=100 out=5 label=eval_out stack=sum jeq=lbl
set_tag=200 out=-5 label=x stack=sum
set_tag2=7 src_net=10.2.0.0/16 label=lbl jeq=l2
set_label=web filter='tcp and dst port 80' label=l2 jeq=l3
set_label=other in=4 label=l3
set_label=more in=3
"""

ORACLE_RECS = [dict(src="10.1.0.1", dst="192.168.0.1", in_if=1, out_if=5, proto=6, dport=80,
                    packets=1, octets=100),
               dict(src="10.1.0.2", dst="192.168.0.1", in_if=2, out_if=6, proto=17, dport=53,
                    packets=2, octets=200),
               dict(src="10.2.0.1", dst="192.168.0.2", in_if=3, out_if=5, proto=6, dport=80,
                    packets=4, octets=400),
               dict(src="10.2.0.2", dst="172.16.0.1", in_if=4, out_if=7, proto=6, dport=443,
                    packets=8, octets=800),
               dict(src="10.3.0.1", dst="172.16.0.1", in_if=3, out_if=1, proto=17, dport=80,
                    packets=16, octets=1600)]

ORACLE_OUTPUTS = [
    ("all", "tag, tag2, label, src_host", ""),
    ("nottag", "tag, src_host", "pre_tag_filter[nottag]: -1100\n"),
    ("range", "tag, src_host", "pre_tag_filter[range]: 0,2000-2999\n"),
    ("t2", "src_host", "pre_tag2_filter[t2]: 7\n"),
    ("lab", "label, src_host", "pre_tag_label_filter[lab]: web\n"),
    ("nolab", "src_host", "pre_tag_label_filter[nolab]: null\n"),
    ("post", "tag, tag2, src_host", "post_tag[post]: 5\npost_tag2[post]: 6\n"),
    ("udp", "dst_host", "aggregate_filter[udp]: udp and src net 10.0.0.0/8\n"),
    ("web", "tag, src_host", "aggregate_filter[web]: tcp and dst port 80\n"),
    ("notnull", "src_host", "pre_tag_label_filter[notnull]: -null\n"),
]


FILLER = "10.2.99.1"


def test_tagging_matches_pmacct(nfacctd, pmacct, tmp_path):
    from conftest import canon, merge_rows, wait_for
    m = write_map(tmp_path, ORACLE_MAP)
    dg = v5(*ORACLE_RECS)
    _, ours = run(nfacctd, tmp_path, ORACLE_OUTPUTS, [dg], glob="pre_tag_map: %s\n" % m,
                  name="netacct")
    body, files = "", {}
    for out, agg, extra in ORACLE_OUTPUTS:
        f = tmp_path / ("pmacct-%s.json" % out)
        files[out] = f
        body += ("print_output[{n}]: json\nprint_output_file[{n}]: {f}\n"
                 "print_output_file_append[{n}]: true\nprint_refresh_time[{n}]: 1\n"
                 "aggregate[{n}]: {a}\n").format(n=out, f=f, a=agg) + extra
    body = ("plugins: %s\n" % ", ".join("print[%s]" % o[0] for o in ORACLE_OUTPUTS) + body +
            "pre_tag_map: %s\n" % m)
    p = pmacct(body, plugins=tuple(o[0] for o in ORACLE_OUTPUTS))
    s = Sender(p.port)
    s.send(dg)
    # pmacct's core hands records to its plugins in buffers that only leave when more
    # traffic comes: keep it flowing to every plugin with records from and to FILLER
    # (left out of the rows below; UDP, TCP to port 80, tags 2200 and 100 + tag2 7 to pass
    # every filter) until every plugin has printed every packet of ours
    filler = v5(dict(src=FILLER, dst=FILLER, proto=17, dport=5, in_if=2, out_if=99),
                dict(src=FILLER, dst=FILLER, proto=6, dport=80, in_if=2, out_if=99),
                dict(src=FILLER, dst=FILLER, proto=6, dport=81, in_if=3, out_if=5))

    def packets(rows):
        return sum(r["packets"] for r in rows if FILLER not in (r.get("ip_src"), r.get("ip_dst")))

    def done():
        s.send(filler)
        return all(packets(read_json(files[o[0]])) >= packets(ours[o[0]])
                   for o in ORACLE_OUTPUTS)
    wait_for(done, timeout=30, what="pmacct output")
    s.close()
    p.stop()
    for out, _, _ in ORACLE_OUTPUTS:
        theirs = [r for r in merge_rows(read_json(files[out]))
                  if FILLER not in (r.get("ip_src"), r.get("ip_dst"))]
        assert canon(ours[out]) == canon(theirs), out
