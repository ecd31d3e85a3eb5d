#include "pk_loop.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "pk_clock.h"

/* A base with one libevent flag. */
static struct event_base *base_with(int flag)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, flag);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

struct event_base *pk_base_new(void)
{
	return base_with(EVENT_BASE_FLAG_PRECISE_TIMER);
}

/* libevent timers are relative; computing the delay from an absolute deadline
 * at arming time keeps the error of one callback out of every later one. */
int pk_timer_at(struct event *ev, int64_t deadline_ns)
{
	int64_t delay = deadline_ns - pk_now_ns();
	struct timeval tv;

	if (delay < 0)
		delay = 0;
	tv.tv_sec = (time_t)(delay / PK_NS_PER_S);
	/* round up to the next microsecond: never fire before the deadline */
	tv.tv_usec = (suseconds_t)((delay % PK_NS_PER_S + 999) / 1000);
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec += 1;
		tv.tv_usec -= 1000000;
	}
	return event_add(ev, &tv);
}

struct event_base *pk_base_new_untimed(void)
{
	/* libevent's EVENT_NO* variables are not read: each read is four
	 * system calls (its set-uid check), sixteen before a first send */
	return base_with(EVENT_BASE_FLAG_IGNORE_ENV);
}

static void on_tfd(evutil_socket_t fd, short what, void *arg)
{
	struct pk_tfd *t = arg;
	int64_t was = t->armed_ns;

	(void)fd;
	t->armed_ns = 0;
	t->cb(-1, what, t->arg);
	/* an expired timer stays readable unless re-armed: disarmed, or it
	 * fires again (one never armed, run by pk_tfd_fire, needs nothing) */
	if (was != 0 && t->armed_ns == 0 && t->fd >= 0)
		(void)pk_tfd_stop(t);
}

int pk_tfd_new(struct event_base *base, struct pk_tfd *t,
               void (*cb)(int fd, short what, void *arg), void *arg)
{
	t->armed_ns = 0;
	t->cb = cb;
	t->arg = arg;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0)
		return -1;
	t->ev = event_new(base, t->fd, EV_READ | EV_PERSIST, on_tfd, t);
	if (t->ev == NULL || event_add(t->ev, NULL) != 0) {
		pk_tfd_free(t);
		return -1;
	}
	return 0;
}

int pk_tfd_at(struct pk_tfd *t, int64_t deadline_ns)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (deadline_ns < 1)
		deadline_ns = 1;                 /* 0 would disarm it */
	its.it_value = pk_ns_to_timespec(deadline_ns);
	if (timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		return -errno;
	t->armed_ns = deadline_ns;
	return 0;
}

int pk_tfd_stop(struct pk_tfd *t)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	t->armed_ns = 0;
	return timerfd_settime(t->fd, 0, &its, NULL) == 0 ? 0 : -errno;
}

void pk_tfd_fire(struct pk_tfd *t)
{
	event_active(t->ev, EV_READ, 0);
}

void pk_tfd_free(struct pk_tfd *t)
{
	if (t->ev != NULL)
		event_free(t->ev);
	t->ev = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->armed_ns = 0;
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct pk_stop *s = arg;

	(void)what;
	s->signo = (int)sig;
	if (s->on_stop != NULL)
		s->on_stop((int)sig, s->arg);
	event_base_loopbreak(event_get_base(s->ev[0]));
}

int pk_stop_on_signals(struct event_base *base, struct pk_stop *s,
                       void (*on_stop)(int signo, void *arg), void *arg)
{
	signal(SIGPIPE, SIG_IGN);
	s->signo = 0;
	s->on_stop = on_stop;
	s->arg = arg;
	s->ev[0] = evsignal_new(base, SIGINT, on_stop_signal, s);
	s->ev[1] = evsignal_new(base, SIGTERM, on_stop_signal, s);
	if (s->ev[0] == NULL || s->ev[1] == NULL ||
	    event_add(s->ev[0], NULL) != 0 || event_add(s->ev[1], NULL) != 0) {
		pk_stop_free(s);
		return -1;
	}
	return 0;
}

void pk_stop_free(struct pk_stop *s)
{
	for (int i = 0; i < 2; i++) {
		if (s->ev[i] != NULL)
			event_free(s->ev[i]);
		s->ev[i] = NULL;
	}
}

void pk_loop_free(struct event_base *base, struct pk_stop *stop, struct event *const *evs,
                  size_t n)
{
	if (stop != NULL)
		pk_stop_free(stop);
	for (size_t i = 0; i < n; i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	if (base != NULL)
		event_base_free(base);
}

static volatile sig_atomic_t stop_flag;

static void on_stop_flag(int sig)
{
	stop_flag = sig;
}

volatile sig_atomic_t *pk_stop_flag(void)
{
	struct sigaction sa = { .sa_handler = on_stop_flag };   /* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return &stop_flag;
}

static void on_quit_signal(evutil_socket_t sig, short what, void *arg)
{
	struct pk_quit *q = arg;

	(void)sig;
	(void)what;
	if (q->cb != NULL)
		q->cb(q->arg);
}

int pk_quit_on_signal(struct event_base *base, struct pk_quit *q, void (*cb)(void *arg),
                      void *arg)
{
	q->cb = cb;
	q->arg = arg;
	q->ev = evsignal_new(base, SIGQUIT, on_quit_signal, q);   /* EV_SIGNAL|EV_PERSIST */
	if (q->ev == NULL || event_add(q->ev, NULL) != 0) {
		pk_quit_free(q);
		return -1;
	}
	return 0;
}

void pk_quit_free(struct pk_quit *q)
{
	if (q->ev != NULL)
		event_free(q->ev);
	q->ev = NULL;
}

static volatile sig_atomic_t quit_flag;

static void on_quit_flag(int sig)
{
	(void)sig;
	quit_flag = 1;
}

volatile sig_atomic_t *pk_quit_flag(void)
{
	struct sigaction sa = { .sa_handler = on_quit_flag };   /* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGQUIT, &sa, NULL);
	return &quit_flag;
}
