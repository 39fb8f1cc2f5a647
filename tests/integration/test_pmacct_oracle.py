"""Differential tests: the same input to Debian's pmacct nfacctd and to netacct.

Both must print the same JSON keys with the same values and counters for every
row (compared as multisets of dicts).  pmacct writes its file at each refresh
(print_refresh_time 1, appended), so its rows for one key may be split over
several purges: they are summed before comparing.  netacct runs with a long
refresh and its shutdown flush.
"""
import pytest

from conftest import (PMACCT_NFACCTD, Sender, canon, merge_rows, read_json, read_text,
                      v5_datagram, wait_for)
from softflowd_util import AGGREGATE, export, have_softflowd, write_pcap

pytestmark = pytest.mark.skipif(not PMACCT_NFACCTD.exists(),
                                reason="Debian's pmacct nfacctd (/usr/sbin/nfacctd) not installed")


def plugins_body(tmp_path, tag, specs, refresh, append):
    """specs: list of (name, aggregate, encoding). Returns (config body, {name: path})."""
    lines = ["plugins: " + ", ".join("print[%s]" % s[0] for s in specs)]
    paths = {}
    for name, aggregate, enc in specs:
        path = tmp_path / ("%s-%s.%s" % (tag, name, enc))
        paths[name] = path
        lines += ["aggregate[%s]: %s" % (name, aggregate),
                  "print_output[%s]: %s" % (name, enc),
                  "print_output_file[%s]: %s" % (name, path),
                  "print_refresh_time[%s]: %d" % (name, refresh)]
        if append:
            lines.append("print_output_file_append[%s]: true" % name)
    return "\n".join(lines) + "\n", paths


def read_csv_rows(path):
    """CSV rows as dicts; header lines repeated by appended purges are skipped."""
    lines = [l for l in read_text(path).splitlines() if l.strip()]
    if not lines:
        return None, []
    header = lines[0]
    cols = header.split(",")
    rows = []
    for l in lines[1:]:
        if l == header:
            continue
        r = dict(zip(cols, l.split(",")))
        for c in ("PACKETS", "BYTES", "FLOWS"):
            if c in r:
                r[c] = int(r[c])
        rows.append(r)
    return header, rows


def collect(paths, specs, merge):
    out = {}
    for name, _, enc in specs:
        if enc == "json":
            rows = read_json(paths[name])
            out[name] = (None, merge_rows(rows) if merge else rows)
        else:
            header, rows = read_csv_rows(paths[name])
            counters = ("PACKETS", "BYTES", "FLOWS")
            out[name] = (header, merge_rows(rows, counters) if merge else rows)
    return out


def run_both(nfacctd, pmacct, tmp_path, specs, send):
    """send(port) sends the input to a collector on 127.0.0.1:port and returns the number of
    datagrams sent.  Returns ({name: (csv header, rows)} for netacct, same for pmacct)."""
    body, paths = plugins_body(tmp_path, "netacct", specs, 3600, False)
    d = nfacctd(body)
    n = send(d.port)
    d.wait_datagrams(n)
    d.stop()
    ours = collect(paths, specs, merge=False)

    body, ppaths = plugins_body(tmp_path, "pmacct", specs, 1, True)
    p = pmacct(body, plugins=tuple(s[0] for s in specs))
    send(p.port)
    wait_for(lambda: all(read_text(ppaths[s[0]]).strip() for s in specs), what="pmacct output")
    p.stop()
    theirs = collect(ppaths, specs, merge=True)
    return ours, theirs


def assert_same(ours, theirs):
    for name in theirs:
        h_ours, r_ours = ours[name]
        h_theirs, r_theirs = theirs[name]
        assert r_theirs, "pmacct wrote nothing for %s" % name
        assert h_ours == h_theirs, name
        assert canon(r_ours) == canon(r_theirs), name


# ---------------------------------------------------------------------------
# crafted NetFlow v5

V5_RECORDS = [
    [dict(src="192.0.2.77", dst="198.51.100.200", nexthop="203.0.113.1", in_if=3, out_if=7,
          packets=10, octets=1000, sport=1234, dport=80, tcp_flags=0x12, proto=6, tos=8,
          src_as=64512, dst_as=65001, src_mask=24, dst_mask=25),
     dict(src="192.0.2.77", dst="198.51.100.200", nexthop="203.0.113.1", in_if=3, out_if=7,
          packets=5, octets=250, sport=1234, dport=80, tcp_flags=0x12, proto=6, tos=8,
          src_as=64512, dst_as=65001, src_mask=24, dst_mask=25),
     dict(src="10.0.0.1", dst="10.0.0.2", nexthop="10.255.0.1", in_if=1, out_if=2,
          packets=1, octets=76, sport=5353, dport=53, proto=17, tos=0, src_mask=8,
          dst_mask=16)],
    [dict(src="10.0.0.1", dst="10.0.0.2", nexthop="10.255.0.1", in_if=1, out_if=2,
          packets=3, octets=228, sport=5353, dport=53, proto=17, tos=0, src_mask=8,
          dst_mask=16),
     dict(src="172.16.5.4", dst="10.0.0.2", nexthop="10.255.0.1", in_if=1, out_if=9,
          packets=2, octets=168, sport=0, dport=0x0800, proto=1, tos=0x10, src_as=100,
          dst_as=200, src_mask=12, dst_mask=32),
     dict(src="172.16.5.4", dst="10.0.0.2", nexthop="10.255.0.1", in_if=1, out_if=9,
          packets=40, octets=52000, sport=443, dport=51000, tcp_flags=0x1b, proto=6,
          tos=0, src_as=100, dst_as=200, src_mask=12, dst_mask=32)],
]

ALL = ("src_host, dst_host, src_net, dst_net, src_mask, dst_mask, src_port, dst_port, proto, "
       "tos, src_as, dst_as, in_iface, out_iface, peer_src_ip, peer_dst_ip, tcpflags, flows")


def send_v5(records_per_datagram):
    def send(port):
        s = Sender(port)
        for i, recs in enumerate(records_per_datagram):
            s.send(v5_datagram(recs, seq=10 * i, secs=1700000000))
        s.close()
        return len(records_per_datagram)
    return send


def test_v5_crafted_json_and_csv_match_pmacct(nfacctd, pmacct, tmp_path):
    specs = [("full", ALL, "json"), ("flags", "proto, tcpflags, flows", "json"),
             ("hosts", "src_host, dst_host, proto", "json"),
             ("ports", "src_port, dst_port, proto, flows", "csv")]
    ours, theirs = run_both(nfacctd, pmacct, tmp_path, specs, send_v5(V5_RECORDS))
    assert_same(ours, theirs)
    # and the reference agrees with what the records say
    hosts = {(r["ip_src"], r["ip_dst"]): (r["packets"], r["bytes"]) for r in theirs["hosts"][1]}
    assert hosts[("192.0.2.77", "198.51.100.200")] == (15, 1250)
    assert hosts[("10.0.0.1", "10.0.0.2")] == (4, 304)


def test_v5_peer_dst_ip_matches_pmacct(nfacctd, pmacct, tmp_path):
    specs = [("a", "src_host, peer_dst_ip", "json")]
    recs = [[dict(src="10.9.9.9", nexthop="203.0.113.1", packets=2, octets=200),
             dict(src="10.9.9.8", nexthop="0.0.0.0", packets=1, octets=50)]]
    ours, theirs = run_both(nfacctd, pmacct, tmp_path, specs, send_v5(recs))
    assert canon(theirs["a"][1]) == canon([
        {"event_type": "purge", "ip_src": "10.9.9.9", "peer_ip_dst": "", "packets": 2,
         "bytes": 200},
        {"event_type": "purge", "ip_src": "10.9.9.8", "peer_ip_dst": "", "packets": 1,
         "bytes": 50}])
    assert_same(ours, theirs)


def test_v5_tcpflags_ored_like_pmacct(nfacctd, pmacct, tmp_path):
    specs = [("a", "src_host, proto, tcpflags", "json")]
    recs = [[dict(src="10.3.3.3", tcp_flags=0x02, packets=1, octets=40),
             dict(src="10.3.3.3", tcp_flags=0x18, packets=5, octets=900),
             dict(src="10.3.3.3", tcp_flags=0x11, packets=1, octets=40)]]
    ours, theirs = run_both(nfacctd, pmacct, tmp_path, specs, send_v5(recs))
    assert theirs["a"][1] == [{"event_type": "purge", "ip_src": "10.3.3.3", "ip_proto": "tcp",
                               "tcp_flags": "27", "packets": 7, "bytes": 980}]
    assert_same(ours, theirs)


# ---------------------------------------------------------------------------
# softflowd export

def send_softflowd(tmp_path, version):
    pcap = tmp_path / "flows.pcap"
    write_pcap(pcap)

    def send(port):
        return export(pcap, port, version, tmp_path)["datagrams"]
    return send


@pytest.mark.skipif(not have_softflowd(), reason="softflowd not installed")
def test_softflowd_v5_matches_pmacct(nfacctd, pmacct, tmp_path):
    specs = [("a", AGGREGATE, "json"), ("b", "proto, tos, src_mask, dst_mask", "json"),
             ("c", "src_host, dst_port, proto", "csv")]
    ours, theirs = run_both(nfacctd, pmacct, tmp_path, specs, send_softflowd(tmp_path, 5))
    assert_same(ours, theirs)
