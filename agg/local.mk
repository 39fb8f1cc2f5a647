libnetacct_a_SOURCES += agg/flow.h agg/primitive.c agg/primitive.h agg/table.c agg/table.h \
	agg/mapline.c agg/mapline.h agg/lpm.c agg/lpm.h agg/maps.c agg/maps.h \
	agg/sampling_map.c agg/sampling_map.h agg/pipeline.c agg/pipeline.h \
	agg/stages.c agg/stages.h agg/timebin.c agg/timebin.h \
	agg/networks.c agg/networks.h agg/geoip.c agg/geoip.h agg/lookup.c agg/lookup.h \
	agg/filter.c agg/filter.h agg/pretag.c agg/pretag.h agg/tagging.c agg/tagging.h \
	agg/flowtrack.c agg/flowtrack.h \
	agg/flow_to_rd.c agg/flow_to_rd.h
libnetacct_a_SOURCES += agg/classify.c agg/classify.h
AM_CFLAGS += $(NDPI_CFLAGS)
CORE_LIBS += $(NDPI_LIBS)
