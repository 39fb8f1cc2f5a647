/*
 * The template sets of a NetFlow v9 / IPFIX datagram, alone.
 *
 * A tee that balances datagrams over several receivers sends each datagram
 * to one of them; a receiver that never sees the templates cannot decode the
 * data records it gets later.  nf_templates_only() copies the header and the
 * template and options-template sets of a datagram into a new datagram (with
 * the v9 record count or the IPFIX length fixed) that the other receivers
 * get instead.  Anything that is not a well-formed v9/IPFIX datagram is left
 * alone.
 */
#ifndef NETACCT_PROTO_NF_SPLIT_H
#define NETACCT_PROTO_NF_SPLIT_H

#include <stddef.h>
#include <stdint.h>

enum nf_split {
	NF_SPLIT_NONE,		     /* not v9/IPFIX, malformed, or no template set */
	NF_SPLIT_TEMPLATES_ONLY,     /* only template sets: the datagram itself does */
	NF_SPLIT_TEMPLATES_AND_DATA, /* *outlen bytes in out: header + template sets */
};

enum nf_split nf_templates_only(const uint8_t *dg, size_t len, uint8_t *out, size_t outcap,
				size_t *outlen);

#endif
