/* heartbeat client: sends `<seq> <timestamp>` at start + n * interval,
 * matches replies, runs both failure detectors on the same heartbeats.
 * Event loop callbacks and state only; printing in hb_report.c.
 */
#include "hb.h"
#include "hb_report.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "pk_clock.h"
#include "pk_loop.h"
#include "pk_sock.h"
#include "pk_sockopt.h"
#include "pk_stats.h"

struct hb_client {
	const struct hb_client_cfg *cfg;
	struct hb_client_info info;     /* cfg, peer, start times: for the lines */
	struct event_base *base;
	struct event *rd, *send_tm, *expire_tm, *phi_tm;
	struct pk_stop stop;            /* SIGINT / SIGTERM end the loop */
	struct pk_quit quit;            /* SIGQUIT: the interim line */
	int fd;
	struct pk_sched sched;
	struct pk_seqtrack track;
	double *diffs;           /* time_diff (s) per window slot, NAN if none */
	struct pk_rtt rtt;
	struct pk_summary diff;  /* server time_diff of answered heartbeats, ms */
	struct hb_kmiss kmiss;
	struct hb_phi phi;
	struct hb_verdicts v[HB_DETECTORS];
	uint64_t runhist[HB_RUNHIST + 1];
	uint64_t cur_run;
	uint64_t bad_replies, send_errors, icmp_errors;  /* unknown: track.unknown */
	int64_t end_ns;
	int stopped_down;
	int so_failed;           /* pk_sockopt_apply failed: so_why says why */
	const char *so_why;
	struct pk_samples samples; /* struct hb_sample; empty without -J / --json-stream */
};

static int acting(const struct hb_client *c, enum hb_detector d)
{
	return c->cfg->detector == d;
}

/* Done: every heartbeat of the count sent and decided, or stopped at a
 * `server down` without --keep-going. */
static void maybe_finish(struct hb_client *c)
{
	const struct pk_seqtrack *t = &c->track;

	if (c->stopped_down ||
	    (c->cfg->count > 0 && t->sent == c->cfg->count &&
	     pk_seqtrack_oldest_pending(t) == pk_seqtrack_next_seq(t)))
		event_base_loopbreak(c->base);
}

/* What the line of a verdict change says: the detector's figures now. */
static void verdict_change(const struct hb_client *c, enum hb_detector d,
                           enum hb_change ch, int64_t now, struct hb_verdict_change *vc)
{
	const struct hb_verdicts *v = &c->v[d];

	memset(vc, 0, sizeof *vc);
	vc->det = d;
	vc->ch = ch;
	vc->now_ns = now;
	vc->last_reply_ns = c->kmiss.last_ok_ns;
	vc->run = c->kmiss.run;
	vc->first_miss = c->kmiss.first_miss;
	vc->phi = hb_phi_value(&c->phi, now);
	vc->phi_threshold = c->phi.threshold;
	vc->gap_mean_ns = c->phi.mean_ns;
	vc->gap_sd_ns = c->phi.sd_ns;
	/* the newest outage kept (the one ending, unless the list is full) */
	vc->outage = ch == HB_WENT_UP && v->n > 0 ? &v->list[v->n - 1] : NULL;
}

static void verdict(struct hb_client *c, enum hb_detector d,
                    enum hb_change ch, int64_t now)
{
	struct hb_verdicts *v = &c->v[d];
	struct hb_verdict_change vc;
	struct hb_outage *o;

	if (ch == HB_SAME)
		return;
	if (ch == HB_WENT_DOWN) {
		v->down = 1;
		v->downs++;
		if (v->n < HB_OUTAGES_MAX) {
			o = &v->list[v->n++];
			o->last_reply_ns = c->kmiss.last_ok_ns;
			o->down_ns = now;
			o->up_ns = -1;
		}
	} else {
		v->down = 0;
		v->ups++;
		if (v->n > 0 && v->list[v->n - 1].up_ns < 0)
			v->list[v->n - 1].up_ns = now;
	}
	verdict_change(c, d, ch, now, &vc);
	hb_report_verdict(&c->info, &vc);
	if (ch == HB_WENT_DOWN && acting(c, d) && !c->cfg->keep_going) {
		c->stopped_down = 1;
		c->end_ns = now;
		maybe_finish(c);
	}
}

static void arm_phi(struct hb_client *c)
{
	if (c->phi.down)
		event_del(c->phi_tm);
	else
		pk_timer_at(c->phi_tm, hb_phi_deadline(&c->phi));
}

static void arm_expire(struct hb_client *c)
{
	int64_t d = pk_seqtrack_next_deadline(&c->track);

	if (d == INT64_MAX)
		event_del(c->expire_tm);
	else
		pk_timer_at(c->expire_tm, d);
}

static double *diff_slot(struct hb_client *c, uint64_t seq)
{
	return &c->diffs[pk_seqtrack_index(&c->track, seq)];
}

/* The outcome of a decided heartbeat: a --json-stream record or a CSV row
 * now, and kept for the -J document (bounded). */
static void sample_add(struct hb_client *c, const struct pk_seq_slot *s, double diff)
{
	struct hb_sample y, *x;

	if (!c->cfg->json && !c->cfg->csv)
		return;
	y.sent_ns = s->sent_ns;
	y.status = s->status == PK_SEQ_PENDING ? PK_SEQ_LOST : s->status;
	y.rtt_ns = y.status == PK_SEQ_LOST ? -1 : s->rtt_ns;
	y.diff_s = y.status == PK_SEQ_LOST ? NAN : diff;
	hb_report_sample(&c->info, s->seq, &y);
	if (!c->cfg->json)
		return;
	x = pk_samples_add(&c->samples);
	if (x == NULL)
		return;         /* counted in c->samples.dropped */
	*x = y;
}

/* At the end: heartbeats not yet decided (still within their timeout, or
 * behind one that is) get their sample as they stand; waiting = lost. */
static void samples_drain(struct hb_client *c)
{
	for (uint64_t q = pk_seqtrack_oldest_pending(&c->track);
	     q < pk_seqtrack_next_seq(&c->track); q++) {
		const struct pk_seq_slot *s = pk_seqtrack_slot(&c->track, q);
		if (s != NULL)
			sample_add(c, s, *diff_slot(c, q));
	}
}

/* A late reply to a heartbeat already decided lost. */
static void sample_late(struct hb_client *c, uint64_t seq, int64_t rtt, double diff)
{
	struct hb_sample *x;

	if (seq >= c->samples.n)
		return;
	x = pk_samples_at(&c->samples, seq);
	if (x->status == PK_SEQ_LOST) {
		x->status = PK_SEQ_LATE;
		x->rtt_ns = rtt;
		x->diff_s = diff;
	}
}

/* Feeds every heartbeat decided by now_ns, in sequence order. */
static void expire(struct hb_client *c, int64_t now)
{
	const struct pk_seq_slot *s;

	while (!c->stopped_down && (s = pk_seqtrack_expire(&c->track, now)) != NULL) {
		int missed = s->status != PK_SEQ_OK;

		if (missed) {
			c->cur_run++;
		} else if (c->cur_run > 0) {
			c->runhist[c->cur_run < HB_RUNHIST ? c->cur_run : HB_RUNHIST]++;
			c->cur_run = 0;
		}
		sample_add(c, s, *diff_slot(c, s->seq));
		if (missed)
			hb_report_timeout(&c->info, s->seq, s->sent_ns + c->cfg->timeout_ns);
		if (missed)
			verdict(c, HB_DET_KMISS, hb_kmiss_timeout(&c->kmiss, s->seq), now);
	}
	arm_expire(c);
	maybe_finish(c);
}


static void on_phi(evutil_socket_t fd, short what, void *arg)
{
	struct hb_client *c = arg;
	int64_t now = pk_now_ns();

	(void)fd;
	(void)what;
	verdict(c, HB_DET_PHI, hb_phi_check(&c->phi, now), now);
	if (!c->phi.down)
		arm_phi(c);   /* woke early: try again at the deadline */
}

static int send_one(struct hb_client *c, uint64_t seq, int64_t wall)
{
	char msg[64];
	int n = hb_format_beat(msg, sizeof msg, seq, wall);

	for (int tries = 0; tries < 2; tries++) {
		if (send(c->fd, msg, (size_t)n, MSG_DONTWAIT) == n)
			return 0;
		if (errno != ECONNREFUSED)  /* a pending ICMP error eats one send */
			break;
		c->icmp_errors++;
	}
	c->send_errors++;
	return -errno;
}

static void on_send(evutil_socket_t fd, short what, void *arg)
{
	struct hb_client *c = arg;
	int64_t now = pk_now_ns();
	uint64_t seq;

	(void)fd;
	(void)what;
	if (c->track.sent == 0)
		hb_phi_start(&c->phi, now);
	seq = pk_seqtrack_send(&c->track, now);
	*diff_slot(c, seq) = NAN;
	(void)send_one(c, seq, pk_wall_ns());
	(void)pk_sched_take(&c->sched);
	if (c->cfg->count == 0 || c->track.sent < c->cfg->count)
		pk_timer_at(c->send_tm, pk_sched_next_deadline(&c->sched));
	if (!event_pending(c->expire_tm, EV_TIMEOUT, NULL))
		arm_expire(c);
	if (c->track.sent == 1)
		arm_phi(c);
}

static void got_reply(struct hb_client *c, const struct hb_reply *m, int64_t rx_ns,
                      size_t bytes, int ttl)
{
	int64_t rtt;
	enum pk_seq_reply r;

	/* Time order, not callback order: the heartbeats whose timeout passed
	 * before this reply arrived are decided first, so a loaded machine that
	 * runs the expiry timer late does not let this reply hide their misses
	 * from the k-miss detector. (Replies are read in arrival order, so none
	 * of them can still be waiting in the socket.) */
	expire(c, rx_ns);
	if (c->stopped_down)
		return;
	r = pk_seqtrack_reply(&c->track, m->seq, rx_ns, &rtt);
	if (r == PK_REPLY_UNKNOWN)
		return;         /* counted by the tracker */
	hb_report_reply(&c->info, pk_now_ns(), m->seq, bytes, ttl, rtt, m->diff_s,
	                r == PK_REPLY_LATE, r == PK_REPLY_DUP);
	if (r == PK_REPLY_DUP)
		return;
	*diff_slot(c, m->seq) = m->diff_s;
	pk_summary_add(&c->diff, m->diff_s * 1e3);
	if (r != PK_REPLY_OK) {
		sample_late(c, m->seq, rtt, m->diff_s);
		return;
	}
	pk_rtt_add(&c->rtt, rtt);
	verdict(c, HB_DET_KMISS, hb_kmiss_reply(&c->kmiss, m->seq, rx_ns), rx_ns);
	verdict(c, HB_DET_PHI, hb_phi_arrival(&c->phi, rx_ns), rx_ns);
	arm_phi(c);
}

/* Reads the replies waiting (at most 64): 1 when the socket is empty. */
static int drain(struct hb_client *c)
{
	char buf[HB_MSG_MAX + 1];
	struct hb_reply m;
	struct pk_rx rx;

	for (int i = 0; i < 64 && !c->stopped_down; i++) {
		ssize_t n = pk_recv_ts(c->fd, buf, sizeof buf, &rx);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 1;
		if (n < 0) {
			c->icmp_errors++;     /* ECONNREFUSED: nobody listening */
			continue;
		}
		if (rx.truncated || hb_parse_reply(buf, (size_t)n, &m) < 0) {
			c->bad_replies++;
			continue;
		}
		got_reply(c, &m, rx.rx_ns, (size_t)n, rx.ttl);
	}
	return c->stopped_down;
}

/* Timeouts are decided up to now only once every reply that arrived before
 * now has been read; with more waiting, the read event (level-triggered)
 * comes back and decides them. */
static void on_read_or_expire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	if (drain(arg))
		expire(arg, pk_now_ns());
}

static int client_open(struct hb_client *c)
{
	const struct hb_client_cfg *cfg = c->cfg;
	int rc = pk_resolve(cfg->host, cfg->port, cfg->family, SOCK_DGRAM, 0, &c->info.peer);

	if (rc < 0)
		return rc;
	c->fd = pk_socket(pk_addr_family(&c->info.peer), SOCK_DGRAM);
	if (c->fd < 0)
		return c->fd;
	/* -I / -t / -Q before connect (docs/OUTPUT.md) */
	rc = pk_sockopt_apply(c->fd, pk_addr_family(&c->info.peer), &cfg->so, &c->so_why);
	if (rc < 0) {
		c->so_failed = 1;
		return rc;
	}
	if (connect(c->fd, (const struct sockaddr *)&c->info.peer.ss, c->info.peer.len) != 0)
		return -errno;
	(void)pk_sock_rx_timestamps(c->fd);
	if (cfg->verbose)
		(void)pk_sock_rx_ttl_tos(c->fd, pk_addr_family(&c->info.peer));
	return 0;
}

/* SIGQUIT: ping's interim line on stderr (and an `interim` record). */
static void on_quit(void *arg)
{
	struct hb_client *c = arg;
	struct pk_ping_totals t;
	struct pk_rtt_ms r;

	pk_ping_totals_of(&t, &c->track, pk_now_ns() - c->info.start_ns);
	pk_rtt_ms(&c->rtt, &r);
	hb_report_interim(&c->info, &t, &r);
}

static int client_events(struct hb_client *c)
{
	c->base = pk_base_new();
	if (c->base == NULL)
		return -ENOMEM;
	c->rd = event_new(c->base, c->fd, EV_READ | EV_PERSIST, on_read_or_expire, c);
	c->send_tm = evtimer_new(c->base, on_send, c);
	c->expire_tm = evtimer_new(c->base, on_read_or_expire, c);
	c->phi_tm = evtimer_new(c->base, on_phi, c);
	if (!c->rd || !c->send_tm || !c->expire_tm || !c->phi_tm)
		return -ENOMEM;
	if (event_add(c->rd, NULL) || pk_stop_on_signals(c->base, &c->stop, NULL, NULL) ||
	    pk_quit_on_signal(c->base, &c->quit, on_quit, c))
		return -EIO;
	return 0;
}

static int client_init(struct hb_client *c, const struct hb_client_cfg *cfg)
{
	memset(c, 0, sizeof *c);
	c->cfg = cfg;
	c->info.cfg = cfg;
	c->fd = -1;
	/* replies up to ~3 timeouts late are still told apart from strangers */
	if (pk_seqtrack_init(&c->track, pk_seqtrack_window(cfg->interval_ns, cfg->timeout_ns,
	                                                   4, 0, 1 << 20),
	                     0, cfg->timeout_ns) < 0)
		return -ENOMEM;
	c->diffs = calloc(c->track.cap, sizeof *c->diffs);
	for (int d = 0; d < HB_DETECTORS; d++)
		c->v[d].list = calloc(HB_OUTAGES_MAX, sizeof *c->v[d].list);
	if (c->diffs == NULL || c->v[0].list == NULL || c->v[1].list == NULL)
		return -ENOMEM;
	pk_rtt_init(&c->rtt);
	pk_summary_init(&c->diff);
	pk_samples_init(&c->samples, sizeof(struct hb_sample), HB_SAMPLES_MAX);
	hb_kmiss_init(&c->kmiss, cfg->misses);
	hb_phi_init(&c->phi, cfg->phi_threshold, cfg->interval_ns);
	return 0;
}

static void client_close(struct hb_client *c)
{
	pk_quit_free(&c->quit);
	PK_LOOP_FREE(c->base, &c->stop, c->rd, c->send_tm, c->expire_tm, c->phi_tm);
	if (c->fd >= 0)
		close(c->fd);
	pk_seqtrack_free(&c->track);
	free(c->diffs);
	for (int d = 0; d < HB_DETECTORS; d++)
		free(c->v[d].list);
	pk_samples_free(&c->samples);
}

/* The figures of the finished run, for hb_report_client_end. */
static void result_of(const struct hb_client *c, struct hb_client_result *r)
{
	const struct pk_seqtrack *t = &c->track;
	uint64_t missed = t->lost + t->late;

	memset(r, 0, sizeof *r);
	r->info = c->info;
	pk_ping_totals_of(&r->totals, t, c->end_ns - c->info.start_ns);
	/* a run of misses still open at the end counts too */
	if (c->cur_run > r->totals.longest_loss_run)
		r->totals.longest_loss_run = c->cur_run;
	pk_rtt_ms(&c->rtt, &r->rtt);
	r->diff = c->diff;
	memcpy(r->runhist, c->runhist, sizeof r->runhist);
	r->bad_replies = c->bad_replies;
	r->unknown_replies = t->unknown;
	r->icmp_errors = c->icmp_errors;
	r->send_errors = c->send_errors;
	r->final_down = c->v[c->cfg->detector].down;
	r->interrupted = c->stop.signo != 0;
	memcpy(r->det, c->v, sizeof r->det);
	r->phi_threshold = c->phi.threshold;
	r->phi_gap_mean_ns = c->phi.mean_ns;
	r->phi_gap_sd_ns = c->phi.sd_ns;
	r->decided = t->ok + missed;
	r->loss = r->decided ? (double)missed / (double)r->decided : 0.0;
	hb_false_alarm(r->loss, c->cfg->misses, c->cfg->interval_ns, c->cfg->timeout_ns, &r->fa);
	r->fa.valid = r->fa.valid && r->decided > 0;
	/* over the run asked for (-c), or what was sent when unbounded */
	if (r->fa.valid)
		hb_fa_over_run(r->loss, c->cfg->misses, r->fa.extra,
		               c->cfg->count ? c->cfg->count : t->sent, HB_FA_BUDGET, &r->run);
	else
		r->run.n = c->cfg->count ? c->cfg->count : t->sent;
	r->run.budget = HB_FA_BUDGET;
	r->samples = c->samples.n ? pk_samples_at(&c->samples, 0) : NULL;
	r->nsamples = c->samples.n;
	r->samples_dropped = c->samples.dropped;
}

/* 0: ended with the server up; 1: ended down or never answered. */
static int exit_status(const struct hb_client *c)
{
	if (c->track.ok == 0 || c->v[c->cfg->detector].down)
		return 1;
	return 0;
}

int hb_client_run(const struct hb_client_cfg *cfg)
{
	struct hb_client *c = malloc(sizeof *c);
	struct hb_client_result res;
	int rc;

	if (c == NULL)
		return 2;
	rc = client_init(c, cfg);
	if (rc == 0)
		rc = client_open(c);
	if (rc == 0)
		rc = client_events(c);
	if (rc < 0) {
		char msg[256], a[64];
		const char *why = c->so_why ? c->so_why : pk_sock_strerror(rc);

		if (c->so_failed && (cfg->so.have_src || cfg->so.ifname[0]))
			snprintf(msg, sizeof msg, "-I %s: %s", cfg->so.ifname[0] ? cfg->so.ifname
			         : pk_addr_host(&cfg->so.src, a, sizeof a), why);
		else if (c->so_failed)
			snprintf(msg, sizeof msg, "-t/-Q: %s", why);
		else
			snprintf(msg, sizeof msg, "%s: %s", cfg->host, pk_sock_strerror(rc));
		c->info.start_wall_ns = pk_wall_ns();
		hb_report_client_fail(&c->info, msg);
		client_close(c);
		free(c);
		return 2;
	}
	(void)pk_timer_slack_min();
	c->info.start_wall_ns = pk_wall_ns();
	c->info.start_ns = pk_now_ns();
	pk_sched_init(&c->sched, c->info.start_ns, cfg->interval_ns);
	hb_report_client_start(&c->info);
	pk_timer_at(c->send_tm, c->info.start_ns);
	event_base_dispatch(c->base);
	if (c->end_ns == 0)
		c->end_ns = pk_now_ns();
	samples_drain(c);
	if (c->cur_run > 0)
		c->runhist[c->cur_run < HB_RUNHIST ? c->cur_run : HB_RUNHIST]++;
	result_of(c, &res);
	hb_report_client_end(&res);
	rc = exit_status(c);
	client_close(c);
	free(c);
	return rc;
}
