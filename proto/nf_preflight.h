/*
 * nfacctd_pre_processing_checks: the framing of a NetFlow v9 / IPFIX
 * datagram checked before any of it is decoded, so a datagram that is
 * damaged half-way is dropped whole instead of having its first records
 * accounted.  Other versions have a fixed layout their decoder checks first.
 */
#ifndef NETACCT_PROTO_NF_PREFLIGHT_H
#define NETACCT_PROTO_NF_PREFLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/netflow.h"

/*
 * NF_OK, or why the datagram is malformed: shorter than its header
 * (NF_ERR_SHORT), an IPFIX length beyond the datagram (NF_ERR_TRUNCATED), a
 * set shorter than its own header (NF_ERR_BAD_SET) or running past the end
 * (NF_ERR_TRUNCATED), IPFIX sets not ending exactly at the message length
 * (NF_ERR_BAD_SET).  v9 may end with zero padding after the last set.
 */
enum nf_err nf_preflight(const uint8_t *buf, size_t len);

#endif
