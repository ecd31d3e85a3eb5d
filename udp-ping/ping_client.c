/* udp-ping client: pings on an absolute schedule, matches replies by seq.
 *
 * Three events drive it: the send timer (deadline start + n * interval, so a
 * slow reply or a late wake-up never shifts the schedule; under -A, armed
 * when the ping in flight is decided: its reply or its timeout), the expiry
 * timer (never later than the oldest undecided ping's deadline, sent +
 * timeout) and the socket. Both timers are timerfds armed at absolute ns
 * deadlines (pk_tfd) on a base without libevent's timers, and the send
 * timer is re-armed before the send: after a send the loop only goes back
 * to epoll_wait, so a server sharing our CPU gets it at once.
 * pk_seqtrack decides every ping exactly once (in time, lost, late) and
 * counts duplicates; pk_rtt keeps the figures in fixed memory.
 */
#include "ping.h"
#include "ping_proto.h"
#include "pk_batch.h"
#include "pk_clock.h"
#include "pk_loop.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

/* replies read per recvmmsg; at most RX_BATCH * RX_ROUNDS per readable event */
#define RX_BATCH 16
#define RX_ROUNDS 16
/* room for the bare request text, "Ping <seq> <sec>.<usec>" (at most 52) */
#define TXBUF_MIN 64

struct ping_client {
	const struct ping_client_cfg *cfg;
	struct event_base *base;
	struct pk_tfd t_send, t_expire;
	struct event *ev_read;
	struct pk_batch *rx;         /* RX_BATCH replies of PING_MAX_PAYLOAD + 1 */
	struct pk_stop stop;
	struct pk_quit quit;         /* SIGQUIT: the interim line */
	int fd;
	struct pk_addr peer;
	struct pk_sched sched;
	struct pk_seqtrack track;
	struct pk_rtt *rtt;
	int64_t *sent_wall;          /* ring beside the tracker: to check echoes */
	struct pk_samples samples;   /* of struct ping_sample, -J / --json-stream only */
	uint64_t rx_kernel, rx_mono, altered, icmp_errors, send_errors;
	uint64_t rcvbuf_drops;       /* the kernel's count (SO_RXQ_OVFL), highest seen */
	int rcvbuf_bytes;
	int64_t start_ns, start_wall, last_send_ns;
	int all_sent, draining;
	char *txbuf;                 /* a request: max(-s, TXBUF_MIN) bytes, not */
	size_t txcap;                /* zeroed (64 KiB zeroed were 16 page faults) */
};

static int want_samples(const struct ping_client *c)
{
	return c->cfg->output == PING_OUT_JSON || c->cfg->output == PING_OUT_STREAM;
}

/* Sequences start at 1 and every send adds its record, so record seq - 1
 * is seq's until the bound is reached. */
static struct ping_sample *sample_of(struct ping_client *c, uint64_t seq)
{
	return seq >= 1 && seq - 1 < c->samples.n ? pk_samples_at(&c->samples, seq - 1) : NULL;
}

static void sample_init(struct ping_sample *s, uint64_t seq, int64_t wall_ns)
{
	memset(s, 0, sizeof *s);
	s->seq = seq;
	s->wall_ns = wall_ns;
	s->rtt_ns = -1;
	s->size = -1;
	s->ttl = -1;
	s->tos = -1;
	s->status = PK_SEQ_PENDING;
	s->clock = PK_RXCLOCK_MONOTONIC;
}

static void sample_add(struct ping_client *c, uint64_t seq, int64_t wall_ns)
{
	struct ping_sample *s;

	if (!want_samples(c) || (s = pk_samples_add(&c->samples)) == NULL)
		return;
	sample_init(s, seq, wall_ns);
}

/* A ping's outcome is known (status; rx and rtt of its reply, or NULL):
 * into its sample, and out as a --json-stream record or a CSV row. A ping
 * past the samples' bound still has its record, from the send ring. */
static void decided(struct ping_client *c, uint64_t seq, uint8_t status, const struct pk_rx *rx,
                    int64_t rtt)
{
	struct ping_sample tmp, *smp = sample_of(c, seq);

	if (smp == NULL) {
		if (c->cfg->output != PING_OUT_STREAM && c->cfg->output != PING_OUT_CSV)
			return;
		sample_init(&tmp, seq, c->sent_wall[pk_seqtrack_index(&c->track, seq)]);
		smp = &tmp;
	}
	smp->status = status;
	if (rx != NULL) {
		smp->rtt_ns = rtt;
		smp->clock = (uint8_t)rx->clock;
		smp->size = (int32_t)rx->len;
		smp->ttl = (int16_t)rx->ttl;
		smp->tos = (int16_t)rx->tos;
	}
	ping_report_sample(c->cfg, smp);
}

static int finished(const struct ping_client *c)
{
	return c->all_sent &&
	       pk_seqtrack_oldest_pending(&c->track) == pk_seqtrack_next_seq(&c->track);
}

/* Decides every ping whose fate is known by now, in sequence order. */
static void expire_due(struct ping_client *c, int64_t now)
{
	const struct pk_seq_slot *s;

	while ((s = pk_seqtrack_expire(&c->track, now)) != NULL) {
		if (s->status == PK_SEQ_LOST) {
			if (!c->draining)
				ping_report_timeout(c->cfg, s->seq);
			decided(c, s->seq, PK_SEQ_LOST, NULL, -1);
		}
	}
	if (finished(c)) {
		event_base_loopbreak(c->base);
		return;
	}
	/* armed no later than the oldest undecided ping's deadline: a reply
	 * only moves that deadline later, so the timer is left as it is and
	 * re-armed when it fires (at most once per timeout) */
	if (pk_seqtrack_next_deadline(&c->track) != INT64_MAX &&
	    (c->t_expire.armed_ns == 0 || c->t_expire.armed_ns > pk_seqtrack_next_deadline(&c->track)))
		(void)pk_tfd_at(&c->t_expire, pk_seqtrack_next_deadline(&c->track));
}

/* Before a send: the expiry timer armed if it is not (at now + timeout, no
 * later than the deadline of the ping about to leave). */
static void expire_armed(struct ping_client *c, int64_t now)
{
	if (c->t_expire.armed_ns == 0)
		(void)pk_tfd_at(&c->t_expire, now + c->cfg->timeout_ns);
}

static void send_one(struct ping_client *c)
{
	int64_t wall = pk_wall_ns();
	uint64_t seq = pk_seqtrack_next_seq(&c->track);
	int len = ping_req_format(c->txbuf, c->txcap, seq, wall, c->cfg->size);
	int64_t now;

	c->sent_wall[pk_seqtrack_index(&c->track, seq)] = wall;
	sample_add(c, seq, wall);
	/* the send time: read last, right before the send */
	now = pk_now_ns();
	pk_seqtrack_send(&c->track, now);
	c->last_send_ns = now;
	if (send(c->fd, c->txbuf, (size_t)len, 0) != len) {
		/* ECONNREFUSED from an earlier ICMP error, or a full buffer:
		 * the ping counts as sent and will time out */
		c->send_errors++;
	}
}

/* -A: the next ping once the one in flight is decided (its reply arrived
 * in time, or its timeout passed), no earlier than min_gap after it. */
static void adaptive_next(struct ping_client *c)
{
	int64_t at;

	if (!c->cfg->adaptive || c->all_sent || c->t_send.armed_ns != 0 ||
	    pk_seqtrack_oldest_pending(&c->track) != pk_seqtrack_next_seq(&c->track))
		return;
	at = c->last_send_ns + c->cfg->min_gap_ns;
	(void)pk_tfd_at(&c->t_send, at);
}

static void on_send_adaptive(struct ping_client *c)
{
	expire_armed(c, pk_now_ns());
	send_one(c);
	if (c->cfg->count && pk_seqtrack_next_seq(&c->track) > c->cfg->count)
		c->all_sent = 1;
}

static void on_send(int fd, short what, void *arg)
{
	struct ping_client *c = arg;
	int64_t now = pk_now_ns();
	uint64_t first = pk_sched_index(&c->sched), due = 0;

	(void)fd;
	(void)what;
	if (c->cfg->adaptive) {
		on_send_adaptive(c);
		return;
	}
	/* every deadline that has passed gets its send: none is skipped (at
	 * most 1024 at a time); the timers are armed first, so that nothing
	 * is left to do after the last send but to sleep */
	while (due < 1024 && (!c->cfg->count || first + due < c->cfg->count) &&
	       pk_sched_deadline(&c->sched, first + due) <= now)
		due++;
	if (c->cfg->count && first + due >= c->cfg->count)
		c->all_sent = 1;
	else
		(void)pk_tfd_at(&c->t_send, pk_sched_deadline(&c->sched, first + due));
	expire_armed(c, now);
	for (uint64_t i = 0; i < due; i++) {
		send_one(c);
		pk_sched_take(&c->sched);
	}
}

/* 1 when the reply is exactly the upper-cased request we sent. */
static int echo_intact(struct ping_client *c, uint64_t seq, const void *buf, size_t len)
{
	const struct pk_seq_slot *s = pk_seqtrack_slot(&c->track, seq);
	int n;

	if (s == NULL)
		return 1;
	n = ping_req_format(c->txbuf, c->txcap, seq,
	                    c->sent_wall[pk_seqtrack_index(&c->track, seq)], c->cfg->size);
	ping_echo(c->txbuf, (size_t)n);
	return (size_t)n == len && memcmp(c->txbuf, buf, len) == 0;
}

static void handle_reply(struct ping_client *c, const unsigned char *buf,
                         const struct pk_rx *rx)
{
	uint64_t seq;
	int64_t rtt;
	int intact;
	struct ping_sample *smp;

	if (ping_parse_seq(buf, (size_t)rx->len, &seq) != 0) {
		ping_report_bad(c->cfg, &rx->from, buf, (size_t)rx->len);
		pk_seqtrack_unknown(&c->track);
		return;
	}
	intact = !rx->truncated && echo_intact(c, seq, buf, (size_t)rx->len);
	smp = sample_of(c, seq);
	switch (pk_seqtrack_reply(&c->track, seq, rx->rx_ns, &rtt)) {
	case PK_REPLY_OK:
		pk_rtt_add(c->rtt, rtt);
		if (!intact)
			c->altered++;
		if (rx->clock == PK_RXCLOCK_KERNEL)
			c->rx_kernel++;
		else
			c->rx_mono++;
		ping_report_reply(c->cfg, rx, seq, buf, rtt, !intact, 0);
		decided(c, seq, PK_SEQ_OK, rx, rtt);
		break;
	case PK_REPLY_LATE:
		/* its timeout already said lost: a further record, late */
		ping_report_reply(c->cfg, rx, seq, buf, rtt, !intact, 1);
		decided(c, seq, PK_SEQ_LATE, rx, rtt);
		break;
	case PK_REPLY_DUP:
		if (smp)
			smp->dups++;
		ping_report_reply(c->cfg, rx, seq, buf, rtt, !intact, 2);
		break;
	case PK_REPLY_UNKNOWN:
		ping_report_bad(c->cfg, &rx->from, buf, (size_t)rx->len);
		break;
	}
}

/* The kernel's drop count now, for drops after the last datagram read: no
 * datagram carries their count. */
static void read_drops(struct ping_client *c)
{
	uint64_t drops;

	if (c->fd >= 0 && pk_sock_drops(c->fd, &drops) == 0 && drops > c->rcvbuf_drops)
		c->rcvbuf_drops = drops;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct ping_client *c = arg;

	(void)what;
	/* one recvmmsg per RX_BATCH replies: no extra call to find the
	 * queue empty when it returns fewer */
	for (int round = 0; round < RX_ROUNDS; round++) {
		int n = pk_batch_recv(fd, c->rx);

		if (n == 0)
			break;
		if (n < 0) {
			/* ICMP port unreachable and the like, reported on a
			 * connected UDP socket: the ping will time out */
			c->icmp_errors++;
			continue;
		}
		for (unsigned i = 0; i < (unsigned)n; i++) {
			const struct pk_rx *rx = pk_batch_rx(c->rx, i);

			/* the kernel's count of our own buffer's drops, cumulative */
			if (rx->rxq_drops > (int64_t)c->rcvbuf_drops)
				c->rcvbuf_drops = (uint64_t)rx->rxq_drops;
			handle_reply(c, pk_batch_buf(c->rx, i), rx);
		}
		if (n < RX_BATCH)
			break;
	}
	expire_due(c, pk_now_ns());
	adaptive_next(c);
}

static void on_expire(int fd, short what, void *arg)
{
	struct ping_client *c = arg;

	(void)fd;
	(void)what;
	expire_due(c, pk_now_ns());
	adaptive_next(c);
}

/* SIGQUIT: the figures so far on stderr; the run goes on. */
static void on_quit(void *arg)
{
	struct ping_client *c = arg;
	struct pk_ping_totals t;
	struct pk_rtt_ms r;
	int64_t now = pk_now_ns();

	pk_ping_totals_of(&t, &c->track, (c->start_ns ? now - c->start_ns : 0));
	pk_rtt_ms(c->rtt, &r);
	ping_report_interim(c->cfg, &t, &r);
}

static int client_events(struct ping_client *c)
{
	c->ev_read = event_new(c->base, c->fd, EV_READ | EV_PERSIST, on_readable, c);
	if (pk_tfd_new(c->base, &c->t_send, on_send, c) < 0 ||
	    pk_tfd_new(c->base, &c->t_expire, on_expire, c) < 0 || !c->ev_read ||
	    event_add(c->ev_read, NULL))
		return -1;
	if (pk_quit_on_signal(c->base, &c->quit, on_quit, c) < 0)
		return -1;
	return pk_stop_on_signals(c->base, &c->stop, NULL, NULL);
}

static void client_result(struct ping_client *c)
{
	struct ping_result r;

	memset(&r, 0, sizeof r);
	r.cfg = c->cfg;
	r.peer = c->peer;
	r.start_wall_ns = c->start_wall;
	pk_ping_totals_of(&r.totals, &c->track,
	                  (c->last_send_ns ? c->last_send_ns : c->start_ns) - c->start_ns);
	/* replies our own buffer dropped are not the path's loss: as many
	 * pings without a reply are left out of the figures (which ones is
	 * not known: the samples still show them lost) */
	read_drops(c);
	r.sent = r.totals.transmitted;
	r.rcvbuf_drops = c->rcvbuf_drops;
	r.rcvbuf_bytes = c->rcvbuf_bytes;
	{
		uint64_t lost = r.totals.transmitted - r.totals.received - r.totals.late;

		r.unmeasured = r.rcvbuf_drops < lost ? r.rcvbuf_drops : lost;
		r.totals.transmitted -= r.unmeasured;
		if (r.totals.longest_loss_run > r.totals.transmitted - r.totals.received)
			r.totals.longest_loss_run = r.totals.transmitted - r.totals.received;
	}
	pk_rtt_ms(c->rtt, &r.rtt);
	r.rx_kernel = c->rx_kernel;
	r.rx_monotonic = c->rx_mono;
	r.altered = c->altered;
	r.unknown = c->track.unknown;
	r.icmp_errors = c->icmp_errors;
	r.send_errors = c->send_errors;
	r.samples = &c->samples;
	ping_report_result(&r);
}

/* Interrupted runs: pings still waiting count as lost, as ping counts them. */
static void decide_rest(struct ping_client *c)
{
	c->draining = 1;
	expire_due(c, INT64_MAX);
}

static void client_free(struct ping_client *c)
{
	pk_quit_free(&c->quit);
	pk_tfd_free(&c->t_send);
	pk_tfd_free(&c->t_expire);
	PK_LOOP_FREE(c->base, &c->stop, c->ev_read);
	pk_batch_free(c->rx);
	free(c->txbuf);
	if (c->fd >= 0)
		close(c->fd);
	pk_seqtrack_free(&c->track);
	free(c->sent_wall);
	pk_samples_free(&c->samples);
	free(c->rtt);
	free(c);
}

int ping_client_run(const struct ping_client_cfg *cfg)
{
	struct ping_client *c = calloc(1, sizeof *c);
	/* pings remembered: those in flight, twice over so that a late reply is
	 * still told from a stranger's; at least 1024, at most 2^20 */
	size_t window = pk_seqtrack_window(cfg->interval_ns, cfg->timeout_ns, 2, 1024, 1 << 20);
	int ret = 2;

	if (c == NULL)
		return 2;
	/* -c N sends seqs 1..N: N slots hold every one (fewer pages to zero) */
	if (cfg->count > 0 && window > cfg->count)
		window = (size_t)cfg->count;
	c->cfg = cfg;
	c->fd = -1;
	c->t_send = c->t_expire = (struct pk_tfd)PK_TFD_INIT;
	c->rtt = malloc(sizeof *c->rtt);
	c->rx = pk_batch_new(RX_BATCH, PING_MAX_PAYLOAD + 1);
	c->txcap = cfg->size > TXBUF_MIN ? cfg->size : TXBUF_MIN;
	c->txbuf = malloc(c->txcap);
	c->sent_wall = calloc(window, sizeof *c->sent_wall);
	pk_samples_init(&c->samples, sizeof(struct ping_sample), PING_MAX_SAMPLES);
	if (c->rtt == NULL || c->sent_wall == NULL || c->rx == NULL || c->txbuf == NULL ||
	    pk_seqtrack_init(&c->track, window, 1, cfg->timeout_ns) < 0) {
		ping_report_error("out of memory");
		goto out;
	}
	pk_rtt_init(c->rtt);
	c->fd = ping_client_socket(cfg, &c->peer, &c->rcvbuf_bytes);
	if (c->fd < 0)
		goto out;
	c->base = pk_base_new_untimed();
	if (c->base == NULL || client_events(c) < 0) {
		ping_report_error("event loop set-up failed");
		goto out;
	}
	c->start_wall = pk_wall_ns();
	ping_report_client_start(cfg, &c->peer, c->start_wall);
	c->start_ns = pk_now_ns();
	pk_sched_init(&c->sched, c->start_ns, cfg->interval_ns);
	/* the first send now, not from a first turn of the loop (an
	 * epoll_wait with no wait) */
	on_send(-1, EV_READ, c);
	event_base_dispatch(c->base);
	decide_rest(c);
	client_result(c);
	ret = c->track.ok > 0 ? 0 : 1;
out:
	client_free(c);
	return ret;
}
