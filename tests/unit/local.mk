
# ---- unit tests: configuration, NetFlow v5, table, primitives, encoders ----
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_conf
TESTS += tests/unit/test_conf
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_conf_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DUNIT_DATA_DIR='"$(abs_top_srcdir)/tests/unit/data"'
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_nf5
TESTS += tests/unit/test_nf5
tests_unit_test_nf5_SOURCES = tests/unit/test_nf5.c
tests_unit_test_nf5_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_nf5_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_table
TESTS += tests/unit/test_table
tests_unit_test_table_SOURCES = tests/unit/test_table.c
tests_unit_test_table_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_table_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_nf9
TESTS += tests/unit/test_nf9
tests_unit_test_nf9_SOURCES = tests/unit/test_nf9.c
tests_unit_test_nf9_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_nf9_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_primitive
TESTS += tests/unit/test_primitive
tests_unit_test_primitive_SOURCES = tests/unit/test_primitive.c tests/unit/unit_util.h
tests_unit_test_primitive_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_primitive_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DUNIT_DATA_DIR='"$(abs_top_srcdir)/tests/unit/data"'
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_encode
TESTS += tests/unit/test_encode
tests_unit_test_encode_SOURCES = tests/unit/test_encode.c tests/unit/unit_util.h
tests_unit_test_encode_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_encode_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_writer
TESTS += tests/unit/test_writer
tests_unit_test_writer_SOURCES = tests/unit/test_writer.c
tests_unit_test_writer_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_writer_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif
EXTRA_DIST += tests/unit/data tests/fixtures

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_reactor
TESTS += tests/unit/test_reactor
tests_unit_test_reactor_SOURCES = tests/unit/test_reactor.c
tests_unit_test_reactor_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_reactor_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_stream
TESTS += tests/unit/test_stream
tests_unit_test_stream_SOURCES = tests/unit/test_stream.c
tests_unit_test_stream_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_stream_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

# ---- unit tests: record pipeline, map registry, map-line parser, LPM ----
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_pipeline tests/unit/test_maps tests/unit/test_mapline \
	tests/unit/test_lpm
TESTS += tests/unit/test_pipeline tests/unit/test_maps tests/unit/test_mapline tests/unit/test_lpm
tests_unit_test_pipeline_SOURCES = tests/unit/test_pipeline.c tests/unit/unit_util.h
tests_unit_test_pipeline_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_pipeline_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_maps_SOURCES = tests/unit/test_maps.c tests/unit/unit_util.h
tests_unit_test_maps_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_maps_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_mapline_SOURCES = tests/unit/test_mapline.c tests/unit/unit_util.h
tests_unit_test_mapline_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_mapline_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_lpm_SOURCES = tests/unit/test_lpm.c
tests_unit_test_lpm_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_lpm_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_decap
TESTS += tests/unit/test_decap
tests_unit_test_decap_SOURCES = tests/unit/test_decap.c
tests_unit_test_decap_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_decap_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_capture
TESTS += tests/unit/test_capture
tests_unit_test_capture_SOURCES = tests/unit/test_capture.c
tests_unit_test_capture_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_capture_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DFIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures/pmacct"'
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_worker
TESTS += tests/unit/test_worker
tests_unit_test_worker_SOURCES = tests/unit/test_worker.c
tests_unit_test_worker_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_worker_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DFIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures/pmacct"'
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_tee
TESTS += tests/unit/test_tee
tests_unit_test_tee_SOURCES = tests/unit/test_tee.c
tests_unit_test_tee_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_tee_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)

check_PROGRAMS += tests/unit/test_packet
TESTS += tests/unit/test_packet
tests_unit_test_packet_SOURCES = tests/unit/test_packet.c
tests_unit_test_packet_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_packet_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
if HAVE_NDPI
check_PROGRAMS += tests/unit/test_classify
TESTS += tests/unit/test_classify
tests_unit_test_classify_SOURCES = tests/unit/test_classify.c
tests_unit_test_classify_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_classify_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_imt tests/unit/test_sql_build
TESTS += tests/unit/test_imt tests/unit/test_sql_build
tests_unit_test_imt_SOURCES = tests/unit/test_imt.c
tests_unit_test_imt_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_imt_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_sql_build_SOURCES = tests/unit/test_sql_build.c
tests_unit_test_sql_build_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_sql_build_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif
