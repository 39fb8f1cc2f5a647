/*
 * The "echo" stream input: a test module proving that the core's stream
 * sources work end to end through the generic daemon (tests/stream_daemon).
 *
 * Wire format: frames of a 2-byte big-endian payload length and the payload.
 * Each frame is written back to the peer unchanged and accounted as one flow
 * record: src = the peer's address and port, dst = our address and port,
 * proto 6, packets 1, bytes = the payload length.  Endpoint: nfacctd_ip and
 * nfacctd_port.  Sources in the stats line are the worker's open sessions;
 * SIGUSR1 logs one line per session ("stats worker=W exporter=ADDR port=P ...").
 */
#ifndef NETACCT_TESTS_STREAM_DAEMON_INPUT_ECHO_H
#define NETACCT_TESTS_STREAM_DAEMON_INPUT_ECHO_H

#include "reactor/input.h"

extern const struct input_module input_echo;

#endif
