#include "hb_table.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "pk_clock.h"

_Static_assert(sizeof(struct hb_peer) < 256, "client record must stay small");

#define IDX(t, p) ((uint32_t)((p) - (t)->peers) + 1)
#define REC(t, i) (&(t)->peers[(i) - 1])

int hb_table_init(struct hb_table *t, uint32_t cap)
{
	uint32_t nb = 1;

	memset(t, 0, sizeof *t);
	if (cap == 0 || cap > (1u << 24))
		return -EINVAL;
	while (nb < 2 * cap)
		nb <<= 1;
	t->peers = calloc(cap, sizeof *t->peers);
	t->buckets = calloc(nb, sizeof *t->buckets);
	if (t->peers == NULL || t->buckets == NULL) {
		hb_table_free(t);
		return -ENOMEM;
	}
	t->cap = cap;
	t->nbuckets = nb;
	for (uint32_t i = 0; i < cap; i++)
		t->peers[i].next = i + 2 <= cap ? i + 2 : 0;
	t->free_head = 1;
	return 0;
}

void hb_table_free(struct hb_table *t)
{
	free(t->peers);
	free(t->buckets);
	t->peers = NULL;
	t->buckets = NULL;
}

size_t hb_table_bytes_per_client(const struct hb_table *t)
{
	return sizeof(struct hb_peer) +
	       (t->cap ? (size_t)t->nbuckets * sizeof(uint32_t) / t->cap : 0);
}

static void key_of(const struct pk_addr *a, uint8_t ip[16], uint16_t *port,
                   uint8_t *family)
{
	memset(ip, 0, 16);
	*family = (uint8_t)a->ss.ss_family;
	*port = pk_addr_port(a);
	if (a->ss.ss_family == AF_INET)
		memcpy(ip, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
	else if (a->ss.ss_family == AF_INET6)
		memcpy(ip, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
}

void hb_peer_addr(const struct hb_peer *p, struct pk_addr *out)
{
	memset(out, 0, sizeof *out);
	out->ss.ss_family = p->family;
	if (p->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&out->ss;
		memcpy(&s->sin_addr, p->ip, 4);
		out->len = sizeof *s;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->ss;
		memcpy(&s->sin6_addr, p->ip, 16);
		out->len = sizeof *s;
	}
	pk_addr_set_port(out, p->port);
}

struct hb_peer *hb_table_find(struct hb_table *t, const struct pk_addr *addr)
{
	uint64_t h = pk_addr_hash(addr);
	uint8_t ip[16], fam;
	uint16_t port;
	uint32_t i;

	key_of(addr, ip, &port, &fam);
	for (i = t->buckets[h & (t->nbuckets - 1)]; i != 0; i = REC(t, i)->hnext) {
		struct hb_peer *p = REC(t, i);
		if (p->hash == h && p->port == port && p->family == fam &&
		    memcmp(p->ip, ip, 16) == 0)
			return p;
	}
	return NULL;
}

static void list_unlink(struct hb_table *t, struct hb_list *l, struct hb_peer *p)
{
	if (p->prev)
		REC(t, p->prev)->next = p->next;
	else
		l->head = p->next;
	if (p->next)
		REC(t, p->next)->prev = p->prev;
	else
		l->tail = p->prev;
	p->prev = p->next = 0;
	l->len--;
}

static void list_append(struct hb_table *t, struct hb_list *l, struct hb_peer *p)
{
	uint32_t i = IDX(t, p);

	p->prev = l->tail;
	p->next = 0;
	if (l->tail)
		REC(t, l->tail)->next = i;
	else
		l->head = i;
	l->tail = i;
	l->len++;
}

static struct hb_list *list_of(struct hb_table *t, const struct hb_peer *p)
{
	return p->state == HB_PEER_STOPPED ? &t->stopped : &t->active;
}

static void unhash(struct hb_table *t, struct hb_peer *p)
{
	uint32_t *link = &t->buckets[p->hash & (t->nbuckets - 1)];
	uint32_t i = IDX(t, p);

	while (*link != 0 && *link != i)
		link = &REC(t, *link)->hnext;
	if (*link == i)
		*link = p->hnext;
	p->hnext = 0;
}

/* Frees the oldest silent record and returns it, unlinked. */
static struct hb_peer *evict(struct hb_table *t)
{
	struct hb_list *l = t->stopped.head ? &t->stopped : &t->active;
	struct hb_peer *p = REC(t, l->head);

	list_unlink(t, l, p);
	unhash(t, p);
	t->used--;
	t->evicted++;
	return p;
}

struct hb_peer *hb_table_add(struct hb_table *t, const struct pk_addr *addr,
                             int64_t now_ns, int *evicted)
{
	struct hb_peer *p;
	uint32_t b;

	*evicted = 0;
	if (t->free_head) {
		p = REC(t, t->free_head);
		t->free_head = p->next;
	} else {
		p = evict(t);
		*evicted = 1;
	}
	memset(p, 0, sizeof *p);
	key_of(addr, p->ip, &p->port, &p->family);
	p->hash = pk_addr_hash(addr);
	pk_rxseq_init(&p->rx);
	p->state = HB_PEER_ACTIVE;
	p->first_ns = p->last_ns = now_ns;
	b = (uint32_t)(p->hash & (t->nbuckets - 1));
	p->hnext = t->buckets[b];
	t->buckets[b] = IDX(t, p);
	list_append(t, &t->active, p);
	t->used++;
	return p;
}

void hb_table_touch(struct hb_table *t, struct hb_peer *p, int64_t now_ns)
{
	list_unlink(t, list_of(t, p), p);
	p->state = HB_PEER_ACTIVE;
	p->last_ns = now_ns;
	list_append(t, &t->active, p);
}

void hb_table_stop(struct hb_table *t, struct hb_peer *p)
{
	list_unlink(t, list_of(t, p), p);
	p->state = HB_PEER_STOPPED;
	p->stops++;
	list_append(t, &t->stopped, p);
}

struct hb_peer *hb_table_oldest_active(struct hb_table *t)
{
	return t->active.head ? REC(t, t->active.head) : NULL;
}

const struct hb_peer *hb_table_first(const struct hb_table *t, const struct hb_list *l)
{
	return l->head ? REC(t, l->head) : NULL;
}

const struct hb_peer *hb_table_next(const struct hb_table *t, const struct hb_peer *p)
{
	return p->next ? REC(t, p->next) : NULL;
}

const struct hb_peer *hb_table_last(const struct hb_table *t, const struct hb_list *l)
{
	return l->tail ? REC(t, l->tail) : NULL;
}

const struct hb_peer *hb_table_prev(const struct hb_table *t, const struct hb_peer *p)
{
	return p->prev ? REC(t, p->prev) : NULL;
}

static void update_diff(struct hb_peer *p, int64_t diff)
{
	p->diff_last_ns = diff;
	if (p->diff_n == 0 || diff < p->diff_min_ns)
		p->diff_min_ns = diff;
	if (p->diff_n == 0 || diff > p->diff_max_ns)
		p->diff_max_ns = diff;
	p->diff_n++;
	p->diff_mean_ns += ((double)diff - p->diff_mean_ns) / (double)p->diff_n;
}

/* seq far above the run: the first time remembered and dropped; within
 * HB_SEQ_JUMP_MAX after the remembered one, a new run from seq. */
static int far_jump(struct hb_peer *p, uint64_t seq, enum pk_rxseq_event *ev)
{
	uint32_t restarts;

	if (!p->rx.started || seq <= p->rx.highest || seq - p->rx.highest <= HB_SEQ_JUMP_MAX)
		return 0;
	if (!p->jump_pending || seq <= p->jump_seq || seq - p->jump_seq > HB_SEQ_JUMP_MAX) {
		p->jump_seq = seq;
		p->jump_pending = 1;
		return 1;
	}
	/* confirmed: a restart, as pk_rxseq's own (only restarts are kept) */
	restarts = p->rx.restarts + 1;
	pk_rxseq_init(&p->rx);
	(void)pk_rxseq_add(&p->rx, seq, 0);
	p->rx.restarts = restarts;
	*ev = PK_RXSEQ_RESTART;
	return -1;
}

void hb_table_beat(struct hb_table *t, const struct pk_addr *addr, uint64_t seq,
                   int64_t diff_ns, int64_t now_ns, struct hb_beat_result *r)
{
	struct hb_peer *p = hb_table_find(t, addr);
	enum pk_rxseq_event ev;
	int was_stopped, jump;

	memset(r, 0, sizeof *r);
	if (p == NULL)
		p = hb_table_add(t, addr, now_ns, &r->evicted);
	r->p = p;
	r->prev_seq = p->last_seq;
	jump = far_jump(p, seq, &ev);
	if (jump > 0) {
		r->ev = HB_BEAT_JUMP;
		return;
	}
	p->jump_pending = 0;
	was_stopped = p->state == HB_PEER_STOPPED;
	hb_table_touch(t, p, now_ns);
	if (jump == 0)
		ev = pk_rxseq_add(&p->rx, seq, 0);
	p->beats++;
	p->last_seq = seq;
	if (ev == PK_RXSEQ_RESTART)
		p->diff_n = 0;
	if (ev != PK_RXSEQ_DUP)
		update_diff(p, diff_ns);
	if (ev == PK_RXSEQ_FIRST)
		r->ev = HB_BEAT_SEEN;
	else if (ev == PK_RXSEQ_RESTART)
		r->ev = HB_BEAT_RESTARTED;
	else if (was_stopped)
		r->ev = HB_BEAT_RESUMED;
	else
		r->ev = ev == PK_RXSEQ_DUP ? HB_BEAT_DUP : HB_BEAT_NEXT;
}

void hb_peer_figures(const struct hb_peer *p, int64_t now_ns, struct hb_peer_figures *out)
{
	uint64_t exp = pk_rxseq_expected(&p->rx);

	memset(out, 0, sizeof *out);
	hb_peer_addr(p, &out->addr);
	out->state = (enum hb_peer_state)p->state;
	out->received = p->rx.received;
	out->lost = pk_rxseq_lost(&p->rx);
	out->last_seq = p->last_seq;
	out->loss_valid = exp > 0;
	out->loss_percent = exp ? 100.0 * (double)out->lost / (double)exp : 0.0;
	out->dups = p->rx.dups;
	out->reordered = p->rx.reordered;
	out->restarts = p->rx.restarts;
	out->diff_valid = p->diff_n > 0;
	out->diff_min_ms = (double)p->diff_min_ns / 1e6;
	out->diff_avg_ms = p->diff_mean_ns / 1e6;
	out->diff_max_ms = (double)p->diff_max_ns / 1e6;
	out->diff_last_ms = (double)p->diff_last_ns / 1e6;
	out->silent_s = pk_ns_to_s(now_ns - p->last_ns);
}
