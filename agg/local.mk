libnetacct_a_SOURCES += agg/flow.h agg/primitive.c agg/primitive.h agg/table.c agg/table.h
