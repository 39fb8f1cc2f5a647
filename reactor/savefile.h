/*
 * pcap_savefile: a worker's source when the daemon replays a capture file.
 * The file is read in chunks from the worker's own loop (signals, stats and
 * stop requests are served between chunks, never inside one), each UDP
 * datagram goes through the same path as one received from a socket, and
 * the packets' timestamps are the worker's clock: refresh rounds close when
 * capture time crosses their boundary, so a file spanning several intervals
 * flushes several times, the same way on every run.
 *
 * Keys: pcap_savefile, pcap_filter, pcap_savefile_delay (seconds before
 * reading), pcap_savefile_replay (times the file is read), pcap_savefile_wait
 * (keep running at the end instead of flushing and exiting).
 */
#ifndef NETACCT_REACTOR_SAVEFILE_H
#define NETACCT_REACTOR_SAVEFILE_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct savefile;

/* Open the file and schedule reading on w's loop; -1 with a message naming the key. */
int savefile_open(struct savefile **sf, struct worker *w, char *err, size_t errlen);
/* On w's thread, at stop: log where reading stopped. */
void savefile_log_stop(const struct savefile *sf);
void savefile_free(struct savefile *sf);

#endif
