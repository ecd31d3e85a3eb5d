/* agent_report: everything vxlan-agent prints. Text reports follow the seed
 * (its two lines: average latency and lost probes, or "All packets are
 * lost"), then a table with one line per peer; -J prints one JSON object per
 * report instead. */
#include "agent.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pk_opt.h"
#include "pk_report.h"

void agent_report_error(const char *what, int err)
{
	fprintf(stderr, "vxlan-agent: %s: %s\n", what != NULL ? what : "", pk_sock_strerror(err));
}

void agent_report_start(const struct agent *a, FILE *f)
{
	char g[64], d1[32], d2[32], d3[32], own[64] = "any local address";

	if (a->cfg->own != NULL)
		pk_addr_host(&a->own[0], own, sizeof own);
	fprintf(f, "vxlan-agent listening on %s (own %s, probe every %s, lost after %s, report every %s)\n",
	        pk_addr_str(&a->group, g, sizeof g), own,
	        pk_fmt_duration(a->cfg->interval_ns, d1, sizeof d1),
	        pk_fmt_duration(a->cfg->timeout_ns, d2, sizeof d2),
	        pk_fmt_duration(a->cfg->report_ns, d3, sizeof d3));
	if (a->metrics_port >= 0)
		fprintf(f, "metrics listening on %s%s%s:%d\n",
		        strchr(a->cfg->metrics_addr, ':') ? "[" : "", a->cfg->metrics_addr,
		        strchr(a->cfg->metrics_addr, ':') ? "]" : "", a->metrics_port);
	fflush(f);
}

static void text_peer(FILE *f, const struct agent_peer *p, const struct agent_peer_stats *s)
{
	char host[64], lat[64] = "-", jit[16] = "-";

	if (s->have_latency) {
		snprintf(lat, sizeof lat, "%.3f/%.3f/%.3f/%.3f", s->min_ms, s->avg_ms, s->max_ms, s->p99_ms);
		snprintf(jit, sizeof jit, "%.3f", s->jitter_ms);
	}
	fprintf(f, "%-28s %8llu %6llu %5llu %5llu  %-31s %9s %8.1f s ago\n",
	        pk_addr_host(&p->addr, host, sizeof host),
	        (unsigned long long)s->c.answered, (unsigned long long)s->c.lost,
	        (unsigned long long)s->c.late, (unsigned long long)s->c.dups, lat, jit,
	        s->last_seen_ago_s);
}

static void text_report(const struct agent *a, FILE *f, int64_t now_ns, int final)
{
	const struct agent_table *t = &a->tab;
	struct agent_interval in;
	char when[40];
	size_t i;

	agent_table_interval(t, &in);
	if (!a->cfg->quiet)
		fprintf(f, "--- %s%s: %llu probes sent, %zu peer%s ---\n",
		        final ? "final report " : "", pk_wall_iso(pk_wall_ns(), when, sizeof when),
		        (unsigned long long)in.sent, t->n, t->n == 1 ? "" : "s");
	if (in.have_latency)
		fprintf(f, "Average latency: %.3f ms\n", in.avg_latency_ms);
	else
		fprintf(f, "All packets are lost\n");
	fprintf(f, "Number of lost probes: %llu\n", (unsigned long long)in.lost);
	if (a->cfg->quiet || t->n == 0)
		return;
	fprintf(f, "%-28s %8s %6s %5s %5s  %-31s %9s %14s\n", "peer", "answered", "lost",
	        "late", "dup", "latency min/avg/max/p99 ms", "jitter ms", "last seen");
	for (i = 0; i < t->n; i++) {
		struct agent_peer_stats s;
		agent_peer_stats(t->peers[i], now_ns, &s);
		text_peer(f, t->peers[i], &s);
	}
}

static cJSON *json_peer(const struct agent_peer *p, const struct agent_peer_stats *s)
{
	cJSON *o = cJSON_CreateObject(), *l;
	char host[64];

	cJSON_AddStringToObject(o, "peer", pk_addr_host(&p->addr, host, sizeof host));
	cJSON_AddNumberToObject(o, "expected", (double)s->c.expected);
	cJSON_AddNumberToObject(o, "answered", (double)s->c.answered);
	cJSON_AddNumberToObject(o, "lost", (double)s->c.lost);
	cJSON_AddNumberToObject(o, "late", (double)s->c.late);
	cJSON_AddNumberToObject(o, "duplicates", (double)s->c.dups);
	cJSON_AddNumberToObject(o, "probes_heard", (double)s->c.heard);
	l = cJSON_AddObjectToObject(o, "latency_ms");
	pk_json_num(l, "min", s->min_ms, s->have_latency);
	pk_json_num(l, "avg", s->avg_ms, s->have_latency);
	pk_json_num(l, "max", s->max_ms, s->have_latency);
	pk_json_num(l, "p99", s->p99_ms, s->have_latency);
	pk_json_num(l, "jitter", s->jitter_ms, s->have_latency);
	cJSON_AddNumberToObject(o, "last_seen_s", s->last_seen_ago_s);
	return o;
}

static void json_counters(cJSON *o, const struct agent *a)
{
	const struct agent_counters *c = &a->ctr;

	cJSON_AddNumberToObject(o, "echoed", (double)c->echoed);
	cJSON_AddNumberToObject(o, "echo_refused", (double)c->echo_refused);
	cJSON_AddNumberToObject(o, "bad_probes", (double)c->bad_probes);
	cJSON_AddNumberToObject(o, "bad_replies", (double)c->bad_replies);
	cJSON_AddNumberToObject(o, "unknown_replies", (double)a->tab.unknown);
	cJSON_AddNumberToObject(o, "own_replies", (double)c->own_replies);
	cJSON_AddNumberToObject(o, "untracked", (double)a->tab.untracked);
	cJSON_AddNumberToObject(o, "peers_expired", (double)a->tab.expired);
	cJSON_AddNumberToObject(o, "send_errors", (double)c->send_errors);
}

static void json_report(const struct agent *a, FILE *f, int64_t now_ns, int final)
{
	const struct agent_table *t = &a->tab;
	struct agent_interval in;
	cJSON *o = cJSON_CreateObject(), *peers, *tot;
	char when[40];
	size_t i;

	agent_table_interval(t, &in);
	cJSON_AddStringToObject(o, "tool", "vxlan-agent");
	cJSON_AddStringToObject(o, "version", PK_VERSION);
	cJSON_AddStringToObject(o, "time", pk_wall_iso(pk_wall_ns(), when, sizeof when));
	cJSON_AddNumberToObject(o, "interval_s", pk_ns_to_s(now_ns - a->interval_start_ns));
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
	json_counters(tot, a);
	pk_json_print(f, o, 1);
	cJSON_Delete(o);
}

void agent_report_interval(const struct agent *a, FILE *f, int64_t now_ns, int final)
{
	if (a->cfg->json)
		json_report(a, f, now_ns, final);
	else
		text_report(a, f, now_ns, final);
	fflush(f);
}
