/*
 * Capture sources: libpcap, from a savefile (pcap_savefile) or a live
 * interface.  Two ways to read:
 *   capture_read()        each frame goes through proto/decap (link layer, IP,
 *                         IPv4/IPv6 fragment reassembly, UDP) and every UDP
 *                         datagram found is delivered as a struct nt_dgram
 *                         (nfacctd, sfacctd: the collectors' replay);
 *   capture_read_frames() the frames themselves (pmacctd).
 * Either way the timestamp is the packet's capture time (usec), so a
 * savefile can drive the daemon's clock.  Built without libpcap, every open
 * fails with "built without libpcap".  A capture belongs to one thread.
 */
#ifndef NETACCT_REACTOR_CAPTURE_H
#define NETACCT_REACTOR_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/decap.h"
#include "reactor/input.h"

struct capture;

struct capture_stats {
	uint64_t packets;	  /* frames read (past pcap_filter) */
	uint64_t datagrams;	  /* UDP datagrams delivered */
	uint64_t bytes;		  /* their payload bytes (frames: wire bytes) */
	uint64_t rewinds;	  /* capture_rewind() calls that succeeded */
	uint64_t pcap_recv;	  /* live: packets the kernel saw (pcap_stats ps_recv) */
	uint64_t pcap_drop;	  /* live: dropped for want of buffer space (ps_drop) */
	struct decap_stats decap; /* per-frame outcome, each reason named */
};

/* Options of a live capture; zero fields take the defaults. */
struct capture_live_opts {
	int snaplen;	   /* default 65535 */
	int promisc;	   /* default 0 */
	int buffer_bytes;  /* kernel buffer, default libpcap's */
	int timeout_ms;	   /* default 100 (only matters without immediate mode) */
	int direction_in;  /* 1: incoming packets only */
	int direction_out; /* 1: outgoing packets only */
	int protocol;	   /* ethertype to capture (pcap_set_protocol_linux), 0: all */
	/*
	 * Linux PACKET_FANOUT group (1..65535, 0: none): the captures of one
	 * group on one interface share its packets, each flow (both directions,
	 * fragments reassembled for the hash) always on the same capture.
	 */
	int fanout_group;
};

/* One captured frame, valid only during the call. */
struct capture_frame {
	enum decap_link link;
	const uint8_t *data;
	size_t caplen;	/* bytes captured */
	size_t wirelen; /* bytes on the wire */
	nt_usec ts;
};

/* Same contract as capture_fn. */
typedef int (*capture_frame_fn)(void *arg, const struct capture_frame *f);

/*
 * A datagram, valid only during the call.  Return 0 to go on, 1 to stop the
 * current capture_read() after this datagram (e.g. its timestamp crossed a
 * refresh boundary and the caller wants to flush first).
 */
typedef int (*capture_fn)(void *arg, const struct nt_dgram *d);

/* 1 when built with libpcap. */
int capture_supported(void);

/*
 * Open a savefile (pcap or pcapng).  bpf_filter (pcap_filter) may be NULL or
 * "".  0 and *out, or -1 with err naming the path (missing, unreadable, not a
 * capture, unsupported link type) or naming pcap_filter with pcap's message.
 */
int capture_open_savefile(struct capture **out, const char *path, const char *bpf_filter, char *err,
			  size_t errlen);

/*
 * Open a live capture on an interface: non-blocking, immediate mode, with a
 * selectable fd (capture_fd).  Same error contract (the error names the
 * interface; capturing needs CAP_NET_RAW).  A fanout group the kernel
 * refuses fails the open ("PACKET_FANOUT: ...").
 */
int capture_open_live(struct capture **out, const char *ifname, const char *bpf_filter,
		      const struct capture_live_opts *opt, char *err, size_t errlen);

/* The fd to watch for readability (live), -1 for a savefile (always readable). */
int capture_fd(const struct capture *c);

/*
 * Read up to max_packets (>= 1) frames and deliver their UDP datagrams to fn.
 * Returns the frames read (> 0); 0 at the end of a savefile, or when a live
 * capture has nothing more right now; -1 on a read error (err says why).
 * A frame that yields no datagram still counts as read.
 */
int capture_read(struct capture *c, int max_packets, capture_fn fn, void *arg, char *err,
		 size_t errlen);

/* The same, delivering the frames undecoded (link type included). */
int capture_read_frames(struct capture *c, int max_packets, capture_frame_fn fn, void *arg,
			char *err, size_t errlen);

/*
 * Savefile: start again from the first packet (pcap_savefile_replay).
 * Incomplete fragments of the previous pass are dropped (frag_evicted).
 * 0, or -1 with err (file gone since...).  Live: -1.
 */
int capture_rewind(struct capture *c, char *err, size_t errlen);

void capture_get_stats(struct capture *c, struct capture_stats *st);

/* The file or interface name given at open. */
const char *capture_name(const struct capture *c);

void capture_close(struct capture *c);

#endif
