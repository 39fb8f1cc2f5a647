libnetacct_a_SOURCES += conf/config.c conf/config.h conf/keys.c conf/keys.h conf/keys_netflow.c conf/keys_pcap.c
