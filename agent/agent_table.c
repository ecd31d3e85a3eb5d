#include "agent_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"
#include "pk_clock.h"

int agent_table_init(struct agent_table *t, size_t max_peers, size_t window,
                     int64_t timeout_ns, uint64_t first_probe)
{
	memset(t, 0, sizeof *t);
	if (max_peers == 0 || window == 0)
		return -EINVAL;
	t->peers = calloc(max_peers, sizeof *t->peers);
	if (t->peers == NULL)
		return -ENOMEM;
	t->cap = max_peers;
	t->window = window;
	t->timeout_ns = timeout_ns;
	if (pk_seqtrack_init(&t->all, window, first_probe, timeout_ns) != 0) {
		free(t->peers);
		t->peers = NULL;
		return -ENOMEM;
	}
	pk_summary_init(&t->lat);
	t->sent_base = 0;
	return 0;
}

static void peer_free(struct agent_peer *p)
{
	pk_seqtrack_free(&p->seq);
	agent_lat_free(&p->lat);
	agent_lat_free(&p->owd);
	free(p);
}

void agent_table_free(struct agent_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		peer_free(t->peers[i]);
	free(t->peers);
	t->peers = NULL;
	t->n = 0;
	pk_seqtrack_free(&t->all);
}

static void host_only(struct pk_addr *dst, const struct pk_addr *src)
{
	*dst = *src;
	pk_addr_set_port(dst, 0);
}

struct agent_peer *agent_table_find(const struct agent_table *t, const struct pk_addr *from)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (pk_addr_same_host(&t->peers[i]->addr, from))
			return t->peers[i];
	return NULL;
}

/* A new peer expected to answer probes from `first` on; the probes already
 * sent from `first` on (still remembered by t->all) are replayed into its
 * track with their real send times. NULL when full or out of memory. */
static struct agent_peer *peer_add(struct agent_table *t, const struct pk_addr *from,
                                   uint64_t first, int64_t now_ns)
{
	struct agent_peer *p;
	uint64_t s;

	if (t->n == t->cap) {
		t->untracked++;
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (p == NULL || pk_seqtrack_init(&p->seq, t->window, first, t->timeout_ns) != 0) {
		free(p);
		t->untracked++;
		return NULL;
	}
	host_only(&p->addr, from);
	p->first_seen_ns = p->last_seen_ns = now_ns;
	agent_lat_init(&p->lat);
	agent_lat_init(&p->owd);
	pk_rxseq_init(&p->in_seq);
	for (s = first; s < pk_seqtrack_next_seq(&t->all); s++) {
		const struct pk_seq_slot *slot = pk_seqtrack_slot(&t->all, s);
		pk_seqtrack_send(&p->seq, slot != NULL ? slot->sent_ns : now_ns);
		p->total.expected++;
	}
	t->peers[t->n++] = p;
	t->found++;
	return p;
}

uint64_t agent_table_send(struct agent_table *t, int64_t now_ns)
{
	uint64_t num = pk_seqtrack_send(&t->all, now_ns);
	size_t i;

	for (i = 0; i < t->n; i++) {
		pk_seqtrack_send(&t->peers[i]->seq, now_ns);
		t->peers[i]->total.expected++;
	}
	return num;
}

struct agent_peer *agent_table_heard(struct agent_table *t, const struct pk_addr *from,
                                     int64_t now_ns)
{
	struct agent_peer *p = agent_table_find(t, from);

	if (p == NULL)
		p = peer_add(t, from, agent_table_next_probe(t), now_ns);
	if (p == NULL)
		return NULL;
	p->last_seen_ns = now_ns;
	p->total.heard++;
	return p;
}

const int64_t agent_hist_le_ns[AGENT_HIST_BUCKETS] = {
	100 * PK_NS_PER_US, 250 * PK_NS_PER_US, 500 * PK_NS_PER_US,
	1 * PK_NS_PER_MS, 2500 * PK_NS_PER_US, 5 * PK_NS_PER_MS,
	10 * PK_NS_PER_MS, 25 * PK_NS_PER_MS, 50 * PK_NS_PER_MS,
	100 * PK_NS_PER_MS, 250 * PK_NS_PER_MS, 500 * PK_NS_PER_MS, 1 * PK_NS_PER_S,
};

void agent_hist_add(struct agent_hist *h, int64_t ns)
{
	size_t b = 0;

	while (b < AGENT_HIST_BUCKETS && ns > agent_hist_le_ns[b])
		b++;
	h->n[b]++;
	h->count++;
	h->sum_ns += ns;
}

void agent_hist_sub(struct agent_hist *h, const struct agent_hist *d)
{
	for (size_t b = 0; b <= AGENT_HIST_BUCKETS; b++)
		h->n[b] -= d->n[b];
	h->count -= d->count;
	h->sum_ns -= d->sum_ns;
}

/* An in-time reply: its round trip rtt; the latency is rtt / 2. */
static void add_latency(struct agent_table *t, struct agent_peer *p, int64_t rtt, int64_t rx_ns)
{
	pk_summary_add(&t->lat, (double)(rtt / 2));
	t->replies++;
	if (p == NULL)
		return;
	(void)agent_lat_add(&p->lat, rtt / 2);
	agent_hist_add(&p->rtt, rtt);
	p->last_answer_ns = rx_ns;
	p->total.answered++;
}

void agent_table_unknown(struct agent_table *t)
{
	t->unknown++;
}

uint64_t agent_table_next_probe(const struct agent_table *t)
{
	return pk_seqtrack_next_seq(&t->all);
}

enum agent_reply agent_table_reply(struct agent_table *t, const struct pk_addr *from,
                                   uint64_t num, int64_t rx_ns, int64_t *lat_ns)
{
	struct agent_peer *p;
	enum pk_seq_reply r;
	int64_t rtt;

	*lat_ns = -1;
	r = pk_seqtrack_reply(&t->all, num, rx_ns, &rtt);
	if (r == PK_REPLY_UNKNOWN) {
		agent_table_unknown(t);
		return AGENT_REPLY_UNKNOWN;
	}
	p = agent_table_find(t, from);
	if (p == NULL)
		p = peer_add(t, from, num, rx_ns);
	if (p == NULL) {                      /* untracked: headline figures only */
		if (rtt <= t->timeout_ns) {
			*lat_ns = rtt / 2;
			add_latency(t, NULL, rtt, rx_ns);
		}
		return AGENT_REPLY_UNTRACKED;
	}
	p->last_seen_ns = rx_ns;
	switch (pk_seqtrack_reply(&p->seq, num, rx_ns, &rtt)) {
	case PK_REPLY_OK:
		*lat_ns = rtt / 2;
		add_latency(t, p, rtt, rx_ns);
		return AGENT_REPLY_OK;
	case PK_REPLY_LATE:
		p->total.late++;
		return AGENT_REPLY_LATE;
	case PK_REPLY_DUP:
		p->total.dups++;
		return AGENT_REPLY_DUP;
	default:
		agent_table_unknown(t);
		return AGENT_REPLY_UNKNOWN;
	}
}

int agent_table_restamp(struct agent_table *t, uint64_t seq, int64_t sent_ns)
{
	size_t i;

	if (pk_seqtrack_restamp(&t->all, seq, sent_ns) != 0)
		return -ENOENT;
	for (i = 0; i < t->n; i++)
		(void)pk_seqtrack_restamp(&t->peers[i]->seq, seq, sent_ns);
	return 0;
}

int agent_table_oneway(struct agent_table *t, struct agent_peer *p, uint64_t seq_mod,
                       int64_t owd_ns)
{
	uint64_t ref = p->in_seq.started ? p->in_seq.highest : (seq_mod == 0 ? 1 : seq_mod);

	(void)pk_rxseq_add(&p->in_seq, agent_stamp_unwrap(seq_mod, ref), 1);
	p->total.in_lost = pk_rxseq_lost(&p->in_seq);
	if (owd_ns < 0 || owd_ns > t->timeout_ns) {
		p->total.owd_bad++;
		t->owd_bad++;
		return -ERANGE;
	}
	(void)agent_lat_add(&p->owd, owd_ns);
	agent_hist_add(&p->owd_hist, owd_ns);
	agent_hist_add(&p->owd_iv, owd_ns);
	return 0;
}

/* The longest round trip to p in this and the last interval (ns), or 0. */
static double longest_rtt(const struct agent_peer *p)
{
	double ns = p->lat.sum.n > 0 ? 2 * p->lat.sum.max : 0;

	if (p->have_last && p->last.have_latency && 2 * p->last.max_ms * 1e6 > ns)
		ns = 2 * p->last.max_ms * 1e6;
	return ns;
}

size_t agent_table_judge_oneway(struct agent_table *t)
{
	size_t i, withheld = 0;

	for (i = 0; i < t->n; i++) {
		struct agent_peer *p = t->peers[i];
		double rtt = longest_rtt(p);
		uint64_t n = p->owd.sum.n;
		if (n == 0 || rtt <= 0 || p->owd.sum.min <= rtt)
			continue;
		p->total.owd_bad += n;
		t->owd_bad += n;
		agent_hist_sub(&p->owd_hist, &p->owd_iv);
		memset(&p->owd_iv, 0, sizeof p->owd_iv);
		agent_lat_reset(&p->owd);
		withheld++;
	}
	return withheld;
}

void agent_table_expire(struct agent_table *t, int64_t now_ns)
{
	const struct pk_seq_slot *s;
	size_t i;

	while ((s = pk_seqtrack_expire(&t->all, now_ns)) != NULL)
		if (s->status != PK_SEQ_OK)
			t->lost++;
	for (i = 0; i < t->n; i++) {
		struct agent_peer *p = t->peers[i];
		while ((s = pk_seqtrack_expire(&p->seq, now_ns)) != NULL)
			if (s->status != PK_SEQ_OK)
				p->total.lost++;
	}
}

int64_t agent_table_next_deadline(const struct agent_table *t)
{
	int64_t d = pk_seqtrack_next_deadline(&t->all);
	size_t i;

	for (i = 0; i < t->n; i++) {
		int64_t pd = pk_seqtrack_next_deadline(&t->peers[i]->seq);
		if (pd < d)
			d = pd;
	}
	return d;
}

size_t agent_table_reap(struct agent_table *t, int64_t now_ns, int64_t peer_timeout_ns)
{
	size_t i = 0, gone = 0;

	while (i < t->n) {
		struct agent_peer *p = t->peers[i];
		if (now_ns - p->last_seen_ns > peer_timeout_ns) {
			peer_free(p);
			t->peers[i] = t->peers[--t->n];
			t->peers[t->n] = NULL;
			gone++;
		} else {
			i++;
		}
	}
	t->expired += gone;
	return gone;
}

void agent_table_interval(const struct agent_table *t, struct agent_interval *out)
{
	memset(out, 0, sizeof *out);
	out->sent = t->all.sent - t->sent_base;
	out->lost = t->lost - t->lost_base;
	out->replies = t->lat.n;
	out->have_latency = t->lat.n > 0;
	if (out->have_latency)
		out->avg_latency_ms = pk_ns_to_ms((int64_t)t->lat.mean);
}

static void counts_sub(struct agent_counts *d, const struct agent_counts *a,
                       const struct agent_counts *b)
{
	d->expected = a->expected - b->expected;
	d->answered = a->answered - b->answered;
	d->lost = a->lost - b->lost;
	d->late = a->late - b->late;
	d->dups = a->dups - b->dups;
	d->heard = a->heard - b->heard;
	d->in_lost = a->in_lost > b->in_lost ? a->in_lost - b->in_lost : 0;
	d->owd_bad = a->owd_bad - b->owd_bad;
}

void agent_peer_stats(const struct agent_peer *p, int64_t now_ns, struct agent_peer_stats *out)
{
	struct pk_rtt_ms ms;

	memset(out, 0, sizeof *out);
	counts_sub(&out->c, &p->total, &p->base);
	agent_lat_ms(&p->lat, &ms);
	out->have_latency = ms.n > 0;
	if (out->have_latency) {
		out->min_ms = ms.min;
		out->avg_ms = ms.avg;
		out->max_ms = ms.max;
		out->p50_ms = ms.p50;
		out->p99_ms = ms.p99;
		out->jitter_ms = ms.jitter;
		out->mdev_ms = ms.mdev;
	}
	agent_lat_ms(&p->owd, &out->ow);
	out->have_oneway = out->ow.n > 0;
	out->last_seen_ago_s = now_ns > p->last_seen_ns ? pk_ns_to_s(now_ns - p->last_seen_ns) : 0;
}

void agent_table_roll(struct agent_table *t, int64_t now_ns)
{
	size_t i;

	agent_table_interval(t, &t->last);
	t->have_last = 1;
	t->sent_base = t->all.sent;
	t->lost_base = t->lost;
	pk_summary_init(&t->lat);
	for (i = 0; i < t->n; i++) {
		struct agent_peer *p = t->peers[i];
		agent_peer_stats(p, now_ns, &p->last);
		p->have_last = 1;
		p->base = p->total;
		agent_lat_reset(&p->lat);
		agent_lat_reset(&p->owd);
		memset(&p->owd_iv, 0, sizeof p->owd_iv);
	}
}
