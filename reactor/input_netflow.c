/*
 * The NetFlow v5/v8/v9 and IPFIX input: proto/netflow.c's collector behind
 * the input interface.  Per worker: the exporters it has heard from (keyed
 * by address, so an exporter that restarts on a new source port keeps its
 * templates), their rate-limited malformation logs and stats lines.
 * Daemon-wide: nfacctd_templates_file, written from every worker's changes.
 */
#include "reactor/input_netflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/netflow.h"
#include "proto/nf_preflight.h"
#include "proto/nf_template.h"
#include "proto/nf_templates_file.h"
#include "reactor/daemon.h"
#include "reactor/metrics.h"
#include "reactor/templates_sync.h"
#include "reactor/worker.h"

struct nf_input {
	struct nf_collector nf;
	struct worker *w;
	struct tpl_sync *tpl; /* the daemon's, NULL when no templates file */
	uint64_t refused;
	uint64_t refused_logged_minute;
};

static void endpoint(const struct conf *c, struct input_endpoint *ep)
{
	ep->ip = c->nfacctd_ip;
	ep->port = c->nfacctd_port;
	ep->rcvbuf = c->nfacctd_pipe_size;
}

static int global_init(struct daemon_ctx *ctx, void **global, char *err, size_t errlen)
{
	const char *path = ctx->conf.nfacctd_templates_file;
	*global = NULL;
	if (!path || !*path)
		return 0;
	struct tpl_sync *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (tpl_sync_init(s, path, ctx->loop, &ctx->log, err, errlen) < 0) {
		tpl_sync_free(s);
		free(s);
		return -1;
	}
	*global = s;
	return 0;
}

static void global_free(void *global)
{
	struct tpl_sync *s = global;
	if (!s)
		return;
	/* the last template changes of the workers, written before exit */
	tpl_sync_flush(s);
	tpl_sync_free(s);
	free(s);
}

static void on_template_changed(void *arg, const struct nf_exporter *ex)
{
	struct nf_input *in = arg;
	tpl_sync_exporter_changed(in->tpl, ex);
}

/*
 * Which of the fields a collector can leave out (NF_SKIPPABLE) each
 * primitive reads.  A primitive missing here (new ones, sum_*, GeoIP, the
 * time bins, ...) makes the daemon decode everything.
 */
#define B(f) (1ull << (f))
static const struct {
	const char *name;
	uint64_t reads;
} prim_reads[] = {
    {"src_host", 0},
    {"dst_host", 0},
    {"src_port", 0},
    {"dst_port", B(FR_ICMP)}, /* ICMP type and code when there is no port */
    {"proto", 0},
    {"tcpflags", 0},
    {"peer_src_ip", 0},
    {"peer_dst_ip", B(FR_PEER_DST_IP)},
    {"src_as", B(FR_SRC_AS)},
    {"dst_as", B(FR_DST_AS)},
    {"in_iface", B(FR_IN_IFACE)},
    {"out_iface", B(FR_OUT_IFACE)},
    {"src_mask", B(FR_SRC_MASK)},
    {"dst_mask", B(FR_DST_MASK)},
    {"src_net", B(FR_SRC_MASK)},
    {"dst_net", B(FR_DST_MASK)},
    {"tos", B(FR_TOS)},
    {"src_mac", B(FR_SRC_MAC)},
    {"dst_mac", B(FR_DST_MAC)},
    {"vlan", B(FR_VLAN_IN)},
    {"in_vlan", B(FR_VLAN_IN)},
    {"out_vlan", B(FR_VLAN_OUT)},
    {"mpls_label_top", B(FR_MPLS)},
    {"mpls_label_bottom", B(FR_MPLS)},
    {"mpls_label_stack", B(FR_MPLS)},
    {"fwd_status", B(FR_FWD_STATUS)},
    {"flow_label", B(FR_FLOW_LABEL)},
    {"post_nat_src_host", B(FR_POST_NAT_SRC_ADDR)},
    {"post_nat_dst_host", B(FR_POST_NAT_DST_ADDR)},
    {"post_nat_src_port", B(FR_POST_NAT_SRC_PORT)},
    {"post_nat_dst_port", B(FR_POST_NAT_DST_PORT)},
    {"nat_event", B(FR_NAT_EVENT)},
    {"timestamp_start", B(FR_TS_START)},
    {"timestamp_end", B(FR_TS_END)},
    {"timestamp_arrival", 0},
    {"timestamp_export", 0},
    {"export_proto_seqno", 0},
    {"export_proto_version", 0},
    {"export_proto_sysid", 0},
    {"sampling_rate", 0},
    {"sampling_direction", 0},
    {"tag", 0},
    {"tag2", 0},
    {"label", 0},
    {"vrf_name", NF_SKIP_NAMES},
    {"ingress_vrf_name", NF_SKIP_NAMES},
    {"egress_vrf_name", NF_SKIP_NAMES},
    {"in_iface_name", NF_SKIP_NAMES},
    {"out_iface_name", NF_SKIP_NAMES},
    {"mpls_vpn_rd", NF_SKIP_NAMES},
    {"mpls_vpn_rd_origin", NF_SKIP_NAMES},
};
#undef B

/* Stages that read none of the names (pre_tag_map matches on mpls_vpn_rd). */
static int stage_ignores_names(const char *name)
{
	static const char *const blind[] = {"sampling_map",	  "flow_to_rd_map", "renormalize",
					    "tcp_flags_tcp_only", "networks",	    "geoip"};
	for (size_t j = 0; j < sizeof blind / sizeof blind[0]; j++)
		if (!strcmp(name, blind[j]))
			return 1;
	return 0;
}

/*
 * The fields no consumer of this daemon's records reads (nf_options.skip):
 * the outputs' primitives say what they read.  Anything else that looks at
 * records (stages, aggregate_filter and the other output selections,
 * per-output lookups, stitching, pro-rating) keeps every field but the
 * names, and those only while no stage may read them.
 */
uint64_t nf_input_skip_mask(const struct daemon_ctx *ctx)
{
	uint64_t need = 0;
	int others = 1; /* fields other than the names may be skipped */
	for (unsigned i = 0; i < ctx->nout; i++) {
		const struct keyspec *ks = &ctx->out[i].ks;
		for (unsigned k = 0; k < ks->n; k++) {
			if (ks->f[k].custom)
				continue; /* raw bytes of their own field, never skipped */
			const char *name = ks->f[k].p->name;
			size_t j = 0;
			while (j < sizeof prim_reads / sizeof prim_reads[0] &&
			       strcmp(name, prim_reads[j].name))
				j++;
			if (j == sizeof prim_reads / sizeof prim_reads[0])
				return 0;
			need |= prim_reads[j].reads;
		}
		if (ctx->tagging.sel[i].active || ctx->out[i].prorate)
			others = 0;
	}
	if (ctx->pipe.n || ctx->enrich_out.lookup_mask || ctx->conf.nfacctd_stitching)
		others = 0;
	for (unsigned i = 0; i < ctx->pipe.n; i++)
		if (!stage_ignores_names(ctx->pipe.st[i].d->name))
			need |= NF_SKIP_NAMES;
	uint64_t skip = NF_SKIPPABLE & ~need;
	if (!others)
		skip &= NF_SKIP_NAMES;
	return nf_skip_normalize(skip);
}

static int create(struct worker *w, void **state, char *err, size_t errlen)
{
	struct daemon_ctx *ctx = w->ctx;
	const struct conf *c = &ctx->conf;
	struct nf_input *in = calloc(1, sizeof *in);
	if (!in) {
		snprintf(err, errlen, "worker %u: out of memory", w->id);
		return -1;
	}
	in->w = w;
	in->tpl = ctx->input_global;
	struct nf_options opt = {
	    .time_secs = c->nfacctd_time_secs,
	    .disable_opt_scope_check = c->nfacctd_disable_opt_scope_check,
	    .custom = &ctx->prims,
	    .max_exporters = (size_t)c->nfacctd_max_exporters,
	    .max_templates = (size_t)c->nfacctd_max_templates,
	    .skip = nf_input_skip_mask(ctx),
	    .template_changed = in->tpl ? on_template_changed : NULL,
	    .template_arg = in,
	};
	/* records go straight to the worker's sink: no hop per record */
	if (nf_collector_init(&in->nf, &opt, worker_record_sink(w), w) < 0) {
		free(in);
		snprintf(err, errlen, "worker %u: out of memory", w->id);
		return -1;
	}
	*state = in;
	if (in->tpl) {
		size_t loaded = 0;
		char why[512];
		if (nf_templates_load(c->nfacctd_templates_file, &in->nf, &loaded, why,
				      sizeof why) < 0) {
			if (w->id == 0)
				nt_log(&ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
				       "nfacctd_templates_file ignored: %s", why);
		} else if (w->id == 0) {
			/* the file is valid: carry its entries forward when rewriting it */
			tpl_sync_seed(in->tpl);
			nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
			       "nfacctd_templates_file %s: %zu templates loaded",
			       c->nfacctd_templates_file, loaded);
		}
	}
	return 0;
}

static void destroy(void *state)
{
	struct nf_input *in = state;
	nf_collector_free(&in->nf);
	free(in);
}

/*
 * Malformed input: counted always, logged at most log_rate_limit times a
 * minute per exporter.  Data for a template not received yet is normal
 * (exporters send data before templates after a restart): debug only.
 */
static void log_decode_error(struct nf_input *in, struct nf_exporter *ex, enum nf_err e, size_t len)
{
	struct worker *w = in->w;
	char addr[64];
	enum log_budget b = log_budget_take(&ex->log_window, &ex->log_lines, w->now_usec,
					    (unsigned)w->ctx->conf.log_rate_limit);
	if (b == LOG_BUDGET_QUIET)
		return;
	nt_addr_to_text(&ex->addr, addr, sizeof addr);
	if (b == LOG_BUDGET_LAST)
		nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "exporter %s: more malformed datagrams, suppressing messages for this "
		       "minute (counters keep counting)",
		       addr);
	else
		nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "exporter %s: malformed datagram (%zu bytes): %s", addr, len,
		       nf_err_name(e));
}

/* A datagram from a source the collector would not (or could not) take on. */
static void refused(struct nf_input *in, const struct nt_addr *src)
{
	struct worker *w = in->w;
	in->refused++;
	if (!log_once_a_minute(&in->refused_logged_minute, w->now_usec))
		return;
	char addr[64];
	nt_addr_to_text(src, addr, sizeof addr);
	nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
	       "worker %u: datagram from %s dropped: %s (%llu so far; logged once a minute)", w->id,
	       addr,
	       in->nf.nexporters >= (size_t)w->ctx->conf.nfacctd_max_exporters
		   ? "nfacctd_max_exporters reached"
		   : "out of memory",
	       (unsigned long long)in->refused);
}

static enum input_verdict datagram(void *state, struct worker *w, const struct nt_dgram *d)
{
	struct nf_input *in = state;
	(void)w;
	/* exporters are keyed by address: a restarted exporter keeps its state */
	struct nf_exporter *ex = nf_exporter_get(&in->nf, &d->src, 0);
	if (!ex) {
		refused(in, &d->src);
		return INPUT_REFUSED;
	}
	enum nf_err e = NF_OK;
	/* nfacctd_pre_processing_checks: a datagram damaged half-way is dropped whole */
	if (in->w->ctx->conf.nfacctd_pre_processing_checks &&
	    (e = nf_preflight(d->buf, d->len)) != NF_OK) {
		ex->st.err[e]++;
		log_decode_error(in, ex, e, d->len);
		return INPUT_MALFORMED;
	}
	e = nf_decode(&in->nf, ex, d->buf, d->len, d->arrival);
	if (e == NF_OK)
		return INPUT_OK;
	if (!nf_err_malformed(e)) {
		/* data before its template: normal after an exporter restart, counted */
		if (in->w->ctx->log.debug) {
			char addr[64];
			nt_addr_to_text(&ex->addr, addr, sizeof addr);
			nt_log(
			    &in->w->ctx->log, LOG_LVL_DEBUG, CORE_COMPONENT,
			    "exporter %s: data for a template not received yet (no_template=%llu)",
			    addr, (unsigned long long)ex->st.err[NF_ERR_NO_TEMPLATE]);
		}
		return INPUT_OK;
	}
	log_decode_error(in, ex, e, d->len);
	return INPUT_MALFORMED;
}

static size_t sources(void *state)
{
	struct nf_input *in = state;
	return in->nf.nexporters;
}

static void stats(void *state, struct worker *w, char *extra, size_t extralen)
{
	struct nf_input *in = state;
	(void)w;
	snprintf(extra, extralen, " refused=%llu", (unsigned long long)in->refused);
}

static void log_exporter(void *arg, struct nf_exporter *ex)
{
	struct nf_input *in = arg;
	char addr[64], errs[512];
	size_t n = 0;
	nt_addr_to_text(&ex->addr, addr, sizeof addr);
	errs[0] = '\0';
	for (int e = 1; e < NF_ERR__COUNT && n < sizeof errs; e++)
		n += (size_t)snprintf(errs + n, sizeof errs - n, " %s=%llu", nf_err_name(e),
				      (unsigned long long)ex->st.err[e]);
	nt_log(&in->w->ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "stats worker=%u exporter=%s datagrams=%llu records=%llu seq_gaps=%llu "
	       "lost_flows=%llu seq_resets=%llu%s",
	       in->w->id, addr, (unsigned long long)ex->st.datagrams,
	       (unsigned long long)ex->st.records, (unsigned long long)ex->st.seq_gaps,
	       (unsigned long long)ex->st.lost_flows, (unsigned long long)ex->st.seq_resets, errs);
}

static void stats_sources(void *state, struct worker *w)
{
	struct nf_input *in = state;
	(void)w;
	nf_collector_foreach(&in->nf, log_exporter, in);
}

static const struct mx_family fam_refused = {
    "netacct_worker_refused_datagrams_total",
    "Datagrams from new sources refused: nfacctd_max_exporters reached (or out of memory).",
    MX_COUNTER, 0};
static const struct mx_family fam_templates = {
    "netacct_worker_templates", "v9/IPFIX templates held by the worker, all exporters.", MX_GAUGE,
    0};
static const struct mx_family fam_ex_datagrams = {"netacct_exporter_datagrams_total",
						  "Datagrams from the exporter.", MX_COUNTER, 0};
static const struct mx_family fam_ex_records = {
    "netacct_exporter_records_total", "Records decoded from the exporter.", MX_COUNTER, 0};
static const struct mx_family fam_ex_errors = {
    "netacct_exporter_decode_errors_total",
    "Decode errors by reason; each but no_template (data before its template) is a "
    "malformation.",
    MX_COUNTER, 0};
static const struct mx_family fam_ex_gaps = {
    "netacct_exporter_sequence_gaps_total",
    "Forward jumps of the exporter's sequence numbers: its datagrams were lost on the way.",
    MX_COUNTER, 0};
static const struct mx_family fam_ex_lost = {
    "netacct_exporter_lost_flows_total",
    "Records (v9: datagrams) missing according to the sequence numbers.", MX_COUNTER, 0};
static const struct mx_family fam_ex_resets = {
    "netacct_exporter_sequence_resets_total",
    "Exporter restarts and backward sequence jumps (not loss).", MX_COUNTER, 0};
static const struct mx_family fam_ex_templates = {
    "netacct_exporter_templates", "v9/IPFIX templates held for the exporter.", MX_GAUGE, 0};

struct metrics_arg {
	struct mx_snap *s;
	const char *worker;
};

static void exporter_metrics(void *arg, struct nf_exporter *ex)
{
	struct metrics_arg *a = arg;
	char addr[64];
	nt_addr_to_text(&ex->addr, addr, sizeof addr);
#define E(fam, v) mx_put(a->s, &fam, (uint64_t)(v), 2, "worker", a->worker, "exporter", addr)
	E(fam_ex_datagrams, ex->st.datagrams);
	E(fam_ex_records, ex->st.records);
	E(fam_ex_gaps, ex->st.seq_gaps);
	E(fam_ex_lost, ex->st.lost_flows);
	E(fam_ex_resets, ex->st.seq_resets);
	E(fam_ex_templates, ex->templates ? nf_tpl_store_count(ex->templates) : 0);
#undef E
	for (int e = 1; e < NF_ERR__COUNT; e++)
		mx_put(a->s, &fam_ex_errors, ex->st.err[e], 3, "worker", a->worker, "exporter",
		       addr, "reason", nf_err_name(e));
}

static void metrics(void *state, struct worker *w, struct mx_snap *s)
{
	struct nf_input *in = state;
	char id[16];
	struct metrics_arg a = {s, id};
	snprintf(id, sizeof id, "%u", w->id);
	mx_put(s, &fam_refused, in->refused, 1, "worker", id);
	mx_put(s, &fam_templates, in->nf.tpl_budget.used, 1, "worker", id);
	nf_collector_foreach(&in->nf, exporter_metrics, &a);
}

const struct input_module input_netflow = {
    .name = "NetFlow/IPFIX",
    .proto = "udp",
    .kind = INPUT_DATAGRAM,
    .endpoint = endpoint,
    .global_init = global_init,
    .global_free = global_free,
    .create = create,
    .destroy = destroy,
    .datagram = datagram,
    .sources = sources,
    .stats = stats,
    .stats_sources = stats_sources,
    .metrics = metrics,
};
