# Benchmark: tests/bench/nfsend (loopback NetFlow sender) and `make bench`,
# which replays the same input into netacct's nfacctd and Debian's pmacct
# nfacctd and compares records per CPU-second (see tests/bench/README.md).
noinst_PROGRAMS += tests/bench/nfsend
tests_bench_nfsend_SOURCES = tests/bench/nfsend.c
EXTRA_DIST += tests/bench/run.sh tests/bench/README.md
EXTRA_DIST += tests/bench/memsql_bench.py tests/bench/mem_bench.sh

# tests/bench/recvfloor: the receive floor (datagrams into user space, nothing
# else), run by run.sh beside the daemons.
noinst_PROGRAMS += tests/bench/recvfloor
tests_bench_recvfloor_SOURCES = tests/bench/recvfloor.c
tests_bench_recvfloor_LDADD = $(CORE_LIBS) -lpthread

bench: nfacctd$(EXEEXT) tests/bench/nfsend$(EXEEXT) tests/bench/recvfloor$(EXEEXT)
	NETACCT_BUILDDIR=$${NETACCT_BUILDDIR:-$(abs_top_builddir)} bash $(srcdir)/tests/bench/run.sh $(BENCH_SCENARIOS)
.PHONY: bench

# Decoder micro-benchmark: ns and instructions per record for v5, v9 and
# IPFIX through nf_decode() alone (see the comment at the top of the file).
noinst_PROGRAMS += tests/bench/decode_bench
tests_bench_decode_bench_SOURCES = tests/bench/decode_bench.c
tests_bench_decode_bench_LDADD = $(CORE_LIBS)

# Enrichment micro-benchmark: ns per record of the networks and geoip stages
# (see the comment at the top of the file).
noinst_PROGRAMS += tests/bench/enrich_bench
tests_bench_enrich_bench_SOURCES = tests/bench/enrich_bench.c
tests_bench_enrich_bench_LDADD = $(CORE_LIBS)
# pmacctd on a large capture beside Debian's pmacctd and nfpcapd (tests/bench/pcap_bench.sh).
EXTRA_DIST += tests/bench/pcap_bench.sh tests/bench/mkpcap.py
bench-pcap: pmacctd$(EXEEXT)
	NETACCT_BUILDDIR=$${NETACCT_BUILDDIR:-$(abs_top_builddir)} bash $(srcdir)/tests/bench/pcap_bench.sh
.PHONY: bench-pcap
# pmacctd + nfprobe beside Debian's pmacctd + nfprobe, into nfcapd (tests/bench/probe_bench.sh).
EXTRA_DIST += tests/bench/probe_bench.sh
bench-probe: pmacctd$(EXEEXT)
	NETACCT_BUILDDIR=$${NETACCT_BUILDDIR:-$(abs_top_builddir)} bash $(srcdir)/tests/bench/probe_bench.sh
.PHONY: bench-probe
# sFlow: the same paced sFlow v5 stream into netacct's sfacctd, Debian's
# pmacct sfacctd and nfdump's sfcapd (tests/bench/sflow_bench.py, README.md).
EXTRA_DIST += tests/bench/sflow_bench.py
noinst_PROGRAMS += tests/bench/sflow_decode_bench
tests_bench_sflow_decode_bench_SOURCES = tests/bench/sflow_decode_bench.c
tests_bench_sflow_decode_bench_LDADD = $(CORE_LIBS)
bench-sflow: sfacctd$(EXEEXT)
	NETACCT_BUILDDIR=$${NETACCT_BUILDDIR:-$(abs_top_builddir)} /usr/bin/python3 $(srcdir)/tests/bench/sflow_bench.py
.PHONY: bench-sflow
# Accounting micro-benchmark: ns per record for key + hash + add, and the
# table's bytes per aggregate (see the comment at the top of the file).
noinst_PROGRAMS += tests/bench/acct_bench
tests_bench_acct_bench_SOURCES = tests/bench/acct_bench.c
tests_bench_acct_bench_LDADD = $(CORE_LIBS)

# Encoder micro-benchmark: ns per aggregated row for JSON, CSV and formatted.
noinst_PROGRAMS += tests/bench/encode_bench
tests_bench_encode_bench_SOURCES = tests/bench/encode_bench.c
tests_bench_encode_bench_LDADD = $(CORE_LIBS)

# Tee benchmark: tests/bench/udpsink counts what reaches the receivers;
# tests/bench/tee_bench.py drives netacct's and Debian pmacct's tee plugins.
noinst_PROGRAMS += tests/bench/udpsink
tests_bench_udpsink_SOURCES = tests/bench/udpsink.c
EXTRA_DIST += tests/bench/tee_bench.py

bench-tee: nfacctd$(EXEEXT) tests/bench/nfsend$(EXEEXT) tests/bench/udpsink$(EXEEXT)
	NETACCT_BUILDDIR=$${NETACCT_BUILDDIR:-$(abs_top_builddir)} /usr/bin/python3 $(srcdir)/tests/bench/tee_bench.py
.PHONY: bench-tee

# Tagging micro-benchmark: ns per record of pre_tag_map (indexed and scanned)
# and aggregate_filter (see the comment at the top of the file).
noinst_PROGRAMS += tests/bench/tagging_bench
tests_bench_tagging_bench_SOURCES = tests/bench/tagging_bench.c
tests_bench_tagging_bench_LDADD = $(CORE_LIBS)

# Broker outputs: rows/s into Kafka (mock broker), RabbitMQ and Redis, and reception
# during a broker outage (tests/bench/broker_bench.py).
EXTRA_DIST += tests/bench/broker_bench.py
bench-brokers: nfacctd$(EXEEXT) tests/bench/nfsend$(EXEEXT)
	NETACCT_BUILDDIR=$${NETACCT_BUILDDIR:-$(abs_top_builddir)} /usr/bin/python3 $(srcdir)/tests/bench/broker_bench.py
.PHONY: bench-brokers
