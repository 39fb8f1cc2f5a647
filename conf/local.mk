libnetacct_a_SOURCES += conf/config.c conf/config.h conf/keys.c conf/keys.h conf/keys_netflow.c conf/keys_enrich.c \
	conf/keys_tagging.c conf/keys_pcap.c
libnetacct_a_SOURCES += conf/keys_sflow.c
