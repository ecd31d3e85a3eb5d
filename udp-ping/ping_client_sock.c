/* udp-ping client: its socket. Resolved, created, -I/-t/-Q applied
 * (pk_sockopt_apply), connected, with the kernel's receive timestamps and a
 * receive buffer sized for the send rate. */
#include "ping.h"
#include "pk_clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* Replies the receive buffer holds: RCVBUF_HOLD_NS of them at the send
 * rate, each costing its bytes and about RCVBUF_OVERHEAD of the kernel's
 * (sk_buff truesize), between the kernel's default and RCVBUF_MAX. */
#define RCVBUF_HOLD_NS (50 * PK_NS_PER_MS)
#define RCVBUF_OVERHEAD 1024
#define RCVBUF_MAX (64 << 20)

/* A receive buffer for the send rate (replies of RCVBUF_HOLD_NS), never
 * smaller than the kernel's default; SO_RCVBUFFORCE past rmem_max when
 * allowed (CAP_NET_ADMIN). SO_RXQ_OVFL: each datagram tells how many the
 * buffer dropped, so that our own overflow is never taken for loss. */
static int size_rcvbuf(const struct ping_client_cfg *cfg, int fd)
{
	size_t per = (cfg->size > 64 ? cfg->size : 64) + RCVBUF_OVERHEAD;
	double want = (double)RCVBUF_HOLD_NS / (double)cfg->interval_ns * (double)per;
	int have = 0;
	socklen_t len = sizeof have;

	(void)pk_sock_count_drops(fd);
	if (want > RCVBUF_MAX)
		want = RCVBUF_MAX;
	(void)getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &have, &len);
	/* the kernel reports twice what was asked (its bookkeeping) */
	if (have / 2 < (int)want) {
		int bytes = (int)want;

		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
		len = sizeof have;
		(void)getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &have, &len);
		if (have / 2 < bytes)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
		len = sizeof have;
		(void)getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &have, &len);
	}
	return have;
}

/* A run-time error: the line on stderr, and under -J / --json-stream the
 * document with "error". */
static int open_failed(const struct ping_client_cfg *cfg, const struct pk_addr *peer,
                       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int open_failed(const struct ping_client_cfg *cfg, const struct pk_addr *peer,
                       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ping_report_error("%s", msg);
	ping_report_client_error_doc(cfg, peer, pk_wall_ns(), msg);
	return -1;
}

int ping_client_socket(const struct ping_client_cfg *cfg, struct pk_addr *peer,
                       int *rcvbuf_bytes)
{
	int fd, family = cfg->family;
	const char *why = NULL;
	int rc;

	/* -I with an address: the target in its family */
	if (family == AF_UNSPEC && cfg->so.have_src)
		family = cfg->so.src.ss.ss_family;
	rc = pk_resolve(cfg->host, cfg->port, family, SOCK_DGRAM, 0, peer);
	if (rc < 0)
		return open_failed(cfg, NULL, "%s: %s", cfg->host, pk_sock_strerror(rc));
	fd = pk_socket(peer->ss.ss_family, SOCK_DGRAM);
	if (fd < 0)
		return open_failed(cfg, peer, "%s: %s", cfg->host, pk_sock_strerror(fd));
	rc = pk_sockopt_apply(fd, peer->ss.ss_family, &cfg->so, &why);
	if (rc < 0) {
		close(fd);
		if (cfg->iface_arg && (rc == -ENODEV || rc == -EAFNOSUPPORT ||
		                       rc == -EADDRNOTAVAIL || rc == -EPERM))
			return open_failed(cfg, peer, "-I %s: %s", cfg->iface_arg,
			                   why ? why : pk_sock_strerror(rc));
		return open_failed(cfg, peer, "%s: %s", cfg->host, why ? why : pk_sock_strerror(rc));
	}
	if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) != 0) {
		rc = -errno;
		close(fd);
		return open_failed(cfg, peer, "%s: %s", cfg->host, pk_sock_strerror(rc));
	}
	pk_sock_rx_timestamps(fd);
	if (cfg->verbose)
		(void)pk_sock_rx_ttl_tos(fd, peer->ss.ss_family);
	*rcvbuf_bytes = size_rcvbuf(cfg, fd);
	return fd;
}

