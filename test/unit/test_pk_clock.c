/* pk_clock: conversions and schedule arithmetic. */
#include "cm.h"
#include <string.h>

#include "pk_clock.h"

static void conversions(void **st)
{
	struct timespec ts = pk_ns_to_timespec(1500000001LL);
	(void)st;
	assert_int_equal(ts.tv_sec, 1);
	assert_int_equal(ts.tv_nsec, 500000001);
	assert_int_equal(pk_timespec_to_ns(&ts), 1500000001LL);
	ts = pk_ns_to_timespec(-1);
	assert_int_equal(ts.tv_sec, -1);
	assert_int_equal(ts.tv_nsec, 999999999);
	assert_float_equal(pk_ns_to_ms(2500000), 2.5, 1e-12);
}

static void monotonic_moves_forward(void **st)
{
	(void)st;
	int64_t a = pk_now_ns(), b = pk_now_ns();
	assert_true(b >= a);
	assert_true(pk_wall_ns() > 1600000000LL * PK_NS_PER_S);
}

static void schedule_is_absolute(void **st)
{
	struct pk_sched s;
	(void)st;
	pk_sched_init(&s, 1000, 250);
	assert_int_equal(pk_sched_next_deadline(&s), 1000);
	s.next = 4;
	assert_int_equal(pk_sched_next_deadline(&s), 2000);
	/* deadline n depends on n only: a late send does not move the next one */
	assert_int_equal(pk_sched_deadline(&s, 1000000), 1000 + 250000000LL);
}

static void schedule_take_and_skip(void **st)
{
	struct pk_sched s;
	(void)st;
	pk_sched_init(&s, 1000, 100);
	assert_int_equal(pk_sched_take(&s), 0);
	assert_int_equal(pk_sched_take(&s), 1);
	assert_int_equal(pk_sched_index(&s), 2);
	assert_int_equal(pk_sched_next_deadline(&s), 1200);
	/* not late by more than late_ns: nothing skipped */
	assert_int_equal(pk_sched_skip_late(&s, 1250, 100), 0);
	assert_int_equal(pk_sched_skip_late(&s, 1300, 100), 0);
	/* at 1650 with 100 allowed: 1200..1500 are older than 1550, skipped */
	assert_int_equal(pk_sched_skip_late(&s, 1650, 100), 4);
	assert_int_equal(pk_sched_next_deadline(&s), 1600);
	/* deadlines stay on the grid */
	assert_int_equal(pk_sched_skip_late(&s, 1000000 + 1, 0), 9985);
	assert_int_equal(pk_sched_next_deadline(&s), 1000000 + 100);
}

static void iso_format(void **st)
{
	char buf[64];
	(void)st;
	pk_wall_iso(1726820518391909100LL, buf, sizeof buf);
	assert_string_equal(buf, "2024-09-20T08:21:58.391909Z");
}

CM_MAIN(CM_T(conversions), CM_T(monotonic_moves_forward), CM_T(schedule_is_absolute),
	CM_T(schedule_take_and_skip), CM_T(iso_format))
