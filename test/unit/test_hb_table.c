/* hb_table: the server's bounded client table: lookup, silence order,
 * stop / resume, eviction of the oldest silent record. */
#include "cm.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "hb_table.h"

static struct pk_addr v6(uint16_t port)
{
	struct pk_addr a;
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a.ss;
	memset(&a, 0, sizeof a);
	s->sin6_family = AF_INET6;
	s->sin6_addr.s6_addr[15] = 1;
	s->sin6_port = htons(port);
	a.len = sizeof *s;
	return a;
}

static void small_record(void **st)
{
	struct hb_table t;
	(void)st;
	assert_true(sizeof(struct hb_peer) < 256);
	assert_int_equal(hb_table_init(&t, 1000), 0);
	assert_true(hb_table_bytes_per_client(&t) < 256);
	hb_table_free(&t);
	assert_int_equal(hb_table_init(&t, 0), -EINVAL);
}

static void find_add_touch(void **st)
{
	struct hb_table t;
	struct pk_addr a = cm_v4(0x7f000001, 1000), b = cm_v4(0x7f000001, 1001), c = v6(1000);
	struct pk_addr back;
	struct hb_peer *pa, *pb, *pc;
	int ev;
	(void)st;
	assert_int_equal(hb_table_init(&t, 8), 0);
	assert_null(hb_table_find(&t, &a));
	pa = hb_table_add(&t, &a, 10, &ev);
	assert_int_equal(ev, 0);
	pb = hb_table_add(&t, &b, 20, &ev);
	pc = hb_table_add(&t, &c, 30, &ev);
	assert_ptr_equal(hb_table_find(&t, &a), pa);
	assert_ptr_equal(hb_table_find(&t, &b), pb);     /* same host, other port */
	assert_ptr_equal(hb_table_find(&t, &c), pc);
	hb_peer_addr(pc, &back);
	assert_true(pk_addr_equal(&back, &c));
	/* silence order: a is the oldest until it is heard again */
	assert_ptr_equal(hb_table_oldest_active(&t), pa);
	hb_table_touch(&t, pa, 40);
	assert_ptr_equal(hb_table_oldest_active(&t), pb);
	hb_table_stop(&t, pb);
	assert_int_equal(pb->state, HB_PEER_STOPPED);
	assert_int_equal(t.active.len, 2);
	assert_int_equal(t.stopped.len, 1);
	assert_ptr_equal(hb_table_oldest_active(&t), pc);
	hb_table_touch(&t, pb, 50);                      /* resumed */
	assert_int_equal(pb->state, HB_PEER_ACTIVE);
	assert_int_equal(t.stopped.len, 0);
	assert_int_equal(pb->stops, 1);
	hb_table_free(&t);
}

static void eviction(void **st)
{
	struct hb_table t;
	const struct hb_peer *p;
	struct pk_addr a;
	int ev, n = 0;
	(void)st;
	assert_int_equal(hb_table_init(&t, 4), 0);
	for (uint16_t i = 0; i < 4; i++) {
		a = cm_v4(0x0a000001, (uint16_t)(100 + i));
		hb_table_add(&t, &a, i, &ev);
		assert_int_equal(ev, 0);
	}
	/* stop client 102: it is evicted before the older active 100 */
	a = cm_v4(0x0a000001, 102);
	hb_table_stop(&t, hb_table_find(&t, &a));
	a = cm_v4(0x0a000001, 200);
	hb_table_add(&t, &a, 10, &ev);
	assert_int_equal(ev, 1);
	assert_int_equal(t.evicted, 1);
	a = cm_v4(0x0a000001, 102);
	assert_null(hb_table_find(&t, &a));
	/* then the least recently heard active one (100) */
	a = cm_v4(0x0a000001, 201);
	hb_table_add(&t, &a, 11, &ev);
	a = cm_v4(0x0a000001, 100);
	assert_null(hb_table_find(&t, &a));
	a = cm_v4(0x0a000001, 101);
	assert_non_null(hb_table_find(&t, &a));
	assert_int_equal(t.used, 4);
	for (p = hb_table_first(&t, &t.active); p; p = hb_table_next(&t, p))
		n++;
	assert_int_equal(n, 4);
	/* many more: never more than cap, lookups stay right */
	for (uint32_t i = 0; i < 10000; i++) {
		a = cm_v4(0x0b000000 + i, 7);
		p = hb_table_add(&t, &a, 100 + i, &ev);
		assert_ptr_equal(hb_table_find(&t, &a), p);
	}
	assert_int_equal(t.used, 4);
	assert_int_equal(t.evicted, 2 + 10000);
	hb_table_free(&t);
}

/* The figures the server reports of a client: loss against what was
 * expected (none before the first heartbeat), time_diff in ms, silence. */
static void peer_figures(void **st)
{
	struct hb_table t;
	struct pk_addr a = cm_v4(0x7f000001, 1000);
	struct hb_peer_figures f;
	struct hb_peer *p;
	int ev;
	(void)st;
	assert_int_equal(hb_table_init(&t, 4), 0);
	p = hb_table_add(&t, &a, 1000, &ev);
	hb_peer_figures(p, 1000, &f);
	assert_false(f.loss_valid);
	assert_false(f.diff_valid);
	assert_true(f.loss_percent == 0.0);
	assert_true(pk_addr_equal(&f.addr, &a));
	assert_int_equal(f.state, HB_PEER_ACTIVE);
	/* 0, 1, 3: one of four lost */
	for (uint64_t q = 0; q < 4; q++)
		if (q != 2)
			pk_rxseq_add(&p->rx, q, 0);
	p->last_seq = 3;
	p->diff_n = 2;
	p->diff_min_ns = 1000000;
	p->diff_mean_ns = 1500000.0;
	p->diff_max_ns = 2000000;
	hb_peer_figures(p, 1000 + 2500000000LL, &f);
	assert_true(f.loss_valid);
	assert_int_equal(f.received, 3);
	assert_int_equal(f.lost, 1);
	assert_true(f.loss_percent == 25.0);
	assert_int_equal(f.last_seq, 3);
	assert_true(f.diff_valid);
	assert_true(f.diff_min_ms == 1.0 && f.diff_avg_ms == 1.5 && f.diff_max_ms == 2.0);
	assert_true(f.silent_s == 2.5);
	hb_table_free(&t);
}

/* hb_table_beat: events, and a far jump dropped, never 9.2e18 lost. */
static void beat_events_and_jumps(void **st)
{
	struct hb_table t;
	struct pk_addr a = cm_v4(0x7f000001, 40000);
	struct hb_beat_result r;
	struct hb_peer_figures f;
	(void)st;
	assert_int_equal(hb_table_init(&t, 4), 0);
	hb_table_beat(&t, &a, 0, 1000, 1, &r);
	assert_int_equal(r.ev, HB_BEAT_SEEN);
	for (uint64_t q = 1; q <= 5; q++) {
		hb_table_beat(&t, &a, q, 1000, 1 + (int64_t)q, &r);
		assert_int_equal(r.ev, HB_BEAT_NEXT);
	}
	hb_table_beat(&t, &a, 5, 1000, 7, &r);
	assert_int_equal(r.ev, HB_BEAT_DUP);
	/* 2^63-1 after 5: dropped, nothing recorded */
	hb_table_beat(&t, &a, INT64_MAX, 5000, 8, &r);
	assert_int_equal(r.ev, HB_BEAT_JUMP);
	hb_table_beat(&t, &a, 6, 1000, 9, &r);
	assert_int_equal(r.ev, HB_BEAT_NEXT);
	hb_peer_figures(r.p, 9, &f);
	assert_int_equal(f.received, 7);
	assert_int_equal(f.lost, 0);
	assert_int_equal(f.last_seq, 6);
	assert_int_equal(f.dups, 1);
	assert_true(f.diff_max_ms < 0.01);
	/* a jump within the window is a gap of lost heartbeats */
	hb_table_beat(&t, &a, 6 + HB_SEQ_JUMP_MAX, 1000, 10, &r);
	assert_int_equal(r.ev, HB_BEAT_NEXT);
	hb_peer_figures(r.p, 10, &f);
	assert_true(f.lost == HB_SEQ_JUMP_MAX - 1);
	/* two far jumps in a row: a new run from the second */
	hb_table_beat(&t, &a, UINT64_C(1) << 40, 1000, 11, &r);
	assert_int_equal(r.ev, HB_BEAT_JUMP);
	hb_table_beat(&t, &a, (UINT64_C(1) << 40) + 1, 1000, 12, &r);
	assert_int_equal(r.ev, HB_BEAT_RESTARTED);
	assert_true(r.prev_seq == 6 + HB_SEQ_JUMP_MAX);
	hb_peer_figures(r.p, 12, &f);
	assert_int_equal(f.received, 1);
	assert_int_equal(f.lost, 0);
	assert_int_equal(f.restarts, 1);
	/* and back to 0: pk_rxseq's restart */
	hb_table_beat(&t, &a, 0, 1000, 13, &r);
	assert_int_equal(r.ev, HB_BEAT_RESTARTED);
	hb_table_free(&t);
}

CM_MAIN(CM_T(small_record), CM_T(find_add_touch), CM_T(eviction), CM_T(peer_figures),
	CM_T(beat_events_and_jumps))
