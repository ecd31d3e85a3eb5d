/* agent_metrics: the agent's state in the Prometheus text exposition format
 * (version 0.0.4), written atomically to a file for node_exporter's textfile
 * collector and served on HTTP /metrics (common/pk_http.c).
 *
 * Counters are totals since start (since a peer was found, for per-peer
 * ones); gauges describe the last finished report interval. A gauge with no
 * value (no reply in the interval) is left out rather than exported as 0.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pk_clock.h"

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(FILE *f, const char *name, const char *type, const char *help, double v)
{
	family(f, name, type, help);
	fprintf(f, "%s %.17g\n", name, v);
}

/* Per-peer families: each a getter that returns 0 when there is no value. */
struct peer_metric {
	const char *name, *type, *help;
	int (*get)(const struct agent_peer *p, double wall_s, double now_s, double *v);
	const char *labels;   /* more labels after peer, or NULL */
};

/* The one-way figures are of the peer's direction toward this agent. */
#define FROM_PEER ",direction=\"from_peer\""


#define COUNTER_GETTER(fn, field) \
	static int fn(const struct agent_peer *p, double w, double n, double *v) \
	{ (void)w, (void)n; *v = (double)p->total.field; return 1; }
COUNTER_GETTER(get_expected, expected)
COUNTER_GETTER(get_answered, answered)
COUNTER_GETTER(get_lost, lost)
COUNTER_GETTER(get_late, late)
COUNTER_GETTER(get_dups, dups)
COUNTER_GETTER(get_heard, heard)

#define LAST_GETTER(fn, field) \
	static int fn(const struct agent_peer *p, double w, double n, double *v) \
	{ (void)w, (void)n; *v = p->last.field / 1e3; return p->have_last && p->last.have_latency; }
LAST_GETTER(get_min, min_ms)
LAST_GETTER(get_avg, avg_ms)
LAST_GETTER(get_max, max_ms)
LAST_GETTER(get_p99, p99_ms)
LAST_GETTER(get_jitter, jitter_ms)

#define OW_GETTER(fn, field) \
	static int fn(const struct agent_peer *p, double w, double n, double *v) \
	{ (void)w, (void)n; *v = p->last.ow.field / 1e3; return p->have_last && p->last.have_oneway; }
OW_GETTER(get_ow_min, min)
OW_GETTER(get_ow_avg, avg)
OW_GETTER(get_ow_max, max)

static int get_ow_received(const struct agent_peer *p, double w, double n, double *v)
{
	(void)w, (void)n;
	*v = (double)p->in_seq.received;
	return 1;
}

static int get_ow_lost(const struct agent_peer *p, double w, double n, double *v)
{
	(void)w, (void)n;
	*v = (double)p->total.in_lost;
	return 1;
}

static int get_seen(const struct agent_peer *p, double wall_s, double now_s, double *v)
{
	*v = wall_s - (now_s - pk_ns_to_s(p->last_seen_ns));
	return 1;
}

static const struct peer_metric peer_metrics[] = {
	{ "vxlan_agent_peer_expected_probes_total", "counter", "Probes sent while the peer was known.", get_expected, NULL },
	{ "vxlan_agent_peer_answered_probes_total", "counter", "Probes the peer answered within the timeout.", get_answered, NULL },
	{ "vxlan_agent_peer_lost_probes_total", "counter", "Probes the peer did not answer within the timeout.", get_lost, NULL },
	{ "vxlan_agent_peer_late_replies_total", "counter", "Replies of the peer after the timeout.", get_late, NULL },
	{ "vxlan_agent_peer_duplicate_replies_total", "counter", "Further copies of replies already counted.", get_dups, NULL },
	{ "vxlan_agent_peer_probes_heard_total", "counter", "Probes of the peer heard (and echoed).", get_heard, NULL },
	{ "vxlan_agent_peer_latency_min_seconds", "gauge", "Minimum one-way latency (RTT/2) in the last report interval.", get_min, NULL },
	{ "vxlan_agent_peer_latency_avg_seconds", "gauge", "Mean one-way latency (RTT/2) in the last report interval.", get_avg, NULL },
	{ "vxlan_agent_peer_latency_max_seconds", "gauge", "Maximum one-way latency (RTT/2) in the last report interval.", get_max, NULL },
	{ "vxlan_agent_peer_latency_p99_seconds", "gauge", "99th percentile one-way latency (RTT/2) in the last report interval.", get_p99, NULL },
	{ "vxlan_agent_peer_jitter_seconds", "gauge", "Mean difference of consecutive latencies in the last report interval.", get_jitter, NULL },
	{ "vxlan_agent_peer_last_seen_timestamp_seconds", "gauge", "When the peer was last heard, Unix time.", get_seen, NULL },
	{ "vxlan_agent_peer_oneway_latency_min_seconds", "gauge", "Minimum one-way delay of the peer's stamped probes in the last report interval.", get_ow_min, FROM_PEER },
	{ "vxlan_agent_peer_oneway_latency_avg_seconds", "gauge", "Mean one-way delay of the peer's stamped probes in the last report interval.", get_ow_avg, FROM_PEER },
	{ "vxlan_agent_peer_oneway_latency_max_seconds", "gauge", "Maximum one-way delay of the peer's stamped probes in the last report interval.", get_ow_max, FROM_PEER },
	{ "vxlan_agent_peer_oneway_received_probes_total", "counter", "Stamped probes of the peer received.", get_ow_received, FROM_PEER },
	{ "vxlan_agent_peer_oneway_lost_probes", "gauge", "Stamped probes of the peer missing so far (a late one is no longer missing).", get_ow_lost, FROM_PEER },
};

static void peer_families(FILE *f, const struct agent_table *t, double wall_s, double now_s)
{
	char host[64];
	size_t m, i;
	double v;

	for (m = 0; m < sizeof peer_metrics / sizeof peer_metrics[0]; m++) {
		const struct peer_metric *pm = &peer_metrics[m];
		family(f, pm->name, pm->type, pm->help);
		for (i = 0; i < t->n; i++)
			if (pm->get(t->peers[i], wall_s, now_s, &v))
				fprintf(f, "%s{peer=\"%s\"%s} %.17g\n", pm->name,
				        pk_addr_host(&t->peers[i]->addr, host, sizeof host),
				        pm->labels != NULL ? pm->labels : "", v);
	}
	family(f, "vxlan_agent_peer_latency_seconds", "summary",
	       "One-way latency (RTT/2) of in-time replies since the peer was found.");
	for (i = 0; i < t->n; i++) {
		pk_addr_host(&t->peers[i]->addr, host, sizeof host);
		fprintf(f, "vxlan_agent_peer_latency_seconds_sum{peer=\"%s\"} %.17g\n", host,
		        t->peers[i]->lat_sum_s);
		fprintf(f, "vxlan_agent_peer_latency_seconds_count{peer=\"%s\"} %llu\n", host,
		        (unsigned long long)t->peers[i]->lat_count);
	}
	family(f, "vxlan_agent_peer_oneway_latency_seconds", "summary",
	       "One-way delay of the peer's stamped probes since the peer was found.");
	for (i = 0; i < t->n; i++) {
		pk_addr_host(&t->peers[i]->addr, host, sizeof host);
		fprintf(f, "vxlan_agent_peer_oneway_latency_seconds_sum{peer=\"%s\"%s} %.17g\n", host,
		        FROM_PEER, t->peers[i]->owd_sum_s);
		fprintf(f, "vxlan_agent_peer_oneway_latency_seconds_count{peer=\"%s\"%s} %llu\n", host,
		        FROM_PEER, (unsigned long long)t->peers[i]->owd_count);
	}
}

static void http_families(FILE *f, const struct pk_http_stats *h)
{
	family(f, "vxlan_agent_metrics_connections_total", "counter",
	       "Connections to the metrics endpoint: taken (accepted), closed at once (refused: over the cap or descriptors short), closed at the deadline (timed_out).");
	fprintf(f, "vxlan_agent_metrics_connections_total{result=\"accepted\"} %llu\n",
	        (unsigned long long)h->accepted);
	fprintf(f, "vxlan_agent_metrics_connections_total{result=\"refused\"} %llu\n",
	        (unsigned long long)h->refused);
	fprintf(f, "vxlan_agent_metrics_connections_total{result=\"timed_out\"} %llu\n",
	        (unsigned long long)h->timed_out);
	scalar(f, "vxlan_agent_metrics_accept_backoffs_total", "counter",
	       "Times the metrics endpoint paused accepting: out of descriptors or memory.",
	       (double)h->backoffs);
}

static void agent_families(FILE *f, const struct agent_result *r)
{
	const struct agent_table *t = r->tab;
	const struct agent_counters *c = &r->ctr;
	char g[64];

	family(f, "vxlan_agent_info", "gauge", "The agent's version and group.");
	fprintf(f, "vxlan_agent_info{version=\"%s\",group=\"%s\",port=\"%u\"} 1\n", PK_VERSION,
	        pk_addr_host(&r->group, g, sizeof g), (unsigned)r->cfg->port);
	scalar(f, "vxlan_agent_probes_sent_total", "counter", "Probes sent to the group.", (double)c->sent);
	scalar(f, "vxlan_agent_probes_lost_total", "counter", "Probes no peer answered within the timeout.", (double)t->lost);
	scalar(f, "vxlan_agent_replies_total", "counter", "In-time replies from all peers.", (double)t->replies);
	scalar(f, "vxlan_agent_unknown_replies_total", "counter", "Replies to probes never sent or forgotten.", (double)t->unknown);
	scalar(f, "vxlan_agent_bad_replies_total", "counter", "Replies that are not probe numbers.", (double)c->bad_replies);
	scalar(f, "vxlan_agent_bad_probes_total", "counter", "Datagrams to the group that are not probes (not echoed).", (double)c->bad_probes);
	scalar(f, "vxlan_agent_echoed_probes_total", "counter", "Probes of other agents echoed.", (double)c->echoed);
	scalar(f, "vxlan_agent_echo_refused_total", "counter", "Probes not echoed: per-source rate limit.", (double)c->echo_refused);
	scalar(f, "vxlan_agent_source_refused_total", "counter",
	       "Probes never echoed for their source: port 0, below 1024, or the group port (an agent's echo socket).",
	       (double)c->source_refused);
	scalar(f, "vxlan_agent_untracked_total", "counter", "Probes or replies of peers not stored: peer table full.", (double)t->untracked);
	scalar(f, "vxlan_agent_peers_expired_total", "counter", "Peers forgotten after the peer timeout.", (double)t->expired);
	scalar(f, "vxlan_agent_peers", "gauge", "Peers known now.", (double)t->n);
	scalar(f, "vxlan_agent_oneway_implausible_total", "counter",
	       "One-way delays not used: negative, beyond the timeout, or of an interval whose shortest one-way delay exceeded every round trip (clocks that disagree).", (double)t->owd_bad);
	family(f, "vxlan_agent_clock_fallbacks_total", "counter",
	       "Probe send (tx) or receive (rx) times read from the monotonic clock: the kernel gave no timestamp.");
	fprintf(f, "vxlan_agent_clock_fallbacks_total{direction=\"tx\"} %llu\n",
	        (unsigned long long)(c->sent - c->tx_kernel));
	fprintf(f, "vxlan_agent_clock_fallbacks_total{direction=\"rx\"} %llu\n",
	        (unsigned long long)c->rx_user);
	if (r->cfg->metrics_port >= 0)
		http_families(f, &r->http);
	if (t->have_last) {
		scalar(f, "vxlan_agent_interval_lost_probes", "gauge", "Probes lost in the last report interval.", (double)t->last.lost);
		if (t->last.have_latency)
			scalar(f, "vxlan_agent_latency_avg_seconds", "gauge",
			       "Mean one-way latency of all replies in the last report interval.",
			       t->last.avg_latency_ms / 1e3);
	}
}

char *agent_metrics_render(const struct agent_result *r, int64_t now_ns)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	agent_families(f, r);
	peer_families(f, r->tab, pk_ns_to_s(pk_wall_ns()), pk_ns_to_s(now_ns));
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* "<path>.<16 random hex digits>.tmp": a name nobody can guess ahead. */
static int temp_name(char *tmp, size_t cap, const char *path)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = (uint64_t)pk_now_ns() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	if (snprintf(tmp, cap, "%s.%016llx.tmp", path, (unsigned long long)r) >= (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

int agent_metrics_write_file(const struct agent_result *r, const char *path, int64_t now_ns)
{
	char tmp[4096];
	char *text = agent_metrics_render(r, now_ns);
	FILE *f;
	int rc, fd, tries = 0;

	if (text == NULL)
		return -ENOMEM;
	/* O_EXCL: a file or link already at the name is never opened (links are
	 * not followed with O_CREAT|O_EXCL; O_NOFOLLOW says so twice) */
	do {
		rc = temp_name(tmp, sizeof tmp, path);
		fd = rc != 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (rc == 0 && fd < 0)
			rc = -errno;
	} while (rc == -EEXIST && ++tries < 8);
	if (rc != 0) {
		free(text);
		return rc;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		free(text);
		return rc;
	}
	if (fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	free(text);
	return rc;
}
