# ---- echod: a test daemon (never installed) running the "echo" stream input on the
# generic core; tests/integration/test_stream_input.py drives it ----
noinst_PROGRAMS += tests/stream_daemon/echod
tests_stream_daemon_echod_SOURCES = tests/stream_daemon/echod.c \
	tests/stream_daemon/input_echo.c tests/stream_daemon/input_echo.h
tests_stream_daemon_echod_LDADD = $(CORE_LIBS)
check-integration: tests/stream_daemon/echod$(EXEEXT)
