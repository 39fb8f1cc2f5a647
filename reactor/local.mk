libnetacct_a_SOURCES += reactor/log.c reactor/log.h reactor/loop.c reactor/loop.h reactor/input.h \
	reactor/capture.c reactor/capture.h reactor/savefile.c reactor/savefile.h \
	reactor/socket.c reactor/socket.h reactor/stream.c reactor/stream.h \
	reactor/worker.c reactor/worker.h reactor/input_netflow.c reactor/input_netflow.h \
	reactor/daemon.c reactor/daemon.h reactor/templates_sync.c reactor/templates_sync.h \
	conf/cli.c conf/cli.h

sbin_PROGRAMS += nfacctd
nfacctd_SOURCES = reactor/nfacctd.c
nfacctd_LDADD = $(CORE_LIBS)
# libpcap (capture sources): empty flags on Debian, kept for other systems
AM_CFLAGS += $(PCAP_CFLAGS)

bin_PROGRAMS += pmacct
pmacct_SOURCES = reactor/pmacct_client.c
pmacct_LDADD = libnetacct.a
