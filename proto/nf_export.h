/*
 * NetFlow v5, v9 (RFC 3954) and IPFIX (RFC 7011) export datagrams from flows:
 * the encoder the nfprobe output sends through.
 *
 * One encoder is one export stream: one source id / observation domain (v5:
 * one engine type/id), its sequence numbers and its datagram being filled.
 * Flows are appended with nfx_add(); when the next record would not fit in
 * `mtu` bytes (v5: 30 records), the datagram is finished and handed to the
 * send callback, and a new one is started.  nfx_flush() hands over a partial
 * datagram.  Nothing is allocated; nothing is logged.
 *
 * Sequence numbers, as the collectors check them:
 *   v5     flow_sequence: flows exported before this datagram;
 *   v9     the datagram's number (RFC 3954: export packets of the source id);
 *   IPFIX  data records exported before this message (RFC 7011 §3.1).
 *
 * v9/IPFIX: two data templates, 256 for IPv4 flows and 257 for IPv6 ones,
 * with the fields chosen at init (NFX_F_* bits), are sent in the first
 * datagram and again at the head of a datagram once NFX_TPL_EVERY_DGRAMS
 * datagrams or NFX_TPL_EVERY_SECS seconds have passed since they were last
 * sent (netacct's choice; a collector that starts late waits at most that
 * long).  v5 carries IPv4 flows only: an IPv6 flow is refused (nfx_add()
 * returns NFX_SKIPPED) and counted by the caller.
 */
#ifndef NETACCT_PROTO_NF_EXPORT_H
#define NETACCT_PROTO_NF_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"

#define NFX_TPL_EVERY_DGRAMS 20
#define NFX_TPL_EVERY_SECS   60
#define NFX_MTU_DEFAULT	     1400
#define NFX_MTU_MAX	     9000
#define NFX_V5_MAX_RECORDS   30
#define NFX_TPL_V4	     256
#define NFX_TPL_V6	     257

/* Fields of the v9/IPFIX templates (v5's record layout is fixed). */
enum nfx_field {
	NFX_F_SRC_ADDR = 1u << 0,
	NFX_F_DST_ADDR = 1u << 1,
	NFX_F_SRC_PORT = 1u << 2,
	NFX_F_DST_PORT = 1u << 3,
	NFX_F_PROTO = 1u << 4,
	NFX_F_TOS = 1u << 5,
	NFX_F_TCP_FLAGS = 1u << 6,
	NFX_F_IN_IFACE = 1u << 7,
	NFX_F_OUT_IFACE = 1u << 8,
	NFX_F_SRC_AS = 1u << 9,
	NFX_F_DST_AS = 1u << 10,
	NFX_F_SRC_MASK = 1u << 11,
	NFX_F_DST_MASK = 1u << 12,
	NFX_F_VLAN = 1u << 13,
	NFX_F_SRC_MAC = 1u << 14,
	NFX_F_DST_MAC = 1u << 15,
	NFX_F_MPLS_TOP = 1u << 16,
	NFX_F_DIRECTION = 1u << 17,
	NFX_F_FLOWS = 1u << 18,
	NFX_F_APP_NAME = 1u << 19, /* applicationName (IE 96): the nDPI class */
};

#define NFX_APP_NAME_LEN 32 /* applicationName's fixed length, NUL-padded */

/* One flow as exported. */
struct nfx_flow {
	struct nt_addr src, dst; /* family 4 or 6 */
	uint64_t packets, bytes, flows;
	nt_usec first, last;
	uint32_t in_iface, out_iface;
	uint32_t src_as, dst_as;
	uint32_t mpls_top; /* the top label stack entry as on the wire (label<<4|exp<<1|bos) */
	uint16_t src_port, dst_port;
	uint16_t vlan;
	uint8_t proto, tos, tcp_flags;
	uint8_t src_mask, dst_mask;
	uint8_t direction; /* 0 ingress, 1 egress */
	uint8_t src_mac[6], dst_mac[6];
	char app_name[NFX_APP_NAME_LEN]; /* NUL-padded; cut at NFX_APP_NAME_LEN bytes */
};

typedef void (*nfx_send_fn)(void *arg, const uint8_t *buf, size_t len, unsigned records);

struct nfx_encoder {
	int version; /* 5, 9 or 10 */
	uint32_t fields;
	uint32_t domain;		/* v9 source id, IPFIX observation domain */
	uint8_t engine_type, engine_id; /* v5 */
	size_t mtu;
	nt_usec boot; /* the exporter's sysUptime origin (v5, v9) */
	nfx_send_fn send;
	void *send_arg;

	uint32_t seq; /* the next datagram's sequence number */
	uint64_t dgrams_since_tpl;
	nt_usec tpl_sent_at; /* 0: never sent */

	/* the datagram being filled */
	size_t len;			/* 0: none started */
	unsigned records;		/* data records in it */
	unsigned hdr_count;		/* v5/v9 header count: records (and v9 template records) */
	size_t set_off;			/* offset of the open data set's header, 0: none open */
	uint16_t set_id;		/* its template id */
	uint16_t rec_len[2];		/* data record length of template 256 and 257 */
	uint8_t buf[NFX_MTU_MAX + 512]; /* a first record always fits after the headers */
};

/* What nfx_add() did. */
enum nfx_added { NFX_ADDED, NFX_SKIPPED };

/*
 * version 5, 9 or 10; fields: enum nfx_field bits (v9/IPFIX); domain: v9
 * source id / IPFIX observation domain, or engine_type << 8 | engine_id for
 * v5; mtu 0 = NFX_MTU_DEFAULT (512..NFX_MTU_MAX); boot: the sysUptime origin (v5, v9); send
 * receives each finished datagram.  -1 on a bad version or mtu.
 */
int nfx_init(struct nfx_encoder *e, int version, uint32_t fields, uint32_t domain, size_t mtu,
	     nt_usec boot, nfx_send_fn send, void *send_arg);

/* Append one flow (now: the exporter's clock, for headers and template refreshes). */
enum nfx_added nfx_add(struct nfx_encoder *e, const struct nfx_flow *f, nt_usec now);

/* Finish and send the datagram being filled, if any. */
void nfx_flush(struct nfx_encoder *e, nt_usec now);

/* Bytes one data record of a family (4 or 6) takes with the encoder's fields. */
size_t nfx_record_len(const struct nfx_encoder *e, int family);

#endif
