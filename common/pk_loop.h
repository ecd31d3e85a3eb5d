/* pk_loop: the event-loop helpers every tool shares.
 *
 *  pk_base_new    a libevent base with precise timers (timerfd on Linux).
 *  pk_timer_at    arms a timer for an absolute CLOCK_MONOTONIC deadline.
 *  pk_tfd         a timer of its own timerfd, armed at absolute deadlines
 *                 (ns, TFD_TIMER_ABSTIME); with pk_base_new_untimed, a
 *                 loop on the hot path of a measurement makes no system
 *                 call per turn for its timers (libevent's precise timers
 *                 re-arm their timerfd before every epoll_wait).
 *  pk_stop        SIGINT and SIGTERM end the run, one way for all tools:
 *                 on an event loop the signal becomes an event (the loop
 *                 breaks after an optional callback, e.g. a final report);
 *                 a tool that blocks in system calls instead (tcp-echo's
 *                 client) installs the same signals as a flag with
 *                 pk_stop_flag, and its calls return EINTR.
 *  pk_quit        SIGQUIT prints interim statistics and the run goes on:
 *                 pk_quit_on_signal (an event) or pk_quit_flag (a flag).
 */
#ifndef PK_LOOP_H
#define PK_LOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct event;
struct event_base;

/* New libevent base with EVENT_BASE_FLAG_PRECISE_TIMER. Caller frees with
 * event_base_free(). NULL on failure. */
struct event_base *pk_base_new(void);

/* Arms `ev` (a timer event) to fire at monotonic `deadline_ns`, or at once
 * when it is already past; never before the deadline (rounded up to the
 * next microsecond). 0 or -1 (libevent error). */
int pk_timer_at(struct event *ev, int64_t deadline_ns);

/* New libevent base without precise timers, for a loop whose timers are
 * all pk_tfd (or that has none, as a server): epoll_wait sleeps with no
 * timerfd_settime before it. Its own libevent timers would be coarse (ms).
 * libevent's EVENT_NO* environment variables are ignored. */
struct event_base *pk_base_new_untimed(void);

/* A timer on a timerfd of its own, a read event of `base`: pk_tfd_at arms
 * it at a monotonic deadline in ns (one timerfd_settime; a deadline already
 * past fires at once), cb(-1, EV_READ, arg) runs when it fires; a timer the
 * callback did not re-arm is disarmed after it. armed_ns: the deadline
 * armed, 0 when none. Zero the struct (PK_TFD_INIT) before pk_tfd_new so
 * that pk_tfd_free is safe on every path; free it before the base. */
struct pk_tfd {
	int fd;
	struct event *ev;
	int64_t armed_ns;
	void (*cb)(int fd, short what, void *arg);
	void *arg;
};
#define PK_TFD_INIT { -1, NULL, 0, NULL, NULL }
int pk_tfd_new(struct event_base *base, struct pk_tfd *t,
               void (*cb)(int fd, short what, void *arg), void *arg);   /* 0 or -1 */
int pk_tfd_at(struct pk_tfd *t, int64_t deadline_ns);                 /* 0 or -errno */
int pk_tfd_stop(struct pk_tfd *t);                                    /* 0 or -errno */
/* Runs the callback from the loop's next turn, as a timer already due. */
void pk_tfd_fire(struct pk_tfd *t);
void pk_tfd_free(struct pk_tfd *t);

/* Caller-owned; zero it (or use PK_STOP_INIT) before pk_stop_on_signals so
 * that pk_stop_free is safe on every path. */
struct pk_stop {
	struct event *ev[2];
	int signo;                          /* 0 until a signal came */
	void (*on_stop)(int signo, void *arg);
	void *arg;
};
#define PK_STOP_INIT { { NULL, NULL }, 0, NULL, NULL }

/* SIGINT and SIGTERM record the signal in s->signo, call on_stop(signo,
 * arg) when it is not NULL, and break the loop of `base`. SIGPIPE is
 * ignored, as pk_stop_flag does: a peer that closes its socket is an EPIPE
 * for the write, never the death of the process (a closed stdout still
 * ends a client with 141 through pk_out_flush). 0, or -1 when libevent
 * could not add the events (nothing is left allocated). */
int pk_stop_on_signals(struct event_base *base, struct pk_stop *s,
                       void (*on_stop)(int signo, void *arg), void *arg);
void pk_stop_free(struct pk_stop *s);

/* Ends a loop's life, in the order libevent needs: the stop events, each
 * event of evs that is not NULL, then the base (if not NULL). Takes the
 * events as listed: PK_LOOP_FREE(base, &stop, ev_read, ev_timer, ...). */
void pk_loop_free(struct event_base *base, struct pk_stop *stop, struct event *const *evs,
                  size_t n);
#define PK_LOOP_FREE(base, stop, ...)                                          \
	pk_loop_free((base), (stop), (struct event *const[]){ __VA_ARGS__ },   \
	             sizeof((struct event *const[]){ __VA_ARGS__ }) / sizeof(struct event *))

/* For a run that blocks in system calls: SIGINT and SIGTERM set the
 * returned flag (to the signal's number) and interrupt the call with EINTR
 * (no SA_RESTART); SIGPIPE is ignored, so a closed peer is an EPIPE. */
volatile sig_atomic_t *pk_stop_flag(void);

/* SIGQUIT (Ctrl-backslash) asks for interim statistics, as ping does: the run goes
 * on. On an event loop: a persistent signal event that calls cb(arg) each
 * time (the callback prints pk_report_interim on stderr). Zero the struct
 * (or PK_QUIT_INIT) first so that pk_quit_free is safe on every path; free
 * it before the base (pk_loop_free does not know it). 0 or -1. */
struct pk_quit {
	struct event *ev;
	void (*cb)(void *arg);
	void *arg;
};
#define PK_QUIT_INIT { NULL, NULL, NULL }
int pk_quit_on_signal(struct event_base *base, struct pk_quit *q, void (*cb)(void *arg),
                      void *arg);
void pk_quit_free(struct pk_quit *q);

/* The same for a run that blocks in system calls: SIGQUIT sets the returned
 * flag to 1 and interrupts the call with EINTR (no SA_RESTART); the run
 * prints the interim line where it checks the flag, and sets it back to 0.
 * A blocking call that returns EINTR with the stop flag unset is retried
 * by the caller. */
volatile sig_atomic_t *pk_quit_flag(void);

#endif
