/*
 * The capture keys: reading a savefile (nfacctd, sfacctd, pmacctd), the
 * packet daemons' live sources (pmacctd: libpcap; uacctd: NFLOG), their
 * flow tracking and sampling.  Where pmacct has one key per daemon
 * (pmacctd_flow_lifetime, uacctd_flow_lifetime) both rows share one field.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf/keys.h"

#define G(f) SCOPE_GLOBAL, offsetof(struct conf, f)

#define D_SAVEFILE (D_NFACCTD | D_SFACCTD | D_PMACCTD)
#define D_PACKET   (D_PMACCTD | D_UACCTD)

/* pcap_protocol is an ethertype, usually written in hex (0x0800). */
static int set_ethertype(const struct conf_key *k, void *base, const char *v, char *why,
			 size_t whylen)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 0);
	if (errno || *end || n < 1 || n > 0xffff) {
		snprintf(why, whylen, "'%s' is not an ethertype (1..0xffff, e.g. 0x0800)", v);
		return -1;
	}
	*(int *)(void *)((char *)base + k->off) = (int)n;
	return 0;
}

static const struct conf_key pcap_rows[] = {
    CONF_ROW(
	"pcap_savefile", CT_STRING, G(pcap_savefile), D_SAVEFILE, "", NULL, 0, 0,
	"Read the data from this libpcap capture file instead of the network (nfacctd: the "
	"NetFlow/IPFIX datagrams in it, each exporter being the packet's source address; "
	"pmacctd: the packets themselves). Every packet is accounted once, also when the daemon "
	"is stopped mid-file. The daemon exits once the file has been read, unless "
	"pcap_savefile_wait. In pmacct an alternative to nfacctd_ip/nfacctd_port or "
	"pcap_interface."),
    CONF_ROW(
	"pcap_savefile_wait", CT_BOOL, G(pcap_savefile_wait), D_SAVEFILE, "false", NULL, 0, 0,
	"After the last pass over pcap_savefile, keep running until a signal instead of exiting."),
    CONF_ROW(
	"pcap_savefile_delay", CT_INT, G(pcap_savefile_delay), D_SAVEFILE, "0", NULL, 0, 86400,
	"Seconds to sleep before each pass over pcap_savefile (for example to let a BGP session "
	"settle first, or to leave time for a flush between passes)."),
    CONF_ROW("pcap_savefile_replay", CT_INT, G(pcap_savefile_replay), D_SAVEFILE, "1", NULL, 1,
	     1 << 20,
	     "Passes over pcap_savefile. With NetFlow v9/IPFIX a second pass decodes the data sets "
	     "that came before their template the first time."),
    CONF_ROW("pcap_filter", CT_STRING, G(pcap_filter), D_SAVEFILE, "", NULL, 0, 0,
	     "libpcap filter (tcpdump syntax, see pcap-filter(7)) applied to every captured packet "
	     "before it is decoded."),
};

static const struct conf_key packet_rows[] = {
    CONF_ROW("pcap_interface", CT_STRING, G(pcap_interface), D_PMACCTD, "", NULL, 0, 0,
	     "Interface to capture on (libpcap). Unset and without pcap_interfaces_map or "
	     "pcap_savefile: libpcap's default device."),
    CONF_ROW("pcap_interfaces_map", CT_STRING, G(pcap_interfaces_map), D_PMACCTD, "", NULL, 0, 0,
	     "Map of interfaces to capture on, one per line: ifname=<name> [ifindex=<n>] "
	     "[direction=in|out]. Read at start."),
    CONF_ROW("pcap_interface_wait", CT_BOOL, G(pcap_interface_wait), D_PMACCTD, "false", NULL, 0, 0,
	     "Wait for a capture interface that does not exist yet (retrying every few seconds) "
	     "instead of failing at start."),
    CONF_ROW("pcap_direction", CT_ENUM, G(pcap_direction), D_PMACCTD, "", "in|out", 0, 0,
	     "Capture only packets of this direction (pcap_setdirection); it also says whether "
	     "pcap_ifindex fills in_iface (in) or out_iface (out)."),
    CONF_ROW("uacctd_direction", CT_ENUM, G(pcap_direction), D_UACCTD, "", "in|out", 0, 0,
	     "Direction of the logged traffic (uacctd)."),
    CONF_ROW("pcap_ifindex", CT_ENUM, G(pcap_ifindex), D_PMACCTD, "none", "sys|hash|map|none", 0, 0,
	     "Where the capture interface's ifindex comes from: sys (if_nametoindex), hash (of "
	     "the name), map (pcap_interfaces_map's ifindex) or none. It fills in_iface, or "
	     "out_iface when the direction is out."),
    CONF_ROW("promisc", CT_BOOL, G(promisc), D_PMACCTD, "true", NULL, 0, 0,
	     "Put the capture interface in promiscuous mode."),
    CONF_ROW(
	"snaplen", CT_INT, G(snaplen), D_PACKET, "2048", NULL, 64, 262144,
	"Bytes captured of each packet (pmacctd), or copied by NFLOG (uacctd). Packet and byte "
	"counters use the original length whatever the snaplen; the capture ring holds "
	"pmacctd_pipe_size / snaplen packets, so a large snaplen means fewer."),
    CONF_ROW("pmacctd_pipe_size", CT_INT, G(nfacctd_pipe_size), D_PMACCTD, "0", NULL, 0, 1 << 30,
	     "Bytes of kernel capture buffer per interface and worker (pcap_set_buffer_size); 0: "
	     "8 MiB."),
    {"pcap_protocol", CT_INT, G(pcap_protocol), D_PMACCTD, "", NULL, 0, 0,
     "Capture only this ethertype (e.g. 0x0800), through pcap_set_protocol() (Linux).",
     set_ethertype, NULL},
    CONF_ROW("pmacctd_fanout", CT_BOOL, G(pmacctd_fanout), D_PMACCTD, "true", NULL, 0, 0,
	     "netacct: with several workers, every worker captures each interface in one "
	     "PACKET_FANOUT group (Linux). false, or a kernel that refuses fanout: worker 0 "
	     "captures and hands each frame to the worker of its flow."),
    CONF_ROW("pmacctd_time_new", CT_BOOL, G(nfacctd_time_new), D_PMACCTD, "false", NULL, 0, 0,
	     "Time packets by their arrival at the daemon instead of the capture's timestamps "
	     "(which matters when reading pcap_savefile)."),
    CONF_ROW("pmacctd_renormalize", CT_BOOL, G(nfacctd_renormalize), D_PMACCTD, "false", NULL, 0, 0,
	     "Scale packets and bytes by sampling_rate."),
    CONF_ROW("uacctd_renormalize", CT_BOOL, G(nfacctd_renormalize), D_UACCTD, "false", NULL, 0, 0,
	     "Scale packets and bytes by sampling_rate."),
    CONF_ROW("sampling_rate", CT_INT, G(sampling_rate), D_PACKET, "0", NULL, 0, 1 << 24,
	     "Account 1 packet in N, chosen at random; records carry sampling_rate N (see "
	     "pmacctd_renormalize). 0 or 1: every packet."),
    CONF_ROW("pmacctd_flow_buffer_size", CT_INT, G(flow_buffer_size), D_PMACCTD, "16777216", NULL,
	     65536, 1 << 30,
	     "Bytes of flow state per worker (flows counter). When full, the least recently seen "
	     "flow is forgotten (counted as evicted)."),
    CONF_ROW("uacctd_flow_buffer_size", CT_INT, G(flow_buffer_size), D_UACCTD, "16777216", NULL,
	     65536, 1 << 30, "Bytes of flow state (flows counter)."),
    CONF_ROW("pmacctd_flow_lifetime", CT_INT, G(flow_lifetime), D_PMACCTD, "60", NULL, 1, 86400 * 7,
	     "Seconds a non-TCP flow may be idle before its next packet starts a new flow (capture "
	     "time when reading pcap_savefile)."),
    CONF_ROW("uacctd_flow_lifetime", CT_INT, G(flow_lifetime), D_UACCTD, "60", NULL, 1, 86400 * 7,
	     "Seconds a non-TCP flow may be idle before its next packet starts a new flow."),
    CONF_ROW("pmacctd_flow_tcp_lifetime", CT_INT, G(flow_tcp_lifetime), D_PMACCTD, "60", NULL, 1,
	     86400 * 7, "Seconds a TCP flow may be idle before its next packet starts a new flow."),
    CONF_ROW("uacctd_flow_tcp_lifetime", CT_INT, G(flow_tcp_lifetime), D_UACCTD, "60", NULL, 1,
	     86400 * 7, "Seconds a TCP flow may be idle before its next packet starts a new flow."),
    CONF_ROW("pmacctd_frag_buffer_size", CT_INT, G(frag_buffer_size), D_PMACCTD, "0", NULL, 0,
	     1 << 30,
	     "Bytes of fragment state per worker: fragmented datagrams remembered so that every "
	     "fragment is accounted under the datagram's ports; 0: room for 1024 datagrams."),
    CONF_ROW("uacctd_frag_buffer_size", CT_INT, G(frag_buffer_size), D_UACCTD, "0", NULL, 0,
	     1 << 30, "Bytes of fragment state; 0: room for 1024 datagrams."),
    CONF_ROW("user", CT_STRING, G(user), D_PACKET, "", NULL, 0, 0,
	     "netacct: once the captures and sockets are open, run as this user (name or uid)."),
    CONF_ROW("group", CT_STRING, G(group), D_PACKET, "", NULL, 0, 0,
	     "netacct: once the captures and sockets are open, run as this group (name or gid); "
	     "default: the user's primary group."),
};

static const struct conf_key nflog_rows[] = {
    CONF_ROW("uacctd_group", CT_INT, G(uacctd_group), D_UACCTD, "0", NULL, 0, 65535,
	     "NFLOG group to bind (the `log group N` of an nftables rule)."),
    CONF_ROW("uacctd_nl_size", CT_INT, G(uacctd_nl_size), D_UACCTD, "131072", NULL, 4096, 1 << 30,
	     "Netlink socket receive buffer in bytes."),
    CONF_ROW("uacctd_threshold", CT_INT, G(uacctd_threshold), D_UACCTD, "1", NULL, 1, 65535,
	     "Packets the kernel queues before sending them to the daemon in one message."),
};

const struct conf_key_table conf_keys_pcap =
    CONF_TABLE("pcap", "Reading a libpcap savefile (pcap_savefile).", pcap_rows);
const struct conf_key_table conf_keys_packet = CONF_TABLE(
    "packet", "The packet daemons' sources, flow tracking and sampling (pmacctd, uacctd).",
    packet_rows);
const struct conf_key_table conf_keys_nflog =
    CONF_TABLE("nflog", "The NFLOG source (uacctd).", nflog_rows);
