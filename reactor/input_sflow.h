/* The sFlow v2/v4/v5 input module (sfacctd's). */
#ifndef NETACCT_REACTOR_INPUT_SFLOW_H
#define NETACCT_REACTOR_INPUT_SFLOW_H

#include "reactor/input.h"

extern const struct input_module input_sflow;

#endif
