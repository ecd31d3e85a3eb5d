/* pk_http: the metrics endpoint (pk_http.h says what it defends against).
 * Moved from vxlan-agent's agent_http.c (issue 13).
 */
#include "pk_http.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <zlib.h>

#include "pk_clock.h"
#include "pk_loop.h"
#include "pk_report.h"
#include "pk_sock.h"

#define PK_HTTP_BACKLOG 256
#define PK_HTTP_BACKOFF_MIN (100 * PK_NS_PER_MS)
#define PK_HTTP_BACKOFF_MAX (2 * PK_NS_PER_S)

struct http_conn {
	struct pk_http *h;
	struct bufferevent *bev;
	struct event *deadline;
	struct http_conn *prev, *next;
	int answered;              /* the answer is queued: close once it is written */
};

struct pk_http {
	struct event_base *base;
	size_t max_conns;
	int64_t timeout_ns;
	pk_http_render_fn *render;
	void *arg;
	int fd;                    /* the listening socket */
	struct event *ev_accept, *ev_resume;
	struct http_conn *conns;   /* open connections, a list */
	size_t n;
	int64_t backoff_ns;        /* 0: accepting */
	struct pk_http_stats st;
};

static void conn_free(struct http_conn *c)
{
	struct pk_http *h = c->h;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->n--;
	bufferevent_free(c->bev);   /* closes the socket */
	event_free(c->deadline);
	free(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)fd, (void)what;
	c->h->st.timed_out++;
	conn_free(c);
}

static void answer_as(struct http_conn *c, int status, const char *reason, const char *ctype,
                      const char *body, size_t len, int head_only, const char *more)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                    "%s%sConnection: close\r\n\r\n", status, reason, ctype, len,
	                    status == 405 ? "Allow: GET, HEAD\r\n" : "", more);
	if (!head_only && len > 0)
		evbuffer_add(out, body, len);
	c->answered = 1;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void answer(struct http_conn *c, int status, const char *reason, const char *ctype,
                   const char *body, size_t len, int head_only)
{
	answer_as(c, status, reason, ctype, body, len, head_only, "");
}

static void error_answer(struct http_conn *c, int status, const char *reason, int head_only)
{
	char body[64];
	int n = snprintf(body, sizeof body, "%d %s\n", status, reason);

	answer(c, status, reason, "text/plain; charset=utf-8", body, (size_t)n, head_only);
}

/* text as one gzip member (level 1: a scrape's text shrinks about 8
 * times for well under a millisecond), malloc'd into *out; its length, or 0
 * when zlib failed (then the text goes as it is). */
static size_t gzip_of(const char *text, size_t len, unsigned char **out)
{
	z_stream z;
	size_t cap;
	unsigned char *buf;

	memset(&z, 0, sizeof z);
	*out = NULL;
	if (len > UINT_MAX / 2 ||
	    deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	cap = deflateBound(&z, (uLong)len);
	buf = malloc(cap);
	if (buf == NULL) {
		deflateEnd(&z);
		return 0;
	}
	z.next_in = (Bytef *)(uintptr_t)text;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(buf);
		return 0;
	}
	cap = z.total_out;
	deflateEnd(&z);
	*out = buf;
	return cap;
}

static void serve_metrics(struct http_conn *c, int head_only, int gzip)
{
	static const char ctype[] = "text/plain; version=0.0.4; charset=utf-8";
	char *text = c->h->render(c->h->arg);
	unsigned char *z = NULL;
	size_t len, zlen = 0;

	if (text == NULL) {
		error_answer(c, 500, "Internal Server Error", head_only);
		return;
	}
	len = strlen(text);
	if (gzip)
		zlen = gzip_of(text, len, &z);
	if (zlen > 0)
		answer_as(c, 200, "OK", ctype, (const char *)z, zlen, head_only,
		          "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
	else
		answer_as(c, 200, "OK", ctype, text, len, head_only,
		          gzip ? "Vary: Accept-Encoding\r\n" : "");
	free(z);
	free(text);
	c->h->st.served++;
}

/* 1 when an Accept-Encoding value takes gzip: a "gzip" (or "*") element
 * whose q is not 0 (RFC 9110 12.5.3; "gzip;q=0" refuses it). */
static int takes_gzip(const char *v)
{
	while (*v != '\0') {
		size_t n;
		const char *e, *q;
		int named;

		v += strspn(v, " \t,");
		n = strcspn(v, ",");
		e = v + strcspn(v, " \t;,");
		named = ((size_t)(e - v) == 4 && strncasecmp(v, "gzip", 4) == 0) ||
		        ((size_t)(e - v) == 1 && *v == '*');
		q = NULL;
		for (const char *p = v; p < v + n; p++)
			if ((*p == 'q' || *p == 'Q') && p + 1 < v + n && p[1] == '=') {
				q = p + 2;
				break;
			}
		if (named && (q == NULL || strtod(q, NULL) > 0.0))
			return 1;
		v += n;
	}
	return 0;
}

/* The header lines after the request line, up to the empty line: 1 when
 * one of them is an Accept-Encoding that takes gzip. */
static int wants_gzip(struct evbuffer *in)
{
	int gzip = 0;
	char *line;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		int end = len == 0;

		if (strncasecmp(line, "Accept-Encoding:", 16) == 0 && takes_gzip(line + 16))
			gzip = 1;
		free(line);
		if (end)
			break;
	}
	return gzip;
}

/* The request line of a complete head: "METHOD TARGET HTTP/1.x". */
static void handle_head(struct http_conn *c, char *line, int gzip)
{
	char *method = line, *target, *version, *q;
	int head_only;

	target = strchr(method, ' ');
	version = target != NULL ? strchr(target + 1, ' ') : NULL;
	if (target == NULL || version == NULL || strncmp(version + 1, "HTTP/1.", 7) != 0) {
		error_answer(c, 400, "Bad Request", 0);
		return;
	}
	*target++ = '\0';
	*version = '\0';
	head_only = strcmp(method, "HEAD") == 0;
	if (!head_only && strcmp(method, "GET") != 0) {
		error_answer(c, 405, "Method Not Allowed", 0);
		return;
	}
	if ((q = strchr(target, '?')) != NULL)
		*q = '\0';
	if (strcmp(target, "/metrics") == 0)
		serve_metrics(c, head_only, gzip);
	else
		error_answer(c, 404, "Not Found", head_only);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end;
	char *line;
	size_t len;

	if (c->answered)
		return;
	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		end = evbuffer_search(in, "\n\n", 2, NULL);
	if (end.pos < 0) {
		if (evbuffer_get_length(in) > PK_HTTP_HEAD_MAX)
			error_answer(c, 431, "Request Header Fields Too Large", 0);
		return;
	}
	if ((size_t)end.pos > PK_HTTP_HEAD_MAX) {
		error_answer(c, 431, "Request Header Fields Too Large", 0);
		return;
	}
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		error_answer(c, 400, "Bad Request", 0);
		return;
	}
	handle_head(c, line, wants_gzip(in));
	free(line);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (c->answered)   /* everything written */
		conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev, (void)what;
	conn_free(arg);    /* EOF or error: nothing more to do */
}

/* A short close: a 503 if the socket takes it at once, then close. */
static void refuse(struct pk_http *h, int fd)
{
	static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
	                          "Connection: close\r\n\r\n";

	(void)!send(fd, msg, sizeof msg - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	h->st.refused++;
}

/* The first descriptor number the endpoint must not keep. */
static int fd_ceiling(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (rlim_t)1 << 30)
		return 1 << 30;
	return (int)rl.rlim_cur - PK_HTTP_FD_RESERVE;
}

static int conn_new(struct pk_http *h, int fd)
{
	struct http_conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return -ENOMEM;
	c->h = h;
	c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->deadline = evtimer_new(h->base, on_deadline, c);
	if (c->bev == NULL || c->deadline == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		if (c->deadline != NULL)
			event_free(c->deadline);
		free(c);
		return -ENOMEM;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, PK_HTTP_HEAD_MAX + 1);
	bufferevent_enable(c->bev, EV_READ);
	pk_timer_at(c->deadline, pk_now_ns() + h->timeout_ns);
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	h->n++;
	h->st.accepted++;
	return 0;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct pk_http *h = arg;

	(void)fd, (void)what;
	event_add(h->ev_accept, NULL);
}

/* Out of descriptors or memory: stop polling the listener for a while. */
static void back_off(struct pk_http *h, int err)
{
	if (h->backoff_ns == 0) {
		h->backoff_ns = PK_HTTP_BACKOFF_MIN;
		pk_report_error(program_invocation_short_name, "metrics endpoint: accept: %s: pausing accepts (%d connections open)",
		                   strerror(err), (int)h->n);
	} else if ((h->backoff_ns *= 2) > PK_HTTP_BACKOFF_MAX) {
		h->backoff_ns = PK_HTTP_BACKOFF_MAX;
	}
	h->st.backoffs++;
	event_del(h->ev_accept);
	pk_timer_at(h->ev_resume, pk_now_ns() + h->backoff_ns);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct pk_http *h = arg;
	int ceiling = fd_ceiling();

	(void)what;
	for (int i = 0; i < 64; i++) {    /* a bounded batch per wake-up */
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				back_off(h, errno);
			return;       /* EAGAIN, or a client gone (ECONNABORTED): next time */
		}
		if (h->backoff_ns != 0) {
			pk_report_error(program_invocation_short_name, "metrics endpoint: accepting again");
			h->backoff_ns = 0;
		}
		if (h->n >= h->max_conns || fd >= ceiling || conn_new(h, fd) != 0)
			refuse(h, fd);
	}
}

int pk_http_start(struct pk_http **out, struct event_base *base, const char *addr_s, int port,
                  size_t max_conns, int64_t timeout_ns, pk_http_render_fn *render, void *arg,
                  int *bound_port)
{
	struct pk_http *h = calloc(1, sizeof *h);
	struct pk_addr addr, local;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	*out = h;
	if (h == NULL)
		return -ENOMEM;
	h->base = base;
	h->max_conns = max_conns;
	h->timeout_ns = timeout_ns;
	h->render = render;
	h->arg = arg;
	h->fd = -1;
	if (port < 0 || port > 65535)
		return -EINVAL;
	rc = pk_resolve(addr_s, (uint16_t)port, AF_UNSPEC, SOCK_STREAM, 1,
	                &addr);
	if (rc != 0)
		return rc;
	h->fd = pk_tcp_listen(&addr, PK_HTTP_BACKLOG);
	if (h->fd < 0)
		return h->fd;
	h->ev_accept = event_new(base, h->fd, EV_READ | EV_PERSIST, on_accept, h);
	h->ev_resume = evtimer_new(base, on_resume, h);
	if (h->ev_accept == NULL || h->ev_resume == NULL || event_add(h->ev_accept, NULL) != 0)
		return -ENOMEM;
	if (bound_port != NULL && pk_sock_local(h->fd, &local) == 0)
		*bound_port = pk_addr_port(&local);
	return 0;
}

void pk_http_stats(const struct pk_http *h, struct pk_http_stats *st)
{
	if (h != NULL)
		*st = h->st;
	else
		memset(st, 0, sizeof *st);
}

void pk_http_stop(struct pk_http **hp)
{
	struct pk_http *h = *hp;

	if (h == NULL)
		return;
	while (h->conns != NULL)
		conn_free(h->conns);
	if (h->ev_accept != NULL)
		event_free(h->ev_accept);
	if (h->ev_resume != NULL)
		event_free(h->ev_resume);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
	*hp = NULL;
}
