/* agent_metrics: the agent's state in the Prometheus text exposition format
 * (version 0.0.4), written atomically to a file for node_exporter's textfile
 * collector and served on HTTP /metrics (common/pk_http.c).
 *
 * Counters and histograms are totals since start (since a peer was found,
 * for per-peer ones); interval gauges describe the last finished report
 * interval, and one with no value (no reply in the interval) is left out
 * rather than exported as 0. Names follow Prometheus' conventions (base
 * units, counters ending in _total, build_info, process_*); the list with
 * types, labels and series counts is in docs/vxlan-agent.md, "Metrics".
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pk_cli.h"
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
	int (*get)(const struct agent_peer *p, const struct agent_result *r, int64_t now_ns,
	           double *v);
	const char *labels;   /* more labels after peer, or NULL */
};

/* The one-way figures are of the peer's direction toward this agent. */
#define FROM_PEER ",direction=\"from_peer\""

#define COUNTER_GETTER(fn, expr) \
	static int fn(const struct agent_peer *p, const struct agent_result *r, int64_t n, \
	              double *v) \
	{ (void)r, (void)n; *v = (double)(expr); return 1; }
COUNTER_GETTER(get_expected, p->total.expected)
COUNTER_GETTER(get_answered, p->total.answered)
COUNTER_GETTER(get_lost, p->total.lost)
COUNTER_GETTER(get_late, p->total.late)
COUNTER_GETTER(get_dups, p->total.dups)
COUNTER_GETTER(get_heard, p->total.heard)
COUNTER_GETTER(get_ow_received, p->in_seq.received)
COUNTER_GETTER(get_ow_lost, p->total.in_lost)

static int get_avg(const struct agent_peer *p, const struct agent_result *r, int64_t n,
                   double *v)
{
	(void)r, (void)n;
	*v = p->last.avg_ms / 1e3;
	return p->have_last && p->last.have_latency;
}

static int get_jitter(const struct agent_peer *p, const struct agent_result *r, int64_t n,
                      double *v)
{
	(void)r, (void)n;
	*v = p->last.jitter_ms / 1e3;
	return p->have_last && p->last.have_latency;
}

static int get_seen(const struct agent_peer *p, const struct agent_result *r, int64_t now_ns,
                    double *v)
{
	(void)r;
	*v = pk_ns_to_s(pk_wall_ns()) - pk_ns_to_s(now_ns - p->last_seen_ns);
	return 1;
}

/* Up: an in-time reply of the peer arrived within the last probe timeout
 * plus one probe interval. Then at least the first probe sent after that
 * reply has been decided, lost, and no reply has come since: with the
 * defaults (0.5 s, 2 s) five probes in a row unanswered. */
static int get_up(const struct agent_peer *p, const struct agent_result *r, int64_t now_ns,
                  double *v)
{
	*v = p->last_answer_ns != 0 &&
	     now_ns - p->last_answer_ns <= r->cfg->timeout_ns + r->cfg->interval_ns;
	return 1;
}

static const struct peer_metric peer_metrics[] = {
	{ "vxlan_agent_peer_up", "gauge", "1 while the peer answers: an in-time reply within the last probe timeout plus one probe interval; else 0.", get_up, NULL },
	{ "vxlan_agent_peer_expected_probes_total", "counter", "Probes sent while the peer was known.", get_expected, NULL },
	{ "vxlan_agent_peer_answered_probes_total", "counter", "Probes the peer answered within the timeout.", get_answered, NULL },
	{ "vxlan_agent_peer_lost_probes_total", "counter", "Probes the peer did not answer within the timeout.", get_lost, NULL },
	{ "vxlan_agent_peer_late_replies_total", "counter", "Replies of the peer after the timeout.", get_late, NULL },
	{ "vxlan_agent_peer_duplicate_replies_total", "counter", "Further copies of replies already counted.", get_dups, NULL },
	{ "vxlan_agent_peer_probes_heard_total", "counter", "Probes of the peer heard (and echoed).", get_heard, NULL },
	{ "vxlan_agent_peer_latency_avg_seconds", "gauge", "Mean one-way latency (RTT/2) in the last report interval, as the report prints it.", get_avg, NULL },
	{ "vxlan_agent_peer_jitter_seconds", "gauge", "Mean difference of consecutive one-way latencies (RTT/2) in the last report interval.", get_jitter, NULL },
	{ "vxlan_agent_peer_last_seen_timestamp_seconds", "gauge", "When the peer was last heard, Unix time.", get_seen, NULL },
	{ "vxlan_agent_peer_oneway_received_probes_total", "counter", "Stamped probes of the peer received.", get_ow_received, FROM_PEER },
	{ "vxlan_agent_peer_oneway_lost_probes", "gauge", "Stamped probes of the peer missing so far (a late one is no longer missing).", get_ow_lost, FROM_PEER },
};

/* A histogram's series of one peer: cumulative buckets, +Inf, sum, count. */
static void histogram(FILE *f, const char *name, const char *labels, const struct agent_hist *h)
{
	uint64_t cum = 0;

	for (size_t b = 0; b < AGENT_HIST_BUCKETS; b++) {
		cum += h->n[b];
		fprintf(f, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels,
		        (double)agent_hist_le_ns[b] / 1e9, (unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
	        (unsigned long long)h->count);
	/* the exact sum: ns as decimal seconds */
	fprintf(f, "%s_sum{%s} %s%lld.%09lld\n", name, labels, h->sum_ns < 0 ? "-" : "",
	        (long long)(h->sum_ns < 0 ? -h->sum_ns : h->sum_ns) / 1000000000,
	        (long long)(h->sum_ns < 0 ? -h->sum_ns : h->sum_ns) % 1000000000);
	fprintf(f, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
}

static void peer_families(FILE *f, const struct agent_result *r, int64_t now_ns)
{
	const struct agent_table *t = r->tab;
	char host[64], labels[96];
	size_t m, i;
	double v;

	for (m = 0; m < sizeof peer_metrics / sizeof peer_metrics[0]; m++) {
		const struct peer_metric *pm = &peer_metrics[m];
		family(f, pm->name, pm->type, pm->help);
		for (i = 0; i < t->n; i++)
			if (pm->get(t->peers[i], r, now_ns, &v))
				fprintf(f, "%s{peer=\"%s\"%s} %.17g\n", pm->name,
				        pk_addr_host(&t->peers[i]->addr, host, sizeof host),
				        pm->labels != NULL ? pm->labels : "", v);
	}
	family(f, "vxlan_agent_peer_rtt_seconds", "histogram",
	       "Round-trip time of the peer's in-time replies since the peer was found.");
	for (i = 0; i < t->n; i++) {
		snprintf(labels, sizeof labels, "peer=\"%s\"",
		         pk_addr_host(&t->peers[i]->addr, host, sizeof host));
		histogram(f, "vxlan_agent_peer_rtt_seconds", labels, &t->peers[i]->rtt);
	}
	family(f, "vxlan_agent_peer_oneway_latency_seconds", "histogram",
	       "One-way delay of the peer's stamped probes since the peer was found (wall clocks of two hosts; intervals judged implausible left out).");
	for (i = 0; i < t->n; i++) {
		snprintf(labels, sizeof labels, "peer=\"%s\"" FROM_PEER,
		         pk_addr_host(&t->peers[i]->addr, host, sizeof host));
		histogram(f, "vxlan_agent_peer_oneway_latency_seconds", labels,
		          &t->peers[i]->owd_hist);
	}
}

/* The standard process_* families, from /proc/self/stat (no stdio buffer). */
static void process_families(FILE *f, const struct agent_result *r)
{
	char buf[1024], *p;
	unsigned long long utime, stime;
	long long rss;
	ssize_t n;
	int fd;

	scalar(f, "process_start_time_seconds", "gauge",
	       "Start time of the process since unix epoch in seconds.",
	       pk_ns_to_s(r->start_wall_ns));
	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* after "pid (comm) ": field 3 (state) on; utime 14, stime 15, rss 24 */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
	                        "%*d %*d %*d %*d %*d %*d %*u %*u %lld", &utime, &stime, &rss) != 3)
		return;
	scalar(f, "process_cpu_seconds_total", "counter",
	       "Total user and system CPU time spent in seconds.",
	       (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK));
	scalar(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	       (double)rss * (double)sysconf(_SC_PAGESIZE));
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

	family(f, "vxlan_agent_build_info", "gauge",
	       "The agent's version and the git commit it was built from (empty: not a git build).");
	fprintf(f, "vxlan_agent_build_info{version=\"%s\",revision=\"%s\"} 1\n", PK_VERSION,
	        pk_cli_git_str());
	family(f, "vxlan_agent_info", "gauge", "The agent's group and port.");
	fprintf(f, "vxlan_agent_info{group=\"%s\",port=\"%u\"} 1\n",
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
	scalar(f, "vxlan_agent_peers_found_total", "counter", "Peers discovered (a peer forgotten and heard again counts again).", (double)t->found);
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
	process_families(f, r);
	peer_families(f, r, now_ns);
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
