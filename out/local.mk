libnetacct_a_SOURCES += out/output.c out/output.h out/encode.c out/encode.h out/writer.c \
	out/buf.c out/buf.h out/event.c out/event.h \
	out/writer.h out/print.c out/filename.c out/filename.h out/tee.c out/tee_map.c out/tee_map.h \
	out/spool.c out/spool.h out/vars.c out/vars.h out/bmsg.c out/bmsg.h \
	out/broker.c out/broker.h out/avro.c out/avro.h out/endpoint.c out/endpoint.h out/nfprobe.c
if HAVE_KAFKA
libnetacct_a_SOURCES += out/kafka.c out/kafka.h
endif
if HAVE_RABBITMQ
libnetacct_a_SOURCES += out/amqp.c
endif
if HAVE_REDIS
libnetacct_a_SOURCES += out/redis.c
endif
libnetacct_a_SOURCES += out/sflow_counters.c out/sflow_counters.h
libnetacct_a_SOURCES += out/sfprobe.c
libnetacct_a_SOURCES += out/memory.c out/imt_proto.h out/imt_req.c out/imt_req.h out/imt_query.c out/imt_query.h
libnetacct_a_SOURCES += out/sql.c out/sql_build.c out/sql_build.h out/sql_backend.h
if HAVE_SQLITE3
libnetacct_a_SOURCES += out/sql_sqlite.c
endif
if HAVE_PGSQL
libnetacct_a_SOURCES += out/sql_pgsql.c
endif
if HAVE_MYSQL
libnetacct_a_SOURCES += out/sql_mysql.c
endif
