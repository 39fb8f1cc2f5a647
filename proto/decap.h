/*
 * Captured frames to UDP datagrams.
 *
 * A capture source (reactor/capture.c, later NFLOG) hands each frame to
 * decap_frame(), which strips the link layer (Ethernet with 802.1Q/802.1ad
 * tags and MPLS labels, Linux cooked SLL/SLL2, raw IPv4/IPv6, BSD
 * null/loopback), the IPv4 or IPv6 header (IPv4 options, IPv6 extension
 * headers) and the UDP header, and returns the UDP payload with its
 * addresses and ports.  IP fragments (IPv4 and IPv6) are reassembled in a
 * small buffer bounded in datagrams and bytes, with a timeout in capture
 * time.  Every frame that yields no datagram is counted under one named
 * reason.  The link layer and the IP header are walked by proto/packet.c
 * (pkt_walk_link, pkt_walk_ip), the same code the packet-header decoder of
 * pmacctd and sfacctd uses.  All peer bytes are read through proto/cursor.h.
 * No libpcap here:
 * the link type is decap's own enum, mapped from pcap's DLT by the caller.
 */
#ifndef NETACCT_PROTO_DECAP_H
#define NETACCT_PROTO_DECAP_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"

enum decap_link {
	DECAP_LINK_ETHERNET, /* DLT_EN10MB */
	DECAP_LINK_SLL,	     /* DLT_LINUX_SLL: Linux cooked capture v1 */
	DECAP_LINK_SLL2,     /* DLT_LINUX_SLL2 */
	DECAP_LINK_RAW,	     /* DLT_RAW / LINKTYPE_RAW: IPv4 or IPv6 by version nibble */
	DECAP_LINK_IPV4,     /* LINKTYPE_IPV4 */
	DECAP_LINK_IPV6,     /* LINKTYPE_IPV6 */
	DECAP_LINK_NULL,     /* DLT_NULL: 4-byte address family, capturing host's byte order */
	DECAP_LINK_LOOP,     /* DLT_LOOP (OpenBSD): 4-byte address family, network order */
};

/* What happened to a frame: one counter each (decap_reason_name() names it). */
enum decap_reason {
	DECAP_DATAGRAM,	    /* a UDP datagram was returned */
	DECAP_FRAGMENT,	    /* a fragment was stored, its datagram is not complete yet */
	DECAP_NOT_IP,	    /* link payload is neither IPv4 nor IPv6 (ARP, LLC...) */
	DECAP_NOT_UDP,	    /* IP, but not UDP (TCP, ICMP, ESP...) */
	DECAP_TRUNCATED,    /* the frame ends before the headers or the payload do (snaplen) */
	DECAP_BAD_HEADER,   /* inconsistent link/IP/UDP header (lengths, version) */
	DECAP_FRAG_OVERLAP, /* fragments overlap with different bytes: datagram dropped */
	DECAP_FRAG_TOO_BIG, /* fragment past 65535 bytes or past the final length: dropped */
	DECAP_FRAG_TIMEOUT, /* datagram incomplete after the timeout: dropped (counted once) */
	DECAP_FRAG_EVICTED, /* incomplete datagram evicted by the entry/byte limits */
	DECAP_FRAG_NOMEM,   /* no memory for reassembly: fragment dropped */
	DECAP__COUNT
};

const char *decap_reason_name(enum decap_reason r);

struct decap_stats {
	uint64_t frames; /* frames given to decap_frame() */
	uint64_t n[DECAP__COUNT];
};

/* Reassembly bounds; a zero field takes the default. */
struct decap_limits {
	unsigned max_datagrams; /* incomplete datagrams held at once (default 64) */
	size_t max_bytes;	/* their buffers together (default 4 MiB) */
	nt_usec timeout;	/* capture time from the first fragment (default 30 s) */
};

/* One UDP datagram found in a frame. */
struct decap_udp {
	const uint8_t *payload; /* into the frame, or the reassembly buffer */
	size_t len;
	struct nt_addr src, dst;
	uint16_t sport, dport;
};

struct decap_frag; /* reassembly entry (proto/decap.c) */

struct decap {
	enum decap_link link;
	struct decap_limits lim;
	struct decap_stats st;
	struct decap_frag *frags; /* incomplete datagrams, oldest first */
	unsigned nfrags;
	size_t frag_bytes;
	uint8_t *done; /* buffer of the last reassembled datagram (owned) */
};

/* 0, or -1 for an unknown link type. lim may be NULL (defaults). */
int decap_init(struct decap *d, enum decap_link link, const struct decap_limits *lim);

/* Release the reassembly buffers (incomplete datagrams are not counted). */
void decap_free(struct decap *d);

/*
 * Decode one frame of caplen captured bytes, captured at ts (capture time,
 * used for fragment timeouts).  Returns DECAP_DATAGRAM with *out filled --
 * out->payload stays valid until the next decap_frame() or decap_free() --
 * or the reason there is none (already counted in d->st).
 */
enum decap_reason decap_frame(struct decap *d, const uint8_t *frame, size_t caplen, nt_usec ts,
			      struct decap_udp *out);

/* Drop every incomplete datagram (counted as DECAP_FRAG_EVICTED), e.g. on rewind. */
void decap_flush(struct decap *d);

#endif
