/*
 * An SQL client library behind one small interface, so out/sql.c (the
 * output: batching, retries, rotation) is the same for SQLite, PostgreSQL
 * and MySQL/MariaDB.  Every call runs on the output's writer thread and may
 * block; each returns 0, or -1 with the library's message in err.
 */
#ifndef NETACCT_OUT_SQL_BACKEND_H
#define NETACCT_OUT_SQL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* Where to connect (SQLite: db is the file). */
struct sql_target {
	const char *host; /* a name, an address or (pgsql, mysql) a socket path */
	int port;	  /* 0: the library's default */
	const char *user, *passwd, *db;
};

struct sql_conn;

struct sql_backend {
	const char *name;
	int (*connect)(struct sql_conn **c, const struct sql_target *t, char *err, size_t errlen);
	void (*close)(struct sql_conn *c);
	/* One statement, or several separated by ';' (schema files); *changed: rows matched. */
	int (*exec)(struct sql_conn *c, const char *sql, uint64_t *changed, char *err,
		    size_t errlen);
	/* 1 when the table exists, 0 when not, -1 on error. */
	int (*table_exists)(struct sql_conn *c, const char *table, char *err, size_t errlen);
	/* PostgreSQL COPY: head is "COPY ... FROM STDIN", data the rows; NULL elsewhere. */
	int (*copy)(struct sql_conn *c, const char *head, const char *data, size_t len, char *err,
		    size_t errlen);
};

/* NULL when this build has no such library. */
extern const struct sql_backend *const sql_backend_sqlite, *const sql_backend_pgsql,
							       *const sql_backend_mysql;

#endif
