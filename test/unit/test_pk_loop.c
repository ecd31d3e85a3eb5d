/* pk_loop: timers at absolute deadlines, stopping on signals. */
#include "cm.h"
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "pk_clock.h"
#include "pk_loop.h"

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
	pk_sched_take(&t->sched);
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

struct tfd_tick {
	struct pk_tfd tfd;
	struct pk_sched sched;
	struct event_base *base;
	int fired, stop_after;
};

static void on_tfd_tick(int fd, short what, void *arg)
{
	struct tfd_tick *t = arg;
	(void)fd; (void)what;
	assert_true(pk_now_ns() >= pk_sched_next_deadline(&t->sched));   /* never early */
	assert_int_equal(t->tfd.armed_ns, 0);
	t->fired++;
	pk_sched_take(&t->sched);
	if (t->fired < t->stop_after)
		assert_int_equal(pk_tfd_at(&t->tfd, pk_sched_next_deadline(&t->sched)), 0);
}

static void loopexit_later(struct event_base *base, int ms)
{
	struct timeval tv = { 0, ms * 1000 };
	event_base_loopexit(base, &tv);
}

/* pk_tfd on an untimed base: ns deadlines, never early, no drift; a timer
 * not re-armed by its callback fires no more (it would spin otherwise). */
static void tfd_fires_at_deadlines(void **st)
{
	struct tfd_tick t;
	int64_t start;
	(void)st;
	memset(&t, 0, sizeof t);
	t.tfd = (struct pk_tfd)PK_TFD_INIT;
	t.base = pk_base_new_untimed();
	assert_non_null(t.base);
	assert_int_equal(pk_tfd_new(t.base, &t.tfd, on_tfd_tick, &t), 0);
	t.stop_after = 20;
	start = pk_now_ns();
	pk_sched_init(&t.sched, start + 2 * PK_NS_PER_MS, 2 * PK_NS_PER_MS);
	assert_int_equal(pk_tfd_at(&t.tfd, pk_sched_next_deadline(&t.sched)), 0);
	loopexit_later(t.base, 200);
	event_base_dispatch(t.base);
	assert_int_equal(t.fired, 20);
	assert_true(pk_now_ns() - start >= 40 * PK_NS_PER_MS);
	assert_int_equal(t.tfd.armed_ns, 0);
	pk_tfd_free(&t.tfd);
	pk_tfd_free(&t.tfd);             /* safe twice */
	event_base_free(t.base);
}

static void tfd_past_and_fire(void **st)
{
	struct tfd_tick t;
	(void)st;
	memset(&t, 0, sizeof t);
	t.tfd = (struct pk_tfd)PK_TFD_INIT;
	t.base = pk_base_new_untimed();
	assert_int_equal(pk_tfd_new(t.base, &t.tfd, on_tfd_tick, &t), 0);
	t.stop_after = 1;
	pk_sched_init(&t.sched, pk_now_ns() - PK_NS_PER_S, 1);
	assert_int_equal(pk_tfd_at(&t.tfd, 0), 0);   /* clamped, not disarmed */
	loopexit_later(t.base, 50);
	event_base_dispatch(t.base);
	assert_int_equal(t.fired, 1);
	/* fired by hand, re-armed for later, then stopped: one more call only */
	t.stop_after = 3;
	pk_tfd_fire(&t.tfd);
	event_base_loop(t.base, EVLOOP_ONCE);
	assert_int_equal(t.fired, 2);
	assert_true(t.tfd.armed_ns > 0);
	assert_int_equal(pk_tfd_stop(&t.tfd), 0);
	loopexit_later(t.base, 20);
	event_base_dispatch(t.base);
	assert_int_equal(t.fired, 2);
	pk_tfd_free(&t.tfd);
	event_base_free(t.base);
}

static void raise_term(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	raise(SIGTERM);
}

static void signals_stop_the_loop(void **st)
{
	struct event_base *base = pk_base_new();
	struct pk_stop stop = PK_STOP_INIT;
	struct event *t = evtimer_new(base, raise_term, NULL);
	struct timeval tv = { 0, 1000 };
	(void)st;
	assert_int_equal(pk_stop_on_signals(base, &stop, NULL, NULL), 0);
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

static void record_stop(int signo, void *arg)
{
	*(int *)arg = signo;
}

static void raise_int(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	raise(SIGINT);
}

/* the callback runs once, with the signal, before the loop breaks */
static void signal_callback_runs_first(void **st)
{
	struct event_base *base = pk_base_new();
	struct pk_stop stop = PK_STOP_INIT;
	struct event *t = evtimer_new(base, raise_int, NULL);
	struct timeval tv = { 0, 1000 };
	int seen = 0;
	(void)st;
	assert_int_equal(pk_stop_on_signals(base, &stop, record_stop, &seen), 0);
	event_add(t, &tv);
	assert_int_equal(event_base_dispatch(base), 0);
	assert_int_equal(seen, SIGINT);
	assert_int_equal(stop.signo, SIGINT);
	event_free(t);
	pk_stop_free(&stop);
	event_base_free(base);
}

/* the blocking form: the flag is set and a blocked read returns EINTR */
static void stop_flag_interrupts_blocking_calls(void **st)
{
	volatile sig_atomic_t *flag = pk_stop_flag();
	int p[2];
	char c;
	(void)st;
	assert_int_equal(pipe(p), 0);
	*flag = 0;
	raise(SIGTERM);
	assert_int_equal(*flag, SIGTERM);
	*flag = 0;
	{
		timer_t tm;
		struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGINT };
		struct itimerspec its = { .it_value = { 0, 20 * 1000 * 1000 } };
		assert_int_equal(timer_create(CLOCK_MONOTONIC, &sev, &tm), 0);
		assert_int_equal(timer_settime(tm, 0, &its, NULL), 0);
		errno = 0;
		assert_int_equal(read(p[0], &c, 1), -1);
		assert_int_equal(errno, EINTR);
		assert_int_equal(*flag, SIGINT);
		timer_delete(tm);
	}
	/* SIGPIPE no longer kills: a write to a closed pipe is EPIPE */
	close(p[0]);
	errno = 0;
	assert_int_equal(write(p[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(p[1]);
}

static void nothing(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
}

/* every event, the stop events and the base go (the sanitizer build's leak
 * check sees any left); NULL events and a NULL base are skipped */
static void loop_free_takes_everything(void **st)
{
	struct event_base *base = pk_base_new();
	struct pk_stop stop = PK_STOP_INIT;
	struct event *a = evtimer_new(base, nothing, NULL), *b = NULL;
	struct event *c = evtimer_new(base, nothing, NULL);
	(void)st;
	assert_int_equal(pk_stop_on_signals(base, &stop, NULL, NULL), 0);
	assert_int_equal(pk_timer_at(a, pk_now_ns() + PK_NS_PER_S), 0);   /* pending */
	PK_LOOP_FREE(base, &stop, a, b, c);
	assert_null(stop.ev[0]);
	assert_null(stop.ev[1]);
	pk_loop_free(NULL, NULL, NULL, 0);
}

/* SIGQUIT: the callback runs each time, the loop goes on */
struct quits {
	int n;
	struct event_base *base;
};

static void on_quit(void *arg)
{
	struct quits *q = arg;

	if (++q->n == 2)
		event_base_loopbreak(q->base);
}

static void raise_quit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	raise(SIGQUIT);
}

static void sigquit_calls_back_and_goes_on(void **st)
{
	struct event_base *base = pk_base_new();
	struct pk_quit q = PK_QUIT_INIT;
	struct quits seen = { 0, base };
	struct event *t = event_new(base, -1, EV_PERSIST, raise_quit, NULL);
	struct timeval tv = { 0, 2000 };
	(void)st;
	assert_int_equal(pk_quit_on_signal(base, &q, on_quit, &seen), 0);
	event_add(t, &tv);
	event_base_dispatch(base);
	assert_int_equal(seen.n, 2);    /* persistent: the second one came too */
	event_free(t);
	pk_quit_free(&q);
	pk_quit_free(&q);               /* twice is safe */
	event_base_free(base);
}

static void quit_flag_interrupts_blocking_calls(void **st)
{
	volatile sig_atomic_t *flag = pk_quit_flag();
	(void)st;
	*flag = 0;
	{
		struct sigaction sa;
		sigaction(SIGQUIT, NULL, &sa);
		assert_false(sa.sa_flags & SA_RESTART);
	}
	raise(SIGQUIT);
	assert_int_equal(*flag, 1);     /* set, and the process goes on */
	*flag = 0;
}

CM_MAIN(CM_T(sigquit_calls_back_and_goes_on), CM_T(quit_flag_interrupts_blocking_calls),
        CM_T(timer_fires_at_deadlines), CM_T(timer_in_the_past_fires_now),
        CM_T(tfd_fires_at_deadlines), CM_T(tfd_past_and_fire),
	CM_T(signals_stop_the_loop), CM_T(signal_callback_runs_first),
	CM_T(stop_flag_interrupts_blocking_calls),
	CM_T(loop_free_takes_everything))
