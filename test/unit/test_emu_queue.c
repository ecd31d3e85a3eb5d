/* emu_queue (env/linkemu/emu_queue.c), linkemu's queue and departure
 * arithmetic: the delay asked, serialisation at the rate asked, frames
 * never reordered, bounds. */
#include "cm.h"
#include <errno.h>
#include <string.h>

#include "linkemu.h"
#include "pk_clock.h"

#define MS PK_NS_PER_MS

static void constant_delay(void **st)
{
	struct emu_queue q;
	struct emu_dir_cfg d = { .delay_ns = 20 * MS };
	struct pk_sim r;
	(void)st;
	pk_sim_seed(&r, 1);
	assert_int_equal(emu_queue_init(&q, 8), 0);
	assert_int_equal(emu_due(&q, &d, &r, 1000, 100), 1000 + 20 * MS);
	assert_int_equal(emu_due(&q, &d, &r, 5 * MS, 100), 25 * MS);
	emu_queue_free(&q);
}

/* 1 Mbit/s: a 1250-byte frame takes 10 ms on the wire; back-to-back
 * arrivals leave 10 ms apart after the first. */
static void rate_paces(void **st)
{
	struct emu_queue q;
	struct emu_dir_cfg d = { .delay_ns = 5 * MS, .rate_bps = 1000000 };
	struct pk_sim r;
	(void)st;
	pk_sim_seed(&r, 1);
	assert_int_equal(emu_queue_init(&q, 8), 0);
	assert_int_equal(emu_due(&q, &d, &r, 0, 1250), 15 * MS);
	assert_int_equal(emu_due(&q, &d, &r, 0, 1250), 25 * MS);
	assert_int_equal(emu_due(&q, &d, &r, 0, 1250), 35 * MS);
	/* an idle link starts afresh */
	assert_int_equal(emu_due(&q, &d, &r, 100 * MS, 1250), 115 * MS);
	emu_queue_free(&q);
}

/* With jitter, departures never go backwards, and average the delay. */
static void jitter_keeps_order(void **st)
{
	struct emu_queue q;
	struct emu_dir_cfg d = { .delay_ns = 10 * MS, .jitter_ns = 2 * MS };
	struct pk_sim r;
	int64_t prev = 0, sum = 0;
	int i;
	(void)st;
	pk_sim_seed(&r, 42);
	assert_int_equal(emu_queue_init(&q, 8), 0);
	for (i = 0; i < 1000; i++) {
		int64_t rx = (int64_t)i * 20 * MS;   /* far apart: jitter rarely clamped */
		int64_t due = emu_due(&q, &d, &r, rx, 100);
		assert_true(due >= prev);
		prev = due;
		sum += due - rx;
	}
	assert_true(sum / 1000 > 9800 * PK_NS_PER_US && sum / 1000 < 10200 * PK_NS_PER_US);
	emu_queue_free(&q);
}

static void fifo_and_bounds(void **st)
{
	struct emu_queue q;
	static unsigned char big[EMU_FRAME_MAX + 1];
	struct emu_frame *f;
	(void)st;
	assert_int_equal(emu_queue_init(&q, 2), 0);
	assert_null(emu_queue_head(&q));
	assert_int_equal(emu_queue_push(&q, "ab", 2, 10), 0);
	assert_int_equal(emu_queue_push(&q, "cde", 3, 20), 0);
	assert_int_equal(emu_queue_push(&q, "x", 1, 30), -ENOBUFS);
	assert_int_equal(emu_queue_push(&q, big, sizeof big, 30), -EMSGSIZE);
	f = emu_queue_head(&q);
	assert_int_equal(f->len, 2);
	assert_memory_equal(f->data, "ab", 2);
	assert_int_equal(f->due_ns, 10);
	emu_queue_pop(&q);
	assert_int_equal(emu_queue_push(&q, "fg", 2, 40), 0);   /* wraps around */
	f = emu_queue_head(&q);
	assert_memory_equal(f->data, "cde", 3);
	emu_queue_pop(&q);
	f = emu_queue_head(&q);
	assert_memory_equal(f->data, "fg", 2);
	assert_int_equal(f->due_ns, 40);
	emu_queue_free(&q);                                     /* frees the rest */
}

CM_MAIN(CM_T(constant_delay), CM_T(rate_paces), CM_T(jitter_keeps_order),
	CM_T(fifo_and_bounds))
