"""The memory plugin and the pmacct client: every query flag against a known input,
exit codes, and consistent reads while the table is being folded."""
import json
import subprocess
import threading

from conftest import (BUILDDIR, Sender, canon, free_port, run_config_check, v5_datagram,
                      wait_for)

PMACCT = BUILDDIR / "pmacct"

RECS = [
    dict(src="10.0.0.1", dst="10.0.0.2", packets=10, octets=1000, proto=6),
    dict(src="10.0.0.1", dst="10.0.0.2", packets=5, octets=300, proto=6),
    dict(src="10.0.0.3", dst="10.0.0.2", packets=1, octets=40, proto=17),
    dict(src="10.0.0.1", dst="10.0.0.9", packets=2, octets=5000, proto=6),
    dict(src="10.0.0.4", dst="10.0.0.9", packets=30, octets=60, proto=1),
]
# the aggregates of RECS by src_host, dst_host (the expected table)
ROWS = [
    {"ip_src": "10.0.0.1", "ip_dst": "10.0.0.2", "packets": 15, "flows": 2, "bytes": 1300},
    {"ip_src": "10.0.0.3", "ip_dst": "10.0.0.2", "packets": 1, "flows": 1, "bytes": 40},
    {"ip_src": "10.0.0.1", "ip_dst": "10.0.0.9", "packets": 2, "flows": 1, "bytes": 5000},
    {"ip_src": "10.0.0.4", "ip_dst": "10.0.0.9", "packets": 30, "flows": 1, "bytes": 60},
]


def client(sock, *args):
    p = subprocess.run([str(PMACCT), "-p", str(sock)] + list(args), capture_output=True,
                       text=True, timeout=10)
    return p.returncode, p.stdout, p.stderr


def json_rows(sock, *args):
    rc, out, err = client(sock, "-O", "json", *args)
    assert rc in (0, 1), err
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def memory_daemon(nfacctd, tmp_path, aggregate="src_host, dst_host, flows", workers=1,
                  extra=""):
    sock = tmp_path / "imt.pipe"
    d = nfacctd("plugins: memory[m]\naggregate[m]: %s\nimt_path[m]: %s\n%s" %
                (aggregate, sock, extra), workers=workers)
    return d, sock


def total_bytes(sock):
    return sum(r["bytes"] for r in json_rows(sock, "-s"))


def loaded(nfacctd, tmp_path, **kw):
    """A daemon whose table holds exactly RECS (waits for the fold)."""
    d, sock = memory_daemon(nfacctd, tmp_path, **kw)
    s = Sender(d.port)
    s.send(v5_datagram(RECS))
    s.close()
    want = sum(r["octets"] for r in RECS)
    wait_for(lambda: total_bytes(sock) == want, what="the memory table to hold the input")
    return d, sock


def test_show_all_formats(nfacctd, tmp_path):
    d, sock = loaded(nfacctd, tmp_path)
    assert canon(json_rows(sock, "-s")) == canon(ROWS)
    rc, out, _ = client(sock, "-s", "-O", "csv")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "SRC_IP,DST_IP,PACKETS,FLOWS,BYTES"
    assert sorted(lines[1:]) == sorted("%s,%s,%d,%d,%d" % (r["ip_src"], r["ip_dst"], r["packets"],
                                                          r["flows"], r["bytes"]) for r in ROWS)
    rc, out, _ = client(sock, "-s", "-O", "csv", "-E", ";")
    assert out.splitlines()[0] == "SRC_IP;DST_IP;PACKETS;FLOWS;BYTES"
    rc, out, _ = client(sock, "-s")
    assert rc == 0
    assert out.splitlines()[0].split() == ["SRC_IP", "DST_IP", "PACKETS", "FLOWS", "BYTES"]
    assert "For a total of: 4 entries" in out
    # -a and -l are accepted and change nothing
    assert canon(json_rows(sock, "-s", "-a", "-l")) == canon(ROWS)
    d.stop()


def test_match_and_counters(nfacctd, tmp_path):
    d, sock = loaded(nfacctd, tmp_path)
    rows = json_rows(sock, "-c", "src_host", "-M", "10.0.0.1")
    assert canon(rows) == canon([r for r in ROWS if r["ip_src"] == "10.0.0.1"])
    rows = json_rows(sock, "-c", "src_host,dst_host", "-M", "10.0.0.1,10.0.0.9;10.0.0.3,10.0.0.2")
    assert canon(rows) == canon([ROWS[2], ROWS[1]])
    # -N: one number per request, in request order
    rc, out, _ = client(sock, "-c", "dst_host", "-N", "10.0.0.2;10.0.0.9;192.0.2.1")
    assert rc == 0
    assert out.splitlines() == ["1340", "5060", "0"]
    rc, out, _ = client(sock, "-c", "dst_host", "-N", "10.0.0.9", "-n", "packets")
    assert out.splitlines() == ["32"]
    rc, out, _ = client(sock, "-c", "dst_host", "-N", "10.0.0.2", "-n", "flows")
    assert out.splitlines() == ["3"]
    rc, out, _ = client(sock, "-c", "dst_host", "-N", "10.0.0.2", "-n", "all")
    assert out.splitlines() == ["16 1340 3 2"]  # packets bytes flows entries
    rc, out, _ = client(sock, "-c", "dst_host", "-N", "10.0.0.2;10.0.0.9", "-S")
    assert out.splitlines() == ["6400"]
    # requests from a file (pmacct's file: form)
    f = tmp_path / "req.txt"
    f.write_text("10.0.0.4\n! a comment\n10.0.0.3\n")
    rc, out, _ = client(sock, "-c", "src_host", "-N", "file:%s" % f)
    assert out.splitlines() == ["60", "40"]
    # nothing matched: exit 1, -N still prints its zero
    rc, out, _ = client(sock, "-c", "src_host", "-N", "192.0.2.1")
    assert (rc, out.splitlines()) == (1, ["0"])
    rc, out, _ = client(sock, "-c", "src_host", "-M", "192.0.2.1", "-O", "json")
    assert (rc, out) == (1, "")
    d.stop()


def test_match_protocol_by_name_or_number(nfacctd, tmp_path):
    d, sock = loaded(nfacctd, tmp_path, aggregate="proto")
    rc, out, _ = client(sock, "-c", "proto", "-N", "tcp;6;udp;icmp")
    assert out.splitlines() == ["6300", "6300", "40", "60"]
    d.stop()


def test_top_n(nfacctd, tmp_path):
    d, sock = loaded(nfacctd, tmp_path)
    assert json_rows(sock, "-s", "-T", "bytes,2") == [ROWS[2], ROWS[0]]
    assert json_rows(sock, "-s", "-T", "packets,1") == [ROWS[3]]
    rows = json_rows(sock, "-c", "dst_host", "-M", "10.0.0.2", "-T", "bytes,5")
    assert rows == [ROWS[0], ROWS[1]]
    # default N is 10: every row, biggest first
    assert [r["bytes"] for r in json_rows(sock, "-s", "-T", "bytes")] == [5000, 1300, 60, 40]
    d.stop()


def test_reset_erase_status_since(nfacctd, tmp_path):
    d, sock = loaded(nfacctd, tmp_path)
    rc, out, _ = client(sock, "-t")
    assert rc == 0 and "entries: 4" in out and "primitives: src_host,dst_host" in out
    rc, out, _ = client(sock, "-i")
    assert rc == 0 and int(out) >= 0
    # -r: the counters read are zeroed, the others are not
    rc, out, _ = client(sock, "-c", "src_host", "-N", "10.0.0.1", "-r")
    assert out.splitlines() == ["6300"]
    rc, out, _ = client(sock, "-c", "src_host", "-N", "10.0.0.1;10.0.0.4")
    assert out.splitlines() == ["0", "60"]
    rows = json_rows(sock, "-c", "src_host", "-M", "10.0.0.4", "-r")
    assert rows == [ROWS[3]]
    assert json_rows(sock, "-c", "src_host", "-M", "10.0.0.4")[0]["bytes"] == 0
    # -e: empty
    rc, out, _ = client(sock, "-e")
    assert rc == 0
    assert json_rows(sock, "-s") == []
    rc, out, _ = client(sock, "-t")
    assert "entries: 0" in out
    # data after an erase is accounted again
    s = Sender(d.port)
    s.send(v5_datagram(RECS[:1]))
    s.close()
    wait_for(lambda: total_bytes(sock) == 1000, what="the new round")
    d.stop()


def test_client_errors(nfacctd, tmp_path):
    rc, out, err = client(tmp_path / "missing.pipe", "-s")
    assert rc == 3 and "cannot connect to" in err and "missing.pipe" in err
    rc, out, err = client(tmp_path / "missing.pipe", "-x")
    assert rc == 2 and "unknown flag -x" in err
    rc, out, err = client(tmp_path / "missing.pipe")
    assert rc == 2 and "give a query" in err
    rc, out, err = client(tmp_path / "missing.pipe", "-s", "-e")
    assert rc == 2
    rc, out, err = client(tmp_path / "missing.pipe", "-M", "10.0.0.1")
    assert rc == 2 and "-c" in err
    rc, out, err = client(tmp_path / "missing.pipe", "-s", "-T", "octets,3")
    assert rc == 2 and "-T" in err
    rc, out, err = client(tmp_path / "missing.pipe", "-s", "-O", "xml")
    assert rc == 2
    d, sock = memory_daemon(nfacctd, tmp_path)
    rc, out, err = client(sock, "-c", "src_port", "-N", "80")
    assert rc == 4 and "primitive 'src_port' is not in this table's aggregate" in err
    rc, out, err = client(sock, "-c", "src_host,dst_host", "-N", "10.0.0.1")
    assert rc == 4 and "one value per primitive" in err
    # a foreign client gets an error, not a hang
    import socket as so
    c = so.socket(so.AF_UNIX, so.SOCK_STREAM)
    c.connect(str(sock))
    c.sendall(b"hello\n\n")
    assert c.recv(100).startswith(b"ERR 1 ")
    c.close()
    d.stop()


def test_imt_path_served_by_another_daemon(nfacctd, tmp_path):
    d, sock = memory_daemon(nfacctd, tmp_path)
    rc, err = run_config_check(tmp_path, "nfacctd_port: %d\nplugins: memory[x]\n"
                               "imt_path[x]: %s\n" % (free_port(), sock))
    assert rc != 0 and "imt_path" in err and "served by another process" in err
    d.stop()
    # the socket is removed at exit
    assert not sock.exists()


def test_concurrent_queries_during_burst(nfacctd, tmp_path):
    """Each datagram adds the same to two keys; a torn read would show them apart."""
    d, sock = memory_daemon(nfacctd, tmp_path, aggregate="src_host", workers=2)
    pair = [dict(src="10.1.0.1", packets=1, octets=100), dict(src="10.1.0.2", packets=1,
                                                               octets=100)]
    done = threading.Event()
    mid = threading.Event()  # a query saw the table while the burst was still going
    seen = []

    def burst():
        s = Sender(d.port)
        i = 0
        while not mid.is_set() and i < 10 ** 6:
            s.send(v5_datagram(pair, seq=2 * i))
            i += 1
        for _ in range(2000):  # keep the folds going while queries run
            s.send(v5_datagram(pair, seq=2 * i))
            i += 1
        s.close()
        done.set()

    t = threading.Thread(target=burst)
    t.start()
    after = 0
    while after < 20:  # queries during the burst, and a few while its last rounds fold
        if done.is_set():
            after += 1
        rc, out, err = client(sock, "-c", "src_host", "-N", "10.1.0.1;10.1.0.2")
        assert rc in (0, 1), err
        a, b = (int(x) for x in out.split())
        assert a == b, "torn read: %d != %d" % (a, b)
        seen.append((a, b))
        if a and not done.is_set():
            mid.set()
    t.join()
    st = d.stats()
    got = st.total("datagrams")
    # UDP on loopback may drop under a burst: the table must hold exactly what was received
    wait_for(lambda: total_bytes(sock) == got * 200, what="the last round")
    assert mid.is_set() and len(set(seen)) > 1
    d.stop()


def test_imt_max_entries_bounds_and_counts(nfacctd, tmp_path):
    d, sock = memory_daemon(nfacctd, tmp_path, extra="imt_max_entries[m]: 2\n")
    s = Sender(d.port)
    s.send(v5_datagram(RECS))  # 4 keys, room for 2
    s.close()

    def status():
        rc, out, _ = client(sock, "-t")
        return "dropped_entries: 2" in out and out
    out = wait_for(status, what="two refused keys")
    assert "entries: 2\n" in out and "max_entries: 2\n" in out
    assert len(json_rows(sock, "-s")) == 2
    d.wait_log(r"memory table: 2 entries dropped \(imt_max_entries reached\)")
    d.stop()


def test_answers_match_debian_pmacct(nfacctd, tmp_path):
    """The same input into Debian's nfacctd memory plugin (read with its own pmacct
    client) and into netacct: the same rows and counters."""
    from conftest import PMACCT_NFACCTD, Daemon, base_config
    import shutil
    debian_client = shutil.which("pmacct", path="/usr/bin")
    if not PMACCT_NFACCTD.exists() or not debian_client:
        import pytest
        pytest.skip("Debian's pmacct (nfacctd and the pmacct client) is not installed")
    agg = "src_host, dst_host, proto, src_port, dst_port, flows"
    # ports on TCP/UDP only: pmacct 1.7.7 zeroes an ICMP record's v5 source port, netacct
    # keeps it (the aggregation's business, not the memory table's)
    recs = [dict(r, sport=1000 + i % 2, dport=80) if r["proto"] != 1 else r
            for i, r in enumerate(RECS)]
    dgram = v5_datagram(recs)
    d, sock = memory_daemon(nfacctd, tmp_path, aggregate=agg)
    psock = tmp_path / "debian.pipe"
    port = free_port()
    p = Daemon(tmp_path, base_config(port, "127.0.0.1", None) +
               "plugins: memory[m]\naggregate[m]: %s\nimt_path[m]: %s\n" % (agg, psock),
               binary=PMACCT_NFACCTD, name="debian")
    p.proc = subprocess.Popen([str(PMACCT_NFACCTD), "-f", str(p.conf)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: psock.exists(), what="Debian's imt socket")

        def deb(*args):
            r = subprocess.run([debian_client, "-p", str(psock)] + list(args),
                               capture_output=True, text=True, timeout=10)
            return r.stdout
        want = sum(r["octets"] for r in recs)

        def deb_total():
            rows = [json.loads(l) for l in deb("-s", "-O", "json").splitlines() if l.strip()]
            return sum(r["bytes"] for r in rows) == want
        s = Sender(port)
        s.send(dgram)  # its core may hold it a few seconds before the plugin has it
        s.close()
        wait_for(deb_total, 30, "Debian's table")
        s = Sender(d.port)
        s.send(dgram)
        s.close()
        wait_for(lambda: total_bytes(sock) == want, what="netacct's table")
        theirs = [json.loads(l) for l in deb("-s", "-O", "json").splitlines() if l.strip()]
        assert canon(json_rows(sock, "-s")) == canon(theirs)
        rc, out, _ = client(sock, "-s", "-O", "csv")
        assert sorted(out.splitlines()) == sorted(deb("-s", "-O", "csv").splitlines())
        for args in (["-c", "src_host,dst_host", "-N", "10.0.0.1,10.0.0.2;10.0.0.4,10.0.0.9"],
                     ["-c", "dst_host", "-N", "10.0.0.2;10.0.0.9", "-n", "packets"],
                     ["-c", "dst_host", "-N", "10.0.0.2;10.0.0.9", "-S"],
                     ["-c", "proto", "-N", "tcp;1", "-n", "all"]):
            rc, out, _ = client(sock, *args)
            assert out == deb(*args), args
        rc, out, _ = client(sock, "-s")  # formatted: same header, rows, footer
        assert sorted(out.splitlines()) == sorted(deb("-s").splitlines())
        rc, out, _ = client(sock, "-s", "-T", "bytes,2", "-O", "json")
        assert out == deb("-s", "-T", "bytes,2", "-O", "json")
    finally:
        p.proc.send_signal(2)
        p.proc.wait(20)
    d.stop()
