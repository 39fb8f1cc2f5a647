libnetacct_a_SOURCES += proto/cursor.h proto/wire_put.h proto/netflow.c proto/netflow.h proto/netflow_v5.c \
	proto/netflow_v8.c proto/netflow_v9.c proto/nf_template.c proto/nf_template.h \
	proto/nf_sampling.c proto/nf_sampling.h proto/nf_options.c proto/nf_options.h \
	proto/nf_templates_file.c \
	proto/nf_templates_file.h proto/decap.c proto/decap.h proto/packet.c proto/packet.h \
	proto/nf_split.c proto/nf_split.h proto/dgram_head.c proto/dgram_head.h \
	proto/nf_preflight.c proto/nf_preflight.h
libnetacct_a_SOURCES += proto/nf_export.c proto/nf_export.h
libnetacct_a_SOURCES += proto/sflow.c proto/sflow.h proto/sflow_export.c proto/sflow_export.h
