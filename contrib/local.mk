# systemd template units, with installation paths substituted.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = contrib/systemd/nfacctd@.service
CLEANFILES += contrib/systemd/nfacctd@.service
contrib/systemd/nfacctd@.service: $(srcdir)/contrib/systemd/nfacctd@.service.in Makefile
	@$(MKDIR_P) contrib/systemd
	$(AM_V_GEN)sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    -e 's|@docdir[@]|$(docdir)|g' $(srcdir)/contrib/systemd/nfacctd@.service.in > $@

examplesdir = $(docdir)/examples
dist_examples_DATA = contrib/examples/nfacctd.conf contrib/examples/demo.conf \
	contrib/examples/tee.conf contrib/examples/tee_receivers.lst contrib/examples/sfacctd.conf \
	contrib/examples/sfprobe.conf
# broker consumer examples: one folder each (both are consumer.py)
kafkaexdir = $(docdir)/kafka
dist_kafkaex_DATA = contrib/kafka/consumer.py contrib/kafka/clickhouse.sql
amqpexdir = $(docdir)/amqp
dist_amqpex_DATA = contrib/amqp/consumer.py
dist_examples_DATA += contrib/examples/memory.conf contrib/examples/sql.conf
dist_doc_DATA = docs/CONFIG-KEYS.md
dist_man_MANS = docs/nfacctd.8
dist_man_MANS += docs/pmacct.1

# default SQL schemas (pmacct's table versions), installed with the docs
sqlsqlite3dir = $(docdir)/sql/sqlite3
sqlpgsqldir = $(docdir)/sql/pgsql
sqlmysqldir = $(docdir)/sql/mysql
dist_sqlsqlite3_DATA = contrib/sql/sqlite3/acct_v1.sql contrib/sql/sqlite3/acct_v2.sql \
	contrib/sql/sqlite3/acct_v3.sql contrib/sql/sqlite3/acct_v4.sql \
	contrib/sql/sqlite3/acct_v5.sql contrib/sql/sqlite3/acct_v6.sql \
	contrib/sql/sqlite3/acct_v7.sql contrib/sql/sqlite3/acct_v8.sql \
	contrib/sql/sqlite3/acct_v9.sql
dist_sqlpgsql_DATA = contrib/sql/pgsql/acct_v1.sql contrib/sql/pgsql/acct_v2.sql \
	contrib/sql/pgsql/acct_v3.sql contrib/sql/pgsql/acct_v4.sql contrib/sql/pgsql/acct_v5.sql \
	contrib/sql/pgsql/acct_v6.sql contrib/sql/pgsql/acct_v7.sql contrib/sql/pgsql/acct_v8.sql \
	contrib/sql/pgsql/acct_v9.sql
dist_sqlmysql_DATA = contrib/sql/mysql/acct_v1.sql contrib/sql/mysql/acct_v2.sql \
	contrib/sql/mysql/acct_v3.sql contrib/sql/mysql/acct_v4.sql contrib/sql/mysql/acct_v5.sql \
	contrib/sql/mysql/acct_v6.sql contrib/sql/mysql/acct_v7.sql contrib/sql/mysql/acct_v8.sql \
	contrib/sql/mysql/acct_v9.sql
EXTRA_DIST += contrib/sql/gen-schemas.py
