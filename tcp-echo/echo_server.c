/* tcp-echo server: the loop. One libevent loop for every connection:
 * accepts (within --max-conns and the descriptors there are), the delay
 * timer, SIGINT/SIGTERM, and the totals at the end. Each connection is
 * echo_conn's.
 *
 * Refusals: beyond --max-conns, beyond --max-per-source connections from
 * one source (an address, an IPv6 /64; echo_srcmap), or out of memory, the
 * accepted connection is told why in one line (REFUSED_*: a 404 the client
 * prints), then closed; nothing it sent is read.
 *
 * Timing: libevent's precise-timer base re-arms its timerfd on every loop
 * iteration (a syscall per event, ~1 us on each echo). So the base is a
 * plain one (idle and linger timers to the millisecond are fine) and the
 * delays run on a timerfd of our own, armed at the earliest due time of a
 * heap of connections and re-armed only when that time changes.
 */
#include "echo_conn.h"
#include "pk_clock.h"
#include "pk_loop.h"
#include "pk_out.h"
#include "pk_sockopt.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <event2/event.h>

#define ACCEPT_BURST 64

#define REFUSED_BUSY   "404 ERROR: Connection Refused: server busy\n"
#define REFUSED_SOURCE "404 ERROR: Connection Refused: too many connections from your address\n"

struct echo_srv {
	struct echo_hub hub;
	int lfd;
	struct event *ev_accept, *ev_retry, *ev_tick;
	struct pk_stop stop;
	struct pk_quit quit;
	struct pk_addr bound;
	int64_t start_wall_ns;
	char why[256];          /* a failure, for the -J document */
};

/* SIGIO: the listening socket has a connection. It interrupts the fast
 * path's blocking recv() (echo_conn.c), which then leaves the socket to the
 * loop, where it is accepted. */
static volatile sig_atomic_t woken;

static void on_sigio(int sig)
{
	(void)sig;
	woken = 1;
}

/* The fast path needs SIGIO from the listening socket; without it (or with
 * --no-fast-path) every read goes through the loop. SA_RESTART: other calls
 * (a blocking write of the log) go on; a recv() with SO_RCVTIMEO is never
 * restarted, whatever the flag. */
static void fast_path_setup(struct echo_srv *s)
{
	struct sigaction sa = { .sa_handler = on_sigio, .sa_flags = SA_RESTART };
	int fl;

	s->hub.woken = &woken;
	if (s->hub.cfg->no_fast)
		return;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGIO, &sa, NULL) != 0 || fcntl(s->lfd, F_SETOWN, getpid()) != 0 ||
	    (fl = fcntl(s->lfd, F_GETFL)) < 0 || fcntl(s->lfd, F_SETFL, fl | O_ASYNC) != 0)
		return;
	s->hub.fast = 1;
}

static void on_quit(void *arg)
{
	struct echo_srv *s = arg;

	echo_report_server_interim(&s->hub.rep, &s->hub.st);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct echo_srv *s = arg;

	(void)fd;
	(void)what;
	event_add(s->ev_accept, NULL);
}

/* Tells a refused connection why, then closes it: our FIN after the line
 * (what it sent so far is drained first, so the close is not a reset that
 * could overtake the line). */
static void refuse(struct echo_hub *h, int fd, const struct pk_addr *peer, const char *line,
                   const char *why)
{
	char drain[512];

	h->st.refused++;
	echo_report_refused(&h->rep, peer, why);
	(void)!send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	(void)!recv(fd, drain, sizeof drain, MSG_DONTWAIT);
	close(fd);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct echo_srv *s = arg;
	struct echo_hub *h = &s->hub;

	(void)what;
	woken = 0;                      /* accepting what SIGIO told of */
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct pk_addr peer = { .len = sizeof peer.ss };
		/* blocking: the fast path blocks in recv() on it (echo_conn.c);
		 * every other read and write passes MSG_DONTWAIT */
		int fd = accept4(lfd, (struct sockaddr *)&peer.ss, &peer.len, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop accepting for a moment */
				echo_report_refused(&h->rep, NULL, strerror(errno));
				event_del(s->ev_accept);
				pk_timer_at(s->ev_retry, pk_now_ns() + 100 * PK_NS_PER_MS);
			}
			return;
		}
		h->st.accepted++;
		if (h->st.active >= h->cfg->max_conns) {
			refuse(h, fd, &peer, REFUSED_BUSY, "connection limit reached");
			continue;
		}
		uint64_t src = pk_addr_source_hash(&peer);
		int rc = echo_srcmap_add(&h->sources, src, h->cfg->max_per_source);
		if (rc != 0) {
			refuse(h, fd, &peer, rc == -EUSERS ? REFUSED_SOURCE : REFUSED_BUSY,
			       rc == -EUSERS ? "per-source limit reached" : "out of memory");
			continue;
		}
		if (echo_conn_new(h, fd, &peer, src) == NULL) {
			echo_srcmap_del(&h->sources, src);
			refuse(h, fd, &peer, REFUSED_BUSY, "out of memory");
			continue;
		}
		if (++h->st.active > h->st.peak)
			h->st.peak = h->st.active;
	}
}

/* The delay timerfd: releases every connection's due echoes. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	uint64_t expirations;

	(void)what;
	(void)!read(fd, &expirations, sizeof expirations);
	echo_hub_due(arg);
}

/* Room for max_conns descriptors (best effort). */
static void raise_nofile(uint64_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < want + 64) {
		rl.rlim_cur = want + 64 < rl.rlim_max ? want + 64 : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int srv_open(struct echo_srv *s)
{
	const struct echo_server_cfg *cfg = s->hub.cfg;
	struct pk_addr *a = &s->bound;
	const char *why = NULL;
	int rc;

	s->lfd = pk_server_socket(cfg->bind_host, cfg->port, cfg->family, SOCK_STREAM, a);
	if (s->lfd < 0) {
		snprintf(s->why, sizeof s->why, "cannot listen on %s port %u: %s",
		         cfg->bind_host ? cfg->bind_host : "*", (unsigned)cfg->port,
		         pk_sock_strerror(s->lfd));
		echo_report_error("%s", s->why);
		s->lfd = -1;
		return -1;
	}
	/* -t / -Q: on the listening socket (no connection yet: every accepted
	 * one inherits them, and so does the SYN-ACK) */
	if ((rc = pk_sockopt_apply(s->lfd, a->ss.ss_family, &cfg->so, &why)) != 0) {
		snprintf(s->why, sizeof s->why, "-t/-Q: %s", why ? why : pk_sock_strerror(rc));
		echo_report_error("%s", s->why);
		return -1;
	}
	s->start_wall_ns = pk_wall_ns();
	echo_report_stream_start(&s->hub.rep, "server", NULL, a, s->start_wall_ns);
	echo_report_listening(&s->hub.rep, a, cfg->plain);
	return 0;
}

static int srv_events(struct echo_srv *s)
{
	struct event_base *base = s->hub.base;

	s->ev_tick = event_new(base, s->hub.tfd, EV_READ | EV_PERSIST, on_tick, &s->hub);
	s->ev_accept = event_new(base, s->lfd, EV_READ | EV_PERSIST, on_accept, s);
	s->ev_retry = evtimer_new(base, on_retry, s);
	if (!s->ev_accept || !s->ev_retry || !s->ev_tick ||
	    pk_stop_on_signals(base, &s->stop, NULL, NULL) != 0 ||
	    pk_quit_on_signal(base, &s->quit, on_quit, s) != 0 ||
	    event_add(s->ev_accept, NULL) || event_add(s->ev_tick, NULL)) {
		echo_report_error("cannot set up the event loop");
		return -1;
	}
	return 0;
}

/* --max-buffer, but at least two of the longest lines there can be (what
 * echo_partial_keep has always granted), so one session of the largest
 * probes always fits. */
static uint64_t budget_of(const struct echo_server_cfg *cfg)
{
	uint64_t line = echo_probe_len(cfg->lim.max_size, cfg->lim.max_probes) + 1;

	return cfg->max_buffer > 2 * line ? cfg->max_buffer : 2 * line;
}

int echo_server_run(const struct echo_server_cfg *cfg)
{
	struct echo_srv s = { .lfd = -1, .stop = PK_STOP_INIT, .quit = PK_QUIT_INIT };
	struct echo_hub *h = &s.hub;
	int rc = 2;

	h->cfg = cfg;
	h->tfd = -1;
	/* a closed stdout (a log pipe, the journal restarting, the
	 * experiment's pipe) ends the output, never the service */
	pk_out_keep_serving("tcp-echo");
	h->budget.limit = budget_of(cfg);
	h->rep = (struct echo_report){ .out = stdout, .json = cfg->json || cfg->stream,
	                               .quiet = cfg->quiet, .stamp = cfg->stamp,
	                               .stream = cfg->stream,
	                               .events = cfg->json ? cJSON_CreateArray() : NULL };
	/* output chains of large probes come and go: keep freed memory instead of
	 * returning it to the kernel and faulting it back in on the next probe */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 8 * 1024 * 1024);
	raise_nofile(cfg->max_conns);
	pk_timer_slack_min();
	h->scratch = malloc(ECHO_SCRATCH_SIZE);
	h->base = event_base_new();     /* not precise: see the top of this file */
	h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->scratch == NULL || h->base == NULL || h->tfd < 0 || srv_open(&s) != 0 ||
	    srv_events(&s) != 0)
		goto out;
	fast_path_setup(&s);
	if (event_base_dispatch(h->base) < 0) {
		echo_report_error("event loop failed");
		goto out;
	}
	rc = 0;
out:
	echo_hub_close_all(h);
	if (rc == 0 && h->rep.json) {
		echo_report_doc(&h->rep, echo_server_doc(&h->rep, &s.bound, s.start_wall_ns, &h->st));
		h->rep.events = NULL;   /* taken by the document */
	} else if (rc == 0) {
		echo_report_server_stats(&h->rep, &h->st);
	} else if (h->rep.json && s.why[0]) {     /* the document says why */
		cJSON *doc = pk_json_envelope("tcp-echo", "server", NULL, NULL, pk_wall_ns());
		cJSON_AddObjectToObject(doc, "summary");
		cJSON_AddArrayToObject(doc, "events");
		cJSON_AddStringToObject(doc, "error", s.why);
		if (h->rep.stream)
			echo_report_stream_start(&h->rep, "server", NULL, NULL, pk_wall_ns());
		echo_report_doc(&h->rep, doc);
	}
	cJSON_Delete(h->rep.events);
	pk_quit_free(&s.quit);
	PK_LOOP_FREE(h->base, &s.stop, s.ev_accept, s.ev_retry, s.ev_tick);
	if (h->tfd >= 0)
		close(h->tfd);
	echo_heap_free(&h->heap);
	echo_srcmap_free(&h->sources);
	if (s.lfd >= 0)
		close(s.lfd);
	free(h->scratch);
	return rc;
}
