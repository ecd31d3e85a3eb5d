/* pk_clock: time as one integer type, and sends at absolute deadlines.
 *
 * Every interval in probekit is CLOCK_MONOTONIC nanoseconds in an int64_t.
 * The wall clock (CLOCK_REALTIME) is used only for display and for the
 * timestamps some wire formats carry.
 *
 * Scheduling: a pk_sched yields deadlines start + n * interval; a late
 * callback never shifts later deadlines, so the schedule does not drift.
 * The event-loop side (timers at absolute deadlines, stopping on signals)
 * is pk_loop's.
 */
#ifndef PK_CLOCK_H
#define PK_CLOCK_H

#include <stdint.h>
#include <time.h>

#define PK_NS_PER_US 1000LL
#define PK_NS_PER_MS 1000000LL
#define PK_NS_PER_S  1000000000LL

/* Monotonic now, ns. */
int64_t pk_now_ns(void);
/* Wall clock now, ns since the epoch. */
int64_t pk_wall_ns(void);

static inline double pk_ns_to_ms(int64_t ns) { return (double)ns / 1e6; }
static inline double pk_ns_to_s(int64_t ns) { return (double)ns / 1e9; }
struct timespec pk_ns_to_timespec(int64_t ns);
int64_t pk_timespec_to_ns(const struct timespec *ts);

/* Sets this thread's timer slack to 1 ns so timers fire when asked.
 * Returns 0 or -errno. */
int pk_timer_slack_min(void);

/* Absolute-deadline schedule: deadline(n) = start + n * interval. */
struct pk_sched {
	int64_t start_ns;
	int64_t interval_ns;
	uint64_t next;      /* index of the next send */
};

void pk_sched_init(struct pk_sched *s, int64_t start_ns, int64_t interval_ns);
int64_t pk_sched_deadline(const struct pk_sched *s, uint64_t n);
/* Deadline of the next send. */
static inline int64_t pk_sched_next_deadline(const struct pk_sched *s)
{
	return pk_sched_deadline(s, s->next);
}
/* Index of the next send (= how many sends the schedule has given). */
static inline uint64_t pk_sched_index(const struct pk_sched *s)
{
	return s->next;
}
/* Takes the next send: returns its index and moves on to the one after. */
static inline uint64_t pk_sched_take(struct pk_sched *s)
{
	return s->next++;
}
/* Moves past every deadline earlier than now_ns - late_ns (those sends are
 * skipped rather than bunched); the next deadline stays on the grid.
 * Returns how many were skipped. */
uint64_t pk_sched_skip_late(struct pk_sched *s, int64_t now_ns, int64_t late_ns);

/* Formats a wall-clock time as ISO 8601 UTC with microseconds
 * ("2026-11-21T12:00:00.123456Z") into buf. Returns buf. */
char *pk_wall_iso(int64_t wall_ns, char *buf, size_t cap);

#endif
