/* udp-ping server: echoes each datagram upper-cased, drops a seeded share.
 *
 * One non-blocking UDP socket on a libevent loop. Each readable event drains
 * the socket in batches (pk_batch: recvmmsg in, one sendmmsg out), so many
 * clients are served at once and no client can hold the loop. Memory is
 * fixed at start: a batch of 64 KiB buffers and the rate-limit table.
 */
#include "ping.h"
#include "ping_proto.h"
#include "pk_batch.h"
#include "pk_clock.h"
#include "pk_loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define BATCH 32
#define BUF_SIZE 65536
/* client endpoints remembered for the client_seen events (-J, --json-stream):
 * a fixed open-addressing set; once it is full, further clients are
 * counted in no event */
#define SEEN_SLOTS 4096
#define SEEN_MAX (SEEN_SLOTS * 3 / 4)

struct seen_key {
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
};

struct ping_server {
	const struct ping_server_cfg *cfg;
	int fd;
	struct pk_sim sim;
	struct pk_limit limit;
	struct pk_self self;                 /* sources never answered */
	struct ping_server_totals totals;
	int out_dead;                        /* stdout failed: no more lines */
	struct pk_batch *batch;              /* BATCH x BUF_SIZE */
	struct seen_key *seen;               /* SEEN_SLOTS, -J / --json-stream only */
	uint8_t *seen_used;
	cJSON *events;                       /* -J, --json-stream: client_seen events */
};

/* Lines go to stdout until a write there fails (a closed pipe: EPIPE,
 * SIGPIPE being ignored); then output ends, said once on stderr, and the
 * service goes on. */
static void check_output(struct ping_server *s)
{
	if (s->out_dead || !ferror(stdout))
		return;
	s->out_dead = 1;
	ping_report_error("stdout: write failed; no more output, still serving");
}

static void seen_key_of(struct seen_key *k, const struct pk_addr *a)
{
	memset(k, 0, sizeof *k);
	k->family = (uint8_t)a->ss.ss_family;
	k->port = pk_addr_port(a);
	if (a->ss.ss_family == AF_INET)
		memcpy(k->addr, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
	else if (a->ss.ss_family == AF_INET6)
		memcpy(k->addr, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
}

/* A client endpoint's first datagram: the client_seen event. */
static void note_client(struct ping_server *s, const struct pk_addr *from, int64_t wall_ns)
{
	struct seen_key k;
	uint32_t h = 2166136261u;
	size_t i;

	if (s->seen == NULL || s->totals.clients >= SEEN_MAX)
		return;
	seen_key_of(&k, from);
	for (i = 0; i < sizeof k; i++)
		h = (h ^ ((const uint8_t *)&k)[i]) * 16777619u;
	for (i = h % SEEN_SLOTS; s->seen_used[i]; i = (i + 1) % SEEN_SLOTS)
		if (memcmp(&s->seen[i], &k, sizeof k) == 0)
			return;
	s->seen[i] = k;
	s->seen_used[i] = 1;
	s->totals.clients++;
	ping_report_client_seen(s->cfg, s->events, wall_ns, from, !s->out_dead);
	check_output(s);
}

/* Decides one datagram: refused, dropped or echoed. Returns 1 to reply. */
static int serve_one(struct ping_server *s, unsigned char *buf, size_t len,
                     const struct pk_addr *from, int64_t now, int64_t wall_ns)
{
	const char *verdict, *why = pk_self_refuse(&s->self, from);
	char vbuf[64];
	int reply = 0, is_echo = ping_is_echo(buf, len);

	s->totals.received++;
	s->totals.bytes += len;
	note_client(s, from, wall_ns);
	ping_echo(buf, len);
	if (why != NULL) {
		/* a spoofed source: answering would reflect (to ourselves, to
		 * a port no one can receive on, to another service) */
		s->totals.refused_source++;
		snprintf(vbuf, sizeof vbuf, "refused (%s)", why);
		verdict = vbuf;
	} else if (!pk_limit_allow(&s->limit, from, now)) {
		s->totals.refused++;
		verdict = "refused (rate limit)";
	} else if (is_echo) {
		/* no lower-case letter: an echo already (ours or another
		 * server's), never a request of our protocol */
		s->totals.refused_echo++;
		verdict = "refused (already an echo: no lower-case letter)";
	} else if (pk_sim_drop(&s->sim, s->cfg->loss)) {
		s->totals.dropped++;
		verdict = "dropped (simulated loss)";
	} else {
		verdict = "replied";
		reply = 1;
	}
	if (!s->cfg->quiet && !s->out_dead) {
		ping_report_datagram(s->cfg, s->totals.received, wall_ns, from, buf, len, verdict);
		check_output(s);
	}
	return reply;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct ping_server *s = arg;

	(void)what;
	/* a bounded number of batches per event keeps signals responsive */
	for (int rounds = 0; rounds < 64; rounds++) {
		int n = pk_batch_recv(fd, s->batch);
		unsigned queued, sent;

		if (n <= 0) {
			if (n < 0)
				s->totals.errors++;
			return;
		}
		for (unsigned i = 0; i < (unsigned)n; i++) {
			const struct pk_rx *rx = pk_batch_rx(s->batch, i);
			unsigned char *buf = pk_batch_buf(s->batch, i);

			/* the reply is the request's own buffer: never larger */
			if (serve_one(s, buf, (size_t)rx->len, &rx->from, rx->rx_ns, rx->rx_wall_ns))
				pk_batch_reply(s->batch, i, buf, (size_t)rx->len);
		}
		queued = pk_batch_pending(s->batch);
		/* a reply the kernel refused (full buffer, unreachable client)
		 * is lost, the others go on */
		sent = pk_batch_flush(fd, s->batch);
		s->totals.replied += sent;
		s->totals.errors += queued - sent;
		if (n < BATCH)
			return;
	}
}

/* The socket, or -1 with the error in err (printed by the caller). */
static int server_open(const struct ping_server_cfg *cfg, struct pk_addr *local, char *err,
                       size_t cap)
{
	int fd = pk_server_socket(cfg->bind, cfg->port, cfg->family, SOCK_DGRAM, local);

	if (fd < 0) {
		snprintf(err, cap, "bind %s port %u: %s", cfg->bind ? cfg->bind : "*", cfg->port,
		         pk_sock_strerror(fd));
		return -1;
	}
	if (cfg->so.ttl >= 0 || cfg->so.tos >= 0) {
		const char *why = NULL;
		int rc = pk_sockopt_apply(fd, local->ss.ss_family, &cfg->so, &why);

		if (rc < 0) {
			snprintf(err, cap, "-t/-Q: %s", why ? why : pk_sock_strerror(rc));
			close(fd);
			return -1;
		}
	}
	pk_sock_buffers(fd, 4 << 20);
	return fd;
}

/* SIGQUIT: the counters so far on stderr; serving goes on. */
static void on_quit(void *arg)
{
	struct ping_server *s = arg;

	ping_report_server_interim(s->cfg, &s->totals);
	check_output(s);
}

/* The totals where they can go: stdout, or stderr when stdout failed;
 * under -J / --json-stream the text totals go to stderr, the document to
 * stdout. */
static void print_totals(struct ping_server *s, const struct pk_addr *local, int64_t start_wall,
                         uint64_t seed)
{
	check_output(s);
	if (s->cfg->output != PING_OUT_TEXT) {
		ping_report_server_totals(stderr, &s->totals);
		if (!s->out_dead)
			ping_report_server_doc(s->cfg, local, start_wall, seed, &s->totals, s->events,
			                       NULL);
		return;
	}
	if (!s->out_dead) {
		ping_report_server_totals(stdout, &s->totals);
		if (!ferror(stdout))
			return;
	}
	ping_report_server_totals(stderr, &s->totals);
}

int ping_server_run(const struct ping_server_cfg *cfg)
{
	struct ping_server s;
	struct pk_addr local;
	struct event_base *base = NULL;
	struct event *ev_read = NULL;
	struct pk_stop stop = PK_STOP_INIT;
	struct pk_quit quit = PK_QUIT_INIT;
	int64_t start_wall = pk_wall_ns();
	char err[256];
	uint64_t seed = cfg->have_seed ? cfg->seed : pk_sim_random_seed();
	int ret = 2;

	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.fd = -1;
	pk_sim_seed(&s.sim, seed);
	s.batch = pk_batch_new(BATCH, BUF_SIZE);
	if (cfg->output != PING_OUT_TEXT) {
		s.seen = calloc(SEEN_SLOTS, sizeof *s.seen);
		s.seen_used = calloc(SEEN_SLOTS, 1);
		s.events = cJSON_CreateArray();
		if (!s.seen || !s.seen_used || !s.events) {
			ping_report_error("out of memory");
			goto out;
		}
	}
	if (s.batch == NULL ||
	    pk_limit_init(&s.limit, 4096, cfg->rate_limit, cfg->rate_limit / 10 + 10) < 0) {
		ping_report_error("out of memory");
		goto out;
	}
	/* a closed stdout must end our output, not the service */
	signal(SIGPIPE, SIG_IGN);
	s.fd = server_open(cfg, &local, err, sizeof err);
	if (s.fd < 0) {
		/* the line on stderr; under -J / --json-stream the document too */
		ping_report_error("%s", err);
		if (cfg->output != PING_OUT_TEXT)
			ping_report_server_doc(cfg, NULL, start_wall, seed, &s.totals, NULL, err);
		goto out;
	}
	/* no timers: no timerfd to re-arm before every epoll_wait */
	base = pk_base_new_untimed();
	if (base == NULL)
		goto out;
	(void)pk_self_init(&s.self, &local, cfg->allow_low_ports);
	ev_read = event_new(base, s.fd, EV_READ | EV_PERSIST, on_readable, &s);
	if (!ev_read || event_add(ev_read, NULL) || pk_stop_on_signals(base, &stop, NULL, NULL) ||
	    pk_quit_on_signal(base, &quit, on_quit, &s) < 0) {
		ping_report_error("event loop set-up failed");
		goto out;
	}
	ping_report_server_start(cfg, &local, seed);
	check_output(&s);
	event_base_dispatch(base);
	print_totals(&s, &local, start_wall, seed);
	ret = 0;
out:
	pk_quit_free(&quit);
	PK_LOOP_FREE(base, &stop, ev_read);
	if (s.fd >= 0)
		close(s.fd);
	pk_limit_free(&s.limit);
	pk_batch_free(s.batch);
	free(s.seen);
	free(s.seen_used);
	cJSON_Delete(s.events);
	return ret;
}
