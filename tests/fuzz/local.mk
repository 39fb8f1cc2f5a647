
# ---- fuzzing: NetFlow v5/v8/v9/IPFIX decoders and template cache ----
# `make fuzz-nf9` builds tests/fuzz/fuzz_nf9 with libFuzzer and runs it over
# the committed seed corpus (new inputs go to tests/fuzz/work-nf9, never into
# the corpus).  The same source, built without libFuzzer, replays the corpus
# as a regular `make check` test.
FUZZ_CC = clang
FUZZ_RUNS = 200000
# and at most this many seconds per target: inputs that grow costly (a map of
# hundreds of rules, each a compiled filter) must not make a smoke run unbounded
FUZZ_MAX_TIME = 120
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_NF9_SRCS = $(srcdir)/tests/fuzz/fuzz_nf9.c $(srcdir)/proto/netflow.c \
	$(srcdir)/proto/netflow_v5.c $(srcdir)/proto/netflow_v8.c $(srcdir)/proto/netflow_v9.c \
	$(srcdir)/proto/nf_template.c $(srcdir)/proto/nf_sampling.c $(srcdir)/proto/nf_options.c \
	$(srcdir)/agg/primitive.c $(srcdir)/agg/timebin.c \
	$(srcdir)/agg/mapline.c $(srcdir)/agg/lpm.c $(srcdir)/agg/sampling_map.c

check_PROGRAMS += tests/fuzz/replay_nf9
TESTS += tests/fuzz/replay_nf9
tests_fuzz_replay_nf9_SOURCES = tests/fuzz/fuzz_nf9.c tests/fuzz/replay_main.c \
	tests/fuzz/fuzz_registry.h
tests_fuzz_replay_nf9_CFLAGS = $(AM_CFLAGS) -DFUZZ_REPLAY -DFUZZ_CORPUS='"nf9"'
tests_fuzz_replay_nf9_LDADD = $(CORE_LIBS)
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/gen_corpus_nf9.py

tests/fuzz/fuzz_nf9: $(FUZZ_NF9_SRCS)
	@mkdir -p tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -I$(top_srcdir) -I$(top_builddir) $(FUZZ_NF9_SRCS) -o $@

fuzz-nf9: tests/fuzz/fuzz_nf9
	@mkdir -p tests/fuzz/work-nf9
	./tests/fuzz/fuzz_nf9 -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_MAX_TIME) tests/fuzz/work-nf9 $(srcdir)/tests/fuzz/corpus/nf9
.PHONY: fuzz-nf9
CLEANFILES += tests/fuzz/fuzz_nf9

# ---- fuzzing: configuration, command line and the map/primitives/templates files ----
# `make fuzz-conf` (conf_load_string, conf_finish, cli_parse) and `make fuzz-maps`
# (sampling_map, aggregate_primitives, nfacctd_templates_file) follow fuzz-nf9:
# libFuzzer over the committed corpus, new inputs into tests/fuzz/work-*, and a
# -DFUZZ_REPLAY build that replays the corpus under `make check`.
# The configuration touches every module's key table and the output registry:
# the conf fuzzer is built from the whole library, with every library it links.
FUZZ_CONF_SRCS = $(srcdir)/tests/fuzz/fuzz_conf.c \
	$(addprefix $(srcdir)/,$(filter %.c,$(libnetacct_a_SOURCES)))
FUZZ_ALL_LIBS = $(LIBEVENT_LIBS) $(JANSSON_LIBS) $(PCAP_LIBS) $(KAFKA_LIBS) $(AVRO_LIBS) $(RABBITMQ_LIBS) \
	$(REDIS_LIBS) $(GEOIPV2_LIBS) $(SQLITE3_LIBS) $(PGSQL_LIBS) $(MYSQL_LIBS) $(NDPI_LIBS) \
	$(NFLOG_LIBS) $(PTHREAD_LIBS)
FUZZ_MAPS_SRCS = $(srcdir)/tests/fuzz/fuzz_maps.c $(srcdir)/proto/netflow.c \
	$(srcdir)/proto/netflow_v5.c $(srcdir)/proto/netflow_v8.c $(srcdir)/proto/netflow_v9.c \
	$(srcdir)/proto/nf_template.c $(srcdir)/proto/nf_sampling.c $(srcdir)/proto/nf_options.c \
	$(srcdir)/proto/nf_templates_file.c $(srcdir)/agg/primitive.c $(srcdir)/agg/timebin.c \
	$(srcdir)/agg/mapline.c \
	$(srcdir)/agg/lpm.c $(srcdir)/agg/sampling_map.c

check_PROGRAMS += tests/fuzz/replay_conf tests/fuzz/replay_maps
TESTS += tests/fuzz/replay_conf tests/fuzz/replay_maps
tests_fuzz_replay_conf_SOURCES = tests/fuzz/fuzz_conf.c tests/fuzz/replay_main.c
tests_fuzz_replay_conf_CFLAGS = $(AM_CFLAGS) -DFUZZ_REPLAY -DFUZZ_CORPUS='"conf"'
tests_fuzz_replay_conf_LDADD = $(CORE_LIBS)
tests_fuzz_replay_maps_SOURCES = tests/fuzz/fuzz_maps.c tests/fuzz/replay_main.c
tests_fuzz_replay_maps_CFLAGS = $(AM_CFLAGS) -DFUZZ_REPLAY -DFUZZ_CORPUS='"maps"'
tests_fuzz_replay_maps_LDADD = $(CORE_LIBS)

tests/fuzz/fuzz_conf: $(FUZZ_CONF_SRCS)
	@mkdir -p tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -include $(top_builddir)/config.h -I$(top_srcdir) \
	  -I$(top_builddir) $(AM_CFLAGS) $(FUZZ_CONF_SRCS) $(FUZZ_ALL_LIBS) -o $@

tests/fuzz/fuzz_maps: $(FUZZ_MAPS_SRCS)
	@mkdir -p tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -I$(top_srcdir) -I$(top_builddir) $(JANSSON_CFLAGS) \
	  $(FUZZ_MAPS_SRCS) $(JANSSON_LIBS) -o $@

fuzz-conf: tests/fuzz/fuzz_conf
	@mkdir -p tests/fuzz/work-conf
	./tests/fuzz/fuzz_conf -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_MAX_TIME) tests/fuzz/work-conf $(srcdir)/tests/fuzz/corpus/conf

fuzz-maps: tests/fuzz/fuzz_maps
	@mkdir -p tests/fuzz/work-maps
	./tests/fuzz/fuzz_maps -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_MAX_TIME) tests/fuzz/work-maps $(srcdir)/tests/fuzz/corpus/maps
.PHONY: fuzz-conf fuzz-maps
CLEANFILES += tests/fuzz/fuzz_conf tests/fuzz/fuzz_maps

# ---- AFL++: the same NetFlow harness, driven by afl-fuzz (Debian's afl++) ----
# `make afl-nf9` builds tests/fuzz/afl_nf9 with afl-clang-fast (AFL++ links its
# own driver for LLVMFuzzerTestOneInput under -fsanitize=fuzzer) and fuzzes the
# committed corpus for AFL_SECONDS; findings go to tests/fuzz/work-afl-nf9.
AFL_CC = afl-clang-fast
AFL_SECONDS = 60
AFL_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

tests/fuzz/afl_nf9: $(FUZZ_NF9_SRCS)
	@mkdir -p tests/fuzz
	AFL_QUIET=1 $(AFL_CC) $(AFL_FLAGS) -std=gnu11 -I$(top_srcdir) -I$(top_builddir) $(FUZZ_NF9_SRCS) -o $@

afl-nf9: tests/fuzz/afl_nf9
	@mkdir -p tests/fuzz/work-afl-nf9
	AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
	  AFL_SKIP_CRASHES=1 afl-fuzz -V $(AFL_SECONDS) -i $(srcdir)/tests/fuzz/corpus/nf9 \
	  -o tests/fuzz/work-afl-nf9 -- ./tests/fuzz/afl_nf9
	@crashes=$$(ls tests/fuzz/work-afl-nf9/default/crashes 2>/dev/null | grep -vc README); \
	  echo "afl-nf9: $$crashes crash(es) in tests/fuzz/work-afl-nf9/default/crashes"; \
	  test "$$crashes" -eq 0
.PHONY: afl-nf9
CLEANFILES += tests/fuzz/afl_nf9

# ---- fuzzing: captured frames to UDP datagrams (proto/decap.c) ----
# `make fuzz-decap`, as fuzz-nf9: libFuzzer over tests/fuzz/corpus/decap,
# new inputs into tests/fuzz/work-decap; replay_decap replays the corpus
# under `make check`.
FUZZ_DECAP_SRCS = $(srcdir)/tests/fuzz/fuzz_decap.c $(srcdir)/proto/decap.c $(srcdir)/proto/packet.c

check_PROGRAMS += tests/fuzz/replay_decap
TESTS += tests/fuzz/replay_decap
tests_fuzz_replay_decap_SOURCES = tests/fuzz/fuzz_decap.c tests/fuzz/replay_main.c
tests_fuzz_replay_decap_CFLAGS = $(AM_CFLAGS) -DFUZZ_REPLAY -DFUZZ_CORPUS='"decap"'
tests_fuzz_replay_decap_LDADD = $(CORE_LIBS)

tests/fuzz/fuzz_decap: $(FUZZ_DECAP_SRCS)
	@mkdir -p tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -include $(top_builddir)/config.h -I$(top_srcdir) \
	  -I$(top_builddir) $(FUZZ_DECAP_SRCS) -o $@

fuzz-decap: tests/fuzz/fuzz_decap
	@mkdir -p tests/fuzz/work-decap
	./tests/fuzz/fuzz_decap -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_MAX_TIME) tests/fuzz/work-decap $(srcdir)/tests/fuzz/corpus/decap
.PHONY: fuzz-decap
CLEANFILES += tests/fuzz/fuzz_decap

# ---- fuzzing: packet headers to flow records (proto/packet.c) ----
# `make fuzz-packet`, as fuzz-decap: libFuzzer over tests/fuzz/corpus/packet
# (seeds from gen_corpus_packet.py), new inputs into tests/fuzz/work-packet;
# replay_packet replays the corpus under `make check`.
FUZZ_PACKET_SRCS = $(srcdir)/tests/fuzz/fuzz_packet.c $(srcdir)/proto/packet.c

check_PROGRAMS += tests/fuzz/replay_packet
TESTS += tests/fuzz/replay_packet
tests_fuzz_replay_packet_SOURCES = tests/fuzz/fuzz_packet.c tests/fuzz/replay_main.c
tests_fuzz_replay_packet_CFLAGS = $(AM_CFLAGS) -DFUZZ_REPLAY -DFUZZ_CORPUS='"packet"'
tests_fuzz_replay_packet_LDADD = $(CORE_LIBS)
EXTRA_DIST += tests/fuzz/gen_corpus_packet.py

tests/fuzz/fuzz_packet: $(FUZZ_PACKET_SRCS)
	@mkdir -p tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -include $(top_builddir)/config.h -I$(top_srcdir) \
	  -I$(top_builddir) $(FUZZ_PACKET_SRCS) -o $@

fuzz-packet: tests/fuzz/fuzz_packet
	@mkdir -p tests/fuzz/work-packet
	./tests/fuzz/fuzz_packet -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_MAX_TIME) tests/fuzz/work-packet $(srcdir)/tests/fuzz/corpus/packet
.PHONY: fuzz-packet
CLEANFILES += tests/fuzz/fuzz_packet
# `make fuzz-pretag`: pre_tag_map parsing and evaluation (agg/pretag.c, tcpdump
# filters included), as fuzz-maps; its corpus replays under `make check`.
FUZZ_PRETAG_SRCS = $(srcdir)/tests/fuzz/fuzz_pretag.c $(srcdir)/agg/pretag.c \
	$(srcdir)/agg/filter.c $(srcdir)/agg/lpm.c $(srcdir)/agg/mapline.c $(srcdir)/agg/table.c
check_PROGRAMS += tests/fuzz/replay_pretag
TESTS += tests/fuzz/replay_pretag
tests_fuzz_replay_pretag_SOURCES = tests/fuzz/fuzz_pretag.c tests/fuzz/replay_main.c
tests_fuzz_replay_pretag_CFLAGS = $(AM_CFLAGS) -DFUZZ_REPLAY -DFUZZ_CORPUS='"pretag"'
tests_fuzz_replay_pretag_LDADD = $(CORE_LIBS)

tests/fuzz/fuzz_pretag: $(FUZZ_PRETAG_SRCS)
	@mkdir -p tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -I$(top_srcdir) -I$(top_builddir) \
	  -include $(top_builddir)/config.h $(FUZZ_PRETAG_SRCS) $(PCAP_LIBS) -o $@

fuzz-pretag: tests/fuzz/fuzz_pretag
	@mkdir -p tests/fuzz/work-pretag
	./tests/fuzz/fuzz_pretag -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_MAX_TIME) tests/fuzz/work-pretag \
	  $(srcdir)/tests/fuzz/corpus/pretag
.PHONY: fuzz-pretag
CLEANFILES += tests/fuzz/fuzz_pretag

# ---- fuzzing: the sFlow decoder (proto/sflow.c and the packet decoder behind it) ----
# `make fuzz-sflow`, as fuzz-nf9: libFuzzer over tests/fuzz/corpus/sflow (seeds
# from gen_corpus_sflow.py), new inputs into tests/fuzz/work-sflow;
# replay_sflow replays the corpus under `make check`.
FUZZ_SFLOW_SRCS = $(srcdir)/tests/fuzz/fuzz_sflow.c $(srcdir)/proto/sflow.c \
	$(srcdir)/proto/packet.c $(srcdir)/agg/primitive.c $(srcdir)/agg/mapline.c \
	$(srcdir)/agg/timebin.c

check_PROGRAMS += tests/fuzz/replay_sflow
TESTS += tests/fuzz/replay_sflow
tests_fuzz_replay_sflow_SOURCES = tests/fuzz/fuzz_sflow.c tests/fuzz/replay_main.c
tests_fuzz_replay_sflow_CFLAGS = $(AM_CFLAGS) -DFUZZ_REPLAY -DFUZZ_CORPUS='"sflow"'
tests_fuzz_replay_sflow_LDADD = $(CORE_LIBS)
EXTRA_DIST += tests/fuzz/gen_corpus_sflow.py

tests/fuzz/fuzz_sflow: $(FUZZ_SFLOW_SRCS)
	@mkdir -p tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -include $(top_builddir)/config.h -I$(top_srcdir) \
	  -I$(top_builddir) $(FUZZ_SFLOW_SRCS) -o $@

fuzz-sflow: tests/fuzz/fuzz_sflow
	@mkdir -p tests/fuzz/work-sflow
	./tests/fuzz/fuzz_sflow -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_MAX_TIME) tests/fuzz/work-sflow $(srcdir)/tests/fuzz/corpus/sflow
.PHONY: fuzz-sflow
CLEANFILES += tests/fuzz/fuzz_sflow
