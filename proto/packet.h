/*
 * Packet headers to a flow record: the one L2-L4 decoder shared by sFlow's
 * raw-packet-header records (sfacctd), libpcap captures (pmacctd) and NFLOG
 * (uacctd).
 *
 * pkt_decode() reads one frame (or one sampled header: caplen may be far less
 * than the original length) and fills the record's L2 fields (MACs, 802.1Q and
 * QinQ VLANs, CoS, ethertype, MPLS stack), L3 fields (addresses, protocol, ToS,
 * IPv6 flow label; IPv6 extension headers skipped), L4 fields (ports, TCP
 * flags, ICMP type/code) and, for VXLAN and GRE, the inner headers as the
 * tunnel_* fields.  packets = 1 and bytes = the original IP length are set
 * too.  Every byte is read through proto/cursor.h; nothing is allocated per
 * packet.  Non-first IPv4/IPv6 fragments get their ports from a small
 * per-decoder table of first fragments (pmacctd_frag_buffer_size), so a
 * fragmented datagram is accounted under its real ports.
 */
#ifndef NETACCT_PROTO_PACKET_H
#define NETACCT_PROTO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "proto/decap.h" /* enum decap_link: the link types */

/* What became of a frame: one counter each (pkt_reason_name() names it). */
enum pkt_reason {
	PKT_OK,		/* the record was filled (IPv4 or IPv6) */
	PKT_NOT_IP,	/* no IP header (ARP, LLC, ...): L2 fields only were filled */
	PKT_TRUNCATED,	/* the capture ends inside a header the record needs */
	PKT_BAD_HEADER, /* inconsistent lengths or versions */
	PKT__COUNT
};

const char *pkt_reason_name(enum pkt_reason r);

struct pkt_frag; /* first-fragment table entry (proto/packet.c) */

/* Per-worker decoder state: counters and the first-fragment table. */
struct pkt_decoder {
	uint64_t n[PKT__COUNT];
	struct pkt_frag *frags; /* ring of recent first fragments */
	unsigned nfrags, frag_cap;
};

/* frag_cap: first fragments remembered (0 = default 1024). 0, or -1 (no memory). */
int pkt_decoder_init(struct pkt_decoder *d, unsigned frag_cap);
void pkt_decoder_free(struct pkt_decoder *d);

/*
 * Decode caplen bytes of a frame whose original length was wirelen, captured
 * at ts.  r must have been cleared by the caller (flow_rec_clear()); only the
 * fields found are written and their FR_* bits set.  Returns the reason
 * (already counted in d->n).
 */
enum pkt_reason pkt_decode(struct pkt_decoder *d, enum decap_link link, const uint8_t *frame,
			   size_t caplen, size_t wirelen, nt_usec ts, struct flow_rec *r);

#endif
