/* pk_http: the /metrics endpoint on loopback, driven by its own event loop
 * between the client's steps. */
#include "cm.h"
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "pk_clock.h"
#include "pk_http.h"
#include "pk_loop.h"

struct fixture {
	struct event_base *base;
	struct pk_http *h;
	int port;
	int renders;
	int fail;          /* render returns NULL */
	size_t big;        /* render this many bytes instead */
};

static char *render(void *arg)
{
	struct fixture *fx = arg;
	char *s;

	fx->renders++;
	if (fx->fail)
		return NULL;
	if (fx->big > 0) {
		s = malloc(fx->big + 1);
		if (s != NULL) {
			memset(s, 'x', fx->big);
			s[fx->big] = '\0';
		}
		return s;
	}
	s = malloc(64);
	if (s != NULL)
		snprintf(s, 64, "# TYPE x gauge\nx %d\n", fx->renders);
	return s;
}

static void start(struct fixture *fx, size_t max_conns, int64_t timeout_ns)
{
	memset(fx, 0, sizeof *fx);
	fx->base = pk_base_new();
	assert_non_null(fx->base);
	assert_int_equal(pk_http_start(&fx->h, fx->base, "127.0.0.1", 0, max_conns, timeout_ns,
	                               render, fx, &fx->port), 0);
	assert_true(fx->port > 0);
}

static void finish(struct fixture *fx)
{
	pk_http_stop(&fx->h);
	assert_null(fx->h);
	event_base_free(fx->base);
}

static int connect_lo(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* loopback: the handshake completes in the kernel, before any accept */
	assert_true(connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0 || errno == EINPROGRESS);
	return fd;
}

/* Runs the loop and reads fd until the server closes it or limit_ns passes.
 * Returns the bytes read (buf NUL-terminated); *closed: EOF seen. */
static size_t pump(struct fixture *fx, int fd, char *buf, size_t cap, int64_t limit_ns,
                   int *closed)
{
	int64_t end = pk_now_ns() + limit_ns;
	size_t n = 0;

	*closed = 0;
	while (pk_now_ns() < end) {
		ssize_t r;

		event_base_loop(fx->base, EVLOOP_NONBLOCK);
		r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET)) {
			*closed = 1;
			break;
		}
		if (r > 0)
			n += (size_t)r;
		else
			usleep(1000);
	}
	buf[n] = '\0';
	return n;
}

static size_t request_n(struct fixture *fx, const char *req, char *buf, size_t cap)
{
	int fd = connect_lo(fx->port), closed;
	size_t n;

	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	n = pump(fx, fd, buf, cap, 2 * PK_NS_PER_S, &closed);
	assert_true(closed);
	close(fd);
	return n;
}

static void get_metrics_is_the_rendered_text(void **st)
{
	struct fixture fx;
	struct pk_http_stats s;
	char buf[1024];
	(void)st;
	start(&fx, 4, 5 * PK_NS_PER_S);
	request_n(&fx, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(buf, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(buf, "Content-Length: 19\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_string_equal(strstr(buf, "\r\n\r\n") + 4, "# TYPE x gauge\nx 1\n");
	/* a query string is ignored; HEAD renders but sends no body */
	request_n(&fx, "HEAD /metrics?x=1 HTTP/1.0\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_string_equal(strstr(buf, "\r\n\r\n") + 4, "");
	assert_int_equal(fx.renders, 2);
	pk_http_stats(fx.h, &s);
	assert_int_equal(s.accepted, 2);
	assert_int_equal(s.served, 2);
	assert_int_equal(s.refused + s.timed_out + s.backoffs, 0);
	finish(&fx);
}

/* The body after the head of an answer of n bytes in buf. */
static const char *body_of(const char *buf, size_t n, size_t *len)
{
	const char *b = strstr(buf, "\r\n\r\n");

	assert_non_null(b);
	b += 4;
	*len = n - (size_t)(b - buf);
	return b;
}

/* Accept-Encoding: gzip gets the same text as one gzip member; "gzip;q=0",
 * another coding or none get it as it is. */
static void gzip_when_the_scraper_takes_it(void **st)
{
	struct fixture fx;
	static char buf[1 << 20];
	static unsigned char plain[1 << 20];
	char want[256];
	const char *b;
	size_t n, len;
	uLongf out = sizeof plain;
	(void)st;
	start(&fx, 4, 5 * PK_NS_PER_S);
	fx.big = 200000;                     /* about a fleet agent's scrape */
	n = request_n(&fx, "GET /metrics HTTP/1.1\r\nHost: x\r\n"
	              "Accept-Encoding: deflate, GZip;q=0.5\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "Content-Encoding: gzip\r\n"));
	b = body_of(buf, n, &len);
	snprintf(want, sizeof want, "Content-Length: %zu\r\n", len);
	assert_non_null(strstr(buf, want));
	assert_true(len > 18 && len < 200000 / 8);
	assert_int_equal((unsigned char)b[0], 0x1f);   /* the gzip magic */
	assert_int_equal((unsigned char)b[1], 0x8b);
	{
		z_stream z;
		memset(&z, 0, sizeof z);
		assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
		z.next_in = (Bytef *)(uintptr_t)b;
		z.avail_in = (uInt)len;
		z.next_out = plain;
		z.avail_out = (uInt)out;
		assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
		assert_int_equal(z.total_out, 200000);
		inflateEnd(&z);
	}
	for (size_t i = 0; i < 200000; i++)
		if (plain[i] != 'x')
			fail_msg("byte %zu differs", i);
	/* refused, another coding, or no header: as it is */
	n = request_n(&fx, "GET /metrics HTTP/1.1\r\nAccept-Encoding: gzip;q=0\r\n\r\n", buf,
	              sizeof buf);
	assert_null(strstr(buf, "Content-Encoding"));
	body_of(buf, n, &len);
	assert_int_equal(len, 200000);
	n = request_n(&fx, "GET /metrics HTTP/1.1\r\nAccept-Encoding: br, identity\r\n\r\n",
	              buf, sizeof buf);
	assert_null(strstr(buf, "Content-Encoding"));
	n = request_n(&fx, "GET /metrics HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_null(strstr(buf, "Content-Encoding"));
	body_of(buf, n, &len);
	assert_int_equal(len, 200000);
	finish(&fx);
}

static void errors_are_answered(void **st)
{
	struct fixture fx;
	struct pk_http_stats s;
	char buf[1024];
	(void)st;
	start(&fx, 4, 5 * PK_NS_PER_S);
	request_n(&fx, "GET /other HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 404 Not Found\r\n"));
	request_n(&fx, "POST /metrics HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(buf, "Allow: GET, HEAD\r\n"));
	request_n(&fx, "GET /metrics\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	assert_int_equal(fx.renders, 0);     /* none of these rendered */
	fx.fail = 1;
	request_n(&fx, "GET /metrics HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 500 Internal Server Error\r\n"));
	pk_http_stats(fx.h, &s);
	assert_int_equal(s.accepted, 4);
	assert_int_equal(s.served, 0);
	finish(&fx);
}

static void a_head_too_long_is_431(void **st)
{
	struct fixture fx;
	char buf[1024];
	char *req = malloc(PK_HTTP_HEAD_MAX + 64);
	int fd, closed;
	(void)st;
	assert_non_null(req);
	start(&fx, 4, 5 * PK_NS_PER_S);
	memcpy(req, "GET /metrics HTTP/1.1\r\nX: ", 26);
	memset(req + 26, 'a', PK_HTTP_HEAD_MAX + 10);
	fd = connect_lo(fx.port);
	event_base_loop(fx.base, EVLOOP_NONBLOCK);
	assert_int_equal(send(fd, req, PK_HTTP_HEAD_MAX + 36, 0), PK_HTTP_HEAD_MAX + 36);
	pump(&fx, fd, buf, sizeof buf, 2 * PK_NS_PER_S, &closed);
	assert_non_null(strstr(buf, "HTTP/1.1 431 "));
	assert_int_equal(fx.renders, 0);
	close(fd);
	free(req);
	finish(&fx);
}

static void over_the_cap_gets_a_short_503(void **st)
{
	struct fixture fx;
	struct pk_http_stats s;
	char buf[1024];
	int fd[3], closed;
	(void)st;
	start(&fx, 2, 5 * PK_NS_PER_S);
	for (int i = 0; i < 3; i++) {
		fd[i] = connect_lo(fx.port);
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
	}
	/* the third, silent as the others, is answered and closed at once */
	pump(&fx, fd[2], buf, sizeof buf, 2 * PK_NS_PER_S, &closed);
	assert_true(closed);
	assert_non_null(strstr(buf, "HTTP/1.1 503 Service Unavailable\r\n"));
	pk_http_stats(fx.h, &s);
	assert_int_equal(s.accepted, 2);
	assert_int_equal(s.refused, 1);
	/* the two held are still served */
	assert_int_equal(send(fd[0], "GET /metrics HTTP/1.1\r\n\r\n", 25, 0), 25);
	pump(&fx, fd[0], buf, sizeof buf, 2 * PK_NS_PER_S, &closed);
	assert_true(closed);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	finish(&fx);
}

static void the_deadline_closes_a_silent_client(void **st)
{
	struct fixture fx;
	struct pk_http_stats s;
	char buf[256];
	int64_t t0, took;
	int fd, closed;
	(void)st;
	start(&fx, 4, 200 * PK_NS_PER_MS);
	t0 = pk_now_ns();
	fd = connect_lo(fx.port);
	event_base_loop(fx.base, EVLOOP_NONBLOCK);
	/* a byte of a head, then nothing (slowloris) */
	assert_int_equal(send(fd, "G", 1, 0), 1);
	assert_int_equal(pump(&fx, fd, buf, sizeof buf, 3 * PK_NS_PER_S, &closed), 0);
	took = pk_now_ns() - t0;
	assert_true(closed);                           /* closed, no answer */
	assert_true(took >= 200 * PK_NS_PER_MS);       /* not before the deadline */
	assert_true(took < 2 * PK_NS_PER_S);           /* nor long after it */
	pk_http_stats(fx.h, &s);
	assert_int_equal(s.timed_out, 1);
	assert_int_equal(s.served, 0);
	close(fd);
	finish(&fx);
}

/* A scraper that gives up mid-answer, as Prometheus does at its scrape
 * timeout: it has read what came so far and closes (a FIN); the server's
 * next write draws a reset, and the write after it fails with EPIPE. With
 * SIGPIPE at its default that killed the process (vxlan-agents of a fleet
 * exited with 141). The endpoint must close that connection and go on. */
static void a_scraper_that_gives_up_mid_answer(void **st)
{
	struct fixture fx;
	struct pk_http_stats s;
	char buf[65536];
	const char *req = "GET /metrics HTTP/1.1\r\n\r\n";
	int64_t end;
	size_t got = 0;
	int fd;
	(void)st;
	signal(SIGPIPE, SIG_DFL);          /* as a program that never set it */
	start(&fx, 4, 5 * PK_NS_PER_S);
	fx.big = 64u << 20;                /* far more than the socket buffers hold */
	fd = connect_lo(fx.port);
	event_base_loop(fx.base, EVLOOP_NONBLOCK);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	end = pk_now_ns() + 2 * PK_NS_PER_S;
	while (got == 0 && pk_now_ns() < end) {   /* the answer has begun */
		ssize_t r;
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
		r = recv(fd, buf, sizeof buf, 0);
		if (r > 0)
			got += (size_t)r;
	}
	assert_true(got > 0);
	while (recv(fd, buf, sizeof buf, 0) > 0)   /* nothing unread: close sends a FIN */
		;
	close(fd);
	end = pk_now_ns() + 300 * PK_NS_PER_MS;   /* the server writes on into the reset */
	while (pk_now_ns() < end)
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
	fx.big = 0;                                  /* still here, still serving */
	request_n(&fx, "GET /metrics HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	pk_http_stats(fx.h, &s);
	assert_int_equal(s.accepted, 2);
	finish(&fx);
}

static void bad_address_or_port_fails(void **st)
{
	struct event_base *base = pk_base_new();
	struct pk_http *h = NULL;
	struct pk_http_stats s;
	int port = -1;
	(void)st;
	assert_true(pk_http_start(&h, base, "127.0.0.1", 70000, 1, PK_NS_PER_S, render, NULL,
	                          &port) < 0);
	pk_http_stop(&h);
	assert_true(pk_http_start(&h, base, "no such host.invalid", 0, 1, PK_NS_PER_S, render,
	                          NULL, &port) != 0);
	pk_http_stop(&h);
	assert_null(h);
	pk_http_stats(NULL, &s);
	assert_int_equal(s.accepted, 0);
	event_base_free(base);
}

CM_MAIN(CM_T(get_metrics_is_the_rendered_text), CM_T(gzip_when_the_scraper_takes_it),
        CM_T(errors_are_answered),
        CM_T(a_head_too_long_is_431), CM_T(over_the_cap_gets_a_short_503),
        CM_T(the_deadline_closes_a_silent_client), CM_T(a_scraper_that_gives_up_mid_answer),
        CM_T(bad_address_or_port_fails))
