/* The floor of the server-scale benchmark: a minimal epoll echo server for
 * tcp_echo_load's sessions, doing no work beyond what its protocol needs.
 *
 *   tcp_echo_epoll_min        prints "listening on 127.0.0.1:PORT", serves
 *                             until killed
 *
 * One thread, one level-triggered epoll set, non-blocking accept. Per
 * connection: the first line (the setup) is answered "200 OK: Ready\n"
 * without being checked, every later byte is echoed as it arrives, and a
 * line that is exactly "t" is answered "200 OK: Closing Connection\n",
 * then the write side is shut and the rest drained until EOF (the replies
 * of tcp-echo server to tcp_echo_load's setup and termination, byte for
 * byte; no framing, no checks, no delays, no timers, no allocation per
 * probe). Loopback only. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define READY   "200 OK: Ready\n"
#define CLOSING "200 OK: Closing Connection\n"
#define SETUP_MAX 129               /* the setup line, LF included */

struct conn {
	unsigned char open, setup_done, bol, closing;
	unsigned setup_len;
	char *pend;                     /* bytes the socket did not take */
	size_t npend;
};

static struct conn *conns;
static int nconns, ep;
static char buf[1 << 18];

static void drop(int fd)
{
	free(conns[fd].pend);
	conns[fd] = (struct conn){ 0 };
	close(fd);                      /* leaves the epoll set with it */
}

/* Sends p[0..n), keeping what the socket does not take; -1 on an error. */
static int out(int fd, const char *p, size_t n)
{
	struct conn *c = &conns[fd];
	ssize_t k = 0;

	if (c->npend == 0) {
		k = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (k < 0)
			k = 0;
	}
	if ((size_t)k < n) {
		char *np = realloc(c->pend, c->npend + n - (size_t)k);
		if (np == NULL)
			return -1;
		memcpy(np + c->npend, p + k, n - (size_t)k);
		c->pend = np;
		c->npend += n - (size_t)k;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.fd = fd };
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
	}
	return 0;
}

static int flush_pending(int fd)
{
	struct conn *c = &conns[fd];
	ssize_t k = send(fd, c->pend, c->npend, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (k < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	memmove(c->pend, c->pend + k, c->npend - (size_t)k);
	c->npend -= (size_t)k;
	if (c->npend == 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
		if (c->closing)
			shutdown(fd, SHUT_WR);
	}
	return 0;
}

/* Answers p[0..n) of an open session; -1 to drop it. */
static int serve(int fd, const char *p, size_t n)
{
	struct conn *c = &conns[fd];

	if (!c->setup_done) {
		const char *nl = memchr(p, '\n', n);
		size_t used = nl ? (size_t)(nl - p) + 1 : n;
		if ((c->setup_len += (unsigned)used) > SETUP_MAX)
			return -1;
		if (nl == NULL)
			return 0;
		c->setup_done = 1;
		c->bol = 1;
		if (out(fd, READY, sizeof READY - 1) != 0)
			return -1;
		p += used;
		n -= used;
	}
	/* echo everything up to a line "t" */
	const char *start = p, *end = p + n;
	while (p < end) {
		if (c->bol && *p == 't' && (p + 1 == end || p[1] == '\n')) {
			if (out(fd, start, (size_t)(p - start)) != 0 ||
			    out(fd, CLOSING, sizeof CLOSING - 1) != 0)
				return -1;
			c->closing = 1;
			if (c->npend == 0)
				shutdown(fd, SHUT_WR);
			return 0;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		c->bol = nl != NULL;
		p = nl ? nl + 1 : end;
	}
	return out(fd, start, (size_t)(end - start));
}

static void on_accept(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		if (fd < 0)
			return;
		if (fd >= nconns) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		conns[fd] = (struct conn){ .open = 1 };
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			drop(fd);
	}
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	struct rlimit rl;
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 2;
	nconns = rl.rlim_cur > 1 << 20 ? 1 << 20 : (int)rl.rlim_cur;
	conns = calloc((size_t)nconns, sizeof *conns);
	ep = epoll_create1(EPOLL_CLOEXEC);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (conns == NULL || ep < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) ||
	    listen(lfd, SOMAXCONN) || getsockname(lfd, (struct sockaddr *)&a, &len))
		return 2;
	struct epoll_event lev = { .events = EPOLLIN, .data.fd = lfd };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
	printf("listening on 127.0.0.1:%u\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < k; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				on_accept(lfd);
				continue;
			}
			if (!conns[fd].open)
				continue;
			if ((evs[i].events & EPOLLOUT) && flush_pending(fd) != 0) {
				drop(fd);
				continue;
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			ssize_t n = read(fd, buf, sizeof buf);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0 || (!conns[fd].closing && serve(fd, buf, (size_t)n) != 0))
				drop(fd);
		}
	}
}
