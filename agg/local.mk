libnetacct_a_SOURCES += agg/flow.h agg/primitive.c agg/primitive.h agg/table.c agg/table.h \
	agg/mapline.c agg/mapline.h agg/lpm.c agg/lpm.h agg/maps.c agg/maps.h \
	agg/sampling_map.c agg/sampling_map.h agg/pipeline.c agg/pipeline.h \
	agg/stages.c agg/stages.h
libnetacct_a_SOURCES += agg/classify.c agg/classify.h
AM_CFLAGS += $(NDPI_CFLAGS)
CORE_LIBS += $(NDPI_LIBS)
