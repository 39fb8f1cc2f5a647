/* The SQLite backend of the SQL output (out/sql_backend.h). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "out/sql_backend.h"

struct sql_conn {
	sqlite3 *db;
};

static int lite_connect(struct sql_conn **out, const struct sql_target *t, char *err, size_t errlen)
{
	struct sql_conn *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sqlite3_open_v2(t->db, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", t->db,
			 c->db ? sqlite3_errmsg(c->db) : "cannot open");
		sqlite3_close(c->db);
		free(c);
		return -1;
	}
	/* readers (sqlite3 CLI, reports) lock the file for a moment: wait, do not fail */
	sqlite3_busy_timeout(c->db, 5000);
	*out = c;
	return 0;
}

static void lite_close(struct sql_conn *c)
{
	if (!c)
		return;
	sqlite3_close(c->db);
	free(c);
}

static int lite_exec(struct sql_conn *c, const char *sql, uint64_t *changed, char *err,
		     size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(c->db));
		sqlite3_free(msg);
		return -1;
	}
	if (changed)
		*changed = (uint64_t)sqlite3_changes(c->db);
	return 0;
}

static int lite_table_exists(struct sql_conn *c, const char *table, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(c->db));
		return -1;
	}
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(c->db));
		return -1;
	}
	return rc == SQLITE_ROW;
}

static const struct sql_backend lite = {"sqlite3", lite_connect,      lite_close,
					lite_exec, lite_table_exists, NULL};
const struct sql_backend *const sql_backend_sqlite = &lite;
