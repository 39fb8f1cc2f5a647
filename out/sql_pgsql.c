/* The PostgreSQL backend of the SQL output (out/sql_backend.h), on libpq. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/sql_backend.h"

struct sql_conn {
	PGconn *pg;
};

/* libpq's messages end with a newline: keep log lines on one line. */
static void pg_err(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg && *msg ? msg : "unknown error");
	size_t l = strlen(err);
	while (l && (err[l - 1] == '\n' || err[l - 1] == ' '))
		err[--l] = '\0';
	for (char *p = err; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

static int pg_connect(struct sql_conn **out, const struct sql_target *t, char *err, size_t errlen)
{
	char port[16];
	snprintf(port, sizeof port, "%d", t->port);
	const char *keys[] = {
	    "host", "port", "user", "password", "dbname", "connect_timeout", "application_name",
	    NULL};
	const char *vals[] = {
	    t->host, t->port ? port : NULL, t->user, t->passwd, t->db, "5", "netacct", NULL};
	/* a NULL value ends libpq's list early: give every key a value */
	if (!t->port)
		vals[1] = "";
	struct sql_conn *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->pg = PQconnectdbParams(keys, vals, 0);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		pg_err(err, errlen, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		PQfinish(c->pg);
		free(c);
		return -1;
	}
	PQsetClientEncoding(c->pg, "UTF8");
	*out = c;
	return 0;
}

static void pg_close(struct sql_conn *c)
{
	if (!c)
		return;
	PQfinish(c->pg);
	free(c);
}

static int pg_exec(struct sql_conn *c, const char *sql, uint64_t *changed, char *err, size_t errlen)
{
	PGresult *r = PQexec(c->pg, sql);
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		pg_err(err, errlen, r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
		PQclear(r);
		return -1;
	}
	if (changed)
		*changed = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

static int pg_table_exists(struct sql_conn *c, const char *table, char *err, size_t errlen)
{
	const char *params[] = {table};
	PGresult *r = PQexecParams(c->pg, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, params,
				   NULL, NULL, 0);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_err(err, errlen, r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
		PQclear(r);
		return -1;
	}
	int yes = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return yes;
}

static int pg_copy(struct sql_conn *c, const char *head, const char *data, size_t len, char *err,
		   size_t errlen)
{
	PGresult *r = PQexec(c->pg, head);
	if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
		pg_err(err, errlen, r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	int ok = PQputCopyData(c->pg, data, (int)len) == 1;
	if (PQputCopyEnd(c->pg, ok ? NULL : "netacct: sending failed") != 1)
		ok = 0;
	/* the COPY's own result says whether the rows were accepted */
	while ((r = PQgetResult(c->pg))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			if (ok)
				pg_err(err, errlen, PQresultErrorMessage(r));
			ok = 0;
		}
		PQclear(r);
	}
	if (!ok && !err[0])
		pg_err(err, errlen, PQerrorMessage(c->pg));
	return ok ? 0 : -1;
}

static const struct sql_backend pg = {"pgsql", pg_connect,	pg_close,
				      pg_exec, pg_table_exists, pg_copy};
const struct sql_backend *const sql_backend_pgsql = &pg;
