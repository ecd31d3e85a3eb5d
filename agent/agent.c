/* agent: the event loop. Sends a probe to the group every interval (at
 * absolute deadlines), echoes the probes of others, matches replies, decides
 * timeouts at their deadlines and reports every report period. */
#include "agent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "agent_net.h"
#include "agent_proto.h"
#include "pk_batch.h"
#include "pk_limit.h"
#include "pk_loop.h"

#define AGENT_RX_BATCH 64     /* datagrams read per readable event */
#define AGENT_RX_BUF 64       /* bytes kept of each (a probe is at most 20; longer is not one) */

/* What the agent remembers of each probe it sent, by sequence. */
struct agent_sent {
	uint64_t seq;
	uint64_t num;             /* the probe number on the wire */
	uint32_t key;             /* the kernel's number of the datagram (OPT_ID) */
	uint8_t kernel;           /* its send time is the kernel's stamp */
};

/* The running agent; only this file changes it. */
struct agent {
	const struct agent_cfg *cfg;
	struct event_base *base;
	struct agent_net net;      /* the sockets, the group, our own addresses */
	struct agent_table tab;
	struct agent_sent *sent;   /* ring of `window` probes, by seq */
	uint64_t *key_seq;         /* ring of `window` seqs, by the kernel's key */
	size_t window;
	uint32_t tx_key;           /* the kernel's number of our next datagram */
	FILE *trace;               /* cfg->trace, open */
	struct pk_sched sched;
	struct pk_limit limit;
	struct pk_self self;       /* sources never answered (agent_refuse) */
	struct agent_counters ctr;
	int64_t start_ns, interval_start_ns;
	uint64_t nreports;
	struct pk_batch *rx_batch, *tx_batch;   /* one per socket */
	struct event *ev_rx, *ev_tx, *ev_send, *ev_expire, *ev_report;
	struct pk_stop stop;       /* SIGINT, SIGTERM: final report, then the end */
	struct pk_quit quit;       /* SIGQUIT: the report so far on stderr */
	struct agent_out out;      /* what is printed (agent_report.c) */
	uint64_t found;            /* peers found so far, as the table counts them */
	struct pk_http *http;      /* the metrics endpoint, or NULL */
	int metrics_port;          /* the bound port, for the start line */
};

/* The slot of sequence or kernel key n in the rings of `window` entries
 * (a->sent by sequence, a->key_seq by key). */
static size_t ring_slot(const struct agent *a, uint64_t n)
{
	return (size_t)(n % a->window);
}

static void arm_expire(struct agent *a)
{
	int64_t d = agent_table_next_deadline(&a->tab);

	if (d != INT64_MAX)
		pk_timer_at(a->ev_expire, d);
}

static void on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd, (void)what;
	agent_table_expire(&a->tab, pk_now_ns());
	arm_expire(a);
}

/* The kernel's transmit stamps queued on the probe socket: each replaces
 * the send time of its probe while the probe awaits its replies. */
static void tx_stamps(struct agent *a)
{
	uint32_t key;
	int64_t ns;
	int rc;

	while ((rc = pk_recv_tx_stamp(a->net.tx_fd, &key, &ns)) >= 0) {
		struct agent_sent *s;
		if (rc == 0)
			continue;
		s = &a->sent[ring_slot(a, a->key_seq[ring_slot(a, key)])];
		if (s->key != key || s->num == 0 || s->kernel)
			continue;
		if (agent_table_restamp(&a->tab, s->seq, ns) != 0)
			continue;
		s->kernel = 1;
		a->ctr.tx_kernel++;
		agent_trace_txstamp(a->trace, s->seq, s->num, ns);
	}
}

/* Sends probe s->num to `to`: 0, or the error counted. The kernel numbers
 * every datagram of the socket (its transmit stamps name them by it); a
 * probe is known by the number of its first datagram. */
static int send_one(struct agent *a, struct agent_sent *s, const struct pk_addr *to, int *first)
{
	if (agent_send_probe(&a->net, s->num, to) != 0) {
		a->ctr.send_errors++;
		return -1;
	}
	if (*first) {
		s->key = a->tx_key;
		a->key_seq[ring_slot(a, a->tx_key)] = s->seq;
		*first = 0;
	}
	a->tx_key++;
	return 0;
}

/* --peer: the probe to each listed peer but ourselves, then to each peer
 * found that is not listed (at the group port) while it was heard within
 * the probe timeout: a forged probe then draws at most timeout / interval
 * + 1 probes to its source, not a peer timeout's worth. Returns the
 * datagrams sent. */
static size_t send_unicast(struct agent *a, struct agent_sent *s, int64_t now, int *first)
{
	const struct agent_cfg *c = a->cfg;
	size_t i, j, n = 0;

	for (i = 0; i < c->n_peers; i++)
		if (!agent_is_own(&a->net, &c->peers[i]) && send_one(a, s, &c->peers[i], first) == 0)
			n++;
	for (i = 0; i < a->tab.n; i++) {
		struct pk_addr to = a->tab.peers[i]->addr;
		for (j = 0; j < c->n_peers && !pk_addr_same_host(&c->peers[j], &to); j++)
			;
		if (j < c->n_peers || now - a->tab.peers[i]->last_seen_ns > c->timeout_ns)
			continue;
		pk_addr_set_port(&to, c->port);
		if (send_one(a, s, &to, first) == 0)
			n++;
	}
	return n;
}

static void on_send(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	int64_t now = pk_now_ns();
	uint64_t seq = agent_table_send(&a->tab, now);
	struct agent_sent *s = &a->sent[ring_slot(a, seq)];
	int first = 1;
	size_t n;

	(void)fd, (void)what;
	s->seq = seq;
	s->num = a->cfg->seq_probes ? seq : agent_stamp_make(pk_wall_ns(), seq);
	s->key = a->tx_key;
	s->kernel = 0;
	if (a->cfg->n_peers == 0)
		n = send_one(a, s, &a->net.group, &first) == 0;
	else
		n = send_unicast(a, s, now, &first);
	if (n > 0) {
		a->ctr.sent++;
		agent_trace_probe(a->trace, s->seq, s->num, now);
		tx_stamps(a);
	} else {
		s->kernel = 1;          /* nothing left: no transmit stamp is its */
	}
	/* a deadline missed by more than an interval is skipped, not bunched */
	(void)pk_sched_take(&a->sched);
	(void)pk_sched_skip_late(&a->sched, now, a->cfg->interval_ns);
	pk_timer_at(a->ev_send, pk_sched_next_deadline(&a->sched));
	arm_expire(a);
}

static void count_rx_clock(struct agent *a, const struct pk_rx *rx)
{
	if (rx->clock == PK_RXCLOCK_KERNEL)
		a->ctr.rx_kernel++;
	else
		a->ctr.rx_user++;
}

/* A peer the table has just added (its `found` counter moved): peer_seen. */
static void peer_news(struct agent *a)
{
	if (a->tab.found != a->found && a->tab.n > 0)
		agent_report_peer(&a->out, "peer_seen", &a->tab.peers[a->tab.n - 1]->addr);
	a->found = a->tab.found;
}

/* A peer's probe: its one-way delay and loss when it is stamped. */
static void inbound(struct agent *a, struct agent_peer *p, uint64_t num, const struct pk_rx *rx)
{
	struct agent_stamp st;
	int64_t owd = -1;

	if (p != NULL && agent_stamp_parse(num, &st)) {
		owd = agent_stamp_delay_ns(&st, rx->rx_wall_ns);
		(void)agent_table_oneway(&a->tab, p, st.seq, owd);
	}
	agent_trace_rx(a->trace, "heard", rx, num, owd);
}

/* Why a probe from `from` must not be answered (nor its sender taken for a
 * peer), or NULL: port 0 (a spoofed source: the echo's sendmsg would fail),
 * below 1024 (someone else's service), or the group port at any address:
 * probes leave from an agent's unbound probe socket, never from its group
 * socket, and an echo sent to a group port would be echoed back (two
 * agents, or an agent and itself, answering each other for ever). */
static const char *agent_refuse(const struct agent *a, const struct pk_addr *from)
{
	const char *why = pk_self_refuse(&a->self, from);

	if (why == NULL && pk_addr_port(from) == a->cfg->port)
		why = "the group port";
	return why;
}

/* One datagram on the group socket: echo it when it is a probe of someone else. */
static void group_datagram(struct agent *a, const char *buf, const struct pk_rx *rx)
{
	uint64_t num;

	if (rx->truncated || agent_probe_parse(buf, (size_t)rx->len, &num) == AGENT_PROBE_BAD) {
		a->ctr.bad_probes++;
		return;
	}
	if (agent_is_own(&a->net, &rx->from)) {
		a->ctr.own_probes++;
		return;
	}
	if (agent_refuse(a, &rx->from) != NULL) {
		a->ctr.source_refused++;
		return;
	}
	count_rx_clock(a, rx);
	inbound(a, agent_table_heard(&a->tab, &rx->from, rx->rx_ns), num, rx);
	peer_news(a);
	if (!pk_limit_allow(&a->limit, &rx->from, rx->rx_ns)) {
		a->ctr.echo_refused++;
		return;
	}
	if (agent_echo(&a->net, buf, (size_t)rx->len, &rx->from) == 0) {
		a->ctr.echoed++;
		if (a->trace != NULL)
			agent_trace_echo(a->trace, &rx->from, num, pk_now_ns());
	} else {
		a->ctr.echo_errors++;
	}
}

/* Reads up to AGENT_RX_BATCH datagrams from fd in one batch, each to
 * handle() (NUL-terminated, with its sender and receive time). */
static void drain(int fd, struct agent *a, struct pk_batch *b,
                  void (*handle)(struct agent *, const char *, const struct pk_rx *))
{
	int n = pk_batch_recv(fd, b);

	for (int i = 0; i < n; i++)
		handle(a, (const char *)pk_batch_buf(b, (unsigned)i), pk_batch_rx(b, (unsigned)i));
}

static void on_group(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)what;
	drain(fd, a, a->rx_batch, group_datagram);
}

/* The sequence of our probe numbered num, or 0 when we did not send it
 * (or no longer remember it). */
static uint64_t probe_seq(const struct agent *a, uint64_t num)
{
	struct agent_stamp st;
	uint64_t seq = num;
	const struct agent_sent *s;

	if (!a->cfg->seq_probes) {
		if (!agent_stamp_parse(num, &st))
			return 0;
		seq = agent_stamp_unwrap(st.seq, agent_table_next_probe(&a->tab));
	}
	s = &a->sent[ring_slot(a, seq)];
	return s->num == num && s->seq == seq ? seq : 0;
}

/* One datagram on the probe socket: a reply to one of our probes. */
static void reply_datagram(struct agent *a, const char *buf, const struct pk_rx *rx)
{
	enum agent_probe_rc rc;
	uint64_t num, seq;
	int64_t lat;

	rc = rx->truncated ? AGENT_PROBE_BAD : agent_probe_parse(buf, (size_t)rx->len, &num);
	if (rc == AGENT_PROBE_BAD) {
		a->ctr.bad_replies++;
		return;
	}
	if (agent_is_own(&a->net, &rx->from)) {
		a->ctr.own_replies++;
		return;
	}
	seq = rc == AGENT_PROBE_OK ? probe_seq(a, num) : 0;
	if (seq == 0) {                  /* not a probe of ours, or forgotten */
		agent_table_unknown(&a->tab);
		agent_trace_rx(a->trace, "unknown", rx, num, -1);
		return;
	}
	count_rx_clock(a, rx);
	agent_trace_rx(a->trace, "reply", rx, num, -1);
	agent_table_reply(&a->tab, &rx->from, seq, rx->rx_ns, &lat);
	peer_news(a);
}

static void on_reply(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)what;
	tx_stamps(a);
	drain(fd, a, a->tx_batch, reply_datagram);
}

/* What the reports and the metrics read of the agent now. */
static void result_of(const struct agent *a, struct agent_result *r)
{
	r->cfg = a->cfg;
	r->tab = &a->tab;
	r->ctr = a->ctr;
	r->group = a->net.group;
	r->interval_start_ns = a->interval_start_ns;
	r->start_wall_ns = a->out.start_wall_ns;
	pk_http_stats(a->http, &r->http);
}

/* The body of one /metrics answer (pk_http): the figures now. */
static char *live_metrics(void *arg)
{
	struct agent_result r;

	result_of(arg, &r);
	return agent_metrics_render(&r, pk_now_ns());
}

/* Ends an interval: decide what is due, forget silent peers, print, export. */
static void report(struct agent *a, int final)
{
	struct agent_result r;
	int64_t now = pk_now_ns();
	int rc;

	agent_table_expire(&a->tab, now);
	/* the peers agent_table_reap is about to forget (its own test) */
	for (size_t i = 0; i < a->tab.n; i++)
		if (now - a->tab.peers[i]->last_seen_ns > a->cfg->peer_timeout_ns)
			agent_report_peer(&a->out, "peer_lost", &a->tab.peers[i]->addr);
	agent_table_reap(&a->tab, now, a->cfg->peer_timeout_ns);
	agent_table_judge_oneway(&a->tab);
	if (a->cfg->own == NULL)
		(void)agent_own_addrs(&a->net);   /* addresses may come and go */
	result_of(a, &r);
	agent_report_interval(&a->out, &r, now, final);
	agent_table_roll(&a->tab, now);
	a->interval_start_ns = now;
	a->nreports++;
	result_of(a, &r);                     /* after the roll: the interval just ended */
	if (a->cfg->prom_file != NULL &&
	    (rc = agent_metrics_write_file(&r, a->cfg->prom_file, now)) != 0)
		agent_report_error("%s: %s", a->cfg->prom_file, pk_sock_strerror(rc));
	arm_expire(a);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd, (void)what;
	report(a, 0);
	if (a->cfg->reports != 0 && a->nreports >= a->cfg->reports) {
		event_base_loopbreak(a->base);
		return;
	}
	pk_timer_at(a->ev_report, a->start_ns + (int64_t)(a->nreports + 1) * a->cfg->report_ns);
}

/* SIGINT or SIGTERM: the final report, then pk_stop ends the loop. */
static void on_stop(int signo, void *arg)
{
	(void)signo;
	report(arg, 1);
}

/* SIGQUIT: the interval so far on stderr; nothing is rolled or reset. */
static void on_quit(void *arg)
{
	struct agent *a = arg;
	struct agent_result r;
	int64_t now = pk_now_ns();

	agent_table_expire(&a->tab, now);
	result_of(a, &r);
	agent_report_interim(&a->out, &r, now);
	arm_expire(a);
}

static int make_events(struct agent *a)
{
	struct event_base *b = a->base;

	a->ev_rx = event_new(b, a->net.rx_fd, EV_READ | EV_PERSIST, on_group, a);
	a->ev_tx = event_new(b, a->net.tx_fd, EV_READ | EV_PERSIST, on_reply, a);
	a->ev_send = evtimer_new(b, on_send, a);
	a->ev_expire = evtimer_new(b, on_expire, a);
	a->ev_report = evtimer_new(b, on_report, a);
	if (!a->ev_rx || !a->ev_tx || !a->ev_send || !a->ev_expire || !a->ev_report)
		return -ENOMEM;
	if (event_add(a->ev_rx, NULL) || event_add(a->ev_tx, NULL) ||
	    pk_stop_on_signals(b, &a->stop, on_stop, a) != 0 ||
	    pk_quit_on_signal(b, &a->quit, on_quit, a) != 0)
		return -EIO;
	return 0;
}

static void agent_free(struct agent *a)
{
	pk_http_stop(&a->http);
	pk_quit_free(&a->quit);
	PK_LOOP_FREE(a->base, &a->stop, a->ev_rx, a->ev_tx, a->ev_send, a->ev_expire,
	             a->ev_report);
	agent_net_close(&a->net);
	if (a->trace != NULL)
		fclose(a->trace);
	free(a->sent);
	free(a->key_seq);
	pk_batch_free(a->rx_batch);
	pk_batch_free(a->tx_batch);
	agent_table_free(&a->tab);
	pk_limit_free(&a->limit);
}

static int setup(struct agent *a, const char **what)
{
	int rc;

	*what = "memory";
	/* probes remembered per track: those in flight within the timeout,
	 * twice over for late replies, plus 64; at most 65536 */
	a->window = pk_seqtrack_window(a->cfg->interval_ns, a->cfg->timeout_ns, 2, 0, 65536);
	a->sent = calloc(a->window, sizeof *a->sent);
	a->key_seq = calloc(a->window, sizeof *a->key_seq);
	a->rx_batch = pk_batch_new(AGENT_RX_BATCH, AGENT_RX_BUF);
	a->tx_batch = pk_batch_new(AGENT_RX_BATCH, AGENT_RX_BUF);
	if (a->sent == NULL || a->key_seq == NULL || a->rx_batch == NULL || a->tx_batch == NULL ||
	    agent_table_init(&a->tab, a->cfg->max_peers, a->window, a->cfg->timeout_ns, 1) != 0 ||
	    pk_limit_init(&a->limit, 1024, a->cfg->echo_rate, 2 * a->cfg->echo_rate) != 0)
		return -ENOMEM;
	if (a->cfg->trace != NULL) {
		*what = a->cfg->trace;
		if ((a->trace = fopen(a->cfg->trace, "we")) == NULL)
			return -errno;
	}
	rc = agent_net_open(&a->net, a->cfg, what);
	if (rc != 0)
		return rc;
	/* the port alone matters here (agent_refuse): the addresses of the
	 * wildcard are every interface's */
	(void)pk_self_init(&a->self, &a->net.group, 0);
	*what = "event loop";
	a->base = pk_base_new();
	if (a->base == NULL)
		return -ENOMEM;
	rc = make_events(a);
	if (rc != 0)
		return rc;
	if (a->cfg->metrics_port >= 0) {
		*what = "metrics endpoint";
		rc = pk_http_start(&a->http, a->base, a->cfg->metrics_addr, a->cfg->metrics_port,
		                   a->cfg->metrics_conns, a->cfg->metrics_timeout_ns, live_metrics, a,
		                   &a->metrics_port);
	}
	return rc;
}

int agent_run(const struct agent_cfg *cfg)
{
	struct agent a;
	struct agent_result r;
	const char *what = "";
	char msg[256];
	int rc;

	memset(&a, 0, sizeof a);
	a.cfg = cfg;
	a.out.cfg = cfg;
	a.out.f = stdout;
	a.out.start_wall_ns = pk_wall_ns();
	a.net.rx_fd = a.net.tx_fd = -1;
	a.metrics_port = -1;
	(void)pk_timer_slack_min();
	rc = setup(&a, &what);
	if (rc != 0) {
		snprintf(msg, sizeof msg, "%s: %s", what != NULL ? what : "",
		         a.net.why != NULL ? a.net.why : pk_sock_strerror(rc));
		agent_report_error("%s", msg);
		agent_report_end(&a.out, NULL, msg);
		agent_free(&a);
		return 2;
	}
	a.start_ns = a.interval_start_ns = pk_now_ns();
	agent_report_start(&a.out, cfg, &a.net.group, cfg->own != NULL ? &a.net.own[0] : NULL,
	                   a.metrics_port, stdout);
	pk_sched_init(&a.sched, a.start_ns, cfg->interval_ns);
	pk_timer_at(a.ev_send, a.start_ns);
	pk_timer_at(a.ev_report, a.start_ns + cfg->report_ns);
	event_base_dispatch(a.base);
	result_of(&a, &r);
	agent_report_end(&a.out, &r, NULL);
	rc = a.tab.replies > 0 ? 0 : 1;
	agent_free(&a);
	return rc;
}
