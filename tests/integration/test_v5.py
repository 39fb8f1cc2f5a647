"""NetFlow v5 end to end: crafted datagrams in, exact aggregates out."""
import random
import re
import signal
import socket
import time

import pytest

from conftest import (READY, Sender, canon, read_csv, read_json, read_text, run_config_check,
                      v5_datagram, wait_for)


def json_plugin(tmp_path, name, aggregate, fname=None, extra=""):
    out = tmp_path / (fname or "%s.json" % name)
    body = ("print_output[%s]: json\nprint_output_file[%s]: %s\nprint_refresh_time[%s]: 3600\n"
            "aggregate[%s]: %s\n" % (name, name, out, name, name, aggregate)) + extra
    return body, out


def run_once(nfacctd, tmp_path, aggregate, datagrams, sig=signal.SIGINT, extra=""):
    body, out = json_plugin(tmp_path, "a", aggregate, extra=extra)
    d = nfacctd("plugins: print[a]\n" + body)
    s = Sender(d.port)
    s.send(*datagrams)
    d.wait_datagrams(len(datagrams))
    d.stop(sig)
    s.close()
    return d, read_json(out)


def test_same_key_sums_and_distinct_keys(nfacctd, tmp_path):
    recs1 = [
        dict(src="10.0.0.1", dst="10.0.0.2", packets=10, octets=1000),
        dict(src="10.0.0.1", dst="10.0.0.2", packets=5, octets=300),
        dict(src="10.0.0.3", dst="10.0.0.2", packets=1, octets=40),
    ]
    recs2 = [
        dict(src="10.0.0.1", dst="10.0.0.2", packets=7, octets=700),
        dict(src="10.0.0.1", dst="10.0.0.9", packets=2, octets=120),
    ]
    d, rows = run_once(nfacctd, tmp_path, "src_host, dst_host, flows",
                       [v5_datagram(recs1, seq=0), v5_datagram(recs2, seq=3)])
    assert canon(rows) == canon([
        {"event_type": "purge", "ip_src": "10.0.0.1", "ip_dst": "10.0.0.2",
         "packets": 22, "flows": 3, "bytes": 2000},
        {"event_type": "purge", "ip_src": "10.0.0.3", "ip_dst": "10.0.0.2",
         "packets": 1, "flows": 1, "bytes": 40},
        {"event_type": "purge", "ip_src": "10.0.0.1", "ip_dst": "10.0.0.9",
         "packets": 2, "flows": 1, "bytes": 120},
    ])


def test_no_flows_counter_unless_asked(nfacctd, tmp_path):
    d, rows = run_once(nfacctd, tmp_path, "proto",
                       [v5_datagram([dict(proto=17, packets=3, octets=90)] * 2)])
    assert rows == [{"event_type": "purge", "ip_proto": "udp", "packets": 6, "bytes": 180}]


# peer_dst_ip is the BGP next hop (pmacct): v5 has none, its IP next hop is not used
ALL = ("src_host, dst_host, src_net, dst_net, src_mask, dst_mask, src_port, dst_port, proto, "
       "tos, src_as, dst_as, in_iface, out_iface, peer_src_ip, peer_dst_ip, tcpflags, flows")


def test_every_primitive_json_name_and_value(nfacctd, tmp_path):
    rec = dict(src="192.0.2.77", dst="198.51.100.200", nexthop="203.0.113.1", in_if=3,
               out_if=7, packets=10, octets=1000, sport=1234, dport=80, tcp_flags=0x12,
               proto=6, tos=8, src_as=64512, dst_as=65001, src_mask=24, dst_mask=25)
    d, rows = run_once(nfacctd, tmp_path, ALL, [v5_datagram([rec])])
    assert rows == [{
        "event_type": "purge", "as_src": 64512, "as_dst": 65001, "peer_ip_src": "127.0.0.1",
        "peer_ip_dst": "", "iface_in": 3, "iface_out": 7, "ip_src": "192.0.2.77",
        "net_src": "192.0.2.0", "ip_dst": "198.51.100.200", "net_dst": "198.51.100.128",
        "mask_src": 24, "mask_dst": 25, "port_src": 1234, "port_dst": 80, "tcp_flags": "18",
        "ip_proto": "tcp", "tos": 8, "packets": 10, "flows": 1, "bytes": 1000}]


def test_tcp_flags_ored_not_keyed(nfacctd, tmp_path):
    d, rows = run_once(nfacctd, tmp_path, "src_host, tcpflags",
                       [v5_datagram([dict(tcp_flags=0x02), dict(tcp_flags=0x18),
                                     dict(tcp_flags=0x11)])])
    assert rows == [{"event_type": "purge", "ip_src": "10.0.0.1", "tcp_flags": "27",
                     "packets": 3, "bytes": 300}]


def test_tcp_flags_single_value(nfacctd, tmp_path):
    d, rows = run_once(nfacctd, tmp_path, "src_host, tcpflags",
                       [v5_datagram([dict(tcp_flags=0x12), dict(src="10.0.0.9", tcp_flags=0),
                                     dict(tcp_flags=0x12)])])
    assert canon(rows) == canon([
        {"event_type": "purge", "ip_src": "10.0.0.1", "tcp_flags": "18", "packets": 2,
         "bytes": 200},
        {"event_type": "purge", "ip_src": "10.0.0.9", "tcp_flags": "0", "packets": 1,
         "bytes": 100}])


def test_peer_dst_ip_empty_for_v5(nfacctd, tmp_path):
    d, rows = run_once(nfacctd, tmp_path, "src_host, peer_dst_ip",
                       [v5_datagram([dict(nexthop="203.0.113.1")])])
    assert rows == [{"event_type": "purge", "ip_src": "10.0.0.1", "peer_ip_dst": "",
                     "packets": 1, "bytes": 100}]


def parse_formatted(text):
    lines = [l for l in text.splitlines() if l.strip()]
    header = lines[0].split()
    return [dict(zip(header, l.split())) for l in lines[1:]]


def test_multiple_plugins_each_with_own_aggregate_and_encoding(nfacctd, tmp_path):
    ja, jout = tmp_path / "a.json", tmp_path / "b.csv"
    fout = tmp_path / "c.txt"
    body = (
        "plugins: print[a], print[b], print[c]\n"
        "print_refresh_time: 3600\n"
        "aggregate[a]: src_host\nprint_output[a]: json\nprint_output_file[a]: %s\n"
        "aggregate[b]: dst_port, proto\nprint_output[b]: csv\nprint_output_file[b]: %s\n"
        "print_output_separator[b]: ;\n"
        "aggregate[c]: src_host, dst_host\nprint_output[c]: formatted\n"
        "print_output_file[c]: %s\n" % (ja, jout, fout))
    d = nfacctd(body)
    s = Sender(d.port)
    s.send(v5_datagram([
        dict(src="10.0.0.1", dst="10.9.0.1", dport=80, proto=6, packets=1, octets=60),
        dict(src="10.0.0.1", dst="10.9.0.2", dport=53, proto=17, packets=2, octets=150),
        dict(src="10.0.0.2", dst="10.9.0.1", dport=80, proto=6, packets=4, octets=400),
    ]))
    d.wait_datagrams(1)
    d.stop()
    assert canon(read_json(ja)) == canon([
        {"event_type": "purge", "ip_src": "10.0.0.1", "packets": 3, "bytes": 210},
        {"event_type": "purge", "ip_src": "10.0.0.2", "packets": 4, "bytes": 400},
    ])
    text = read_text(jout)
    assert text.splitlines()[0] == "DST_PORT;PROTOCOL;PACKETS;BYTES"
    assert canon(read_csv(jout, ";")) == canon([
        {"DST_PORT": "80", "PROTOCOL": "tcp", "PACKETS": "5", "BYTES": "460"},
        {"DST_PORT": "53", "PROTOCOL": "udp", "PACKETS": "2", "BYTES": "150"},
    ])
    assert canon(parse_formatted(read_text(fout))) == canon([
        {"SRC_IP": "10.0.0.1", "DST_IP": "10.9.0.1", "PACKETS": "1", "BYTES": "60"},
        {"SRC_IP": "10.0.0.1", "DST_IP": "10.9.0.2", "PACKETS": "2", "BYTES": "150"},
        {"SRC_IP": "10.0.0.2", "DST_IP": "10.9.0.1", "PACKETS": "4", "BYTES": "400"},
    ])


def test_stdout_when_no_output_file(nfacctd, tmp_path):
    d = nfacctd("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: csv\n"
                "print_refresh_time[a]: 3600\n")
    s = Sender(d.port)
    s.send(v5_datagram([dict(src="10.1.1.1", packets=2, octets=80)]))
    d.wait_datagrams(1)
    d.stop()
    assert d.stdout().splitlines() == ["SRC_IP,PACKETS,BYTES", "10.1.1.1,2,80"]


@pytest.mark.parametrize("encoding", ["json", "csv"])
def test_print_output_file_append(nfacctd, tmp_path, encoding):
    out = tmp_path / ("out." + encoding)
    body = ("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: %s\n"
            "print_output_file[a]: %s\nprint_output_file_append[a]: true\n"
            "print_refresh_time[a]: 3600\n" % (encoding, out))
    for i, src in enumerate(["10.0.0.1", "10.0.0.2"]):
        d = nfacctd(body, name="run%d" % i)
        s = Sender(d.port)
        s.send(v5_datagram([dict(src=src, packets=i + 1, octets=100 * (i + 1))]))
        d.wait_datagrams(1)
        d.stop()
        s.close()
    if encoding == "json":
        assert read_json(out) == [
            {"event_type": "purge", "ip_src": "10.0.0.1", "packets": 1, "bytes": 100},
            {"event_type": "purge", "ip_src": "10.0.0.2", "packets": 2, "bytes": 200}]
    else:
        # one header, at the top of the file only
        assert read_text(out).splitlines() == [
            "SRC_IP,PACKETS,BYTES", "10.0.0.1,1,100", "10.0.0.2,2,200"]


def test_output_file_rewritten_without_append(nfacctd, tmp_path):
    out = tmp_path / "out.json"
    body = ("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: json\n"
            "print_output_file[a]: %s\nprint_refresh_time[a]: 3600\n" % out)
    for i, src in enumerate(["10.0.0.1", "10.0.0.2"]):
        d = nfacctd(body, name="run%d" % i)
        s = Sender(d.port)
        s.send(v5_datagram([dict(src=src)]))
        d.wait_datagrams(1)
        d.stop()
        s.close()
    assert read_json(out) == [
        {"event_type": "purge", "ip_src": "10.0.0.2", "packets": 1, "bytes": 100}]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_final_flush_on_signal(nfacctd, tmp_path, sig):
    d, rows = run_once(nfacctd, tmp_path, "dst_host",
                       [v5_datagram([dict(dst="10.5.5.5", packets=9, octets=999)])], sig=sig)
    assert rows == [{"event_type": "purge", "ip_dst": "10.5.5.5", "packets": 9, "bytes": 999}]
    name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
    assert "%s received: flushing outputs and exiting" % name in d.log_text()


def test_pidfile_created_and_removed(nfacctd, tmp_path):
    pid = tmp_path / "nfacctd.pid"
    d = nfacctd("pidfile: %s\nplugins: print[a]\naggregate[a]: src_host\n"
                "print_output_file[a]: %s\n" % (pid, tmp_path / "o"))
    assert read_text(pid).strip() == str(d.proc.pid)
    d.stop()
    assert not pid.exists()


def test_sighup_reopens_logfile(nfacctd, tmp_path):
    d = nfacctd("plugins: print[a]\naggregate[a]: src_host\nprint_output_file[a]: %s\n"
                % (tmp_path / "o"))
    rotated = tmp_path / "rotated.log"
    d.logfile.rename(rotated)
    d.send_signal(signal.SIGHUP)
    wait_for(lambda: "SIGHUP: log file reopened" in read_text(d.logfile), what="new logfile")
    # later lines go to the new file, not to the renamed one
    s = Sender(d.port)
    s.send(v5_datagram([dict()]))
    st = d.wait_datagrams(1)
    assert st.total("records") == 1
    d.stop()
    assert READY in read_text(rotated)
    assert "stats worker=" not in read_text(rotated)
    assert "SIGINT received" in read_text(d.logfile)


# ---------------------------------------------------------------------------
# malformed input

def _random_bytes():
    b = bytes(random.Random(20240611).getrandbits(8) for _ in range(200))
    assert int.from_bytes(b[:2], "big") not in (5, 8, 9, 10)
    return b


GOOD = v5_datagram([dict(src="10.7.7.7", packets=4, octets=400)], seq=0)

MALFORMED = [
    ("truncated_header", GOOD[:20], "short_datagram"),
    ("one_byte", b"\x00", "short_datagram"),
    ("wrong_version", v5_datagram([dict()], version=7), "bad_version"),
    ("count_too_large", v5_datagram([dict(), dict()], count=3), "bad_count"),
    ("count_zero", v5_datagram([dict()], count=0), "bad_count"),
    ("count_zero_no_records", v5_datagram([], count=0), "bad_count"),
    ("count_above_30", v5_datagram([dict()] * 31), "bad_count"),
    ("random_bytes", _random_bytes(), "bad_version"),
]


@pytest.mark.parametrize("payload,reason", [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_counted_then_good_accounted(nfacctd, tmp_path, payload, reason):
    body, out = json_plugin(tmp_path, "a", "src_host")
    d = nfacctd("plugins: print[a]\n" + body)
    s = Sender(d.port)
    s.send(payload, GOOD)
    st = d.wait_datagrams(2)
    assert st.total("malformed") == 1
    assert st.total("records") == 1
    ex = st.exporter("127.0.0.1")
    assert ex["datagrams"] == 2
    assert ex[reason] == 1
    for other in ("short_datagram", "bad_version", "bad_count", "truncated"):
        if other != reason:
            assert ex[other] == 0, other
    assert "exporter 127.0.0.1: malformed datagram (%d bytes): %s" % (len(payload), reason) \
        in d.log_text()
    d.stop()
    assert read_json(out) == [
        {"event_type": "purge", "ip_src": "10.7.7.7", "packets": 4, "bytes": 400}]


def test_malformed_logging_is_rate_limited_but_counted(nfacctd, tmp_path):
    body, out = json_plugin(tmp_path, "a", "src_host")
    d = nfacctd("log_rate_limit: 2\nplugins: print[a]\n" + body)
    s = Sender(d.port)
    s.send(*([b"\x00\x07junk"] * 6))
    st = d.wait_datagrams(6)
    assert st.exporter("127.0.0.1")["bad_version"] == 6
    assert st.total("malformed") == 6
    d.stop()
    log = d.log_text()
    assert log.count(": malformed datagram (") == 2
    assert log.count("more malformed datagrams, suppressing") == 1
    assert "suppressing messages for this minute" in log


def test_sequence_gap_counted(nfacctd, tmp_path):
    body, out = json_plugin(tmp_path, "a", "src_host")
    d = nfacctd("plugins: print[a]\n" + body)
    s = Sender(d.port)
    s.send(v5_datagram([dict(), dict()], seq=100),   # next expected: 102
           v5_datagram([dict()], seq=102),           # in order, next 103
           v5_datagram([dict()], seq=110))           # 7 flows lost
    st = d.wait_datagrams(3)
    ex = st.exporter("127.0.0.1")
    assert ex["seq_gaps"] == 1
    assert ex["lost_flows"] == 7
    assert ex["records"] == 4
    d.stop()
    assert read_json(out) == [
        {"event_type": "purge", "ip_src": "10.0.0.1", "packets": 4, "bytes": 400}]


def test_no_gap_for_in_order_sequence(nfacctd, tmp_path):
    body, out = json_plugin(tmp_path, "a", "src_host")
    d = nfacctd("plugins: print[a]\n" + body)
    s = Sender(d.port)
    s.send(*[v5_datagram([dict()] * 3, seq=1000 + 3 * i) for i in range(5)])
    st = d.wait_datagrams(5)
    assert st.exporter("127.0.0.1")["seq_gaps"] == 0
    assert st.exporter("127.0.0.1")["records"] == 15
    d.stop()


# ---------------------------------------------------------------------------
# configuration errors

BAD_CONFIGS = [
    pytest.param("nfacctd_port: 2100\nfoo_bar: 1\n", 2, "foo_bar", id="unknown_key"),
    pytest.param("nfacctd_port: abc\n", 1, "nfacctd_port", id="bad_integer"),
    pytest.param("nfacctd_port: 70000\n", 1, "nfacctd_port", id="port_out_of_range"),
    pytest.param("plugins: print[a]\nprint_output_file_append[a]: maybe\n", 2,
                 "print_output_file_append", id="bad_bool"),
    pytest.param("plugins: print[a]\nprint_output[a]: xml\n", 2, "print_output", id="bad_enum"),
    pytest.param("plugins: print[a]\naggregate[b]: src_host\n", 2, "aggregate",
                 id="undeclared_plugin"),
    pytest.param("plugins: print[a]\nnfacctd_port[a]: 2100\n", 2, "nfacctd_port",
                 id="global_key_with_name"),
    pytest.param("! comment\nplugins: print[a]\naggregate[a]: src_host, foo\n", 3, "aggregate",
                 id="unknown_primitive"),
    pytest.param("nfacctd_port: 2100\nplugins: bogus[a]\n", 2, "plugins",
                 id="unknown_plugin_type"),
]


@pytest.mark.parametrize("text,line,key", BAD_CONFIGS)
def test_bad_config_rejected(tmp_path, text, line, key):
    rc, err = run_config_check(tmp_path, text)
    assert rc == 1, err
    assert READY not in err
    msgs = [l for l in err.splitlines() if "ERROR" in l]
    assert msgs, err
    assert any("bad.conf:%d:" % line in l and key in l for l in msgs), err


def test_unknown_primitive_and_plugin_type_rejected(tmp_path):
    """The part of the contract that holds today: exit 1 with the offending word named."""
    rc, err = run_config_check(tmp_path, "plugins: print[a]\naggregate[a]: src_host, foo\n")
    assert rc == 1 and "unknown primitive 'foo'" in err and READY not in err
    rc, err = run_config_check(tmp_path, "plugins: bogus[a]\n")
    assert rc == 1 and "bogus" in err and READY not in err


def test_obsolete_key_accepted_with_notice(nfacctd, tmp_path):
    body, out = json_plugin(tmp_path, "a", "src_host")
    d = nfacctd("plugin_pipe_size: 10240000\nplugins: print[a]\n" + body)
    assert "key 'plugin_pipe_size' ignored" in d.log_text()
    s = Sender(d.port)
    s.send(v5_datagram([dict()]))
    d.wait_datagrams(1)
    d.stop()
    assert read_json(out) == [
        {"event_type": "purge", "ip_src": "10.0.0.1", "packets": 1, "bytes": 100}]


# ---------------------------------------------------------------------------
# listeners

def test_ipv6_listener(nfacctd, tmp_path):
    body, out = json_plugin(tmp_path, "a", "peer_src_ip, src_host")
    d = nfacctd("plugins: print[a]\n" + body, ip="::1")
    s = Sender(d.port, host="::1")
    s.send(v5_datagram([dict(src="10.0.0.1", packets=3, octets=33)]))
    st = d.wait_datagrams(1)
    assert st.exporter("::1")["records"] == 1
    d.stop()
    assert read_json(out) == [{"event_type": "purge", "peer_ip_src": "::1",
                               "ip_src": "10.0.0.1", "packets": 3, "bytes": 33}]


def test_dual_stack_when_ip_unset(nfacctd, tmp_path):
    body, out = json_plugin(tmp_path, "a", "peer_src_ip, src_host")
    d = nfacctd("plugins: print[a]\n" + body, ip=None)
    s4 = Sender(d.port, host="127.0.0.1")
    s6 = Sender(d.port, host="::1")
    s4.send(v5_datagram([dict(src="10.0.0.4", packets=4, octets=44)]))
    s6.send(v5_datagram([dict(src="10.0.0.6", packets=6, octets=66)]))
    d.wait_datagrams(2)
    d.stop()
    assert canon(read_json(out)) == canon([
        {"event_type": "purge", "peer_ip_src": "127.0.0.1", "ip_src": "10.0.0.4",
         "packets": 4, "bytes": 44},
        {"event_type": "purge", "peer_ip_src": "::1", "ip_src": "10.0.0.6",
         "packets": 6, "bytes": 66},
    ])


def test_two_workers_merge_rows_exactly(nfacctd, tmp_path):
    body, out = json_plugin(tmp_path, "a", "src_host, dst_port, flows")
    d = nfacctd("plugins: print[a]\n" + body, workers=2)
    assert d.nworkers == 2
    # 32 exporters (127.0.0.1-32): workers are picked by a hash of the source address, so
    # all of them on one worker is a 2^-31 event
    socks = []
    n = 0
    for i in range(32):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.%d" % (i + 1), 0))
        for dg in (v5_datagram([dict(src="10.0.0.1", dport=80, packets=1, octets=10),
                                dict(src="10.0.0.2", dport=443, packets=2, octets=20)], seq=0),
                   v5_datagram([dict(src="10.0.0.1", dport=80, packets=i, octets=100)], seq=2)):
            s.sendto(dg, ("127.0.0.1", d.port))
            n += 1
        socks.append(s)
    st = d.wait_datagrams(n)
    per_worker = [w["datagrams"] for w in st.workers.values()]
    assert len(per_worker) == 2 and all(c > 0 for c in per_worker), per_worker
    assert st.total("records") == 96
    d.stop()
    for s in socks:
        s.close()
    assert canon(read_json(out)) == canon([
        {"event_type": "purge", "ip_src": "10.0.0.1", "port_dst": 80,
         "packets": 32 + sum(range(32)), "flows": 64, "bytes": 320 + 100 * 32},
        {"event_type": "purge", "ip_src": "10.0.0.2", "port_dst": 443,
         "packets": 64, "flows": 32, "bytes": 640},
    ])


# ---------------------------------------------------------------------------
# refresh and sampling

def test_periodic_refresh_writes_without_shutdown(nfacctd, tmp_path):
    out = tmp_path / "out.json"
    d = nfacctd("plugins: print[a]\naggregate[a]: src_host\nprint_output[a]: json\n"
                "print_output_file[a]: %s\nprint_output_file_append[a]: true\n"
                "print_refresh_time[a]: 1\n" % out)
    s = Sender(d.port)
    s.send(v5_datagram([dict(src="10.4.4.4", packets=2, octets=20)]))
    d.wait_datagrams(1)
    # written by the periodic flush while the daemon keeps running
    rows = wait_for(lambda: read_text(out).endswith("\n") and read_json(out),
                    what="a periodic write")
    assert d.proc.poll() is None
    assert rows == [{"event_type": "purge", "ip_src": "10.4.4.4", "packets": 2, "bytes": 20}]
    d.stop()
    # the shutdown flush adds nothing: the interval's data was already written
    assert read_json(out) == rows


def test_renormalize_scales_by_v5_sampling_interval(nfacctd, tmp_path):
    body, out = json_plugin(tmp_path, "a", "src_host")
    d = nfacctd("nfacctd_renormalize: true\nplugins: print[a]\n" + body)
    s = Sender(d.port)
    # sampling field: top 2 bits mode (01 = deterministic), low 14 bits interval 100
    s.send(v5_datagram([dict(packets=3, octets=300)], sampling=0x4000 | 100),
           v5_datagram([dict(src="10.0.0.2", packets=3, octets=300)], seq=1, sampling=0))
    d.wait_datagrams(2)
    d.stop()
    assert canon(read_json(out)) == canon([
        {"event_type": "purge", "ip_src": "10.0.0.1", "packets": 300, "bytes": 30000},
        {"event_type": "purge", "ip_src": "10.0.0.2", "packets": 3, "bytes": 300}])


def test_no_renormalize_by_default(nfacctd, tmp_path):
    d, rows = run_once(nfacctd, tmp_path, "src_host",
                       [v5_datagram([dict(packets=3, octets=300)], sampling=0x4000 | 100)])
    assert rows == [{"event_type": "purge", "ip_src": "10.0.0.1", "packets": 3, "bytes": 300}]


def test_max_exporters_refuses_new_sources(nfacctd, tmp_path):
    """Past nfacctd_max_exporters a worker keeps no state for new sources: their datagrams
    are dropped, counted (refused=) and logged once a minute; known exporters go on."""
    body, out = json_plugin(tmp_path, "a", "peer_src_ip")
    d = nfacctd("nfacctd_max_exporters: 2\nreactor_workers: 1\nplugins: print[a]\n" + body)
    socks = []
    for host in ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, 0))
        s.sendto(GOOD, ("127.0.0.1", d.port))
        socks.append(s)
    st = d.wait_datagrams(4)
    assert st.total("refused") == 1
    assert st.total("records") == 3
    d.stop()
    for s in socks:
        s.close()
    assert "datagram from 127.0.0.3 dropped: nfacctd_max_exporters reached" in d.log_text()
    rows = {r["peer_ip_src"]: r["packets"] for r in read_json(out)}
    assert rows == {"127.0.0.1": 8, "127.0.0.2": 4}


PACED = r"reading it every \d+ ms while that lasts"


def test_paced_reads_account_every_record(nfacctd, tmp_path):
    """A sender of many small datagrams wakes the worker for a few at a time: the worker
    switches to reading its socket on a timer (said once at debug level) and still accounts
    every record, across the switches back and forth and the drain at SIGINT."""
    body, out = json_plugin(tmp_path, "a", "src_host")
    d = nfacctd("debug: true\nplugins: print[a]\n" + body)
    s = Sender(d.port)
    dg = v5_datagram([dict(src="10.0.0.%d" % i, packets=1, octets=10) for i in (1, 2, 3)])
    sent = 0
    deadline = time.monotonic() + 30
    while not re.search(PACED, d.log_text()) and time.monotonic() < deadline:
        for _ in range(2000):
            s.send(dg)
        sent += 2000
    assert re.search(PACED, d.log_text()), "never switched to paced reads"
    for _ in range(500):  # some more while paced, then the end of the traffic
        s.send(dg)
    sent += 500
    d.wait_datagrams(sent)
    d.stop()
    s.close()
    assert canon(read_json(out)) == canon([
        {"event_type": "purge", "ip_src": "10.0.0.%d" % i, "packets": sent, "bytes": 10 * sent}
        for i in (1, 2, 3)])
