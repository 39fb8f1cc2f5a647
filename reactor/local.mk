libnetacct_a_SOURCES += reactor/log.c reactor/log.h reactor/loop.c reactor/loop.h reactor/input.h reactor/socket.c reactor/socket.h \
	reactor/worker.c reactor/worker.h reactor/input_netflow.c reactor/input_netflow.h reactor/daemon.c reactor/daemon.h reactor/templates_sync.c \
	reactor/templates_sync.h conf/cli.c conf/cli.h

sbin_PROGRAMS += nfacctd
nfacctd_SOURCES = reactor/nfacctd.c
nfacctd_LDADD = $(CORE_LIBS)
libnetacct_a_SOURCES += reactor/stream.c reactor/stream.h
