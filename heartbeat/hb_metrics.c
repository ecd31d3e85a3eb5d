/* hb_metrics: the server's Prometheus exposition (hb_metrics.h). Counters
 * are totals since the server started (per-client ones: since the client's
 * record was made; a record evicted and made again starts from 0, which
 * Prometheus reads as a counter reset). Gauges are values now; a gauge
 * without a value (no time_diff yet) is left out rather than exported as 0.
 */
#include "hb_metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pk_clock.h"

#define LABEL_MAX 128    /* "[v6 address%scope]:port", escaped */
#define CLIENT_BYTES 1024 /* a client's lines, about: the first guess of the size */

/* The text, grown as needed (a render is one malloc in the usual case:
 * stdio's memstream spent most of a 10,000-client render on reallocations
 * and on printf's float conversion). NUL-terminated at the end only. */
struct out {
	char *p;
	size_t len, cap;
	int oom;
};

/* Room for n more bytes and a NUL at o->p + o->len, or NULL (out of memory;
 * every later write is skipped). */
static char *reserve(struct out *o, size_t n)
{
	if (o->oom)
		return NULL;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *p;
		while (o->len + n + 1 > cap)
			cap *= 2;
		if ((p = realloc(o->p, cap)) == NULL) {
			o->oom = 1;
			return NULL;
		}
		o->p = p;
		o->cap = cap;
	}
	return o->p + o->len;
}

static void put(struct out *o, const char *s, size_t n)
{
	char *w = reserve(o, n);

	if (w != NULL) {
		memcpy(w, s, n);
		o->len += n;
	}
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

#define NUM_MAX 32       /* the longest number fmt_* write */

static char *fmt_u64(char *w, uint64_t v)
{
	char d[20];
	int i = sizeof d;

	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	memcpy(w, d + i, sizeof d - (size_t)i);
	return w + sizeof d - (size_t)i;
}

/* ns as seconds, exact: "-0.005", "1700000004", "0.000123456". */
static char *fmt_ns_s(char *w, int64_t ns)
{
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	uint64_t frac = a % 1000000000u;
	int n = 9;

	if (ns < 0)
		*w++ = '-';
	w = fmt_u64(w, a / 1000000000u);
	if (frac == 0)
		return w;
	*w++ = '.';
	for (int i = 8; i >= 0; i--, frac /= 10)
		w[i] = (char)('0' + frac % 10);
	while (w[n - 1] == '0')
		n--;
	return w + n;
}

/* A ratio to 9 decimals: "0.25", "0.333333333". */
static char *fmt_ratio(char *w, double x)
{
	return fmt_ns_s(w, llround(x * 1e9));
}

static void put_u64(struct out *o, uint64_t v)
{
	char *w = reserve(o, NUM_MAX);

	if (w != NULL)
		o->len = (size_t)(fmt_u64(w, v) - o->p);
}

static void put_ns_s(struct out *o, int64_t ns)
{
	char *w = reserve(o, NUM_MAX);

	if (w != NULL)
		o->len = (size_t)(fmt_ns_s(w, ns) - o->p);
}

/* The shortest of %.15g and %.17g that reads back as v (0.3, not
 * 0.29999999999999999). */
static void put_double(struct out *o, double v)
{
	char d[32];
	int n = snprintf(d, sizeof d, "%.15g", v);

	if (strtod(d, NULL) != v)
		n = snprintf(d, sizeof d, "%.17g", v);
	put(o, d, (size_t)n);
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	puts_(o, "# HELP ");
	puts_(o, name);
	put(o, " ", 1);
	puts_(o, help);
	puts_(o, "\n# TYPE ");
	puts_(o, name);
	put(o, " ", 1);
	puts_(o, type);
	put(o, "\n", 1);
}

/* `name{labels} ` (labels NULL: none), the value to follow. */
static void sample(struct out *o, const char *name, const char *labels)
{
	puts_(o, name);
	if (labels != NULL) {
		put(o, "{", 1);
		puts_(o, labels);
		put(o, "}", 1);
	}
	put(o, " ", 1);
}

static void counter(struct out *o, const char *name, const char *help, uint64_t v)
{
	family(o, name, "counter", help);
	sample(o, name, NULL);
	put_u64(o, v);
	put(o, "\n", 1);
}

static void gauge_u64(struct out *o, const char *name, const char *help, uint64_t v)
{
	family(o, name, "gauge", help);
	sample(o, name, NULL);
	put_u64(o, v);
	put(o, "\n", 1);
}

/* One sample per label value: `name{key="l"} v` for each. */
static void labelled(struct out *o, const char *name, const char *key, const char *l,
                     uint64_t v)
{
	puts_(o, name);
	put(o, "{", 1);
	puts_(o, key);
	put(o, "=\"", 2);
	puts_(o, l);
	put(o, "\"} ", 3);
	put_u64(o, v);
	put(o, "\n", 1);
}

char *hb_metrics_label(const char *s, char *buf, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return buf;
	for (; *s != '\0'; s++) {
		const char *e = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
		size_t k = e != NULL ? 2 : 1;
		if (n + k >= cap)
			break;
		if (e != NULL)
			memcpy(buf + n, e, 2);
		else
			buf[n] = *s;
		n += k;
	}
	buf[n] = '\0';
	return buf;
}

uint32_t hb_metrics_pick(const struct hb_table *t, const struct hb_peer **out, uint32_t cap)
{
	const struct hb_list *lists[2] = { &t->active, &t->stopped };
	uint32_t n = 0;

	for (int l = 0; l < 2; l++)
		for (const struct hb_peer *p = hb_table_last(t, lists[l]); p != NULL && n < cap;
		     p = hb_table_prev(t, p))
			out[n++] = p;
	return n;
}

/* ---- per-client families ------------------------------------------------ */

/* A value of one client: a count, a time in ns (written as seconds) or a
 * ratio (to 9 decimals); the getter returns 0 when there is none (the
 * series is left out). */
struct val {
	enum { V_U64, V_NS, V_RATIO } kind;
	uint64_t u;
	int64_t ns;
	double d;
};

typedef int client_get(const struct hb_metrics_view *v, const struct hb_peer *p, struct val *x);

#define U64_GETTER(fn, expr) \
	static int fn(const struct hb_metrics_view *v, const struct hb_peer *p, struct val *x) \
	{ (void)v; x->kind = V_U64; x->u = (expr); return 1; }
U64_GETTER(get_beats, p->beats)
U64_GETTER(get_lost, pk_rxseq_lost(&p->rx))
U64_GETTER(get_stops, p->stops)
U64_GETTER(get_restarts, p->rx.restarts)

static int get_loss_ratio(const struct hb_metrics_view *v, const struct hb_peer *p, struct val *x)
{
	uint64_t exp = pk_rxseq_expected(&p->rx);

	(void)v;
	x->kind = V_RATIO;
	x->d = exp ? (double)pk_rxseq_lost(&p->rx) / (double)exp : 0.0;
	return exp > 0;
}

#define DIFF_GETTER(fn, expr) \
	static int fn(const struct hb_metrics_view *v, const struct hb_peer *p, struct val *x) \
	{ (void)v; x->kind = V_NS; x->ns = (expr); return p->diff_n > 0; }
DIFF_GETTER(get_diff_last, p->diff_last_ns)
DIFF_GETTER(get_diff_mean, llround(p->diff_mean_ns))
DIFF_GETTER(get_diff_min, p->diff_min_ns)
DIFF_GETTER(get_diff_max, p->diff_max_ns)

static int get_heard(const struct hb_metrics_view *v, const struct hb_peer *p, struct val *x)
{
	x->kind = V_NS;
	x->ns = p->last_ns + v->wall_offset_ns;
	return 1;
}

static const struct client_metric {
	const char *name, *type, *help;
	client_get *get;
} client_metrics[] = {
	{ "heartbeat_server_client_heartbeats_received_total", "counter",
	  "Heartbeats of the client recorded and answered (duplicates included; not those dropped by the simulated loss).", get_beats },
	{ "heartbeat_server_client_lost_heartbeats", "gauge",
	  "Heartbeats of the client's current run missing so far (one-way loss toward the server; a late one is no longer missing).", get_lost },
	{ "heartbeat_server_client_loss_ratio", "gauge",
	  "Missing heartbeats over those expected in the client's current run (0..1).", get_loss_ratio },
	{ "heartbeat_server_client_time_diff_last_seconds", "gauge",
	  "time_diff (server receive time minus the client's timestamp) of the client's newest heartbeat.", get_diff_last },
	{ "heartbeat_server_client_time_diff_mean_seconds", "gauge",
	  "Mean time_diff of the client's current run.", get_diff_mean },
	{ "heartbeat_server_client_time_diff_min_seconds", "gauge",
	  "Smallest time_diff of the client's current run.", get_diff_min },
	{ "heartbeat_server_client_time_diff_max_seconds", "gauge",
	  "Largest time_diff of the client's current run.", get_diff_max },
	{ "heartbeat_server_client_last_heard_timestamp_seconds", "gauge",
	  "When the client's newest heartbeat was received, Unix time.", get_heard },
	{ "heartbeat_server_client_stops_total", "counter",
	  "Times the client was declared stopped (silent for --dead-after).", get_stops },
	{ "heartbeat_server_client_restarts_total", "counter",
	  "New runs of the client from the same address and port (its sequence started again).", get_restarts },
};

/* `name{client="label"...` of one client's line, the rest to follow;
 * NULL when out of memory. */
static char *client_head(struct out *o, const char *name, size_t nlen, const char *label,
                         size_t llen)
{
	char *w = reserve(o, nlen + llen + 64 + NUM_MAX);

	if (w == NULL)
		return NULL;
	memcpy(w, name, nlen);
	w += nlen;
	memcpy(w, "{client=\"", 9);
	w += 9;
	memcpy(w, label, llen);
	return w + llen;
}

static void client_families(struct out *o, const struct hb_metrics_view *v,
                            const struct hb_peer **pick, const char (*label)[LABEL_MAX],
                            const uint8_t *llen, uint32_t n)
{
	static const char state[] = "heartbeat_server_client_state";
	struct val x;
	char *w;

	for (size_t m = 0; m < sizeof client_metrics / sizeof client_metrics[0]; m++) {
		const struct client_metric *cm = &client_metrics[m];
		size_t nlen = strlen(cm->name);
		family(o, cm->name, cm->type, cm->help);
		for (uint32_t i = 0; i < n; i++) {
			if (!cm->get(v, pick[i], &x))
				continue;
			if ((w = client_head(o, cm->name, nlen, label[i], llen[i])) == NULL)
				return;
			memcpy(w, "\"} ", 3);
			w += 3;
			w = x.kind == V_U64 ? fmt_u64(w, x.u) :
			    x.kind == V_NS ? fmt_ns_s(w, x.ns) : fmt_ratio(w, x.d);
			*w++ = '\n';
			o->len = (size_t)(w - o->p);
		}
	}
	family(o, state, "gauge",
	       "The client's state: 1 for the state it is in (active: heard within --dead-after; stopped), 0 for the other.");
	for (uint32_t i = 0; i < n; i++) {
		int active = pick[i]->state == HB_PEER_ACTIVE;
		for (int k = 0; k < 2; k++) {
			const char *tail = k == 0 ? "\",state=\"active\"} " : "\",state=\"stopped\"} ";
			size_t tlen = strlen(tail);
			if ((w = client_head(o, state, sizeof state - 1, label[i], llen[i])) == NULL)
				return;
			memcpy(w, tail, tlen);
			w += tlen;
			*w++ = (k == 0) == active ? '1' : '0';
			*w++ = '\n';
			o->len = (size_t)(w - o->p);
		}
	}
}

/* ---- server-wide families ------------------------------------------------ */

static const char *const bad_label[HB_BAD_KINDS] = {
	/* -HB_BAD_x - 1, as hb_server_totals.bad */
	"empty", "oversized", "not_two_fields", "not_a_number", "out_of_range",
};

static void refused_families(struct out *o, const struct hb_server_totals *t)
{
	const struct { const char *reason; uint64_t v; } why[] = {
		{ "source", t->refused_source }, { "rate_limited", t->rate_limited },
		{ "malformed", t->malformed }, { "reply_shaped", t->reply_shaped },
		{ "too_short", t->too_short }, { "out_of_window", t->out_of_window },
	};

	family(o, "heartbeat_server_datagrams_refused_total", "counter",
	       "Datagrams neither recorded nor answered, by reason: source (port 0, below 1024, or the server's own), rate_limited (--rate-limit), malformed, reply_shaped (a reply's time_diff: another server's), too_short (its reply would be longer), out_of_window (sequence far beyond the client's run).");
	for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
		labelled(o, "heartbeat_server_datagrams_refused_total", "reason", why[i].reason, why[i].v);
	family(o, "heartbeat_server_malformed_datagrams_total", "counter",
	       "Malformed datagrams by what was wrong (their sum is the reason=\"malformed\" refusals).");
	for (int i = 0; i < HB_BAD_KINDS; i++)
		labelled(o, "heartbeat_server_malformed_datagrams_total", "kind", bad_label[i], t->bad[i]);
}

static void http_families(struct out *o, const struct pk_http_stats *h)
{
	family(o, "heartbeat_server_metrics_connections_total", "counter",
	       "Connections to the metrics endpoint: taken (accepted), closed at once (refused: over --metrics-conns or descriptors short), closed at the deadline (timed_out).");
	labelled(o, "heartbeat_server_metrics_connections_total", "result", "accepted", h->accepted);
	labelled(o, "heartbeat_server_metrics_connections_total", "result", "refused", h->refused);
	labelled(o, "heartbeat_server_metrics_connections_total", "result", "timed_out", h->timed_out);
	counter(o, "heartbeat_server_metrics_accept_backoffs_total",
	        "Times the metrics endpoint paused accepting: out of descriptors or memory.",
	        h->backoffs);
}

static void server_families(struct out *o, const struct hb_metrics_view *v, uint32_t picked)
{
	const struct hb_server_totals *t = v->tot;
	const struct hb_table *tab = v->tab;

	family(o, "heartbeat_build_info", "gauge", "The heartbeat program's version.");
	labelled(o, "heartbeat_build_info", "version", PK_VERSION, 1);
	family(o, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.");
	sample(o, "process_start_time_seconds", NULL);
	put_ns_s(o, v->start_wall_ns);
	put(o, "\n", 1);
	family(o, "heartbeat_server_clients", "gauge",
	       "Clients in the table now: active (heard within --dead-after) and stopped.");
	labelled(o, "heartbeat_server_clients", "state", "active", tab->active.len);
	labelled(o, "heartbeat_server_clients", "state", "stopped", tab->stopped.len);
	gauge_u64(o, "heartbeat_server_clients_max", "Clients the table holds at most (--max-clients).",
	          tab->cap);
	counter(o, "heartbeat_server_clients_seen_total", "New client records made (first heartbeat of an address and port not in the table).",
	        t->clients_seen);
	counter(o, "heartbeat_server_clients_stopped_total", "Times a client was declared stopped (silent for --dead-after).",
	        t->ev_stopped);
	counter(o, "heartbeat_server_clients_resumed_total", "Times a stopped client was heard again in the same run.",
	        t->ev_resumed);
	counter(o, "heartbeat_server_clients_restarted_total", "Times a client started a new run from the same address and port.",
	        t->ev_restarted);
	counter(o, "heartbeat_server_clients_evicted_total", "Client records dropped to make room for a new client (table full).",
	        t->evicted);
	counter(o, "heartbeat_server_datagrams_received_total", "Datagrams read (every one: accepted, refused or dropped by the simulated loss).",
	        t->datagrams);
	counter(o, "heartbeat_server_heartbeats_accepted_total", "Heartbeats recorded, their replies queued.",
	        t->accepted);
	counter(o, "heartbeat_server_replies_sent_total", "Replies sent.", t->replies);
	counter(o, "heartbeat_server_reply_errors_total", "Replies queued but not sent (send error).",
	        t->send_errors);
	refused_families(o, t);
	counter(o, "heartbeat_server_simulated_drops_total", "Valid heartbeats discarded by the simulated loss (--loss), as if never received.",
	        t->sim_dropped);
	family(o, "heartbeat_server_simulated_loss_ratio", "gauge", "The simulated loss configured (--loss), 0..1.");
	sample(o, "heartbeat_server_simulated_loss_ratio", NULL);
	put_double(o, v->loss);
	put(o, "\n", 1);
	gauge_u64(o, "heartbeat_server_metrics_clients_max", "Clients with per-client series at most (--metrics-max-clients).",
	          v->max_series);
	gauge_u64(o, "heartbeat_server_metrics_clients_left_out", "Clients in the table without per-client series (over --metrics-max-clients).",
	          tab->used - picked);
	if (v->http != NULL)
		http_families(o, v->http);
}

char *hb_metrics_render(const struct hb_metrics_view *v)
{
	uint32_t cap = v->max_series < v->tab->used ? v->max_series : v->tab->used;
	const struct hb_peer **pick = malloc((cap ? cap : 1) * sizeof *pick);
	char (*label)[LABEL_MAX] = malloc((cap ? cap : 1) * sizeof *label);
	uint8_t *llen = malloc(cap ? cap : 1);
	struct out o = { .cap = 8192 + (size_t)cap * CLIENT_BYTES };
	uint32_t n;

	o.p = malloc(o.cap);
	if (pick == NULL || label == NULL || llen == NULL || o.p == NULL) {
		free(pick);
		free(label);
		free(llen);
		free(o.p);
		return NULL;
	}
	n = hb_metrics_pick(v->tab, pick, cap);
	for (uint32_t i = 0; i < n; i++) {
		struct pk_addr a;
		char s[96];
		hb_peer_addr(pick[i], &a);
		hb_metrics_label(pk_addr_str(&a, s, sizeof s), label[i], LABEL_MAX);
		llen[i] = (uint8_t)strlen(label[i]);
	}
	server_families(&o, v, n);
	client_families(&o, v, pick, (const char (*)[LABEL_MAX])label, llen, n);
	free(pick);
	free(label);
	free(llen);
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	o.p[o.len] = '\0';    /* reserve kept room for it */
	return o.p;
}
