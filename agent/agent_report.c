/* agent_report: everything vxlan-agent prints. Text reports follow the seed
 * (its two lines: average latency and lost probes, or "All packets are
 * lost"), then a table with one line per peer; -J prints one JSON object per
 * report instead. */
#include "agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pk_opt.h"
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

void agent_report_start(const struct agent_cfg *cfg, const struct pk_addr *group,
                        const struct pk_addr *own, int metrics_port, FILE *f)
{
	char g[64], d1[32], d2[32], d3[32], o[64] = "any local address";

	if (own != NULL)
		pk_addr_host(own, o, sizeof o);
	fprintf(f, "vxlan-agent listening on %s (own %s, probe every %s, lost after %s, report every %s)\n",
	        pk_addr_str(group, g, sizeof g), o,
	        pk_fmt_duration(cfg->interval_ns, d1, sizeof d1),
	        pk_fmt_duration(cfg->timeout_ns, d2, sizeof d2),
	        pk_fmt_duration(cfg->report_ns, d3, sizeof d3));
	if (metrics_port >= 0)
		fprintf(f, "metrics listening on %s%s%s:%d\n",
		        strchr(cfg->metrics_addr, ':') ? "[" : "", cfg->metrics_addr,
		        strchr(cfg->metrics_addr, ':') ? "]" : "", metrics_port);
	fflush(f);
}

static void text_peer(FILE *f, const struct agent_peer *p, const struct agent_peer_stats *s)
{
	char host[64], lat[64] = "-", jit[16] = "-", in[16] = "-";

	if (s->have_latency) {
		snprintf(lat, sizeof lat, "%.3f/%.3f/%.3f/%.3f", s->min_ms, s->avg_ms, s->max_ms, s->p99_ms);
		snprintf(jit, sizeof jit, "%.3f", s->jitter_ms);
	}
	if (s->have_oneway)
		snprintf(in, sizeof in, "%.3f", s->ow.avg);
	fprintf(f, "%-28s %8llu %6llu %5llu %5llu  %-31s %9s %9s %9llu %8.1f s ago\n",
	        pk_addr_host(&p->addr, host, sizeof host),
	        (unsigned long long)s->c.answered, (unsigned long long)s->c.lost,
	        (unsigned long long)s->c.late, (unsigned long long)s->c.dups, lat, jit, in,
	        (unsigned long long)s->c.in_lost, s->last_seen_ago_s);
}

static void text_report(const struct agent_result *r, FILE *f, int64_t now_ns, int final)
{
	const struct agent_table *t = r->tab;
	struct agent_interval in;
	char when[40];
	size_t i;

	agent_table_interval(t, &in);
	if (!r->cfg->quiet)
		fprintf(f, "--- %s%s: %llu probes sent, %zu peer%s ---\n",
		        final ? "final report " : "", pk_wall_iso(pk_wall_ns(), when, sizeof when),
		        (unsigned long long)in.sent, t->n, t->n == 1 ? "" : "s");
	if (in.have_latency)
		fprintf(f, "Average latency: %.3f ms\n", in.avg_latency_ms);
	else
		fprintf(f, "All packets are lost\n");
	fprintf(f, "Number of lost probes: %llu\n", (unsigned long long)in.lost);
	if (r->cfg->quiet || t->n == 0)
		return;
	fprintf(f, "%-28s %8s %6s %5s %5s  %-31s %9s %9s %9s %14s\n", "peer", "answered", "lost",
	        "late", "dup", "RTT/2 min/avg/max/p99 ms", "jitter ms", "from ms", "from lost",
	        "last seen");
	for (i = 0; i < t->n; i++) {
		struct agent_peer_stats s;
		agent_peer_stats(t->peers[i], now_ns, &s);
		text_peer(f, t->peers[i], &s);
	}
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

static void json_report(const struct agent_result *r, FILE *f, int64_t now_ns, int final)
{
	const struct agent_table *t = r->tab;
	struct agent_interval in;
	cJSON *o = cJSON_CreateObject(), *peers, *tot;
	char when[40];
	size_t i;

	agent_table_interval(t, &in);
	cJSON_AddStringToObject(o, "tool", "vxlan-agent");
	cJSON_AddStringToObject(o, "version", PK_VERSION);
	cJSON_AddStringToObject(o, "time", pk_wall_iso(pk_wall_ns(), when, sizeof when));
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
	pk_json_print(f, o, 1);
	cJSON_Delete(o);
}

void agent_report_interval(const struct agent_result *r, FILE *f, int64_t now_ns, int final)
{
	if (r->cfg->json)
		json_report(r, f, now_ns, final);
	else
		text_report(r, f, now_ns, final);
	fflush(f);
}
