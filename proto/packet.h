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
 * too (for a frame that is not IP: its wire length).
 *
 * pmacct's choices, kept (checked against Debian's pmacctd 1.7.7):
 * - vlan (vlan_in) and cos are the outer tag's, also with QinQ: pmacctd
 *   reads the first tag.  Unlike pmacctd 1.7.7, which gives up on an 802.1ad
 *   (0x88a8) or 0x9100 outer tag, those are walked too.
 * - etype is the network protocol found (0x0800/0x86dd, also under MPLS or
 *   on raw-IP links), or for other frames the last ethertype read.
 * - ICMP and ICMPv6 have ports 0: icmp_type_code is filled but FR_ICMP is
 *   not set, as that bit makes dst_port show type/code (NetFlow's way).
 * - A capture cut inside the transport header still gives a record, with
 *   the fields that fit (pmacctd accounts such packets with zero ports).
 * - Tunnels: the first VXLAN (UDP destination port 4789) or GRE (IPv4,
 *   IPv6, Ethernet inside) level only.
 * - MPLS: the IP version nibble under the bottom label says IPv4 or IPv6
 *   (pmacctd 1.7.7 misreads frames with two or more labels).
 *
 * Every byte is read through proto/cursor.h; nothing is allocated per
 * packet.  Non-first IPv4/IPv6 fragments get their ports (and IPv6 their
 * transport protocol) from a bounded per-decoder table of first fragments
 * (pmacctd_frag_buffer_size), so a fragmented datagram is accounted under
 * its real ports; see hold_orphans for fragments that come before their
 * first one.
 */
#ifndef NETACCT_PROTO_PACKET_H
#define NETACCT_PROTO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "proto/cursor.h"
#include "proto/decap.h" /* enum decap_link: the link types */

/* What became of a frame: one counter each (pkt_reason_name() names it). */
enum pkt_reason {
	PKT_OK,		/* the record was filled (IPv4 or IPv6; a cut transport header
			   leaves the ports out, counted in l4_cut): account it */
	PKT_NOT_IP,	/* no IP header (ARP, LLC, ...): L2 fields, etype (if any), packets
			   and bytes (the wire length) were filled */
	PKT_TRUNCATED,	/* the capture ends inside the link or IP headers (options and
			   extension headers included): L2 fields at most, drop it */
	PKT_BAD_HEADER, /* inconsistent lengths or versions: drop it */
	PKT_FRAG_HELD,	/* a non-first fragment held for its first one (hold_orphans):
			   not to be accounted now, its first fragment's record will */
	PKT__COUNT
};

const char *pkt_reason_name(enum pkt_reason r);

struct pkt_frag; /* first-fragment table entry (proto/packet.c) */

/* Per-worker decoder state: counters and the first-fragment table. */
struct pkt_decoder {
	uint64_t n[PKT__COUNT];
	struct pkt_frag *frags; /* hash table of recent fragmented datagrams */
	unsigned nfrags, frag_cap;
	/*
	 * pmacctd's way with a non-first fragment that comes before its first
	 * one: hold it (PKT_FRAG_HELD, no record) and add its packet and bytes
	 * to the first fragment's record.  Off (the default, right for sampled
	 * sFlow headers where the first fragment is rarely sampled): such a
	 * fragment is recorded at once, without ports.  Set after init.
	 */
	uint8_t hold_orphans;
	uint64_t frag_orphans; /* non-first fragments whose first one was not known */
	uint64_t frag_lost;    /* held fragments dropped unaccounted (evicted, expired) */
	uint64_t l4_cut;       /* IP records whose transport header the capture cut */
	/*
	 * After pkt_decode() returned PKT_OK: the outer IP header and the
	 * captured bytes of its packet (at most the IP length), for the nDPI
	 * classifier.  Points into the frame.
	 */
	const uint8_t *l3;
	size_t l3_len;
};

/*
 * frag_cap: fragmented datagrams remembered (0 = default 1024; see
 * pkt_frag_entry_size() to turn pmacctd_frag_buffer_size into entries).
 * 0, or -1 (no memory).
 */
int pkt_decoder_init(struct pkt_decoder *d, unsigned frag_cap);
void pkt_decoder_free(struct pkt_decoder *d);

/* Bytes one first-fragment table entry takes. */
size_t pkt_frag_entry_size(void);

/*
 * Decode caplen bytes of a frame whose original length was wirelen, captured
 * at ts.  r must have been cleared by the caller (flow_rec_clear()); only the
 * fields found are written and their FR_* bits set.  Returns the reason
 * (already counted in d->n).
 */
enum pkt_reason pkt_decode(struct pkt_decoder *d, enum decap_link link, const uint8_t *frame,
			   size_t caplen, size_t wirelen, nt_usec ts, struct flow_rec *r);

/*
 * ---- the link-layer and IP-header walk (shared with proto/decap.c) ----
 *
 * Both decoders read frames with these, so a link type, a tag or an
 * extension header is taught to both at once.  Results: PW_OK, or why not.
 */
enum pkt_walk { PW_OK, PW_NOT_IP, PW_TRUNCATED, PW_BAD };

#define PKT_MAX_VLAN_TAGS 8
#define PKT_MAX_MPLS	  16

/* What the link layer said. */
struct pkt_l2 {
	uint8_t macs; /* 2: both MACs (Ethernet), 1: source only (SLL/SLL2), 0: none */
	uint8_t dst_mac[6], src_mac[6];
	uint8_t nvlan;		    /* VLAN tags crossed (802.1Q, 802.1ad, 0x9100) */
	uint16_t vlan_tci[2];	    /* the outer two tags' TCI, outermost first */
	uint16_t etype;		    /* the last ethertype read (0: none, e.g. raw IP) */
	uint8_t nmpls;		    /* MPLS label stack entries crossed */
	uint32_t mpls[FR_MPLS_MAX]; /* the top ones, as on the wire */
	uint8_t ipver;		    /* PW_OK: 4 or 6, the cursor is on that IP header */
};

/* Link header of a frame of type link: on PW_OK c is at the IP header. */
enum pkt_walk pkt_walk_link(enum decap_link link, struct cursor *c, struct pkt_l2 *l2);

/* The rest of an Ethernet header from its (first) ethertype: tags, MPLS. */
enum pkt_walk pkt_walk_ether(struct cursor *c, uint16_t type, struct pkt_l2 *l2);

/* What an IPv4 or IPv6 header said. */
struct pkt_ip {
	uint8_t version;
	uint8_t proto;	   /* IPv4 protocol; IPv6: the header after the extension headers */
	uint8_t tos;	   /* IPv4 ToS, IPv6 traffic class */
	uint8_t cut;	   /* the capture ends before the IP length does */
	uint8_t frag;	   /* a fragment (IPv6: not an atomic one); pl is its fragment data */
	uint8_t frag_more; /* more fragments follow */
	uint32_t frag_off; /* fragment offset in bytes */
	uint32_t frag_id;  /* IPv4 identification or IPv6 fragment id */
	uint32_t len;	   /* IPv4 total length; IPv6 40 + payload length */
	uint32_t flow_label;
	struct nt_addr src, dst;
	const uint8_t *hdr; /* the IP header */
	struct cursor pl;   /* the payload after the headers */
};

/*
 * One IP header (version 4 or 6; 0 = by the version nibble) with IPv4
 * options or IPv6 extension headers, up to a fragment header (IPv6 atomic
 * fragments are walked through).  On PW_OK ip->pl is the payload, cut at the IP length (padding
 * dropped) and at the capture (ip->cut).  A non-IP version nibble is PW_NOT_IP (0) or PW_BAD.
 */
enum pkt_walk pkt_walk_ip(struct cursor *c, uint8_t version, struct pkt_ip *ip);

/*
 * IPv6 extension headers (hop-by-hop, routing, destination options, AH,
 * mobility, HIP, shim6) from next header *nh until a transport header;
 * a fragment header here is PW_BAD, one running out of c PW_TRUNCATED.
 */
enum pkt_walk pkt_walk_v6_exts(struct cursor *c, uint8_t *nh);

/* Whether IPv6 next header nh is one of those extension headers. */
int pkt_v6_ext_hdr(uint8_t nh);

#endif
