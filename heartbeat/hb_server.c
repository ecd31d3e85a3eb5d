/* heartbeat server: receives `<seq> <timestamp>`, records per client,
 * replies `<seq> <time_diff>`; reports clients seen / stopped / resumed /
 * restarted. Event loop callbacks and state only; printing in hb_report*.c.
 */
#include "hb.h"
#include "hb_metrics.h"
#include "hb_report.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "pk_batch.h"
#include "pk_clock.h"
#include "pk_http.h"
#include "pk_limit.h"
#include "pk_loop.h"
#include "pk_sim.h"
#include "pk_sock.h"
#include "pk_sockopt.h"

#define ROUNDS 16                /* recvmmsg batches per read callback */
#define BATCH 64                 /* datagrams per recvmmsg */

struct hb_server {
	const struct hb_server_cfg *cfg;
	struct event_base *base;
	struct event *rd, *dead_tm, *report_tm;
	struct pk_stop stop;            /* SIGINT / SIGTERM end the loop */
	struct pk_quit quit;            /* SIGQUIT: the table on stderr */
	cJSON *events;                  /* -J: the document's events */
	uint64_t events_dropped;
	int fd;
	struct pk_addr local;
	struct pk_batch *batch;  /* receive and reply buffers, owned */
	struct hb_table tab;
	struct pk_limit lim;
	struct pk_self self;     /* sources never answered */
	struct pk_sim sim;
	FILE *out;               /* stdout, or stderr once stdout failed */
	int events_off;          /* stdout failed: no more event lines */
	uint64_t seed;
	struct hb_server_totals tot;
	int64_t start_ns, start_wall_ns;
	int64_t wall_offset_ns;  /* wall - monotonic, refreshed per batch */
	int kernel_ts;           /* receive timestamps from the kernel */
	const char *so_why;      /* pk_sockopt_apply's complaint */
	struct pk_http *http;    /* --metrics-port: the /metrics endpoint, or NULL */
	int metrics_port;        /* its bound port, -1: none */
};

/* The server as the report sees it. */
static struct hb_server_view view(const struct hb_server *s)
{
	struct hb_server_view v = {
		.cfg = s->cfg, .local = &s->local, .seed = s->seed,
		.kernel_ts = s->kernel_ts, .wall_offset_ns = s->wall_offset_ns,
		.tot = &s->tot, .tab = &s->tab, .out = s->out,
		.json = s->cfg->json, .start_wall_ns = s->start_wall_ns,
		.events = s->events, .events_dropped = (uint64_t *)&s->events_dropped,
		.metrics_port = s->metrics_port,
	};
	return v;
}

/* Lines go to stdout until a write there fails (a closed pipe: EPIPE,
 * SIGPIPE being ignored); then the event lines end, said once on stderr,
 * the service goes on, and the final table goes to stderr. */
static void check_output(struct hb_server *s)
{
	if (s->out == stderr || !ferror(stdout))
		return;
	s->out = stderr;
	s->events_off = 1;
	hb_report_error("stdout: write failed; no more event lines, still serving");
}

static void report_event(struct hb_server *s, enum hb_srv_event ev,
                         const struct hb_peer *p, int64_t now_ns, uint64_t prev_seq)
{
	struct hb_server_view v = view(s);

	if (s->events_off)
		return;
	hb_report_server_event(&v, ev, p, now_ns, prev_seq);
	check_output(s);
}

static void report_table(struct hb_server *s, int64_t now_ns, int final)
{
	struct hb_server_view v;

	check_output(s);
	if (s->events_off && !final)
		return;
	v = view(s);
	hb_report_server_table(&v, now_ns, final);
	if (final && s->out == stdout && ferror(stdout)) {
		check_output(s);
		v = view(s);
		hb_report_server_table(&v, now_ns, final);
	}
	check_output(s);
}

/* Arms the stop timer for the client that has been silent longest. */
static void arm_dead_timer(struct hb_server *s)
{
	struct hb_peer *p = hb_table_oldest_active(&s->tab);

	if (p == NULL)
		event_del(s->dead_tm);
	else
		pk_timer_at(s->dead_tm, p->last_ns + s->cfg->dead_after_ns);
}

static void on_dead_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hb_server *s = arg;
	int64_t now = pk_now_ns();
	struct hb_peer *p;

	(void)fd;
	(void)what;
	while ((p = hb_table_oldest_active(&s->tab)) != NULL &&
	       p->last_ns + s->cfg->dead_after_ns <= now) {
		hb_table_stop(&s->tab, p);
		s->tot.ev_stopped++;
		report_event(s, HB_EV_STOPPED, p, now, 0);
	}
	arm_dead_timer(s);
}

static void on_report_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hb_server *s = arg;
	int64_t now = pk_now_ns();

	(void)fd;
	(void)what;
	report_table(s, now, 0);
	/* next report at start + n * period, never drifting */
	pk_timer_at(s->report_tm, now + s->cfg->report_ns -
	            (now - s->start_ns) % s->cfg->report_ns);
}

/* Records an accepted heartbeat from rx->from (diff: its time_diff).
 * Returns 0, or -1 for a sequence far beyond the client's run (dropped). */
static int record(struct hb_server *s, const struct pk_rx *rx,
                  const struct hb_beat *m, int64_t diff)
{
	struct hb_beat_result r;

	hb_table_beat(&s->tab, &rx->from, m->seq, diff, rx->rx_ns, &r);
	if (r.evicted) {
		s->tot.evicted++;
		report_event(s, HB_EV_EVICTED, NULL, rx->rx_ns, 0);
	}
	if (r.ev == HB_BEAT_SEEN)
		s->tot.clients_seen++;
	switch (r.ev) {
	case HB_BEAT_JUMP:
		s->tot.out_of_window++;    /* not recorded, not answered */
		return -1;
	case HB_BEAT_SEEN:
		report_event(s, HB_EV_SEEN, r.p, rx->rx_ns, 0);
		break;
	case HB_BEAT_RESTARTED:
		s->tot.ev_restarted++;
		report_event(s, HB_EV_RESTARTED, r.p, rx->rx_ns, r.prev_seq);
		break;
	case HB_BEAT_RESUMED:
		s->tot.ev_resumed++;
		report_event(s, HB_EV_RESUMED, r.p, rx->rx_ns, r.prev_seq);
		break;
	default:
		break;
	}
	if (s->tab.active.len == 1 || !event_pending(s->dead_tm, EV_TIMEOUT, NULL))
		arm_dead_timer(s);
	return 0;
}

/* One datagram (number i of the batch): the reflection guard, rate limit,
 * parse, reply-shape and size checks, simulated loss, record, queue the
 * reply (never longer than the heartbeat). */
static void handle(struct hb_server *s, unsigned i)
{
	const struct pk_rx *rx = pk_batch_rx(s->batch, i);
	char *buf = (char *)pk_batch_buf(s->batch, i);
	struct hb_beat m;
	char reply[64];
	int rc, n;
	int64_t diff;

	if (pk_self_refuse(&s->self, &rx->from) != NULL) {
		s->tot.refused_source++;       /* a spoofed source: never answered */
		return;
	}
	if (!pk_limit_allow(&s->lim, &rx->from, rx->rx_ns)) {
		s->tot.rate_limited++;
		return;
	}
	rc = rx->truncated ? HB_BAD_SIZE : hb_parse_beat(buf, (size_t)rx->len, &m);
	if (rc < 0) {
		s->tot.malformed++;
		s->tot.bad[-rc - 1]++;
		return;
	}
	diff = rx->rx_ns + s->wall_offset_ns - m.ts_ns;
	if (hb_reply_shaped(diff)) {
		s->tot.reply_shaped++;         /* another server's reply, or ours */
		return;
	}
	n = hb_format_reply_max(reply, (size_t)rx->len, m.seq, diff);
	if (n < 0) {
		s->tot.too_short++;            /* its reply would be longer */
		return;
	}
	if (pk_sim_drop(&s->sim, s->cfg->loss)) {
		s->tot.sim_dropped++;          /* as if it never arrived */
		return;
	}
	if (record(s, rx, &m, diff) < 0)
		return;
	s->tot.accepted++;
	/* the reply goes out of the datagram's own buffer (parsed already) */
	memcpy(buf, reply, (size_t)n);
	pk_batch_reply(s->batch, i, buf, (size_t)n);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct hb_server *s = arg;

	(void)what;
	s->wall_offset_ns = pk_wall_ns() - pk_now_ns();
	/* a bounded number of batches per event keeps timers and signals live */
	for (int round = 0; round < ROUNDS; round++) {
		int n = pk_batch_recv(fd, s->batch);
		unsigned queued, sent;

		if (n <= 0)
			break;    /* nothing queued, or an ICMP error: nothing to do */
		s->tot.datagrams += (uint64_t)n;
		for (unsigned i = 0; i < (unsigned)n; i++)
			handle(s, i);
		queued = pk_batch_pending(s->batch);
		sent = pk_batch_flush(fd, s->batch);
		s->tot.replies += sent;
		s->tot.send_errors += queued - sent;
		if (n < BATCH)
			break;
	}
}

static int server_open(struct hb_server *s)
{
	const struct hb_server_cfg *cfg = s->cfg;
	int rc = pk_server_socket(cfg->bind, cfg->port, cfg->family, SOCK_DGRAM, &s->local);

	if (rc < 0)
		return rc;
	s->fd = rc;
	/* -t / -Q of the replies (a server's source is -b) */
	rc = pk_sockopt_apply(s->fd, pk_addr_family(&s->local), &cfg->so, &s->so_why);
	if (rc < 0)
		return rc;
	(void)pk_self_init(&s->self, &s->local, cfg->allow_low_ports);
	s->kernel_ts = pk_sock_rx_timestamps(s->fd) == 0;
	pk_sock_buffers(s->fd, 4 << 20);
	/* with CAP_NET_ADMIN, a queue deep enough to ride out ~100 ms of not
	 * being scheduled at 100k datagrams/s (best effort, bounded) */
	(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 32 << 20 }, sizeof(int));
	return 0;
}

/* SIGQUIT: the table so far, as text, on stderr; the service goes on. */
static void on_quit(void *arg)
{
	struct hb_server *s = arg;
	struct hb_server_view v = view(s);

	v.out = stderr;
	v.json = 0;
	hb_report_server_table(&v, pk_now_ns(), 0);
}

/* The body of one /metrics answer (pk_http): the figures now. Costs the
 * families of totals plus at most --metrics-max-clients clients' series
 * (hb_metrics.h), on the loop that answers heartbeats. */
static char *live_metrics(void *arg)
{
	struct hb_server *s = arg;
	struct pk_http_stats st;
	struct hb_metrics_view mv = {
		.tab = &s->tab, .tot = &s->tot, .http = &st,
		.max_series = s->cfg->metrics_max_clients, .loss = s->cfg->loss,
		.now_ns = pk_now_ns(), .start_wall_ns = s->start_wall_ns,
	};

	pk_http_stats(s->http, &st);
	mv.wall_offset_ns = pk_wall_ns() - mv.now_ns;
	return hb_metrics_render(&mv);
}

static int server_events(struct hb_server *s)
{
	s->base = pk_base_new();
	if (s->base == NULL)
		return -ENOMEM;
	s->rd = event_new(s->base, s->fd, EV_READ | EV_PERSIST, on_read, s);
	s->dead_tm = evtimer_new(s->base, on_dead_timer, s);
	s->report_tm = evtimer_new(s->base, on_report_timer, s);
	if (!s->rd || !s->dead_tm || !s->report_tm)
		return -ENOMEM;
	if (event_add(s->rd, NULL) || pk_stop_on_signals(s->base, &s->stop, NULL, NULL) ||
	    pk_quit_on_signal(s->base, &s->quit, on_quit, s))
		return -EIO;
	if (s->cfg->report_ns > 0)
		pk_timer_at(s->report_tm, s->start_ns + s->cfg->report_ns);
	return 0;
}

static int metrics_start(struct hb_server *s)
{
	const struct hb_server_cfg *cfg = s->cfg;

	if (cfg->metrics_port < 0)
		return 0;
	return pk_http_start(&s->http, s->base, cfg->metrics_addr, cfg->metrics_port,
	                     cfg->metrics_conns, cfg->metrics_timeout_ns, live_metrics, s,
	                     &s->metrics_port);
}

static void server_close(struct hb_server *s)
{
	pk_http_stop(&s->http);
	pk_quit_free(&s->quit);
	PK_LOOP_FREE(s->base, &s->stop, s->rd, s->dead_tm, s->report_tm);
	cJSON_Delete(s->events);
	pk_batch_free(s->batch);
	if (s->fd >= 0)
		close(s->fd);
	hb_table_free(&s->tab);
	pk_limit_free(&s->lim);
}

int hb_server_run(const struct hb_server_cfg *cfg)
{
	struct hb_server s;
	struct hb_server_view v;
	int rc, metrics_failed = 0;

	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.fd = -1;
	s.out = stdout;
	s.metrics_port = -1;
	/* a closed stdout must end our output, not the service */
	signal(SIGPIPE, SIG_IGN);
	s.seed = cfg->have_seed ? cfg->seed : pk_sim_random_seed();
	pk_sim_seed(&s.sim, s.seed);
	(void)pk_timer_slack_min();
	s.start_ns = pk_now_ns();
	s.start_wall_ns = pk_wall_ns();
	s.wall_offset_ns = s.start_wall_ns - s.start_ns;
	if (cfg->json && !cfg->stream)
		s.events = cJSON_CreateArray();
	s.batch = pk_batch_new(BATCH, HB_MSG_MAX);
	rc = s.batch ? hb_table_init(&s.tab, cfg->max_clients) : -ENOMEM;
	if (rc == 0)
		rc = pk_limit_init(&s.lim, cfg->max_clients < 4096 ? 4096 : cfg->max_clients,
		                   cfg->rate_limit, cfg->rate_limit < 10 ? 10 : cfg->rate_limit);
	if (rc == 0)
		rc = server_open(&s);
	if (rc == 0)
		rc = server_events(&s);
	if (rc == 0 && (rc = metrics_start(&s)) != 0)
		metrics_failed = 1;
	if (rc < 0) {
		char msg[256];
		if (metrics_failed)
			snprintf(msg, sizeof msg, "metrics endpoint %s port %d: %s", cfg->metrics_addr,
			         cfg->metrics_port, pk_sock_strerror(rc));
		else if (s.so_why != NULL)
			snprintf(msg, sizeof msg, "-t/-Q: %s", s.so_why);
		else
			snprintf(msg, sizeof msg, "server: %s", pk_sock_strerror(rc));
		hb_report_server_fail(cfg, msg);
		server_close(&s);
		return 2;
	}
	v = view(&s);
	hb_report_listening(&v);
	check_output(&s);
	event_base_dispatch(s.base);
	report_table(&s, pk_now_ns(), 1);
	server_close(&s);
	return 0;
}
