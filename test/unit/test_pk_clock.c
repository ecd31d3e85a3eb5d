/* pk_clock: conversions, schedule arithmetic, timers at absolute deadlines. */
#include "cm.h"
#include <event2/event.h>
#include <signal.h>
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

static void iso_format(void **st)
{
	char buf[64];
	(void)st;
	pk_wall_iso(1726820518391909100LL, buf, sizeof buf);
	assert_string_equal(buf, "2024-09-20T08:21:58.391909Z");
}

struct tick {
	struct event *ev;
	struct pk_sched sched;
	int64_t worst_late;
	int fired;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct tick *t = arg;
	int64_t late = pk_now_ns() - pk_sched_next_deadline(&t->sched);
	(void)fd; (void)what;
	assert_true(late >= 0);          /* never before the deadline */
	if (late > t->worst_late)
		t->worst_late = late;
	t->fired++;
	t->sched.next++;
	if (t->fired < 20)
		pk_timer_at(t->ev, pk_sched_next_deadline(&t->sched));
}

static void timer_fires_at_deadlines(void **st)
{
	struct event_base *base = pk_base_new();
	struct tick t;
	int64_t start;
	(void)st;
	assert_non_null(base);
	assert_int_equal(pk_timer_slack_min(), 0);
	memset(&t, 0, sizeof t);
	t.ev = evtimer_new(base, on_tick, &t);
	start = pk_now_ns();
	pk_sched_init(&t.sched, start + 2 * PK_NS_PER_MS, 2 * PK_NS_PER_MS);
	pk_timer_at(t.ev, pk_sched_next_deadline(&t.sched));
	event_base_dispatch(base);
	assert_int_equal(t.fired, 20);
	/* the 20th tick is due at start + 40 ms: the schedule has not drifted
	 * by the sum of 20 callbacks' lateness */
	assert_true(pk_now_ns() - start >= 40 * PK_NS_PER_MS);
	event_free(t.ev);
	event_base_free(base);
}

static void timer_in_the_past_fires_now(void **st)
{
	struct event_base *base = pk_base_new();
	struct tick t;
	(void)st;
	memset(&t, 0, sizeof t);
	t.fired = 19;                    /* one tick only */
	t.ev = evtimer_new(base, on_tick, &t);
	pk_sched_init(&t.sched, pk_now_ns() - PK_NS_PER_S, 1);
	assert_int_equal(pk_timer_at(t.ev, t.sched.start_ns), 0);
	event_base_dispatch(base);
	assert_int_equal(t.fired, 20);
	event_free(t.ev);
	event_base_free(base);
}

static void raise_term(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	raise(SIGTERM);
}

static void signals_stop_the_loop(void **st)
{
	struct event_base *base = pk_base_new();
	struct pk_stop stop;
	struct event *t = evtimer_new(base, raise_term, NULL);
	struct timeval tv = { 0, 1000 };
	(void)st;
	assert_int_equal(pk_stop_on_signals(base, &stop), 0);
	assert_int_equal(stop.signo, 0);
	event_add(t, &tv);
	assert_int_equal(event_base_dispatch(base), 0);
	assert_int_equal(stop.signo, SIGTERM);
	assert_true(event_base_got_break(base));
	event_free(t);
	pk_stop_free(&stop);
	pk_stop_free(&stop);   /* safe twice */
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conversions),
		cmocka_unit_test(monotonic_moves_forward),
		cmocka_unit_test(schedule_is_absolute),
		cmocka_unit_test(iso_format),
		cmocka_unit_test(timer_fires_at_deadlines),
		cmocka_unit_test(timer_in_the_past_fires_now),
		cmocka_unit_test(signals_stop_the_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
