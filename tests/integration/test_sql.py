"""The SQL outputs against real servers the test suite starts: SQLite files, a
throwaway PostgreSQL cluster (initdb + pg_ctl) and a throwaway MariaDB
(mariadb-install-db + mariadbd).  For each backend: rows equal to the
aggregates of a known input, table rotation by time, UPDATE vs INSERT-only,
and a database that goes away mid-run (or is down at start) loses no rows."""
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import (PMACCT_NFACCTD, READY, REPO_ROOT, PmacctDaemon, Sender, free_port,
                      v5_datagram, wait_for)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SCHEMAS = REPO_ROOT / "contrib" / "sql"
SLOW = 40.0  # outage tests wait for a failed round and the retry

RECS1 = [
    dict(src="10.0.0.1", dst="10.0.0.2", sport=1000, dport=80, proto=6, packets=10, octets=1000),
    dict(src="10.0.0.1", dst="10.0.0.2", sport=1000, dport=80, proto=6, packets=5, octets=300),
    dict(src="10.0.0.3", dst="10.0.0.2", sport=53, dport=5353, proto=17, packets=1, octets=40),
]
RECS2 = [
    dict(src="10.0.0.1", dst="10.0.0.2", sport=1000, dport=80, proto=6, packets=7, octets=700),
    dict(src="10.0.0.4", dst="10.0.0.9", sport=0, dport=0, proto=1, packets=2, octets=120),
]
AGG = "src_host, dst_host, proto, src_port, dst_port, flows"


def expected(*recs_lists):
    """The aggregates of the input by (src, dst, proto, sport, dport)."""
    out = {}
    for recs in recs_lists:
        for r in recs:
            k = (r["src"], r["dst"], r["proto"], r["sport"], r["dport"])
            p, b, f = out.get(k, (0, 0, 0))
            out[k] = (p + r["packets"], b + r["octets"], f + 1)
    return out


PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp"}


def tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------- servers


class Postgres:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="netacct-pg-")
        pw = pwd.getpwnam("postgres")
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.port = tcp_port()
        self.run("initdb", "-D", self.dir + "/data", "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def run(self, tool, *args):
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / tool)] + list(args),
                       check=True, capture_output=True, timeout=120)

    def start(self):
        self.run("pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/pg.log", "-w", "-t", "60",
                 "-o", "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" %
                 (self.port, self.dir), "start")

    def stop(self):
        self.run("pg_ctl", "-D", self.dir + "/data", "-m", "fast", "-w", "stop")

    def sql(self, db, q):
        p = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                            "-d", db, "-At", "-F", "|", "-c", q], capture_output=True,
                           text=True, timeout=30)
        if p.returncode:
            raise RuntimeError(p.stderr)
        return [tuple(l.split("|")) for l in p.stdout.splitlines() if l]

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class MariaDB:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="netacct-my-")
        self.sock = self.dir + "/mysql.sock"
        self.port = tcp_port()
        subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=%s/data" % self.dir,
                        "--user=root", "--auth-root-authentication-method=normal",
                        "--skip-test-db"], check=True, capture_output=True, timeout=120)
        self.proc = None
        self.start()
        self.sql("", "CREATE USER 'netacct'@'127.0.0.1' IDENTIFIED BY 'secret'; "
                 "GRANT ALL ON *.* TO 'netacct'@'127.0.0.1'")

    def start(self):
        self.log = open(self.dir + "/out.log", "ab")
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--datadir=%s/data" % self.dir, "--socket=" + self.sock,
             "--port=%d" % self.port, "--bind-address=127.0.0.1",
             "--pid-file=%s/mariadb.pid" % self.dir, "--log-error=%s/err.log" % self.dir,
             "--user=root", "--innodb-buffer-pool-size=64M", "--skip-log-bin"],
            stdout=self.log, stderr=self.log)
        wait_for(lambda: subprocess.run(["mariadb-admin", "--no-defaults", "-S", self.sock,
                                         "-uroot", "ping"], capture_output=True).returncode == 0
                 or self.proc.poll() is not None, 60, "mariadbd")
        assert self.proc.poll() is None, open(self.dir + "/err.log").read()

    def stop(self):
        subprocess.run(["mariadb-admin", "--no-defaults", "-S", self.sock, "-uroot", "shutdown"],
                       capture_output=True, timeout=60)
        self.proc.wait(60)
        self.log.close()

    def sql(self, db, q):
        args = ["mariadb", "--no-defaults", "-S", self.sock, "-uroot", "-N", "-B", "-e", q]
        if db:
            args.append(db)
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
        if p.returncode:
            raise RuntimeError(p.stderr)
        return [tuple(l.split("\t")) for l in p.stdout.splitlines() if l]

    def close(self):
        try:
            if self.proc and self.proc.poll() is None:
                self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_server():
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 server binaries not installed (apt-get install postgresql)")
    s = Postgres()
    yield s
    s.close()


@pytest.fixture(scope="module")
def my_server():
    if not shutil.which("mariadbd"):
        pytest.skip("MariaDB server not installed (apt-get install mariadb-server)")
    s = MariaDB()
    yield s
    s.close()


# ---------------------------------------------------------------- one backend, one interface

_counter = [0]


class Backend:
    """A fresh database on one backend: the plugin config and a query function."""

    def __init__(self, kind, request, tmp_path):
        self.kind = kind
        self.tmp = tmp_path
        _counter[0] += 1
        self.db = "t%d_%d" % (os.getpid(), _counter[0])
        if kind == "sqlite3":
            self.path = tmp_path / "acct.db"
            self.server = None
        elif kind == "pgsql":
            self.server = request.getfixturevalue("pg_server")
            self.server.sql("postgres", "CREATE DATABASE %s" % self.db)
        else:
            self.server = request.getfixturevalue("my_server")
            self.server.sql("", "CREATE DATABASE %s" % self.db)

    def config(self, name="s", extra=""):
        lines = ["plugins: %s[%s]" % (self.kind, name), "aggregate[%s]: %s" % (name, AGG),
                 "sql_refresh_time[%s]: 1" % name]
        if self.kind == "sqlite3":
            lines.append("sql_db[%s]: %s" % (name, self.path))
        elif self.kind == "pgsql":
            lines += ["sql_host[%s]: 127.0.0.1" % name, "sql_port[%s]: %d" % (name, self.server.port),
                      "sql_user[%s]: postgres" % name, "sql_db[%s]: %s" % (name, self.db)]
        else:
            lines += ["sql_host[%s]: 127.0.0.1" % name, "sql_port[%s]: %d" % (name, self.server.port),
                      "sql_user[%s]: netacct" % name, "sql_passwd[%s]: secret" % name,
                      "sql_db[%s]: %s" % (name, self.db)]
        return "\n".join(lines) + "\n" + extra

    def schema_file(self, version=9, table=None):
        text = (SCHEMAS / self.kind / ("acct_v%d.sql" % version)).read_text()
        if table:
            text = text.replace("CREATE TABLE acct_v%d " % version, "CREATE TABLE %s " % table)
        f = self.tmp / ("schema_%s.sql" % (table or "v%d" % version)).replace("%", "")
        f.write_text(text)
        return f

    def sql(self, q):
        if self.kind == "sqlite3":
            if not self.path.exists():
                return []
            c = sqlite3.connect(str(self.path), timeout=30)
            try:
                return [tuple(str(v) for v in r) for r in c.execute(q).fetchall()]
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return []
                raise
            finally:
                c.close()
        try:
            return self.server.sql(self.db, q)
        except RuntimeError as e:
            if "does not exist" in str(e) or "doesn't exist" in str(e):
                return []
            raise

    def rows(self, table="acct_v9"):
        port = ("port_src", "port_dst")
        out = {}
        for r in self.sql("SELECT ip_src, ip_dst, ip_proto, %s, %s, packets, bytes, flows FROM %s"
                          % (port[0], port[1], table)):
            proto = int(r[2]) if r[2].isdigit() else {v: k for k, v in PROTO_NAMES.items()}[r[2]]
            k = (r[0], r[1], proto, int(r[3]), int(r[4]))
            assert k not in out, "duplicate row for %r" % (k,)
            out[k] = (int(r[5]), int(r[6]), int(r[7]))
        return out

    def nrows(self, table="acct_v9"):
        return len(self.sql("SELECT packets FROM %s" % table))

    def total_bytes(self, table="acct_v9"):
        return sum(int(r[0]) for r in self.sql("SELECT bytes FROM %s" % table))


BACKENDS = ["sqlite3", "pgsql", "mysql"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    return Backend(request.param, request, tmp_path)


def total(recs):
    return sum(r["octets"] for r in recs)


def start(nfacctd, be, extra=""):
    sf = be.schema_file()
    return nfacctd(be.config(extra="sql_table_version[s]: 9\nsql_table_schema[s]: %s\n%s" %
                             (sf, extra)))


# ---------------------------------------------------------------- tests


def test_rows_equal_aggregates_with_updates(nfacctd, backend):
    d = start(nfacctd, backend)
    s = Sender(d.port)
    s.send(v5_datagram(RECS1, seq=0))
    wait_for(lambda: backend.total_bytes() == total(RECS1), what="the first round's rows")
    assert backend.rows() == expected(RECS1)
    # a later round adds to the same key: UPDATE, not a second row
    s.send(v5_datagram(RECS2, seq=3))
    wait_for(lambda: backend.total_bytes() == total(RECS1 + RECS2), what="the second round")
    assert backend.rows() == expected(RECS1, RECS2)
    s.close()
    d.stop()
    assert "created table acct_v9" in d.log_text()


@pytest.mark.parametrize("mode", ["insert", "multi_values", "copy"])
def test_insert_only(nfacctd, backend, mode):
    if mode == "copy" and backend.kind != "pgsql":
        pytest.skip("sql_use_copy is PostgreSQL's")
    extra = "sql_dont_try_update[s]: true\n"
    if mode == "multi_values":
        extra += "sql_multi_values[s]: 200\n"  # small: several statements per round
    if mode == "copy":
        extra += "sql_use_copy[s]: true\n"
    d = start(nfacctd, backend, extra)
    s = Sender(d.port)
    s.send(v5_datagram(RECS1, seq=0))
    wait_for(lambda: backend.total_bytes() == total(RECS1), what="the first round's rows")
    s.send(v5_datagram(RECS1[:1], seq=3))
    wait_for(lambda: backend.total_bytes() == total(RECS1) + RECS1[0]["octets"],
             what="the second round")
    # INSERT only: the key of the second round is a row of its own
    assert backend.nrows() == len(expected(RECS1)) + 1
    s.close()
    d.stop()


def test_table_rotation_by_time(nfacctd, backend):
    """sql_history 1h with an hourly table: each bin lands in its own table."""
    base = int(time.time()) // 3600 * 3600 - 3 * 3600
    tmpl = "acct_%Y%m%d_%H"
    sf = backend.schema_file(table=tmpl)
    d = nfacctd(backend.config(extra="sql_table_version[s]: 9\nsql_history[s]: 1h\n"
                               "sql_table[s]: %s\nsql_table_schema[s]: %s\n" % (tmpl, sf)))
    s = Sender(d.port)
    # v5 flow times: header secs minus (uptime - first) ms, here 9 s before secs
    s.send(v5_datagram(RECS1, seq=0, secs=base + 600))
    s.send(v5_datagram(RECS2, seq=3, secs=base + 3600 + 600))
    t1 = time.strftime(tmpl, time.localtime(base))
    t2 = time.strftime(tmpl, time.localtime(base + 3600))
    wait_for(lambda: backend.total_bytes(t1) == total(RECS1) and
             backend.total_bytes(t2) == total(RECS2), what="rows in both hourly tables")
    assert backend.rows(t1) == expected(RECS1)
    assert backend.rows(t2) == expected(RECS2)
    stamp = backend.sql("SELECT DISTINCT stamp_inserted FROM %s" % t1)
    assert [x[0] for x in stamp] == [time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(base))]
    s.close()
    d.stop()


class Outage:
    """Make the backend fail writes and come back."""

    def __init__(self, be):
        self.be = be
        self.lock = None

    def down(self):
        if self.be.kind == "sqlite3":
            # an exclusive transaction held by another connection: writes fail (locked)
            self.lock = sqlite3.connect(str(self.be.path), timeout=30, isolation_level=None)
            self.lock.execute("BEGIN EXCLUSIVE")
        else:
            self.be.server.stop()

    def up(self):
        if self.be.kind == "sqlite3":
            self.lock.execute("COMMIT")
            self.lock.close()
        else:
            self.be.server.start()


def test_database_down_mid_run_loses_nothing(nfacctd, backend):
    d = start(nfacctd, backend)
    s = Sender(d.port)
    s.send(v5_datagram(RECS1, seq=0))
    wait_for(lambda: backend.total_bytes() == total(RECS1), what="the first round's rows")
    out = Outage(backend)
    out.down()
    try:
        mark = len(d.log_text())
        s.send(v5_datagram(RECS2, seq=3))
        d.wait_log(r"cannot write \d+ rows", timeout=SLOW, start=mark)
        # a further round while down joins the backlog
        s.send(v5_datagram(RECS1[:1], seq=5))
        d.wait_log(r"cannot write \d+ rows.*\n(.*\n)*.*cannot write", timeout=SLOW, start=mark)
    finally:
        out.up()
    want = expected(RECS1, RECS2, RECS1[:1])
    try:
        wait_for(lambda: backend.total_bytes() == sum(v[1] for v in want.values()), SLOW,
                 "the backlog written after the database came back")
    finally:
        print(backend.rows(), want)
    assert backend.rows() == want
    d.wait_log("database reachable again")
    s.close()
    d.stop()


def test_database_down_at_start(nfacctd, backend, tmp_path):
    if backend.kind == "sqlite3":
        # a database file whose folder does not exist yet cannot be opened
        backend.path = tmp_path / "later" / "acct.db"
    else:
        backend.server.stop()
    try:
        d = start(nfacctd, backend)
        d.wait_log("cannot connect to the database")
        s = Sender(d.port)
        s.send(v5_datagram(RECS1, seq=0))
        d.wait_log(r"cannot write \d+ rows", timeout=SLOW)
    finally:
        if backend.kind == "sqlite3":
            backend.path.parent.mkdir()
        else:
            backend.server.start()
    wait_for(lambda: backend.total_bytes() == total(RECS1), SLOW, "rows once the database is up")
    assert backend.rows() == expected(RECS1)
    s.close()
    d.stop()


def test_backlog_bounded_and_counted(nfacctd, tmp_path, request):
    be = Backend("sqlite3", request, tmp_path)
    be.path = tmp_path / "missing" / "acct.db"  # never writable in this test
    d = start(nfacctd, be, "sql_backlog_rows[s]: 2\n")
    s = Sender(d.port)
    s.send(v5_datagram(RECS1 + RECS2, seq=0))  # 3 keys, room for 2
    d.wait_log(r"backlog full \(sql_backlog_rows 2\): 1 rows dropped", timeout=SLOW)
    assert d.stats().outputs["s"]["dropped_records"] == 1
    s.close()
    d.stop()


def test_recovery_backup_sqlite(nfacctd, tmp_path, request):
    be = Backend("sqlite3", request, tmp_path)
    backup = tmp_path / "backup.db"
    be.path = tmp_path / "missing" / "acct.db"
    d = start(nfacctd, be, "sql_recovery_backup_host[s]: %s\n" % backup)
    s = Sender(d.port)
    s.send(v5_datagram(RECS1, seq=0))
    d.wait_log("rows written to the recovery backup", timeout=SLOW)
    be.path = backup
    assert be.rows() == expected(RECS1)
    s.close()
    d.stop()


def test_trigger_exec(nfacctd, tmp_path, request):
    be = Backend("sqlite3", request, tmp_path)
    out = tmp_path / "trigger.out"
    script = tmp_path / "trigger.sh"
    script.write_text("#!/bin/sh\necho \"$SQL_DB $SQL_TABLE $SQL_REFRESH_TIME\" >> %s\n" % out)
    script.chmod(0o755)
    d = start(nfacctd, be, "sql_trigger_exec[s]: %s\n" % script)
    wait_for(lambda: out.exists() and out.read_text().strip(), what="the trigger's output")
    assert out.read_text().splitlines()[0] == "%s acct_v9 1" % be.path
    d.stop()


def test_bad_version_for_aggregate_is_refused(tmp_path):
    from conftest import free_port, run_config_check
    rc, err = run_config_check(tmp_path, "nfacctd_port: %d\nplugins: sqlite3[s]\n"
                               "aggregate[s]: src_as\nsql_table_version[s]: 2\n"
                               "sql_db[s]: %s\n" % (free_port(), tmp_path / "x.db"))
    assert rc != 0 and "sql_table_version" in err and "src_as" in err


OPT_SCHEMA = {
    # the columns of `aggregate: peer_src_ip, src_host, dst_host` with sql_num_hosts
    "sqlite3": "CREATE TABLE %s (peer_ip_src INTEGER NOT NULL, ip_src INTEGER NOT NULL, "
               "ip_dst INTEGER NOT NULL, packets INT NOT NULL, bytes INT NOT NULL, "
               "stamp_inserted DATETIME NOT NULL, stamp_updated DATETIME, "
               "PRIMARY KEY (peer_ip_src, ip_src, ip_dst))",
    "pgsql": "CREATE TABLE %s (peer_ip_src inet NOT NULL, ip_src inet NOT NULL, "
             "ip_dst inet NOT NULL, packets BIGINT NOT NULL, bytes BIGINT NOT NULL, "
             "stamp_inserted timestamp NOT NULL, stamp_updated timestamp, "
             "PRIMARY KEY (peer_ip_src, ip_src, ip_dst))",
    "mysql": "CREATE TABLE %s (peer_ip_src VARBINARY(16) NOT NULL, "
             "ip_src VARBINARY(16) NOT NULL, ip_dst VARBINARY(16) NOT NULL, "
             "packets BIGINT UNSIGNED NOT NULL, bytes BIGINT UNSIGNED NOT NULL, "
             "stamp_inserted DATETIME NOT NULL, stamp_updated DATETIME, "
             "PRIMARY KEY (peer_ip_src, ip_src, ip_dst))",
}


def test_optimize_clauses_num_hosts_table_per_peer(nfacctd, backend):
    """sql_optimize_clauses with the aggregate's own columns, addresses as numbers
    (INET6_ATON on MySQL, integers on SQLite; PostgreSQL keeps inet) and a table per
    exporter ($peer_src_ip)."""
    tmpl = "acct_$peer_src_ip"
    sf = backend.tmp / "opt.sql"
    sf.write_text(OPT_SCHEMA[backend.kind] % tmpl)
    body = backend.config(extra="sql_optimize_clauses[s]: true\nsql_num_hosts[s]: true\n"
                          "sql_table[s]: %s\nsql_table_schema[s]: %s\n" % (tmpl, sf))
    d = nfacctd(body.replace("aggregate[s]: " + AGG, "aggregate[s]: peer_src_ip, src_host, "
                             "dst_host"))
    s = Sender(d.port)
    s.send(v5_datagram(RECS1, seq=0))
    table = "acct_127_0_0_1"
    wait_for(lambda: backend.total_bytes(table) == total(RECS1), what="rows in the peer's table")
    if backend.kind == "mysql":
        q = "SELECT INET6_NTOA(peer_ip_src), INET6_NTOA(ip_src), INET6_NTOA(ip_dst), bytes FROM %s"
    elif backend.kind == "pgsql":
        q = "SELECT host(peer_ip_src), host(ip_src), host(ip_dst), bytes FROM %s"
    else:
        q = "SELECT peer_ip_src, ip_src, ip_dst, bytes FROM %s"
    got = sorted(backend.sql(q % table))
    n = lambda a: str(int.from_bytes(socket.inet_aton(a), "big"))  # noqa: E731
    conv = n if backend.kind == "sqlite3" else (lambda a: a)
    # the input's aggregates by (src, dst)
    folded = {}
    for (src, dst, _, _, _), v in expected(RECS1).items():
        folded[(src, dst)] = folded.get((src, dst), 0) + v[1]
    want = sorted((conv("127.0.0.1"), conv(a), conv(b), str(v)) for (a, b), v in folded.items())
    assert got == want
    s.close()
    d.stop()


def test_startup_delay_holds_rows_until_exit(nfacctd, tmp_path, request):
    """sql_startup_delay: rounds are kept, not written, until the delay ends (or exit)."""
    be = Backend("sqlite3", request, tmp_path)
    d = start(nfacctd, be, "sql_startup_delay[s]: 3600\n")
    s = Sender(d.port)
    s.send(v5_datagram(RECS1, seq=0))
    d.wait_log(r"flushed 2 entries")  # the round reached the output...
    assert be.sql("SELECT count(*) FROM sqlite_master WHERE name='acct_v9'") == [("0",)]
    s.close()
    d.stop()  # ...and the final flush writes what was held
    assert be.rows() == expected(RECS1)


class PmacctSql(PmacctDaemon):
    """Debian's nfacctd with one SQL plugin: ready at its plugin's first purge."""

    kind = "sqlite3"

    def wait_ready(self, timeout=10.0):
        wait_for(lambda: READY in self.log_text() and
                 "( s/%s ): *** Purging cache - END" % self.kind in self.log_text(), timeout,
                 "pmacct %s readiness" % self.kind)


PMACCT_SCHEMAS = {"sqlite3": "pmacct-create-table_v9.sqlite3",
                  "pgsql": "pmacct-create-table_v9.pgsql",
                  "mysql": "pmacct-create-db_v9.mysql"}


def test_rows_match_pmacct(nfacctd, backend, tmp_path):
    """Same input, pmacct's own v9 table: the same rows as Debian's pmacct writes."""
    schema = Path("/usr/share/doc/pmacct/sql") / PMACCT_SCHEMAS[backend.kind]
    if not PMACCT_NFACCTD.exists() or not schema.exists():
        pytest.skip("Debian's pmacct (nfacctd and its SQL schemas) is not installed")
    import re
    create = re.search(r"(?is)create table acct_v9 \(.*?\n\);", schema.read_text()).group(0)
    recs = RECS1 + [dict(src="10.0.0.1", dst="10.0.0.2", sport=1000, dport=80, proto=6,
                         packets=1, octets=60, tcp_flags=16, tos=4),
                    dict(src="10.0.0.1", dst="10.0.0.2", sport=1000, dport=80, proto=6,
                         packets=1, octets=60, tos=4)]
    theirs = Backend(backend.kind, _Req(backend), tmp_path / "pmacct") \
        if backend.kind != "sqlite3" else None
    if theirs is None:
        (tmp_path / "pmacct").mkdir()
        theirs = Backend("sqlite3", None, tmp_path / "pmacct")
    for be in (backend, theirs):
        if be.kind == "sqlite3":
            c = sqlite3.connect(str(be.path))
            c.executescript(create)
            c.close()
        else:
            be.server.sql(be.db, create)
    extra = ("sql_table_version: 9\nsql_table[s]: acct_v9\nsql_history[s]: 1m\n")
    agg = "src_host, dst_host, proto, src_port, dst_port, tos, tcpflags"
    ours_conf = backend.config(extra=extra).replace("aggregate[s]: " + AGG, "aggregate[s]: " + agg)
    their_conf = theirs.config(extra=extra).replace("aggregate[s]: " + AGG,
                                                    "aggregate[s]: " + agg)
    port = free_port()
    PmacctSql.kind = backend.kind
    p = PmacctSql(tmp_path, "nfacctd_port: %d\nnfacctd_ip: 127.0.0.1\n" % port + their_conf,
                  plugins=())
    p.port = port
    p.start()
    d = nfacctd(ours_conf)
    try:
        dgram = v5_datagram(recs)  # one datagram: the same flow times, the same bins
        for daemon in (p, d):
            s = Sender(daemon.port)
            s.send(dgram)
            s.close()
        port_cols = "port_src, port_dst"
        q = ("SELECT tag, class_id, mac_src, mac_dst, vlan, as_src, as_dst, ip_src, ip_dst, "
             "%s, tcp_flags, ip_proto, tos, packets, bytes, flows, stamp_inserted FROM acct_v9 "
             "ORDER BY ip_src, port_src" % port_cols)
        want = sum(r["octets"] for r in recs)
        for be in (backend, theirs):
            wait_for(lambda: be.total_bytes() == want, 30, "%s rows" % be.db)
        assert backend.sql(q) == theirs.sql(q)
    finally:
        p.stop(timeout=20)
    d.stop()


class _Req:
    """What Backend asks of pytest's request: the running servers."""

    def __init__(self, be):
        self.be = be

    def getfixturevalue(self, name):
        return self.be.server
