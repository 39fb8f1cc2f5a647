/*
 * The packet inputs (INPUT_CAPTURE): frames to flow records.  Each frame
 * goes through sampling (sampling_rate), the shared L2-L4 decoder
 * (proto/packet.h), flow tracking (agg/flowtrack.h: the flows counter) and
 * then the worker's record sink.  Two sources, one decode path:
 *   input_pcap   pmacctd: libpcap on pcap_interface / pcap_interfaces_map,
 *                one capture per interface per worker, spread over the
 *                workers by PACKET_FANOUT (a flow always on one worker);
 *   input_nflog  uacctd: an NFLOG group (reactor/nflog.h), one worker.
 * With pcap_savefile (pmacctd) reactor/savefile.c feeds the frames instead.
 */
#ifndef NETACCT_REACTOR_INPUT_PACKET_H
#define NETACCT_REACTOR_INPUT_PACKET_H

#include "reactor/input.h"

extern const struct input_module input_pcap;
extern const struct input_module input_nflog;

#endif
