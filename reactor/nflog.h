/*
 * The NFLOG source (uacctd): packets a netfilter rule logs to a group
 * (nftables `log group N`, iptables `-j NFLOG --nflog-group N`), read
 * through libnetfilter_log from a non-blocking netlink socket.
 *
 * Each logged packet is delivered as a struct nt_frame: an Ethernet frame
 * when the kernel passed the MAC header (packets received on Ethernet),
 * else the IP packet itself (DECAP_LINK_RAW); in_iface/out_iface are the
 * NFLOG in/out device indexes, the time the kernel's timestamp or, without
 * one, the arrival time.  Built without libnetfilter_log, the open fails
 * with "built without libnetfilter_log".  A source belongs to one thread.
 */
#ifndef NETACCT_REACTOR_NFLOG_H
#define NETACCT_REACTOR_NFLOG_H

#include <stddef.h>
#include <stdint.h>

#include "reactor/input.h"

struct nflog_source;

struct nflog_source_opts {
	unsigned group;	    /* uacctd_group */
	unsigned nl_size;   /* uacctd_nl_size: netlink buffers, bytes */
	unsigned snaplen;   /* bytes of each packet copied */
	unsigned threshold; /* uacctd_threshold: packets per netlink message */
};

struct nflog_source_stats {
	uint64_t packets;  /* packets delivered */
	uint64_t messages; /* netlink reads */
	uint64_t enobufs;  /* the socket overflowed: packets lost in the kernel */
};

/* A logged packet, valid only during the call. */
typedef void (*nflog_source_fn)(void *arg, const struct nt_frame *f);

/* 1 when built with libnetfilter_log. */
int nflog_source_supported(void);

/*
 * Bind the group (needs CAP_NET_ADMIN).  0 and *out, or -1 with err naming
 * the group and the reason (a group another process holds: "busy").
 */
int nflog_source_open(struct nflog_source **out, const struct nflog_source_opts *o,
		      nflog_source_fn fn, void *arg, char *err, size_t errlen);

int nflog_source_fd(const struct nflog_source *s);

/*
 * Read up to max_msgs netlink messages without blocking and deliver their
 * packets.  Returns the messages read (0: nothing queued), -1 on an error
 * other than an overflow (err says why; overflows are counted).
 */
int nflog_source_read(struct nflog_source *s, int max_msgs, char *err, size_t errlen);

void nflog_source_get_stats(const struct nflog_source *s, struct nflog_source_stats *st);
void nflog_source_close(struct nflog_source *s);

#endif
