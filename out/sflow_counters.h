/*
 * The output behind sfacctd_counter_file: sFlow counter events (built by the
 * sFlow input on the workers, out/event.h) written as JSON lines on a writer
 * thread.  Not a `plugins:` type: the sFlow input creates its one instance
 * when sfacctd_counter_file is set.  Before open(), the instance's state
 * points at the file name template (may hold $peer_src_ip).
 */
#ifndef NETACCT_OUT_SFLOW_COUNTERS_H
#define NETACCT_OUT_SFLOW_COUNTERS_H

#include "out/output.h"

extern const struct out_module out_sflow_counters_module;

#endif
