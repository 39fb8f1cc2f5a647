libnetacct_a_SOURCES += out/output.c out/output.h out/encode.c out/encode.h out/writer.c \
	out/buf.c out/buf.h out/event.c out/event.h \
	out/writer.h out/print.c
libnetacct_a_SOURCES += out/sflow_counters.c out/sflow_counters.h
