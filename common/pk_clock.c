#include "pk_clock.h"

#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>

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

uint64_t pk_sched_skip_late(struct pk_sched *s, int64_t now_ns, int64_t late_ns)
{
	int64_t behind = now_ns - late_ns - pk_sched_next_deadline(s);
	uint64_t n;

	if (behind <= 0 || s->interval_ns <= 0)
		return 0;
	/* deadlines strictly before now - late: ceil(behind / interval) */
	n = (uint64_t)((behind + s->interval_ns - 1) / s->interval_ns);
	s->next += n;
	return n;
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
