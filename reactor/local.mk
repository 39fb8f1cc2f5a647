libnetacct_a_SOURCES += reactor/log.c reactor/log.h reactor/loop.c reactor/loop.h reactor/input.h reactor/rng.h \
	reactor/capture.c reactor/capture.h reactor/savefile.c reactor/savefile.h \
	reactor/socket.c reactor/socket.h reactor/stream.c reactor/stream.h \
	reactor/worker.c reactor/worker.h reactor/input_netflow.c reactor/input_netflow.h \
	reactor/enrich.c reactor/enrich.h \
	reactor/daemon.c reactor/daemon.h reactor/templates_sync.c reactor/templates_sync.h \
	reactor/metrics.c reactor/metrics.h reactor/metrics_http.c reactor/metrics_http.h \
	conf/cli.c conf/cli.h

sbin_PROGRAMS += nfacctd
nfacctd_SOURCES = reactor/nfacctd.c
nfacctd_LDADD = $(CORE_LIBS)
# libpcap (capture sources): empty flags on Debian, kept for other systems
AM_CFLAGS += $(PCAP_CFLAGS)

# the packet daemons: libpcap (pmacctd) and NFLOG (uacctd) sources, one decode path
libnetacct_a_SOURCES += reactor/input_packet.c reactor/input_packet.h reactor/nflog.c reactor/nflog.h
AM_CFLAGS += $(NFLOG_CFLAGS)

sbin_PROGRAMS += pmacctd uacctd
pmacctd_SOURCES = reactor/pmacctd.c
pmacctd_LDADD = $(CORE_LIBS) $(NFLOG_LIBS)
uacctd_SOURCES = reactor/uacctd.c
uacctd_LDADD = $(CORE_LIBS) $(NFLOG_LIBS)

# ---- sfacctd: the sFlow input on the same core ----
libnetacct_a_SOURCES += reactor/input_sflow.c reactor/input_sflow.h
sbin_PROGRAMS += sfacctd
sfacctd_SOURCES = reactor/sfacctd.c
sfacctd_LDADD = $(CORE_LIBS)

# sfacctd's keys (its schema differs from nfacctd's) in a reference of their own
docs: docs-sfacctd
check-docs: check-docs-sfacctd
docs-sfacctd: sfacctd$(EXEEXT)
	./sfacctd$(EXEEXT) --config-reference > $(srcdir)/docs/CONFIG-KEYS-sfacctd.md
check-docs-sfacctd: sfacctd$(EXEEXT)
	./sfacctd$(EXEEXT) --config-reference | diff -u $(srcdir)/docs/CONFIG-KEYS-sfacctd.md - || \
	  { echo "docs/CONFIG-KEYS-sfacctd.md is stale: run 'make docs' and commit it"; exit 1; }
.PHONY: docs-sfacctd check-docs-sfacctd
EXTRA_DIST += docs/CONFIG-KEYS-sfacctd.md

# pmacctd's keys (capture, packet, nfprobe) in a reference of their own
docs: docs-pmacctd
check-docs: check-docs-pmacctd
docs-pmacctd: pmacctd$(EXEEXT)
	./pmacctd$(EXEEXT) --config-reference > $(srcdir)/docs/CONFIG-KEYS-pmacctd.md
check-docs-pmacctd: pmacctd$(EXEEXT)
	./pmacctd$(EXEEXT) --config-reference | diff -u $(srcdir)/docs/CONFIG-KEYS-pmacctd.md - || \
	  { echo "docs/CONFIG-KEYS-pmacctd.md is stale: run 'make docs' and commit it"; exit 1; }
.PHONY: docs-pmacctd check-docs-pmacctd
EXTRA_DIST += docs/CONFIG-KEYS-pmacctd.md

bin_PROGRAMS += pmacct
pmacct_SOURCES = reactor/pmacct_client.c
pmacct_LDADD = libnetacct.a
