libnetacct_a_SOURCES += proto/cursor.h proto/netflow.c proto/netflow.h proto/netflow_v5.c \
	proto/netflow_v9.c
