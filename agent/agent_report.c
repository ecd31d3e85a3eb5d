/* agent_report: everything vxlan-agent prints (docs/OUTPUT.md). Text reports
 * follow the seed (its two lines: average latency and lost probes, or "All
 * packets are lost"), then a table with one line per peer; --csv prints a
 * row per peer per report; --json-stream a `report` record per report and
 * `peer_seen` / `peer_lost` events between `start` and `end`; -J one
 * document at the end whose samples are the reports. Every line is flushed
 * (pk_out: a closed stdout ends the program with SIGPIPE). */
#include "agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pk_opt.h"
#include "pk_out.h"
#include "pk_report.h"

/* ---- the diagnostic trace (--trace) ------------------------------------
 * One line per event, times in CLOCK_MONOTONIC ns (every process on a host
 * shares it, so traces of several agents and of linkemu line up):
 *   probe SEQ NUM USER_NS          a probe handed to the kernel (clock read before)
 *   txstamp SEQ NUM TX_NS          its kernel transmit stamp
 *   reply PEER NUM RX_NS K|U       a reply; kernel (K) or user (U) receive time
 *   heard PEER NUM RX_NS K|U OWD_NS  a peer's probe; its one-way delay or -1
 *   echo PEER NUM USER_NS          our echo of it handed to the kernel
 */
void agent_trace_probe(FILE *trace, uint64_t seq, uint64_t num, int64_t user_ns)
{
	if (trace != NULL)
		fprintf(trace, "probe %llu %llu %lld\n", (unsigned long long)seq,
		        (unsigned long long)num, (long long)user_ns);
}

void agent_trace_txstamp(FILE *trace, uint64_t seq, uint64_t num, int64_t tx_ns)
{
	if (trace != NULL)
		fprintf(trace, "txstamp %llu %llu %lld\n", (unsigned long long)seq,
		        (unsigned long long)num, (long long)tx_ns);
}

void agent_trace_rx(FILE *trace, const char *what, const struct pk_rx *rx, uint64_t num,
                    int64_t owd_ns)
{
	char host[64];

	if (trace == NULL)
		return;
	fprintf(trace, "%s %s %llu %lld %c", what, pk_addr_host(&rx->from, host, sizeof host),
	        (unsigned long long)num, (long long)rx->rx_ns,
	        rx->clock == PK_RXCLOCK_KERNEL ? 'K' : 'U');
	if (strcmp(what, "heard") == 0)
		fprintf(trace, " %lld", (long long)owd_ns);
	fputc('\n', trace);
}

void agent_trace_echo(FILE *trace, const struct pk_addr *to, uint64_t num, int64_t user_ns)
{
	char host[64];

	if (trace != NULL)
		fprintf(trace, "echo %s %llu %lld\n", pk_addr_host(to, host, sizeof host),
		        (unsigned long long)num, (long long)user_ns);
}


static int machine(const struct agent_out *o)
{
	return o->cfg->output != AGENT_OUT_TEXT;
}

static int json_out(const struct agent_out *o)
{
	return o->cfg->output == AGENT_OUT_JSON || o->cfg->output == AGENT_OUT_STREAM;
}

static const char *const csv_cols[] = {
	"seq", "time", "sent", "lost", "avg_latency_ms", "peer", "answered", "peer_lost",
	"late", "duplicates", "latency_min_ms", "latency_avg_ms", "latency_max_ms",
	"latency_p99_ms", "jitter_ms", "oneway_avg_ms", "from_lost", "last_seen_s",
};

void agent_report_start(struct agent_out *o, const struct agent_cfg *cfg,
                        const struct pk_addr *group, const struct pk_addr *own,
                        int metrics_port, FILE *f)
{
	char g[96], d1[32], d2[32], d3[32], ow[64] = "any local address";
	FILE *banner;

	o->cfg = cfg;
	o->f = f;
	banner = machine(o) ? stderr : f;
	if (own != NULL)
		pk_addr_host(own, ow, sizeof ow);
	if (cfg->n_peers > 0)   /* --peer: no group */
		snprintf(g, sizeof g, "port %u, unicast to %zu listed peer%s", (unsigned)cfg->port,
		         cfg->n_peers, cfg->n_peers == 1 ? "" : "s");
	else
		pk_addr_str(group, g, sizeof g);
	fprintf(banner, "vxlan-agent listening on %s (own %s, probe every %s, lost after %s, report every %s)\n",
	        g, ow,
	        pk_fmt_duration(cfg->interval_ns, d1, sizeof d1),
	        pk_fmt_duration(cfg->timeout_ns, d2, sizeof d2),
	        pk_fmt_duration(cfg->report_ns, d3, sizeof d3));
	if (metrics_port >= 0)
		fprintf(banner, "metrics listening on %s%s%s:%d\n",
		        strchr(cfg->metrics_addr, ':') ? "[" : "", cfg->metrics_addr,
		        strchr(cfg->metrics_addr, ':') ? "]" : "", metrics_port);
	(void)pk_out_flush(banner);
	if (cfg->output == AGENT_OUT_CSV) {
		pk_csv_header(f, csv_cols, sizeof csv_cols / sizeof csv_cols[0]);
		(void)pk_out_flush(f);
	}
	if (!json_out(o))
		return;
	o->doc = pk_json_envelope("vxlan-agent", NULL, NULL, group, o->start_wall_ns);
	if (o->doc == NULL)
		return;
	if (cfg->output == AGENT_OUT_STREAM) {
		(void)pk_json_stream_event(f, "start", o->doc);
		if (metrics_port >= 0) {
			/* the metrics endpoint's banner, as a server's `listening` */
			cJSON *l = cJSON_CreateObject();
			pk_json_time(l, "time", pk_wall_ns());
			cJSON_AddStringToObject(l, "address", cfg->metrics_addr);
			cJSON_AddNumberToObject(l, "port", metrics_port);
			cJSON_AddStringToObject(l, "what", "metrics");
			(void)pk_json_stream_event(f, "listening", l);
			cJSON_Delete(l);
		}
	}
	o->samples = cJSON_AddArrayToObject(o->doc, "samples");
	o->events = cJSON_AddArrayToObject(o->doc, "events");
}

static void text_peer(const struct agent_out *o, FILE *f, const struct agent_peer *p,
                      const struct agent_peer_stats *s)
{
	char host[64], lat[64] = "-", jit[16] = "-", in[16] = "-";

	if (s->have_latency) {
		snprintf(lat, sizeof lat, "%.3f/%.3f/%.3f/%.3f", s->min_ms, s->avg_ms, s->max_ms, s->p99_ms);
		snprintf(jit, sizeof jit, "%.3f", s->jitter_ms);
	}
	if (s->have_oneway)
		snprintf(in, sizeof in, "%.3f", s->ow.avg);
	pk_out_line(f, o->cfg->stamp, "%-28s %8llu %6llu %5llu %5llu  %-31s %9s %9s %9llu %8.1f s ago",
	            pk_addr_host(&p->addr, host, sizeof host),
	            (unsigned long long)s->c.answered, (unsigned long long)s->c.lost,
	            (unsigned long long)s->c.late, (unsigned long long)s->c.dups, lat, jit, in,
	            (unsigned long long)s->c.in_lost, s->last_seen_ago_s);
}

/* what: "final report ", "interim report " or "" */
static void text_report(const struct agent_out *o, const struct agent_result *r, FILE *f,
                        int64_t now_ns, const char *what)
{
	const struct agent_table *t = r->tab;
	struct agent_interval in;
	int st = o->cfg->stamp;
	char when[40];
	size_t i;

	agent_table_interval(t, &in);
	if (!r->cfg->quiet)
		pk_out_line(f, st, "--- %s%s: %llu probes sent, %zu peer%s ---", what,
		            pk_wall_iso(pk_wall_ns(), when, sizeof when),
		            (unsigned long long)in.sent, t->n, t->n == 1 ? "" : "s");
	if (in.have_latency)
		pk_out_line(f, st, "Average latency: %.3f ms", in.avg_latency_ms);
	else
		pk_out_line(f, st, "All packets are lost");
	pk_out_line(f, st, "Number of lost probes: %llu", (unsigned long long)in.lost);
	if (r->cfg->quiet || t->n == 0)
		return;
	pk_out_line(f, st, "%-28s %8s %6s %5s %5s  %-31s %9s %9s %9s %14s", "peer", "answered", "lost",
	            "late", "dup", "RTT/2 min/avg/max/p99 ms", "jitter ms", "from ms", "from lost",
	            "last seen");
	for (i = 0; i < t->n; i++) {
		struct agent_peer_stats s;
		agent_peer_stats(t->peers[i], now_ns, &s);
		text_peer(o, f, t->peers[i], &s);
	}
}

static void csv_row(FILE *f, uint64_t seq, const char *when, const struct agent_interval *in,
                    const struct agent_peer *p, const struct agent_peer_stats *s)
{
	char host[64] = "";

	pk_csv_uint(f, seq, 0);
	pk_csv_str(f, when, 0);
	pk_csv_uint(f, in->sent, 0);
	pk_csv_uint(f, in->lost, 0);
	pk_csv_num(f, in->avg_latency_ms, in->have_latency, 0);
	if (p == NULL) {            /* a report with no peer: its figures alone */
		for (size_t i = 5; i < sizeof csv_cols / sizeof csv_cols[0]; i++)
			pk_csv_str(f, "", i + 1 == sizeof csv_cols / sizeof csv_cols[0]);
		return;
	}
	pk_csv_str(f, pk_addr_host(&p->addr, host, sizeof host), 0);
	pk_csv_uint(f, s->c.answered, 0);
	pk_csv_uint(f, s->c.lost, 0);
	pk_csv_uint(f, s->c.late, 0);
	pk_csv_uint(f, s->c.dups, 0);
	pk_csv_num(f, s->min_ms, s->have_latency, 0);
	pk_csv_num(f, s->avg_ms, s->have_latency, 0);
	pk_csv_num(f, s->max_ms, s->have_latency, 0);
	pk_csv_num(f, s->p99_ms, s->have_latency, 0);
	pk_csv_num(f, s->jitter_ms, s->have_latency, 0);
	pk_csv_num(f, s->ow.avg, s->have_oneway, 0);
	pk_csv_uint(f, s->c.in_lost, 0);
	pk_csv_num(f, s->last_seen_ago_s, 1, 1);
}

static void csv_report(const struct agent_out *o, const struct agent_result *r, uint64_t seq,
                       int64_t wall_ns, int64_t now_ns)
{
	const struct agent_table *t = r->tab;
	struct agent_interval in;
	char when[40];
	size_t i;

	agent_table_interval(t, &in);
	pk_wall_iso(wall_ns, when, sizeof when);
	if (t->n == 0)
		csv_row(o->f, seq, when, &in, NULL, NULL);
	for (i = 0; i < t->n; i++) {
		struct agent_peer_stats s;
		agent_peer_stats(t->peers[i], now_ns, &s);
		csv_row(o->f, seq, when, &in, t->peers[i], &s);
	}
	(void)pk_out_flush(o->f);
}

static void json_latency(cJSON *o, const char *name, double min, double avg, double max,
                         double p50, double p99, double mdev, int have)
{
	cJSON *l = cJSON_AddObjectToObject(o, name);

	pk_json_num(l, "min", min, have);
	pk_json_num(l, "avg", avg, have);
	pk_json_num(l, "max", max, have);
	pk_json_num(l, "p50", p50, have);
	pk_json_num(l, "p99", p99, have);
	pk_json_num(l, "mdev", mdev, have);
}

static cJSON *json_peer(const struct agent_peer *p, const struct agent_peer_stats *s)
{
	cJSON *o = cJSON_CreateObject(), *in;
	char host[64];

	cJSON_AddStringToObject(o, "peer", pk_addr_host(&p->addr, host, sizeof host));
	cJSON_AddNumberToObject(o, "expected", (double)s->c.expected);
	cJSON_AddNumberToObject(o, "answered", (double)s->c.answered);
	cJSON_AddNumberToObject(o, "lost", (double)s->c.lost);
	cJSON_AddNumberToObject(o, "late", (double)s->c.late);
	cJSON_AddNumberToObject(o, "duplicates", (double)s->c.dups);
	cJSON_AddNumberToObject(o, "probes_heard", (double)s->c.heard);
	json_latency(o, "latency_ms", s->min_ms, s->avg_ms, s->max_ms, s->p50_ms, s->p99_ms,
	             s->mdev_ms, s->have_latency);
	pk_json_num(cJSON_GetObjectItem(o, "latency_ms"), "jitter", s->jitter_ms, s->have_latency);
	/* the peer's direction toward us, from its stamped probes */
	in = cJSON_AddObjectToObject(o, "from_peer");
	cJSON_AddNumberToObject(in, "samples", (double)s->ow.n);
	json_latency(in, "oneway_ms", s->ow.min, s->ow.avg, s->ow.max, s->ow.p50, s->ow.p99,
	             s->ow.mdev, s->have_oneway);
	cJSON_AddNumberToObject(in, "lost", (double)s->c.in_lost);
	cJSON_AddNumberToObject(in, "implausible", (double)s->c.owd_bad);
	cJSON_AddNumberToObject(o, "last_seen_s", s->last_seen_ago_s);
	return o;
}

static void json_counters(cJSON *o, const struct agent_result *r)
{
	const struct agent_counters *c = &r->ctr;

	cJSON_AddNumberToObject(o, "echoed", (double)c->echoed);
	cJSON_AddNumberToObject(o, "echo_refused", (double)c->echo_refused);
	cJSON_AddNumberToObject(o, "source_refused", (double)c->source_refused);
	cJSON_AddNumberToObject(o, "bad_probes", (double)c->bad_probes);
	cJSON_AddNumberToObject(o, "bad_replies", (double)c->bad_replies);
	cJSON_AddNumberToObject(o, "unknown_replies", (double)r->tab->unknown);
	cJSON_AddNumberToObject(o, "own_replies", (double)c->own_replies);
	cJSON_AddNumberToObject(o, "untracked", (double)r->tab->untracked);
	cJSON_AddNumberToObject(o, "peers_expired", (double)r->tab->expired);
	cJSON_AddNumberToObject(o, "send_errors", (double)c->send_errors);
	cJSON_AddNumberToObject(o, "oneway_implausible", (double)r->tab->owd_bad);
	cJSON_AddNumberToObject(o, "tx_kernel_stamps", (double)c->tx_kernel);
	cJSON_AddNumberToObject(o, "tx_clock_fallbacks", (double)(c->sent - c->tx_kernel));
	cJSON_AddNumberToObject(o, "rx_kernel_stamps", (double)c->rx_kernel);
	cJSON_AddNumberToObject(o, "rx_clock_fallbacks", (double)c->rx_user);
}

/* A report as a sample: {"seq": report number (1, 2, ...), "time", ...}. */
static cJSON *json_report(const struct agent_result *r, uint64_t seq, int64_t wall_ns,
                          int64_t now_ns, int final)
{
	const struct agent_table *t = r->tab;
	struct agent_interval in;
	cJSON *o = pk_json_sample(seq, wall_ns), *peers, *tot;
	size_t i;

	if (o == NULL)
		return NULL;
	agent_table_interval(t, &in);
	cJSON_AddNumberToObject(o, "interval_s", pk_ns_to_s(now_ns - r->interval_start_ns));
	cJSON_AddBoolToObject(o, "final", final);
	cJSON_AddNumberToObject(o, "sent", (double)in.sent);
	cJSON_AddNumberToObject(o, "replies", (double)in.replies);
	pk_json_num(o, "avg_latency_ms", in.avg_latency_ms, in.have_latency);
	cJSON_AddNumberToObject(o, "lost", (double)in.lost);
	peers = cJSON_AddArrayToObject(o, "peers");
	for (i = 0; i < t->n; i++) {
		struct agent_peer_stats s;
		agent_peer_stats(t->peers[i], now_ns, &s);
		cJSON_AddItemToArray(peers, json_peer(t->peers[i], &s));
	}
	tot = cJSON_AddObjectToObject(o, "totals");
	cJSON_AddNumberToObject(tot, "sent", (double)t->all.sent);
	cJSON_AddNumberToObject(tot, "lost", (double)t->lost);
	json_counters(tot, r);
	return o;
}

void agent_report_interval(struct agent_out *o, const struct agent_result *r, int64_t now_ns,
                           int final)
{
	int64_t wall = pk_wall_ns();
	struct agent_interval in;
	uint64_t seq = ++o->nreports;
	cJSON *rep;

	agent_table_interval(r->tab, &in);
	if (in.have_latency) {
		o->lat_sum_ms += in.avg_latency_ms * (double)in.replies;
		o->lat_n += in.replies;
	}
	switch (o->cfg->output) {
	case AGENT_OUT_TEXT:
		text_report(o, r, o->f, now_ns, final ? "final report " : "");
		break;
	case AGENT_OUT_CSV:
		csv_report(o, r, seq, wall, now_ns);
		break;
	case AGENT_OUT_JSON:
	case AGENT_OUT_STREAM:
		rep = json_report(r, seq, wall, now_ns, final);
		if (rep == NULL)
			break;
		if (o->cfg->output == AGENT_OUT_STREAM)
			(void)pk_json_stream_event(o->f, "report", rep);
		if (o->samples != NULL)
			cJSON_AddItemToArray(o->samples, rep);
		else
			cJSON_Delete(rep);
		break;
	}
}

void agent_report_peer(struct agent_out *o, const char *event, const struct pk_addr *peer)
{
	cJSON *e;
	char host[64];

	if (!json_out(o) || o->events == NULL || (e = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(e, "event", event);
	pk_json_time(e, "time", pk_wall_ns());
	cJSON_AddStringToObject(e, "peer", pk_addr_host(peer, host, sizeof host));
	if (o->cfg->output == AGENT_OUT_STREAM) {
		/* the record's data: the event without its name */
		cJSON *d = cJSON_Duplicate(e, 1);
		if (d != NULL) {
			cJSON_DeleteItemFromObject(d, "event");
			(void)pk_json_stream_event(o->f, event, d);
			cJSON_Delete(d);
		}
	}
	cJSON_AddItemToArray(o->events, e);
}

void agent_report_interim(struct agent_out *o, const struct agent_result *r, int64_t now_ns)
{
	text_report(o, r, stderr, now_ns, "interim report ");
	if (o->cfg->output == AGENT_OUT_STREAM) {
		cJSON *rep = json_report(r, o->nreports + 1, pk_wall_ns(), now_ns, 0);
		if (rep != NULL)
			(void)pk_json_stream_event(o->f, "interim", rep);
		cJSON_Delete(rep);
	}
}

static cJSON *json_summary(const struct agent_out *o, const struct agent_result *r)
{
	const struct agent_table *t = r->tab;
	cJSON *s = cJSON_CreateObject();

	if (s == NULL)
		return NULL;
	cJSON_AddNumberToObject(s, "reports", (double)o->nreports);
	cJSON_AddNumberToObject(s, "sent", (double)t->all.sent);
	cJSON_AddNumberToObject(s, "replies", (double)t->replies);
	cJSON_AddNumberToObject(s, "lost", (double)t->lost);
	pk_json_num(s, "avg_latency_ms", o->lat_n ? o->lat_sum_ms / (double)o->lat_n : 0,
	            o->lat_n > 0);
	cJSON_AddNumberToObject(s, "peers", (double)t->n);
	cJSON_AddNumberToObject(s, "peers_found", (double)t->found);
	json_counters(s, r);
	return s;
}

void agent_report_end(struct agent_out *o, const struct agent_result *r, const char *error)
{
	cJSON *s;

	if (o->ended)
		goto out;
	o->ended = 1;
	if (o->doc == NULL && error != NULL && json_out(o)) {
		/* a failure before the start: the envelope alone, with the error */
		o->doc = pk_json_envelope("vxlan-agent", NULL, NULL, NULL, o->start_wall_ns);
		if (o->doc != NULL && o->cfg->output == AGENT_OUT_STREAM)
			(void)pk_json_stream_event(o->f, "start", o->doc);
	}
	if (o->doc == NULL)
		goto out;
	s = r != NULL && r->tab != NULL ? json_summary(o, r) : cJSON_CreateObject();
	if (s != NULL)
		cJSON_AddItemToObject(o->doc, "summary", s);
	if (error != NULL)
		cJSON_AddStringToObject(o->doc, "error", error);
	if (o->cfg->output == AGENT_OUT_STREAM) {
		(void)pk_json_stream_event(o->f, "end", o->doc);
	} else {
		(void)pk_json_print(o->f, o->doc, 0);
		(void)pk_out_flush(o->f);
	}
out:
	cJSON_Delete(o->doc);
	o->doc = NULL;
	o->samples = o->events = NULL;
}
