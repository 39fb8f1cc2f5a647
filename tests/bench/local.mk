# Benchmark: tests/bench/nfsend (loopback NetFlow sender) and `make bench`,
# which replays the same input into netacct's nfacctd and Debian's pmacct
# nfacctd and compares records per CPU-second (see tests/bench/README.md).
noinst_PROGRAMS += tests/bench/nfsend
tests_bench_nfsend_SOURCES = tests/bench/nfsend.c
EXTRA_DIST += tests/bench/run.sh tests/bench/README.md
EXTRA_DIST += tests/bench/memsql_bench.py

bench: nfacctd$(EXEEXT) tests/bench/nfsend$(EXEEXT)
	NETACCT_BUILDDIR=$${NETACCT_BUILDDIR:-$(abs_top_builddir)} bash $(srcdir)/tests/bench/run.sh $(BENCH_SCENARIOS)
.PHONY: bench

# Decoder micro-benchmark: ns and instructions per record for v5, v9 and
# IPFIX through nf_decode() alone (see the comment at the top of the file).
noinst_PROGRAMS += tests/bench/decode_bench
tests_bench_decode_bench_SOURCES = tests/bench/decode_bench.c
tests_bench_decode_bench_LDADD = $(CORE_LIBS)
