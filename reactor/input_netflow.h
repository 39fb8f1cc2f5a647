/* The NetFlow v5/v8/v9 and IPFIX input module (nfacctd's). */
#ifndef NETACCT_REACTOR_INPUT_NETFLOW_H
#define NETACCT_REACTOR_INPUT_NETFLOW_H

#include <stdint.h>

#include "reactor/input.h"

extern const struct input_module input_netflow;

/*
 * The flow record fields no output, stage or selection of the daemon reads
 * (FR_ bits for nf_options.skip): the decoders leave them out.
 */
struct daemon_ctx;
uint64_t nf_input_skip_mask(const struct daemon_ctx *ctx);

#endif
