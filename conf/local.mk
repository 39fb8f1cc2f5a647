libnetacct_a_SOURCES += conf/config.c conf/config.h conf/keys.c
