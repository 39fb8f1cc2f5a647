
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
if HAVE_AVRO
check_PROGRAMS += tests/unit/test_avro
TESTS += tests/unit/test_avro
tests_unit_test_avro_SOURCES = tests/unit/test_avro.c tests/unit/unit_util.h
tests_unit_test_avro_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_avro_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif
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

check_PROGRAMS += tests/unit/test_flowtrack
TESTS += tests/unit/test_flowtrack
tests_unit_test_flowtrack_SOURCES = tests/unit/test_flowtrack.c
tests_unit_test_flowtrack_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_flowtrack_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
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
check_PROGRAMS += tests/unit/test_spool
TESTS += tests/unit/test_spool
tests_unit_test_spool_SOURCES = tests/unit/test_spool.c
tests_unit_test_spool_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_spool_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)

check_PROGRAMS += tests/unit/test_names_prim
TESTS += tests/unit/test_names_prim
tests_unit_test_names_prim_SOURCES = tests/unit/test_names_prim.c
tests_unit_test_names_prim_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_names_prim_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)

check_PROGRAMS += tests/unit/test_timebin
TESTS += tests/unit/test_timebin
tests_unit_test_timebin_SOURCES = tests/unit/test_timebin.c
tests_unit_test_timebin_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_timebin_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_filename
TESTS += tests/unit/test_filename
tests_unit_test_filename_SOURCES = tests/unit/test_filename.c
tests_unit_test_filename_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_filename_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

# ---- enrichment: networks_file, lookup files, sum_*, encodings, GeoIP ----
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_enrich
TESTS += tests/unit/test_enrich
tests_unit_test_enrich_SOURCES = tests/unit/test_enrich.c
tests_unit_test_enrich_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_enrich_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

# ---- unit tests: tagging (filters, pre_tag_map, per-output selection) ----
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_filter tests/unit/test_pretag tests/unit/test_tagging
TESTS += tests/unit/test_filter tests/unit/test_pretag tests/unit/test_tagging
tests_unit_test_filter_SOURCES = tests/unit/test_filter.c
tests_unit_test_filter_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_filter_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PCAP_CFLAGS) -DUNIT_DATA_DIR='"$(abs_top_srcdir)/tests/unit/data"' -DFIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures/pmacct"'
tests_unit_test_pretag_SOURCES = tests/unit/test_pretag.c tests/unit/unit_util.h
tests_unit_test_pretag_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_pretag_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DFIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures/pmacct"'
tests_unit_test_tagging_SOURCES = tests/unit/test_tagging.c
tests_unit_test_tagging_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_tagging_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
check_PROGRAMS += tests/unit/test_sflow
TESTS += tests/unit/test_sflow
tests_unit_test_sflow_SOURCES = tests/unit/test_sflow.c
tests_unit_test_sflow_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_sflow_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
check_PROGRAMS += tests/unit/test_sflow_export
TESTS += tests/unit/test_sflow_export
tests_unit_test_sflow_export_SOURCES = tests/unit/test_sflow_export.c
tests_unit_test_sflow_export_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_sflow_export_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
check_PROGRAMS += tests/unit/test_metrics
TESTS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_metrics_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_flow_to_rd
TESTS += tests/unit/test_flow_to_rd
tests_unit_test_flow_to_rd_SOURCES = tests/unit/test_flow_to_rd.c
tests_unit_test_flow_to_rd_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_flow_to_rd_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
check_PROGRAMS += tests/unit/test_imt tests/unit/test_sql_build
TESTS += tests/unit/test_imt tests/unit/test_sql_build
tests_unit_test_imt_SOURCES = tests/unit/test_imt.c
tests_unit_test_imt_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_imt_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_sql_build_SOURCES = tests/unit/test_sql_build.c
tests_unit_test_sql_build_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_sql_build_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_example_maps
TESTS += tests/unit/test_example_maps
tests_unit_test_example_maps_SOURCES = tests/unit/test_example_maps.c
tests_unit_test_example_maps_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_example_maps_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DFIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures/pmacct"'
endif

check_PROGRAMS += tests/unit/test_nf_export
TESTS += tests/unit/test_nf_export
tests_unit_test_nf_export_SOURCES = tests/unit/test_nf_export.c
tests_unit_test_nf_export_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_nf_export_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
