libnetacct_a_SOURCES += out/output.c out/output.h out/encode.c out/encode.h out/writer.c \
	out/buf.c out/buf.h out/event.c out/event.h \
	out/writer.h out/print.c out/tee.c out/tee_map.c out/tee_map.h
libnetacct_a_SOURCES += out/memory.c out/imt_proto.h out/imt_req.c out/imt_req.h out/imt_query.c out/imt_query.h
