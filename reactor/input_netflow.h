/* The NetFlow v5/v8/v9 and IPFIX input module (nfacctd's). */
#ifndef NETACCT_REACTOR_INPUT_NETFLOW_H
#define NETACCT_REACTOR_INPUT_NETFLOW_H

#include "reactor/input.h"

extern const struct input_module input_netflow;

#endif
