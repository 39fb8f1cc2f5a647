/*
 * The flow record: the single meeting point of decoders and aggregation.
 *
 * Every decoder (NetFlow v5/v8/v9, IPFIX, later sFlow, pcap, NFLOG) fills one
 * of these per flow; every primitive in agg/primitive.c reads from it.  A
 * field is meaningful only when its FR_* bit is set in `present`, so "zero"
 * and "not exported" stay distinguishable (pmacct prints zero either way, but
 * enrichment such as the exporter-address override needs the difference).
 */
#ifndef NETACCT_AGG_FLOW_H
#define NETACCT_AGG_FLOW_H

#include <stdint.h>

/* An IPv4 or IPv6 address; family 0 means "absent". v4 lives in a[0..3]. */
struct nt_addr {
	uint8_t family; /* 0, 4 or 6 */
	uint8_t a[16];
};

#define FR_MPLS_MAX   10
#define FR_CUSTOM_MAX 32

enum fr_field {
	FR_SRC_ADDR,
	FR_DST_ADDR,
	FR_SRC_MASK,
	FR_DST_MASK,
	FR_SRC_PORT,
	FR_DST_PORT,
	FR_PROTO,
	FR_TOS,
	FR_TCP_FLAGS,
	FR_SRC_AS,
	FR_DST_AS,
	FR_IN_IFACE,
	FR_OUT_IFACE,
	FR_PEER_SRC_IP,
	FR_PEER_DST_IP,
	FR_SRC_MAC,
	FR_DST_MAC,
	FR_VLAN_IN,
	FR_VLAN_OUT,
	FR_MPLS,
	FR_FWD_STATUS,
	FR_TS_START,
	FR_TS_END,
	FR_SAMPLING,
	FR_DIRECTION,
	FR_POST_NAT_SRC_ADDR,
	FR_POST_NAT_DST_ADDR,
	FR_POST_NAT_SRC_PORT,
	FR_POST_NAT_DST_PORT,
	FR_NAT_EVENT,
	FR_FLOW_LABEL,
	FR_VRF_IN,
	FR_VRF_OUT,
	FR_ENGINE,
	FR_FLOWS,
	FR_ICMP,
	FR_SAMPLING_DIR, /* sampling_direction known from the sampler's options */

	/* tagging (pre_tag_map, post_tag) */
	FR_TAG,
	FR_TAG2,
	FR_LABEL,

	/* L2 and BGP-ish fields from sFlow and packet headers */
	FR_COS,
	FR_ETYPE,
	FR_PEER_SRC_AS,
	FR_PEER_DST_AS,
	FR_AS_PATH,
	FR_STD_COMM,
	FR_LOCAL_PREF,

	/* inner headers of a tunnel (VXLAN, GRE): tunnel_* primitives */
	FR_TUNNEL_MAC,
	FR_TUNNEL_ADDR,
	FR_TUNNEL_PORTS,

	/* packet classification (nDPI) */
	FR_CLASS,

	/* names and route distinguishers from NetFlow/IPFIX options data */
	FR_VRF_NAME,
	FR_IFNAME_IN,
	FR_IFNAME_OUT,
	FR_MPLS_VPN_RD,

	/* enrichment (networks_file, GeoIP) */
	FR_SRC_NET,
	FR_DST_NET,
	FR_SRC_GEO, /* src_geo (GeoIP) */
	FR_DST_GEO,

	FR__COUNT
};

/* mpls_vpn_rd_origin: where the route distinguisher came from (pmacct's names) */
enum fr_rd_origin { FR_RD_UNKNOWN, FR_RD_FLOW, FR_RD_BGP, FR_RD_BMP, FR_RD_MAP };
/* mpls_vpn_rd type when only the VRF id is known (value: the id), printed "vrfid:N" */
#define FR_RD_TYPE_VRFID 0x1000u

_Static_assert(FR__COUNT <= 64, "struct flow_rec.present holds one bit per field");

#define FR_HAS(r, f) (((r)->present >> (f)) & 1u)
#define FR_SET(r, f) ((r)->present |= (1ull << (f)))

/* Microseconds since the Unix epoch; 0 = unknown. */
typedef uint64_t nt_usec;

struct flow_rec {
	uint64_t present; /* bit per enum fr_field */

	struct nt_addr src_addr, dst_addr;
	struct nt_addr peer_src_ip; /* exporter; datagram source unless IE 130/131 */
	struct nt_addr peer_dst_ip; /* BGP next hop */
	struct nt_addr post_nat_src_addr, post_nat_dst_addr;

	uint64_t packets, bytes, flows;

	uint32_t src_as, dst_as;
	uint32_t in_iface, out_iface;
	uint32_t sampling_rate; /* 1-in-N as exported (0/1 = unsampled) */
	uint32_t flow_label;
	uint32_t vrf_in, vrf_out;
	uint32_t mpls[FR_MPLS_MAX]; /* raw 24-bit label stack entries (label<<4|exp<<1|bos) */

	uint16_t src_port, dst_port;
	uint16_t post_nat_src_port, post_nat_dst_port;
	uint16_t vlan_in, vlan_out;
	uint16_t icmp_type_code; /* type << 8 | code (IPFIX IE 32 / 139) */

	uint8_t src_mask, dst_mask;
	uint8_t proto, tos, tcp_flags;
	uint8_t fwd_status;
	uint8_t direction;	    /* 0 ingress, 1 egress */
	uint8_t sampling_direction; /* 0 ingress, 1 egress (from sampler options) */
	uint8_t nat_event;
	uint8_t mpls_depth;
	uint8_t engine_type, engine_id;
	uint8_t src_mac[6], dst_mac[6];

	nt_usec ts_start, ts_end; /* flow start/end as exported */
	nt_usec ts_arrival;	  /* when the datagram was received */
	nt_usec ts_export;	  /* export header time */

	/* export protocol metadata, always set by a NetFlow/IPFIX decoder */
	uint16_t export_version;
	uint32_t export_seqno;
	uint32_t export_sysid; /* v9 source_id / IPFIX observation domain / v5 engine */

	/*
	 * User-defined primitives (aggregate_primitives): raw field bytes that
	 * point into the datagram being decoded, valid only until the record
	 * has been accounted.  Index = the custom primitive's position in the
	 * daemon's custom primitive list; len 0 = absent.
	 */
	/* tagging */
	uint64_t tag, tag2;
	const char *label; /* NUL-terminated, owned by the map snapshot of this batch */

	/* L2 and BGP-ish fields (sFlow, packet headers) */
	uint8_t cos;
	uint16_t etype;
	uint32_t peer_src_as, peer_dst_as;
	uint32_t local_pref;
	const char *as_path;  /* text as pmacct prints it ("65001_65002"), valid for this record */
	const char *std_comm; /* text ("65001:1_65001:2"), valid for this record */

	/* inner headers of a tunnel */
	uint8_t tunnel_src_mac[6], tunnel_dst_mac[6];
	struct nt_addr tunnel_src_addr, tunnel_dst_addr;
	uint8_t tunnel_proto, tunnel_tos;
	uint16_t tunnel_src_port, tunnel_dst_port;

	/* classification: application protocol name, valid for this record */
	const char *class_name;

	/* names from options data, valid for this record */
	const char *vrf_name, *vrf_name_in, *vrf_name_out;
	const char *ifname_in, *ifname_out;
	uint64_t mpls_vpn_rd;	    /* 8 bytes as on the wire (type:2, value:6); FR_RD_TYPE_VRFID */
	uint8_t mpls_vpn_rd_origin; /* enum fr_rd_origin */

	/* enrichment: prefixes found by networks_file (mask in src_mask/dst_mask) */
	struct nt_addr src_net, dst_net;
	/* enrichment: GeoIP (geoipv2_file) of src_addr / dst_addr */
	struct nt_geo {
		char country[4]; /* ISO 3166 alpha-2, "" unknown */
		char pocode[12]; /* postal code, "" unknown */
		double lat, lon;
	} src_geo, dst_geo;

	/* ---- below: not cleared by flow_rec_clear() ---- */
	const uint8_t *custom_ptr[FR_CUSTOM_MAX];
	uint16_t custom_len[FR_CUSTOM_MAX];
};

/* Reset a record to "nothing present" cheaply (custom pointers only by length). */
void flow_rec_clear(struct flow_rec *r);

#endif
