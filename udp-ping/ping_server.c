/* udp-ping server: echoes each datagram upper-cased, drops a seeded share.
 *
 * One non-blocking UDP socket on a libevent loop. Each readable event drains
 * the socket in batches with recvmmsg and answers with one sendmmsg, so many
 * clients are served at once and no client can hold the loop. Memory is
 * fixed at start: a batch of 64 KiB buffers and the rate-limit table.
 */
#include "ping.h"
#include "ping_proto.h"
#include "pk_clock.h"
#include "pk_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define BATCH 32
#define BUF_SIZE 65536

struct ping_server {
	const struct ping_server_cfg *cfg;
	int fd;
	struct pk_sim sim;
	struct pk_limit limit;
	struct ping_server_totals totals;
	unsigned char *bufs;                 /* BATCH x BUF_SIZE */
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec iov_in[BATCH], iov_out[BATCH];
	struct sockaddr_storage from[BATCH];
};

/* Decides one datagram: refused, dropped or echoed. Returns 1 to reply. */
static int serve_one(struct ping_server *s, unsigned char *buf, size_t len,
                     const struct pk_addr *from, int64_t now)
{
	const char *verdict;
	int reply = 0;

	s->totals.received++;
	s->totals.bytes += len;
	ping_echo(buf, len);
	if (!pk_limit_allow(&s->limit, from, now)) {
		s->totals.refused++;
		verdict = "refused (rate limit)";
	} else if (pk_sim_drop(&s->sim, s->cfg->loss)) {
		s->totals.dropped++;
		verdict = "dropped (simulated loss)";
	} else {
		verdict = "replied";
		reply = 1;
	}
	if (!s->cfg->quiet)
		ping_report_datagram(from, buf, len, verdict);
	return reply;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct ping_server *s = arg;
	int rounds;

	(void)what;
	/* a bounded number of batches per event keeps signals responsive */
	for (rounds = 0; rounds < 64; rounds++) {
		int n, nout = 0, i, sent;
		int64_t now;

		for (i = 0; i < BATCH; i++) {
			s->iov_in[i].iov_base = s->bufs + (size_t)i * BUF_SIZE;
			s->iov_in[i].iov_len = BUF_SIZE;
			memset(&s->in[i].msg_hdr, 0, sizeof s->in[i].msg_hdr);
			s->in[i].msg_hdr.msg_name = &s->from[i];
			s->in[i].msg_hdr.msg_namelen = sizeof s->from[i];
			s->in[i].msg_hdr.msg_iov = &s->iov_in[i];
			s->in[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, s->in, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				s->totals.errors++;
			return;
		}
		now = pk_now_ns();
		for (i = 0; i < n; i++) {
			struct pk_addr from;
			size_t len = s->in[i].msg_len;

			memcpy(&from.ss, &s->from[i], sizeof from.ss);
			from.len = s->in[i].msg_hdr.msg_namelen;
			if (!serve_one(s, s->iov_in[i].iov_base, len, &from, now))
				continue;
			/* the reply is the request's own buffer: never larger */
			s->iov_out[nout].iov_base = s->iov_in[i].iov_base;
			s->iov_out[nout].iov_len = len;
			memset(&s->out[nout].msg_hdr, 0, sizeof s->out[nout].msg_hdr);
			s->out[nout].msg_hdr.msg_name = &s->from[i];
			s->out[nout].msg_hdr.msg_namelen = from.len;
			s->out[nout].msg_hdr.msg_iov = &s->iov_out[nout];
			s->out[nout].msg_hdr.msg_iovlen = 1;
			nout++;
		}
		for (i = 0; i < nout; i += sent) {
			sent = sendmmsg(fd, s->out + i, (unsigned)(nout - i), MSG_DONTWAIT);
			if (sent <= 0) {
				/* a full send buffer or an unreachable client: that reply
				 * is lost, the others go on */
				s->totals.errors++;
				sent = 1;
				continue;
			}
			s->totals.replied += (uint64_t)sent;
		}
		if (n < BATCH)
			return;
	}
}

static int server_open(const struct ping_server_cfg *cfg, struct pk_addr *local)
{
	struct pk_addr bind_addr;
	const char *host = cfg->bind;
	int fd, rc;

	if (host == NULL)
		host = cfg->family == AF_INET ? "0.0.0.0" : "::";
	rc = pk_resolve(host, cfg->port, cfg->family, SOCK_DGRAM, 1, &bind_addr);
	if (rc < 0 && cfg->bind == NULL && cfg->family == AF_UNSPEC)
		rc = pk_resolve("0.0.0.0", cfg->port, AF_INET, SOCK_DGRAM, 1, &bind_addr);
	if (rc < 0) {
		ping_report_error("%s: %s", host, pk_sock_strerror(rc));
		return -1;
	}
	fd = pk_udp_bind(&bind_addr);
	if (fd < 0 && cfg->bind == NULL && cfg->family == AF_UNSPEC) {
		/* no IPv6 on this host: serve IPv4 */
		pk_resolve("0.0.0.0", cfg->port, AF_INET, SOCK_DGRAM, 1, &bind_addr);
		fd = pk_udp_bind(&bind_addr);
	}
	if (fd < 0) {
		ping_report_error("bind %s port %u: %s", host, cfg->port, pk_sock_strerror(fd));
		return -1;
	}
	pk_sock_buffers(fd, 4 << 20);
	pk_sock_local(fd, local);
	return fd;
}

int ping_server_run(const struct ping_server_cfg *cfg)
{
	struct ping_server s;
	struct pk_addr local;
	struct event_base *base = NULL;
	struct event *ev_read = NULL;
	struct pk_stop stop = PK_STOP_INIT;
	uint64_t seed = cfg->have_seed ? cfg->seed : pk_sim_random_seed();
	int ret = 2;

	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.fd = -1;
	pk_sim_seed(&s.sim, seed);
	s.bufs = malloc((size_t)BATCH * BUF_SIZE);
	if (s.bufs == NULL ||
	    pk_limit_init(&s.limit, 4096, cfg->rate_limit, cfg->rate_limit / 10 + 10) < 0) {
		ping_report_error("out of memory");
		goto out;
	}
	s.fd = server_open(cfg, &local);
	base = pk_base_new();
	if (s.fd < 0 || base == NULL)
		goto out;
	ev_read = event_new(base, s.fd, EV_READ | EV_PERSIST, on_readable, &s);
	if (!ev_read || event_add(ev_read, NULL) || pk_stop_on_signals(base, &stop, NULL, NULL)) {
		ping_report_error("event loop set-up failed");
		goto out;
	}
	ping_report_server_start(cfg, &local, seed);
	event_base_dispatch(base);
	ping_report_server_totals(&s.totals);
	ret = 0;
out:
	if (ev_read)
		event_free(ev_read);
	pk_stop_free(&stop);
	if (base)
		event_base_free(base);
	if (s.fd >= 0)
		close(s.fd);
	pk_limit_free(&s.limit);
	free(s.bufs);
	return ret;
}
