"""Replay pmacct's router captures into a collector and normalise the expected output.

Helper for test_fixtures.py.  The fixtures (captures, expected Kafka messages and maps from
pmacct's regression suite) live in tests/fixtures/pmacct (override with
NETACCT_PMACCT_FIXTURES); see the README.md there for how the upstream harness replays and
compares.

What this module does:

* pcap_payloads(): the UDP payloads of a capture sent to one port, in file order, with the
  original (source address, source port) so that each original exporter socket can be
  reproduced by one local socket (several line cards of one router export from different
  source ports of the same address).
* replay(): send those payloads, in order, from local sockets bound to the replay address.
* rewrite_placeholders(): the expected files and maps refer to the upstream replayer
  (172.21.1.10N, 192.168.100.N, fd25::10N, cafe::N); rewrite them to our replay address.
* normalise_expected(): flatten Avro's "custom_primitives" object, drop the fields we do not
  compare and re-aggregate over the fields that are kept (packets/bytes summed, tcp_flags
  OR-ed: pmacct accumulates tcp_flags rather than keying on them).
* compare_rows(): multiset comparison of JSON rows with a readable diff (missing rows,
  unexpected rows, and for each missing row the closest unexpected one field by field).
* run_collector(): start netacct (the conftest ``nfacctd`` factory) -- or, when
  NETACCT_FIXTURES_DAEMON=pmacct, Debian's pmacct nfacctd as a development cross-check of the
  normalisation -- replay a capture, stop the daemon with SIGINT and return its JSON rows.
"""
import collections
import json
import os
import re
import signal
import socket
import time
from pathlib import Path

from conftest import Daemon, base_config, free_port, read_json, read_text, wait_for

# The repository carries the 1xx fixtures (tests/fixtures/pmacct); the shared tree
# they came from is the fallback.
_IN_REPO = Path(__file__).resolve().parents[1] / "fixtures" / "pmacct"
FIXTURES = Path(os.environ.get(
    "NETACCT_PMACCT_FIXTURES",
    str(_IN_REPO if _IN_REPO.exists() else Path("/work/shared/fixtures/pmacct"))))
PMACCT_BINARY = Path("/usr/sbin/nfacctd")

# Fields the upstream harness deletes from both sides before comparing (fixtures README).
VOLATILE = ("timestamp_arrival", "timestamp_min", "timestamp_max", "stamp_inserted",
            "stamp_updated")
COUNTERS = ("packets", "bytes")

# Settings common to every flow fixture upstream that netacct implements (plugin scope).
ENCODING_KEYS = ("tcpflags_encode_as_array", "fwd_status_encode_as_string",
                 "mpls_label_stack_encode_as_array", "timestamps_secs",
                 "timestamps_since_epoch")


def fixture_dir(name):
    return FIXTURES / name


def have_fixtures(*names):
    return all((FIXTURES / n / "traffic-00.pcap").exists() for n in names)


# --------------------------------------------------------------------------
# capture


def pcap_payloads(path, dport=9991):
    """[((orig_src, orig_sport), payload)] of the UDP datagrams to dport, in file order."""
    from scapy.all import IP, UDP, IPv6, PcapReader  # slow import: only when needed

    out = []
    with PcapReader(str(path)) as rd:
        for pkt in rd:
            if UDP not in pkt or pkt[UDP].dport != dport:
                continue
            if IP in pkt:
                src = pkt[IP].src
            elif IPv6 in pkt:
                src = pkt[IPv6].src
            else:
                continue
            udp = pkt[UDP]
            payload = bytes(udp.payload)
            assert len(payload) == udp.len - 8, "truncated capture in %s" % path
            out.append(((src, udp.sport), payload))
    assert out, "no UDP payloads to port %d in %s" % (dport, path)
    return out


def replay(payloads, port, host="127.0.0.1", gap=0.0005):
    """Send payloads to host:port in order; one local socket (bound to host, ephemeral port)
    per original (source address, source port).  Returns the number of datagrams sent."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = {}
    try:
        for key, payload in payloads:
            s = socks.get(key)
            if s is None:
                s = socks[key] = socket.socket(fam, socket.SOCK_DGRAM)
                s.bind((host, 0))
            s.sendto(payload, (host, port))
            if gap:
                time.sleep(gap)
    finally:
        for s in socks.values():
            s.close()
    return len(payloads)


# --------------------------------------------------------------------------
# expected side

_PLACEHOLDER = re.compile(
    r"(?<![\w.:])(?:172\.21\.1\.10(?P<a>\d)|192\.168\.100\.(?P<b>\d))(?![\w.])"
    r"|(?<![\w.:])(?:fd25::10(?P<c>\d)|cafe::(?P<d>\d))(?![\w:])", re.I)


def rewrite_placeholders(text, addr):
    """Replace the upstream replayer addresses (172.21.1.101, 192.168.100.1, fd25::101,
    cafe::1) with addr.  Only one replayer (n = 1) exists in these fixtures."""
    def sub(m):
        n = next(g for g in m.groups() if g is not None)
        if n != "1":
            raise AssertionError("placeholder for replayer %s: only one replayer is used"
                                 % m.group(0))
        return addr
    return _PLACEHOLDER.sub(sub, text)


def load_expected(path, addr):
    """Rows of an expected output file, placeholders rewritten to addr."""
    text = rewrite_placeholders(Path(path).read_text(), addr)
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def flatten_custom(row):
    """Avro nests custom primitives in "custom_primitives": {name: "string"}; netacct (like
    pmacct's print plugin) prints them as top-level keys.  Values are kept as given."""
    row = dict(row)
    cp = row.pop("custom_primitives", None)
    if cp:
        for k, v in cp.items():
            assert k not in row, "custom primitive %s collides with a field" % k
            row[k] = v
    return row


# pmacct's (and netacct's) order of the tcp_flags array
TCP_FLAG_ORDER = ("URG", "ACK", "PSH", "RST", "SYN", "FIN")


def _or_flags(a, b):
    both = set(a) | set(b)
    unknown = both - set(TCP_FLAG_ORDER)
    assert not unknown, "unknown tcp flag names %s" % unknown
    return [f for f in TCP_FLAG_ORDER if f in both]


def merge(rows, counters=COUNTERS):
    """Re-aggregate: rows equal over every field but the counters and tcp_flags are one row;
    counters are summed and tcp_flags (an array of names) OR-ed, as pmacct accumulates
    tcp_flags over a row's flows instead of keying on them."""
    out = collections.OrderedDict()
    for r in rows:
        key = json.dumps({k: v for k, v in r.items() if k not in counters and k != "tcp_flags"},
                         sort_keys=True)
        if key in out:
            for c in counters:
                out[key][c] = out[key].get(c, 0) + r.get(c, 0)
            if "tcp_flags" in r:
                out[key]["tcp_flags"] = _or_flags(out[key]["tcp_flags"], r["tcp_flags"])
        else:
            out[key] = dict(r)
    return list(out.values())


def normalise_expected(rows, drop):
    """Flatten custom primitives, drop the volatile fields and the `drop` fields, then
    re-aggregate over what is left.  Every name in drop must occur in the file (a typo
    must not silently compare nothing)."""
    present = set()
    for r in rows:
        present.update(r)
        present.update(r.get("custom_primitives") or {})
    missing = [f for f in drop if f not in present]
    assert not missing, "fields to drop not present in the expected file: %s" % missing
    gone = set(VOLATILE) | set(drop)
    flat = [{k: v for k, v in flatten_custom(r).items() if k not in gone} for r in rows]
    return merge(flat)


def scale(rows, factor):
    return [dict(r, **{c: r[c] * factor for c in COUNTERS if c in r}) for r in rows]


# --------------------------------------------------------------------------
# comparison


def _canon(row):
    return json.dumps(row, sort_keys=True)


def _field_diff(exp, got):
    lines = []
    for k in sorted(set(exp) | set(got)):
        e, g = json.dumps(exp.get(k)), json.dumps(got.get(k))
        if k not in got:
            lines.append("      %s: expected %s, the collector has no such field" % (k, e))
        elif k not in exp:
            lines.append("      %s: not expected, got %s" % (k, g))
        elif exp[k] != got[k]:
            lines.append("      %s: expected %s, got %s" % (k, e, g))
    return lines


def diff_rows(actual, expected):
    """(missing, unexpected) as lists of rows (multiset difference)."""
    ca = collections.Counter(_canon(r) for r in actual)
    ce = collections.Counter(_canon(r) for r in expected)
    missing = [json.loads(s) for s, n in (ce - ca).items() for _ in range(n)]
    unexpected = [json.loads(s) for s, n in (ca - ce).items() for _ in range(n)]
    return missing, unexpected


def _similarity(exp, got):
    """Fields with equal values; key fields (not counters, not timestamps) weigh 10 so a
    missing row is paired with the same flow rather than with a flow of the same second."""
    score = 0
    for k, v in exp.items():
        if k in got and got[k] == v:
            score += 1 if (k in COUNTERS or k.startswith("timestamp_")) else 10
    return score


def _distance(exp, got):
    """Tie-break between equally similar rows: summed distance of numeric values
    (timestamps as "<epoch>.<usec>" strings included)."""
    d = 0.0
    for k, v in exp.items():
        w = got.get(k)
        try:
            d += abs(float(v) - float(w))
        except (TypeError, ValueError):
            pass
    return d


def pair_rows(missing, unexpected):
    """Greedy one-to-one pairing of missing with unexpected rows by similarity:
    [(missing_row, unexpected_row or None)]."""
    cand = sorted(((-_similarity(e, g), _distance(e, g), i, j) for i, e in enumerate(missing)
                   for j, g in enumerate(unexpected)))
    partner, used = {}, set()
    for _, _, i, j in cand:
        if i not in partner and j not in used:
            partner[i] = j
            used.add(j)
    return [(e, unexpected[partner[i]] if i in partner else None) for i, e in enumerate(missing)]


def format_diff(actual, expected, title=""):
    missing, unexpected = diff_rows(actual, expected)
    if not missing and not unexpected:
        return ""
    out = ["%s: %d rows from the collector, %d expected; %d missing, %d unexpected"
           % (title or "mismatch", len(actual), len(expected), len(missing), len(unexpected))]
    paired = set()
    for exp, got in pair_rows(missing, unexpected):
        out.append("  MISSING     %s" % _canon(exp))
        if got is not None:
            paired.add(_canon(got))
            out.append("    paired with the unexpected row that differs in:")
            out.extend(_field_diff(exp, got))
    for got in unexpected:
        c = _canon(got)
        if c in paired:
            paired.discard(c)
            continue
        out.append("  UNEXPECTED  %s" % c)
    return "\n".join(out)


def assert_rows_equal(actual, expected, title=""):
    msg = format_diff(actual, expected, title)
    if msg:
        raise AssertionError(msg)


# --------------------------------------------------------------------------
# the collector


def daemon_kind():
    """'netacct' (default) or 'pmacct' (NETACCT_FIXTURES_DAEMON=pmacct, development only)."""
    return os.environ.get("NETACCT_FIXTURES_DAEMON", "netacct")


def collector_config(out_file, aggregate, extra=None, refresh=3600, append=False):
    """Config body (without nfacctd_ip/port) for one print plugin named x writing JSON."""
    lines = ["plugins: print[x]",
             "aggregate[x]: %s" % ", ".join(aggregate),
             "print_output[x]: json",
             "print_output_file[x]: %s" % out_file,
             "print_refresh_time[x]: %d" % refresh,
             "nfacctd_time_new: true"]
    lines += ["%s[x]: true" % k for k in ENCODING_KEYS]
    if append:
        lines.append("print_output_file_append[x]: true")
    for k, v in (extra or {}).items():
        lines.append("%s: %s" % (k, v))
    return "\n".join(lines) + "\n"


class _Pmacct(Daemon):
    """Debian's pmacct nfacctd: readiness = the print plugin's first log line."""

    def wait_ready(self, timeout=10.0):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("pmacct nfacctd exited with %s:\n%s\n%s" %
                                     (self.proc.returncode, self.stderr(), self.log_text()))
            log = self.log_text()
            return "waiting for NetFlow" in log and "( x/print )" in log
        wait_for(ready, timeout, "pmacct readiness")
        time.sleep(0.3)


def run_collector(nfacctd, tmp_path, payloads, aggregate, extra=None, addr="127.0.0.1",
                  between=None, tag="out"):
    """Start the collector on addr, replay payloads, stop it with SIGINT; return
    (rows, stats-or-None).  between(daemon, out_file), if given, runs after the first replay
    and may replay again (e.g. after a reload)."""
    out = Path(tmp_path) / ("%s.json" % tag)
    if daemon_kind() == "pmacct":
        return _run_pmacct(tmp_path, payloads, aggregate, extra, addr, out, between), None
    d = nfacctd(collector_config(out, aggregate, extra), ip=addr, workers=1)
    sent = replay(payloads, d.port, addr)
    st = d.wait_datagrams(sent)
    if between:
        between(d, sent)
        st = d.stats()
    d.stop(signal.SIGINT)
    return read_json(out), st


# primitives Debian's pmacct 1.7.7 rejects (it ignores the *_encode_as_* keys with a warning)
PMACCT_177_LACKS = ("fwd_status", "mpls_label_stack")


def pmacct_align(actual, expected):
    """Development cross-check only: drop from the expected rows the fields pmacct 1.7.7 did
    not print at all; return (expected, dropped names)."""
    have = set().union(*actual) if actual else set()
    dropped = sorted({k for r in expected for k in r} - have)
    return merge([{k: v for k, v in r.items() if k in have} for r in expected]), dropped


def _run_pmacct(tmp_path, payloads, aggregate, extra, addr, out, between):
    """Development cross-check: pmacct 1.7.7 writes at each refresh (appended); wait until the
    output stops growing, SIGINT, then merge the rows of the successive purges."""
    port = free_port()
    aggregate = [a for a in aggregate if a not in PMACCT_177_LACKS]
    conf = base_config(port, addr, None) + collector_config(out, aggregate, extra, refresh=1,
                                                            append=True)
    d = _Pmacct(tmp_path, conf, binary=PMACCT_BINARY, name="pmacct")
    d.port = port
    d.start()
    try:
        replay(payloads, port, addr)
        if between:
            _settle(out)
            between(d, len(payloads))
        _settle(out)
        d.proc.send_signal(signal.SIGINT)
        d.proc.wait(20)
    finally:
        d.kill()
    rows = read_json(out)
    bits = {"URG": 32, "ACK": 16, "PSH": 8, "RST": 4, "SYN": 2, "FIN": 1}
    for r in rows:  # 1.7.7 ignores tcpflags_encode_as_array: decimal string
        if isinstance(r.get("tcp_flags"), str):
            r["tcp_flags"] = [n for n in TCP_FLAG_ORDER if int(r["tcp_flags"]) & bits[n]]
    return merge(rows, COUNTERS + ("flows",))


def _settle(out, quiet=3.0, timeout=30.0):
    wait_for(lambda: read_text(out).strip(), timeout, "pmacct output")
    last, since = None, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cur = read_text(out)
        if cur != last:
            last, since = cur, time.monotonic()
        elif time.monotonic() - since > quiet:
            return
        time.sleep(0.1)
