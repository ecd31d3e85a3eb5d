/* pk_http: the metrics endpoint (pk_http.h says what it defends against).
 * Moved from vxlan-agent's agent_http.c (issue 13).
 */
#include "pk_http.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

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

static void answer(struct http_conn *c, int status, const char *reason, const char *ctype,
                   const char *body, size_t len, int head_only)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                    "%sConnection: close\r\n\r\n", status, reason, ctype, len,
	                    status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only && len > 0)
		evbuffer_add(out, body, len);
	c->answered = 1;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void error_answer(struct http_conn *c, int status, const char *reason, int head_only)
{
	char body[64];
	int n = snprintf(body, sizeof body, "%d %s\n", status, reason);

	answer(c, status, reason, "text/plain; charset=utf-8", body, (size_t)n, head_only);
}

static void serve_metrics(struct http_conn *c, int head_only)
{
	char *text = c->h->render(c->h->arg);

	if (text == NULL) {
		error_answer(c, 500, "Internal Server Error", head_only);
		return;
	}
	answer(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, strlen(text),
	       head_only);
	free(text);
	c->h->st.served++;
}

/* The request line of a complete head: "METHOD TARGET HTTP/1.x". */
static void handle_head(struct http_conn *c, char *line)
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
		serve_metrics(c, head_only);
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
	handle_head(c, line);
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
