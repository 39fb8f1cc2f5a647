/*
 * The SQL outputs: `plugins: sqlite3[x]`, `pgsql[x]`, `mysql[x]`.  One
 * module, three backends (out/sql_backend.h), statements from
 * out/sql_build.h.
 *
 * Each round's merged table is written on the writer thread, in one
 * transaction: per row an UPDATE adding the counters and, when it matched
 * nothing, an INSERT (sql_dont_try_update: INSERT only, as multi-values
 * statements with sql_multi_values, or COPY on PostgreSQL with
 * sql_use_copy).  When a round cannot be written (database down, a
 * statement refused) the transaction is rolled back and the round is kept
 * in a backlog table, merged with the next rounds (counters of the same key
 * and time bin add up, which is what the UPDATE would have done) and
 * written with them; the backlog is bounded by sql_backlog_rows, rows
 * beyond are dropped and counted.  sql_recovery_backup_host, when set, is
 * tried before a round goes to the backlog.  Workers never wait for the
 * database: a writer stuck on it only fills its own bounded queue.
 */
#include <errno.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "out/buf.h"
#include "out/output.h"
#include "out/sql_backend.h"
#include "out/sql_build.h"

#if !HAVE_SQLITE3
const struct sql_backend *const sql_backend_sqlite = NULL;
#endif
#if !HAVE_PGSQL
const struct sql_backend *const sql_backend_pgsql = NULL;
#endif
#if !HAVE_MYSQL
const struct sql_backend *const sql_backend_mysql = NULL;
#endif

extern char **environ;

#define P(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
static const struct conf_key sql_rows[] = {
    CONF_ROW("sql_host", CT_STRING, P(sql_host), D_ALL, "localhost", NULL, 0, 0,
	     "Database server: a name, an address or a Unix socket path (pgsql: its directory)."),
    CONF_ROW("sql_port", CT_INT, P(sql_port), D_ALL, "0", NULL, 0, 65535,
	     "Database server port; 0: the client library's default."),
    CONF_ROW("sql_user", CT_STRING, P(sql_user), D_ALL, "pmacct", NULL, 0, 0, "Database user."),
    CONF_ROW("sql_passwd", CT_STRING, P(sql_passwd), D_ALL, "arealsmartpwd", NULL, 0, 0,
	     "Database password."),
    CONF_ROW("sql_db", CT_STRING, P(sql_db), D_ALL, "", NULL, 0, 0,
	     "Database name (sqlite3: the database file); unset: pmacct, /tmp/pmacct.db for "
	     "sqlite3."),
    CONF_ROW("sql_table", CT_STRING, P(sql_table), D_ALL, "", NULL, 0, 0,
	     "Table; strftime(3) variables (time bin start with sql_history, else the interval "
	     "start) and $peer_src_ip, $peer_dst_ip, $tag, $tag2 (per row) make it rotate. "
	     "Unset: acct (v1) or acct_v<N>."),
    CONF_ROW("sql_table_version", CT_INT, P(sql_table_version), D_ALL, "1", NULL, 1, 9,
	     "pmacct's default table layouts 1..9 (schemas in contrib/sql/); ignored with "
	     "sql_optimize_clauses."),
    CONF_ROW("sql_table_schema", CT_STRING, P(sql_table_schema), D_ALL, "", NULL, 0, 0,
	     "File with the CREATE TABLE statement(s), expanded like sql_table and run when the "
	     "table does not exist."),
    CONF_ROW("sql_refresh_time", CT_INT, P(sql_refresh_time), D_ALL, "60", NULL, 1, 86400,
	     "Seconds between writes to the database."),
    CONF_ROW("sql_history", CT_DURATION, P(sql_history), D_ALL, "", NULL, 0, 31 * 86400,
	     "Time bins (e.g. 5m, 1h): rows per bin, stamp_inserted is the bin start."),
    CONF_ROW("sql_history_roundoff", CT_ENUM, P(sql_history_roundoff), D_ALL, "", "m|h|d|w|M", 0, 0,
	     "Accepted for compatibility; bins are always aligned to multiples of "
	     "sql_history since the epoch."),
    CONF_ROW("sql_cache_entries", CT_INT, P(sql_cache_entries), D_ALL, "32771", NULL, 1, 1 << 28,
	     "Initial table size hint per worker (tables grow as needed)."),
    CONF_ROW("sql_dont_try_update", CT_BOOL, P(sql_dont_try_update), D_ALL, "false", NULL, 0, 0,
	     "INSERT only, no UPDATE first (needs sql_history equal to sql_refresh_time to avoid "
	     "duplicate keys)."),
    CONF_ROW("sql_multi_values", CT_INT, P(sql_multi_values), D_ALL, "0", NULL, 0, 1 << 28,
	     "With sql_dont_try_update: bytes of a multi-values INSERT statement; 0: one row per "
	     "INSERT."),
    CONF_ROW("sql_use_copy", CT_BOOL, P(sql_use_copy), D_ALL, "false", NULL, 0, 0,
	     "pgsql with sql_dont_try_update: write with COPY instead of INSERT."),
    CONF_ROW("sql_optimize_clauses", CT_BOOL, P(sql_optimize_clauses), D_ALL, "false", NULL, 0, 0,
	     "Write only the aggregated primitives' columns (your own schema)."),
    CONF_ROW("sql_num_hosts", CT_BOOL, P(sql_num_hosts), D_ALL, "false", NULL, 0, 0,
	     "Addresses as numbers: INET6_ATON() on mysql (IPv4 and IPv6), 32-bit integers for "
	     "IPv4 on sqlite3; pgsql keeps inet."),
    CONF_ROW("sql_startup_delay", CT_INT, P(sql_startup_delay), D_ALL, "0", NULL, 0, 86400,
	     "Seconds after start before the first write (rows are kept meanwhile, up to "
	     "sql_backlog_rows; written at exit if it comes first)."),
    CONF_ROW("sql_trigger_exec", CT_STRING, P(sql_trigger_exec), D_ALL, "", NULL, 0, 0,
	     "Executable run after writes, with SQL_DB, SQL_TABLE, EFFECTIVE_SQL_TABLE, "
	     "SQL_HOST, SQL_USER, SQL_REFRESH_TIME, TOTAL_ELEM_NUMBER in its environment."),
    CONF_ROW("sql_trigger_time", CT_DURATION, P(sql_trigger_time), D_ALL, "", NULL, 0, 31 * 86400,
	     "Run sql_trigger_exec at this period (aligned); unset: every write."),
    CONF_ROW("sql_recovery_backup_host", CT_STRING, P(sql_recovery_backup_host), D_ALL, "", NULL, 0,
	     0, "Written to when the database fails (sqlite3: another database file)."),
    CONF_ROW("sql_backlog_rows", CT_INT, P(sql_backlog_rows), D_ALL, "1000000", NULL, 0, 1 << 30,
	     "netacct: rows kept while the database cannot be written; beyond, rows are dropped "
	     "and counted (0: keep nothing)."),
};
#undef P
static const struct conf_key_table sql_keys =
    CONF_TABLE("sql", "The SQL outputs: sqlite3, pgsql and mysql (MySQL/MariaDB).", sql_rows);
static const struct conf_key_table *const sql_tables[] = {&sql_keys, NULL};

#define KNOWN_TABLES 32

struct sql_state {
	const struct sql_backend *be;
	enum sql_dialect d;
	struct sql_layout lay;
	struct sql_target tgt, backup;
	struct sql_conn *conn;
	struct agg_table backlog;
	char *schema; /* sql_table_schema's text, NULL: none */
	const char *table_tmpl;
	int per_entry; /* table name has $ variables */
	time_t write_after;
	int down; /* the last attempt failed (log the recovery) */
	struct obuf stmt, batch;
	/* tables known to exist (sql_table_schema): a small ring */
	char known[KNOWN_TABLES][256];
	unsigned nknown;
	/* the last expanded name per time */
	time_t name_t;
	char name[256];
	/* trigger */
	pid_t trigger_pid;
	time_t next_trigger;
	uint64_t last_rows;
	/* counters (writer thread) */
	uint64_t rows_written, inserts, updates, failures, dropped, reconnects;
};

static void sql_log(struct out_instance *oi, enum log_level lvl, const char *fmt, const char *a,
		    const char *b)
{
	nt_log(oi->log, lvl, oi->component, fmt, a, b);
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, errlen, "key 'sql_table_schema': cannot read %s: %s", path,
			 strerror(errno));
		return NULL;
	}
	struct obuf b;
	obuf_init(&b, 1 << 20);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		obuf_append(&b, chunk, n);
	int bad = ferror(fp) || obuf_status(&b) < 0 || b.len == 0;
	fclose(fp);
	if (bad) {
		snprintf(err, errlen,
			 "key 'sql_table_schema': %s is empty, unreadable or over 1 MiB", path);
		obuf_free(&b);
		return NULL;
	}
	return b.data;
}

static void state_free(struct sql_state *s)
{
	if (!s)
		return;
	if (s->conn)
		s->be->close(s->conn);
	agg_table_free(&s->backlog);
	obuf_free(&s->stmt);
	obuf_free(&s->batch);
	free(s->schema);
	free(s);
}

static int sql_open(struct out_instance *oi, char *err, size_t errlen)
{
	const struct conf_plugin *pc = oi->conf;
	struct sql_state *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (strcmp(pc->type, "sqlite3") == 0) {
		s->be = sql_backend_sqlite;
		s->d = SQL_SQLITE;
	} else if (strcmp(pc->type, "pgsql") == 0) {
		s->be = sql_backend_pgsql;
		s->d = SQL_PGSQL;
	} else {
		s->be = sql_backend_mysql;
		s->d = SQL_MYSQL;
	}
	if (!s->be) {
		snprintf(err, errlen, "plugin %s: this netacct was built without the %s library",
			 pc->name, pc->type);
		free(s);
		return -1;
	}
	if (sql_layout_build(&s->lay, &oi->ks, s->d, pc->sql_table_version,
			     pc->sql_optimize_clauses, pc->sql_num_hosts, err, errlen) < 0) {
		free(s);
		return -1;
	}
	const char *db = pc->sql_db && *pc->sql_db ? pc->sql_db
			 : s->d == SQL_SQLITE	   ? "/tmp/pmacct.db"
						   : "pmacct";
	s->tgt = (struct sql_target){pc->sql_host, pc->sql_port, pc->sql_user, pc->sql_passwd, db};
	s->backup = s->tgt;
	if (pc->sql_recovery_backup_host && *pc->sql_recovery_backup_host) {
		if (s->d == SQL_SQLITE)
			s->backup.db = pc->sql_recovery_backup_host;
		else
			s->backup.host = pc->sql_recovery_backup_host;
	}
	s->table_tmpl = pc->sql_table && *pc->sql_table ? pc->sql_table
							: sql_default_table(pc->sql_table_version);
	s->per_entry = sql_template_per_entry(s->table_tmpl);
	if (pc->sql_table_schema && *pc->sql_table_schema &&
	    !(s->schema = read_file(pc->sql_table_schema, err, errlen))) {
		free(s);
		return -1;
	}
	if (agg_table_init(&s->backlog, oi->ks.key_len, 1024) < 0) {
		snprintf(err, errlen, "out of memory");
		state_free(s);
		return -1;
	}
	s->backlog.max_entries = (uint64_t)pc->sql_backlog_rows;
	obuf_init(&s->stmt, 0);
	obuf_init(&s->batch, 0);
	s->write_after = time(NULL) + pc->sql_startup_delay;
	s->trigger_pid = -1;
	if (pc->sql_use_copy && (s->d != SQL_PGSQL || !pc->sql_dont_try_update))
		nt_log(oi->log, LOG_LVL_WARN, oi->component,
		       "sql_use_copy applies to pgsql with sql_dont_try_update only: ignored");
	oi->state = s;
	/* a first connection now gives an early, clear message; failing is not fatal */
	char why[512] = "";
	if (s->be->connect(&s->conn, &s->tgt, why, sizeof why) < 0) {
		s->conn = NULL;
		s->down = 1;
		sql_log(oi, LOG_LVL_WARN,
			"cannot connect to the database (%s): %s; rows are kept and the connection "
			"is retried every round",
			db, why);
	} else {
		sql_log(oi, LOG_LVL_INFO, "connected to %s database %s", s->be->name, db);
	}
	return 0;
}

/* Fold t into the backlog (bounded); the rows that did not fit are counted. */
static void keep(struct out_instance *oi, struct sql_state *s, const struct agg_table *t)
{
	uint64_t pos = 0, before = s->backlog.dropped;
	const struct agg_entry *e;
	if (t == &s->backlog)
		return;
	/* max_entries 0 means unbounded to the table; sql_backlog_rows 0 means keep nothing */
	if (oi->conf->sql_backlog_rows > 0)
		while ((e = agg_table_next(t, &pos)))
			agg_table_add(&s->backlog, e->key, agg_hash(e->key, t->key_len), &e->c);
	uint64_t lost = oi->conf->sql_backlog_rows > 0 ? s->backlog.dropped - before : t->count;
	if (lost) {
		s->dropped += lost;
		atomic_fetch_add(&oi->dropped_records, lost);
		nt_log(oi->log, LOG_LVL_ERROR, oi->component,
		       "backlog full (sql_backlog_rows %llu): %llu rows dropped",
		       (unsigned long long)s->backlog.max_entries, (unsigned long long)lost);
	}
}

static int known(struct sql_state *s, const char *name)
{
	unsigned n = s->nknown < KNOWN_TABLES ? s->nknown : KNOWN_TABLES;
	for (unsigned i = 0; i < n; i++)
		if (strcmp(s->known[i], name) == 0)
			return 1;
	return 0;
}

/* Create the table from sql_table_schema when it does not exist. */
static int ensure_table(struct out_instance *oi, struct sql_state *s, struct sql_conn *c,
			const char *name, time_t t, const struct agg_entry *e, char *err,
			size_t errlen)
{
	if (!s->schema || known(s, name))
		return 0;
	int ex = s->be->table_exists(c, name, err, errlen);
	if (ex < 0)
		return -1;
	if (!ex) {
		size_t cap = strlen(s->schema) * 2 + 8192;
		char *text = malloc(cap);
		if (!text) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		int rc = sql_expand(text, cap, s->schema, t, s->lay.utc, &oi->ks, e);
		if (rc < 0)
			snprintf(err, errlen, "sql_table_schema does not expand");
		else
			rc = s->be->exec(c, text, NULL, err, errlen);
		free(text);
		if (rc < 0)
			return -1;
		nt_log(oi->log, LOG_LVL_INFO, oi->component, "created table %s", name);
	}
	snprintf(s->known[s->nknown++ % KNOWN_TABLES], sizeof s->known[0], "%s", name);
	return 0;
}

/* Where an entry goes; the name is re-expanded only when it can change. */
static int table_for(struct out_instance *oi, struct sql_state *s, const struct agg_entry *e,
		     time_t t, char *out, size_t len)
{
	if (!s->per_entry && s->name[0] && s->name_t == t) {
		snprintf(out, len, "%s", s->name);
		return 0;
	}
	if (sql_expand(out, len, s->table_tmpl, t, s->lay.utc, &oi->ks, e) < 0)
		return -1;
	if (!s->per_entry) {
		snprintf(s->name, sizeof s->name, "%s", out);
		s->name_t = t;
	}
	return 0;
}

/* Send what the batch holds (multi-values INSERT or COPY rows). */
static int flush_batch(struct sql_state *s, struct sql_conn *c, const char *table, int copy,
		       char *err, size_t errlen)
{
	if (!s->batch.len)
		return 0;
	int rc;
	if (obuf_status(&s->batch) < 0) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	} else if (copy) {
		obuf_reset(&s->stmt);
		sql_build_copy_head(&s->stmt, &s->lay, table);
		rc = s->be->copy(c, s->stmt.data, s->batch.data, s->batch.len, err, errlen);
	} else {
		rc = s->be->exec(c, s->batch.data, NULL, err, errlen);
	}
	obuf_reset(&s->batch);
	return rc;
}

/* One table in one transaction on connection c; -1 + err rolls it back. */
static int write_table(struct out_instance *oi, struct sql_state *s, struct sql_conn *c,
		       const struct agg_table *t, const struct out_interval *iv, char *err,
		       size_t errlen)
{
	const struct conf_plugin *pc = oi->conf;
	int insert_only = pc->sql_dont_try_update;
	int copy = insert_only && pc->sql_use_copy && s->be->copy;
	size_t multi = insert_only && !copy ? (size_t)pc->sql_multi_values : 0;
	time_t now = time(NULL);
	char table[256], batch_table[256] = "";
	uint64_t pos = 0, ins = 0, upd = 0;
	const struct agg_entry *e;

	/*
	 * Tables first, outside the transaction: MySQL commits an open
	 * transaction on CREATE TABLE, which would split the round.
	 */
	while (s->schema && (e = agg_table_next(t, &pos))) {
		struct sql_stamps st;
		sql_entry_stamps(&s->lay, &oi->ks, e, now, &st);
		time_t when = s->lay.history ? st.inserted : iv->start;
		if (table_for(oi, s, e, when, table, sizeof table) < 0) {
			snprintf(err, errlen, "sql_table '%s' expands to nothing", s->table_tmpl);
			return -1;
		}
		if (ensure_table(oi, s, c, table, when, e, err, errlen) < 0)
			return -1;
	}
	pos = 0;
	if (s->be->exec(c, "BEGIN", NULL, err, errlen) < 0)
		return -1;
	obuf_reset(&s->batch);
	while ((e = agg_table_next(t, &pos))) {
		struct sql_stamps st;
		uint64_t changed = 0;
		sql_entry_stamps(&s->lay, &oi->ks, e, now, &st);
		time_t when = s->lay.history ? st.inserted : iv->start;
		if (table_for(oi, s, e, when, table, sizeof table) < 0) {
			snprintf(err, errlen, "sql_table '%s' expands to nothing", s->table_tmpl);
			goto fail;
		}
		if ((copy || multi) && batch_table[0] && strcmp(table, batch_table) != 0 &&
		    flush_batch(s, c, batch_table, copy, err, errlen) < 0)
			goto fail;
		if (!insert_only) {
			obuf_reset(&s->stmt);
			if (sql_build_update(&s->stmt, &s->lay, &oi->ks, table, e, &st) < 0 ||
			    s->be->exec(c, s->stmt.data, &changed, err, errlen) < 0)
				goto fail;
			if (changed) {
				upd++;
				continue;
			}
		}
		if (copy) {
			sql_build_copy_row(&s->batch, &s->lay, &oi->ks, e, &st);
			snprintf(batch_table, sizeof batch_table, "%s", table);
		} else if (multi) {
			if (!s->batch.len)
				sql_build_insert_head(&s->batch, &s->lay, table);
			else
				obuf_puts(&s->batch, ", ");
			sql_build_values(&s->batch, &s->lay, &oi->ks, e, &st);
			snprintf(batch_table, sizeof batch_table, "%s", table);
			if (s->batch.len >= multi && flush_batch(s, c, table, 0, err, errlen) < 0)
				goto fail;
		} else {
			obuf_reset(&s->stmt);
			sql_build_insert_head(&s->stmt, &s->lay, table);
			if (sql_build_values(&s->stmt, &s->lay, &oi->ks, e, &st) < 0 ||
			    s->be->exec(c, s->stmt.data, NULL, err, errlen) < 0)
				goto fail;
		}
		ins++;
	}
	if (flush_batch(s, c, batch_table, copy, err, errlen) < 0)
		goto fail;
	if (s->be->exec(c, "COMMIT", NULL, err, errlen) < 0)
		goto fail;
	s->inserts += ins;
	s->updates += upd;
	s->rows_written += ins + upd;
	return 0;
fail:;
	char ignore[64];
	obuf_reset(&s->batch);
	s->be->exec(c, "ROLLBACK", NULL, ignore, sizeof ignore);
	return -1;
}

/* Write t to the primary, else the backup; 0 when one of them took it. */
static int write_somewhere(struct out_instance *oi, struct sql_state *s, const struct agg_table *t,
			   const struct out_interval *iv)
{
	char err[512] = "";
	if (!s->conn) {
		if (s->be->connect(&s->conn, &s->tgt, err, sizeof err) < 0)
			s->conn = NULL;
		else
			s->reconnects++;
	}
	if (s->conn) {
		if (write_table(oi, s, s->conn, t, iv, err, sizeof err) == 0) {
			if (s->down)
				nt_log(oi->log, LOG_LVL_INFO, oi->component,
				       "database reachable again: %llu rows written",
				       (unsigned long long)t->count);
			s->down = 0;
			return 0;
		}
		/* a broken connection is re-made next round; a refused statement too */
		s->be->close(s->conn);
		s->conn = NULL;
		s->nknown = 0;
	}
	s->failures++;
	nt_log(oi->log, LOG_LVL_WARN, oi->component,
	       "cannot write %llu rows to %s: %s; kept, retrying next round",
	       (unsigned long long)t->count, s->tgt.db, err);
	s->down = 1;
	if (s->backup.host != s->tgt.host || s->backup.db != s->tgt.db) {
		struct sql_conn *b = NULL;
		char berr[512] = "";
		int rc = s->be->connect(&b, &s->backup, berr, sizeof berr);
		if (rc == 0) {
			s->nknown = 0; /* tables on the backup are its own */
			rc = write_table(oi, s, b, t, iv, berr, sizeof berr);
			s->nknown = 0;
			s->be->close(b);
		}
		if (rc == 0) {
			nt_log(
			    oi->log, LOG_LVL_WARN, oi->component,
			    "%llu rows written to the recovery backup (sql_recovery_backup_host)",
			    (unsigned long long)t->count);
			return 0;
		}
		nt_log(oi->log, LOG_LVL_WARN, oi->component, "recovery backup failed too: %s",
		       berr);
	}
	return -1;
}

static int sql_write(struct out_instance *oi, const struct agg_table *t,
		     const struct out_interval *iv)
{
	struct sql_state *s = oi->state;
	const struct agg_table *src = t;
	if (s->backlog.count || time(NULL) < s->write_after) {
		keep(oi, s, t);
		if (time(NULL) < s->write_after && !iv->final)
			return 0; /* sql_startup_delay: held, written later */
		src = &s->backlog;
	}
	s->last_rows = src->count;
	if (src->count == 0)
		return 0;
	if (write_somewhere(oi, s, src, iv) == 0) {
		if (src == &s->backlog)
			agg_table_clear(&s->backlog);
		return 0;
	}
	if (src == t) /* else t is already in the backlog */
		keep(oi, s, t);
	return -1; /* kept: retried next round, and once more at close */
}

static void run_trigger(struct out_instance *oi, struct sql_state *s)
{
	const struct conf_plugin *pc = oi->conf;
	if (s->trigger_pid > 0) {
		if (waitpid(s->trigger_pid, NULL, WNOHANG) == 0) {
			nt_log(oi->log, LOG_LVL_WARN, oi->component,
			       "sql_trigger_exec still running: this run skipped");
			return;
		}
		s->trigger_pid = -1;
	}
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 8, sizeof *env);
	char vars[7][600];
	if (!env)
		return;
	memcpy(env, environ, n * sizeof *env);
	snprintf(vars[0], sizeof vars[0], "SQL_DB=%s", s->tgt.db);
	snprintf(vars[1], sizeof vars[1], "SQL_TABLE=%s", s->table_tmpl);
	snprintf(vars[2], sizeof vars[2], "EFFECTIVE_SQL_TABLE=%s", s->name);
	snprintf(vars[3], sizeof vars[3], "SQL_HOST=%s", s->tgt.host ? s->tgt.host : "");
	snprintf(vars[4], sizeof vars[4], "SQL_USER=%s", s->tgt.user ? s->tgt.user : "");
	snprintf(vars[5], sizeof vars[5], "SQL_REFRESH_TIME=%d", oi->refresh);
	snprintf(vars[6], sizeof vars[6], "TOTAL_ELEM_NUMBER=%llu",
		 (unsigned long long)s->last_rows);
	for (int i = 0; i < 7; i++)
		env[n + (size_t)i] = vars[i];
	char *argv[] = {pc->sql_trigger_exec, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, pc->sql_trigger_exec, NULL, NULL, argv, env);
	free(env);
	if (rc != 0)
		nt_log(oi->log, LOG_LVL_ERROR, oi->component, "sql_trigger_exec %s: %s",
		       pc->sql_trigger_exec, strerror(rc));
	else
		s->trigger_pid = pid;
}

static void sql_tick(struct out_instance *oi, const struct out_interval *iv)
{
	struct sql_state *s = oi->state;
	const struct conf_plugin *pc = oi->conf;
	if (!pc->sql_trigger_exec || !*pc->sql_trigger_exec)
		return;
	if (pc->sql_trigger_time > 0) {
		time_t period = pc->sql_trigger_time;
		time_t aligned = iv->end - iv->end % period;
		if (!s->next_trigger) /* the first aligned boundary after start */
			s->next_trigger = aligned + period;
		if (iv->end < s->next_trigger)
			return;
		s->next_trigger = aligned + period;
	}
	run_trigger(oi, s);
}

static void sql_stats(struct out_instance *oi, struct obuf *line)
{
	const struct sql_state *s = oi->state;
	obuf_printf(line,
		    " rows_written=%llu inserts=%llu updates=%llu failed_writes=%llu "
		    "backlog_rows=%llu dropped_rows=%llu reconnects=%llu",
		    (unsigned long long)s->rows_written, (unsigned long long)s->inserts,
		    (unsigned long long)s->updates, (unsigned long long)s->failures,
		    (unsigned long long)s->backlog.count, (unsigned long long)s->dropped,
		    (unsigned long long)s->reconnects);
}

static void sql_close(struct out_instance *oi)
{
	struct sql_state *s = oi->state;
	/*
	 * Rows still held (sql_startup_delay, or a database that failed the last
	 * round) get one last try: the writer has stopped, so this is the only
	 * thread touching the state.
	 */
	if (s && s->backlog.count) {
		time_t now = time(NULL);
		struct out_interval iv = {.start = now - oi->refresh, .end = now, .final = 1};
		if (write_somewhere(oi, s, &s->backlog, &iv) == 0) {
			nt_log(oi->log, LOG_LVL_INFO, oi->component, "wrote %llu held rows at exit",
			       (unsigned long long)s->backlog.count);
		} else {
			s->dropped += s->backlog.count;
			atomic_fetch_add(&oi->dropped_records, s->backlog.count);
			nt_log(oi->log, LOG_LVL_ERROR, oi->component,
			       "exiting with %llu rows not written: database unreachable",
			       (unsigned long long)s->backlog.count);
		}
		agg_table_clear(&s->backlog);
	}
	if (s && s->trigger_pid > 0)
		waitpid(s->trigger_pid, NULL, 0);
	state_free(s);
	oi->state = NULL;
}

#define SQL_MODULE(sym, tname)                                                                     \
	const struct out_module sym = {                                                            \
	    .sinks = OUT_SINK_TABLE,                                                               \
	    .conf = {.type = tname, .tables = sql_tables},                                         \
	    .refresh_off = offsetof(struct conf_plugin, sql_refresh_time),                         \
	    .history_off = offsetof(struct conf_plugin, sql_history),                              \
	    .cache_entries_off = offsetof(struct conf_plugin, sql_cache_entries),                  \
	    .open = sql_open,                                                                      \
	    .write = sql_write,                                                                    \
	    .tick = sql_tick,                                                                      \
	    .stats = sql_stats,                                                                    \
	    .close = sql_close,                                                                    \
	}

SQL_MODULE(out_sqlite3_module, "sqlite3");
SQL_MODULE(out_pgsql_module, "pgsql");
SQL_MODULE(out_mysql_module, "mysql");
