/* The MySQL/MariaDB backend of the SQL output (out/sql_backend.h), on libmariadb. */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/sql_backend.h"

struct sql_conn {
	MYSQL *my;
};

static int my_connect(struct sql_conn **out, const struct sql_target *t, char *err, size_t errlen)
{
	struct sql_conn *c = calloc(1, sizeof *c);
	unsigned timeout = 5;
	if (!c || !(c->my = mysql_init(NULL))) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mysql_options(c->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(c->my, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(c->my, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	int sock = t->host && t->host[0] == '/';
	/*
	 * CLIENT_FOUND_ROWS: an UPDATE reports the rows it matched, not only
	 * those it changed, so UPDATE-then-INSERT never inserts a duplicate.
	 */
	if (!mysql_real_connect(c->my, sock ? NULL : t->host, t->user, t->passwd, t->db,
				(unsigned)t->port, sock ? t->host : NULL,
				CLIENT_FOUND_ROWS | CLIENT_MULTI_STATEMENTS)) {
		snprintf(err, errlen, "%s", mysql_error(c->my));
		mysql_close(c->my);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static void my_close(struct sql_conn *c)
{
	if (!c)
		return;
	mysql_close(c->my);
	free(c);
}

static int my_exec(struct sql_conn *c, const char *sql, uint64_t *changed, char *err, size_t errlen)
{
	uint64_t n = 0;
	if (mysql_query(c->my, sql) != 0) {
		snprintf(err, errlen, "%s", mysql_error(c->my));
		return -1;
	}
	/* several statements (a schema file): drain every result */
	for (;;) {
		MYSQL_RES *r = mysql_store_result(c->my);
		if (r)
			mysql_free_result(r);
		else if (mysql_field_count(c->my) == 0)
			n = mysql_affected_rows(c->my);
		int more = mysql_next_result(c->my);
		if (more > 0) {
			snprintf(err, errlen, "%s", mysql_error(c->my));
			return -1;
		}
		if (more < 0)
			break;
	}
	if (changed)
		*changed = n;
	return 0;
}

static int my_table_exists(struct sql_conn *c, const char *table, char *err, size_t errlen)
{
	char q[1024], esc[600];
	if (strlen(table) > 250) {
		snprintf(err, errlen, "table name too long");
		return -1;
	}
	mysql_real_escape_string(c->my, esc, table, (unsigned long)strlen(table));
	snprintf(q, sizeof q,
		 "SELECT 1 FROM information_schema.tables WHERE table_schema=DATABASE() AND "
		 "table_name='%s'",
		 esc);
	if (mysql_query(c->my, q) != 0) {
		snprintf(err, errlen, "%s", mysql_error(c->my));
		return -1;
	}
	MYSQL_RES *r = mysql_store_result(c->my);
	if (!r) {
		snprintf(err, errlen, "%s", mysql_error(c->my));
		return -1;
	}
	int yes = mysql_num_rows(r) > 0;
	mysql_free_result(r);
	return yes;
}

static const struct sql_backend my = {"mysql", my_connect,	my_close,
				      my_exec, my_table_exists, NULL};
const struct sql_backend *const sql_backend_mysql = &my;
