/*
 * memory output (`plugins: memory[name]`): pmacct's in-memory table, read
 * with the `pmacct` client over a Unix socket (imt_path).
 *
 * Each round the writer thread folds the round's merged table into the
 * instance's long-lived table; the table is never reset by time, only by a
 * client (`pmacct -e`, or `-r` for the counters it read).
 *
 * Consistency: one mutex guards the long-lived table.  The writer holds it
 * for one fold, the query thread (started by open(), one per instance) for
 * the computation of one answer, which is rendered into a private buffer
 * and sent after the lock is released, so a slow client never holds it.
 * Why a lock rather than an RCU snapshot per round: queries also write
 * (erase, reset after read), and a snapshot would cost a full copy of a
 * possibly large table every round while queries are rare; with the lock a
 * query waits at most for one fold and a fold for one query's computation,
 * and neither is ever seen half done.  Workers never touch the lock: they
 * hand their tables to the writer through its bounded queue as for every
 * output, so a query can delay the writer but never packet reception.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "out/buf.h"
#include "out/imt_proto.h"
#include "out/imt_query.h"
#include "out/imt_req.h"
#include "out/output.h"

#define P(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
static const struct conf_key memory_rows[] = {
    CONF_ROW("imt_path", CT_STRING, P(imt_path), D_ALL, IMT_DEFAULT_PATH, NULL, 0, 0,
	     "Unix socket where the memory plugin answers `pmacct` client queries; each memory "
	     "instance needs its own."),
    CONF_ROW("imt_buckets", CT_INT, P(imt_buckets), D_ALL, "32771", NULL, 1, 1 << 28,
	     "Initial size of the memory table (entries); it grows as needed."),
    CONF_ROW("imt_mem_pools_number", CT_INT, P(imt_mem_pools_number), D_ALL, "16", NULL, 0, 1 << 20,
	     "Accepted for compatibility: the memory table is one growing hash table, not pools; "
	     "bound it with imt_max_entries."),
    CONF_ROW("imt_mem_pools_size", CT_INT, P(imt_mem_pools_size), D_ALL, "8192", NULL, 0, 1 << 30,
	     "Accepted for compatibility (see imt_mem_pools_number)."),
    CONF_ROW("imt_max_entries", CT_INT, P(imt_max_entries), D_ALL, "0", NULL, 0, 1 << 30,
	     "netacct: most entries the memory table holds (0: unbounded); further keys are "
	     "dropped and counted (pmacct -t: dropped_entries)."),
    CONF_ROW("imt_refresh_time", CT_INT, P(imt_refresh_time), D_ALL, "1", NULL, 1, 3600,
	     "netacct: seconds between the workers' hand-offs to the memory table (how stale a "
	     "query may be)."),
    CONF_ROW("imt_cache_entries", CT_INT, P(imt_cache_entries), D_ALL, "16411", NULL, 1, 1 << 28,
	     "netacct: initial size of each worker's table between hand-offs."),
};
#undef P
static const struct conf_key_table memory_keys = CONF_TABLE(
    "memory", "The memory output: an in-memory table read with the pmacct client.", memory_rows);
static const struct conf_key_table *const memory_tables[] = {&memory_keys, NULL};

struct mem_state {
	pthread_mutex_t lock;
	struct agg_table table; /* under lock */
	struct imt_status st;	/* under lock */
	int lfd;
	int stop[2]; /* close-on-stop pipe: the query thread polls it */
	pthread_t thr;
	int started;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const struct out_instance *oi;
	atomic_uint_fast64_t query_errors;
};

/* Whether someone answers on path (a running daemon's socket). */
static int socket_alive(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	int alive = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return alive;
}

static int listen_on(struct mem_state *ms, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat sb;
	if (lstat(ms->path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "key 'imt_path': %s exists and is not a socket",
				 ms->path);
			return -1;
		}
		if (socket_alive(ms->path)) {
			snprintf(err, errlen,
				 "key 'imt_path': %s is served by another process (give each "
				 "memory instance its own imt_path)",
				 ms->path);
			return -1;
		}
		unlink(ms->path); /* left behind by a daemon that died */
	}
	ms->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ms->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	snprintf(a.sun_path, sizeof a.sun_path, "%s", ms->path);
	if (bind(ms->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(ms->lfd, 64) < 0) {
		snprintf(err, errlen, "key 'imt_path': cannot listen on %s: %s", ms->path,
			 strerror(errno));
		close(ms->lfd);
		ms->lfd = -1;
		return -1;
	}
	return 0;
}

/* Read a request up to its empty line; the length, or -1. */
static ssize_t read_request(int fd, struct obuf *req)
{
	char chunk[4096];
	for (;;) {
		if (req->len >= 2 && memcmp(req->data + req->len - 2, "\n\n", 2) == 0)
			return (ssize_t)req->len;
		if (req->len == 1 && req->data[0] == '\n')
			return 1;
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (obuf_append(req, chunk, (size_t)n) < 0)
			return -1;
	}
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void serve_one(struct mem_state *ms, int fd, struct obuf *req, struct obuf *reply)
{
	struct timeval tv = {5, 0}; /* a stuck client cannot hold the query thread */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	obuf_reset(req);
	obuf_reset(reply);
	ssize_t n = read_request(fd, req);
	if (n < 0) {
		atomic_fetch_add(&ms->query_errors, 1);
		return;
	}
	struct imt_req r;
	char why[256];
	imt_req_init(&r);
	if (imt_req_parse(&r, req->data, (size_t)n, why, sizeof why) < 0) {
		obuf_printf(reply, "ERR %d %s\n", IMT_ERR_REQUEST, why);
		atomic_fetch_add(&ms->query_errors, 1);
	} else {
		struct imt_effect eff;
		pthread_mutex_lock(&ms->lock);
		ms->st.now = time(NULL);
		if (imt_query_run(&ms->table, &ms->oi->ks, &r, &ms->st, reply, &eff) < 0) {
			obuf_reset(reply);
			obuf_printf(reply, "ERR %d out of memory\n", IMT_ERR_INTERNAL);
		}
		if (eff.erased) {
			ms->st.cleared = ms->st.now;
			ms->st.dropped = 0;
		}
		ms->st.queries++;
		pthread_mutex_unlock(&ms->lock);
	}
	imt_req_free(&r);
	if (reply->len && write_all(fd, reply->data, reply->len) < 0)
		atomic_fetch_add(&ms->query_errors, 1);
}

static void *query_thread(void *arg)
{
	struct mem_state *ms = arg;
	struct obuf req, reply;
	obuf_init(&req, IMT_REQ_MAX);
	obuf_init(&reply, 0);
	for (;;) {
		struct pollfd p[2] = {{ms->lfd, POLLIN, 0}, {ms->stop[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(ms->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_one(ms, fd, &req, &reply);
		close(fd);
		/* a huge answer (-s on a big table) must not stay allocated */
		if (reply.cap > (1u << 22)) {
			obuf_free(&reply);
			obuf_init(&reply, 0);
		}
	}
	obuf_free(&req);
	obuf_free(&reply);
	return NULL;
}

static void mem_free(struct mem_state *ms)
{
	if (ms->started) {
		close(ms->stop[1]); /* wakes the thread */
		pthread_join(ms->thr, NULL);
		close(ms->stop[0]);
	}
	if (ms->lfd >= 0) {
		close(ms->lfd);
		unlink(ms->path);
	}
	agg_table_free(&ms->table);
	pthread_mutex_destroy(&ms->lock);
	free(ms);
}

static int memory_open(struct out_instance *oi, char *err, size_t errlen)
{
	const struct conf_plugin *pc = oi->conf;
	const char *path = pc->imt_path && *pc->imt_path ? pc->imt_path : IMT_DEFAULT_PATH;
	struct mem_state *ms = calloc(1, sizeof *ms);
	if (!ms) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ms->lfd = -1;
	ms->oi = oi;
	pthread_mutex_init(&ms->lock, NULL);
	if (strlen(path) >= sizeof ms->path) {
		snprintf(err, errlen,
			 "key 'imt_path': '%s' is longer than a Unix socket path (%zu)", path,
			 sizeof ms->path - 1);
		mem_free(ms);
		return -1;
	}
	snprintf(ms->path, sizeof ms->path, "%s", path);
	if (agg_table_init(&ms->table, oi->ks.key_len,
			   (uint64_t)(pc->imt_buckets > 0 ? pc->imt_buckets : 32771)) < 0) {
		snprintf(err, errlen, "memory table: out of memory");
		mem_free(ms);
		return -1;
	}
	ms->table.max_entries = (uint64_t)pc->imt_max_entries;
	ms->st.max_entries = ms->table.max_entries;
	ms->st.cleared = time(NULL);
	if (listen_on(ms, err, errlen) < 0 || pipe2(ms->stop, O_CLOEXEC) < 0) {
		if (!err[0])
			snprintf(err, errlen, "pipe: %s", strerror(errno));
		mem_free(ms);
		return -1;
	}
	/* the daemon's signals are served by the main thread only */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&ms->thr, NULL, query_thread, ms);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(ms->stop[0]);
		close(ms->stop[1]);
		snprintf(err, errlen, "memory query thread: %s", strerror(rc));
		mem_free(ms);
		return -1;
	}
	ms->started = 1;
	oi->state = ms;
	nt_log(oi->log, LOG_LVL_INFO, oi->component, "answering pmacct queries on %s", ms->path);
	return 0;
}

static int memory_write(struct out_instance *oi, const struct agg_table *t,
			const struct out_interval *iv)
{
	(void)iv;
	struct mem_state *ms = oi->state;
	uint64_t pos = 0, before;
	const struct agg_entry *e;
	int oom = 0;
	pthread_mutex_lock(&ms->lock);
	before = ms->table.dropped;
	/* entry by entry, not agg_table_merge(): imt_max_entries must apply */
	while ((e = agg_table_next(t, &pos)))
		if (agg_table_add(&ms->table, e->key, agg_hash(e->key, t->key_len), &e->c) < 0 &&
		    (!ms->table.max_entries || ms->table.count < ms->table.max_entries))
			oom = 1;
	uint64_t lost = ms->table.dropped - before;
	ms->st.dropped += lost;
	ms->st.folds++;
	ms->st.last_fold = time(NULL);
	pthread_mutex_unlock(&ms->lock);
	if (lost)
		nt_log(oi->log, LOG_LVL_WARN, oi->component,
		       "memory table: %llu entries dropped (%s)", (unsigned long long)lost,
		       oom ? "out of memory" : "imt_max_entries reached");
	return oom ? -1 : 0;
}

static void memory_stats(struct out_instance *oi, struct obuf *line)
{
	struct mem_state *ms = oi->state;
	pthread_mutex_lock(&ms->lock);
	obuf_printf(line, " entries=%llu queries=%llu query_errors=%llu dropped_entries=%llu",
		    (unsigned long long)ms->table.count, (unsigned long long)ms->st.queries,
		    (unsigned long long)atomic_load(&ms->query_errors),
		    (unsigned long long)ms->st.dropped);
	pthread_mutex_unlock(&ms->lock);
}

static void memory_close(struct out_instance *oi)
{
	if (oi->state)
		mem_free(oi->state);
	oi->state = NULL;
}

const struct out_module out_memory_module = {
    .sinks = OUT_SINK_TABLE,
    .conf = {.type = "memory", .tables = memory_tables},
    .refresh_off = offsetof(struct conf_plugin, imt_refresh_time),
    .cache_entries_off = offsetof(struct conf_plugin, imt_cache_entries),
    .open = memory_open,
    .write = memory_write,
    .stats = memory_stats,
    .close = memory_close,
};
