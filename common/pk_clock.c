#include "pk_clock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/time.h>

#include <event2/event.h>

int64_t pk_timespec_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * PK_NS_PER_S + ts->tv_nsec;
}

struct timespec pk_ns_to_timespec(int64_t ns)
{
	struct timespec ts;
	ts.tv_sec = ns / PK_NS_PER_S;
	ts.tv_nsec = ns % PK_NS_PER_S;
	if (ts.tv_nsec < 0) {
		ts.tv_nsec += PK_NS_PER_S;
		ts.tv_sec -= 1;
	}
	return ts;
}

int64_t pk_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return pk_timespec_to_ns(&ts);
}

int64_t pk_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return pk_timespec_to_ns(&ts);
}

int pk_timer_slack_min(void)
{
	if (prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) != 0)
		return -errno;
	return 0;
}

struct event_base *pk_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
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

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct pk_stop *s = arg;
	(void)what;
	s->signo = (int)sig;
	event_base_loopbreak(event_get_base(s->ev[0]));
}

int pk_stop_on_signals(struct event_base *base, struct pk_stop *s)
{
	s->signo = 0;
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

void pk_sched_init(struct pk_sched *s, int64_t start_ns, int64_t interval_ns)
{
	s->start_ns = start_ns;
	s->interval_ns = interval_ns;
	s->next = 0;
}

int64_t pk_sched_deadline(const struct pk_sched *s, uint64_t n)
{
	return s->start_ns + (int64_t)n * s->interval_ns;
}

char *pk_wall_iso(int64_t wall_ns, char *buf, size_t cap)
{
	struct timespec ts = pk_ns_to_timespec(wall_ns);
	struct tm tm;
	char day[32];

	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, cap, "%s.%06ldZ", day, (long)(ts.tv_nsec / 1000));
	return buf;
}
