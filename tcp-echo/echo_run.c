/* tcp-echo client runs: one session, a sweep of sessions, or the plain echo
 * of seed 002's first half. Maps each outcome to its message and exit code. */
#include "echo_client.h"
#include "echo_plot.h"
#include "pk_clock.h"
#include "pk_opt.h"
#include "pk_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const uint64_t rtt_sizes[] = { 1, 100, 200, 400, 800, 1000 };
static const uint64_t ttput_sizes[] = { 1024, 2048, 4096, 8192, 16384, 32768 };

int echo_outcome(const struct echo_client_cfg *cfg, const struct echo_conn_c *c, int rc,
                const struct echo_result *res, char *why, size_t cap)
{
	char b[64];

	why[0] = '\0';
	switch (rc) {
	case ECHO_C_OK:
		return 0;
	case ECHO_C_STOPPED:
		return res && res->echoed > 0 ? 0 : 1;
	case ECHO_C_404: {
		/* the server's own words, rendered safe (a real 404 is unchanged) */
		char e[4 * 200 + 8];
		snprintf(why, cap, "%s", pk_escape(c->bad_line, c->bad_len, 200, e, sizeof e));
		return 1;
	}
	case ECHO_C_UNEXPECTED:
		snprintf(why, cap, "unexpected reply from %s: \"%s\"", cfg->host,
		         c->bad_line ? pk_escape(c->bad_line, c->bad_len, 48, b, sizeof b)
		                     : "(too long)");
		return 1;
	case ECHO_C_CLOSED:
		if (res)
			snprintf(why, cap, "%s closed the connection after %llu of %llu probes",
			         cfg->host, (unsigned long long)res->echoed,
			         (unsigned long long)res->setup.probes);
		else
			snprintf(why, cap, "%s closed the connection", cfg->host);
		return 1;
	case ECHO_C_TIMEOUT:
		snprintf(why, cap, "no reply from %s within %s", cfg->host,
		         pk_fmt_duration(cfg->timeout_ns + (res ? res->setup.delay_ns : 0), b, sizeof b));
		return 1;
	case ECHO_C_CONNECT:
		snprintf(why, cap, "connect to %s port %u: %s", cfg->host, (unsigned)cfg->port,
		         pk_sock_strerror(c->err));
		return 1;
	case ECHO_C_SOCKOPT:
		if (cfg->so.ifname[0] || cfg->so.have_src)
			snprintf(why, cap, "-I %s: %s", cfg->so.ifname[0] ? cfg->so.ifname
			         : pk_addr_host(&cfg->so.src, b, sizeof b), c->why ? c->why : "invalid");
		else
			snprintf(why, cap, "-t/-Q: %s", c->why ? c->why : pk_sock_strerror(c->err));
		return 2;
	default:
		snprintf(why, cap, "%s: %s", cfg->host, pk_sock_strerror(c->err ? c->err : -EIO));
		return 2;
	}
}

void echo_say_failure(const struct echo_report *rep, int rc, const char *why)
{
	if (why[0] == '\0')
		return;
	if (rc == ECHO_C_404)
		echo_report_404(rep, why);
	else
		echo_report_error("%s", why);
}

static struct echo_report rep_of(const struct echo_client_cfg *cfg)
{
	return (struct echo_report){ .out = stdout, .json = cfg->json || cfg->stream,
	                             .quiet = cfg->quiet, .stamp = cfg->stamp,
	                             .stream = cfg->stream, .csv = cfg->csv };
}

/* The connection failed before any session: no address to report. */
static int no_session(int rc)
{
	return rc == ECHO_C_CONNECT || rc == ECHO_C_SOCKOPT;
}

static int run_single(const struct echo_client_cfg *cfg)
{
	struct echo_report rep = rep_of(cfg);
	struct echo_result res = { .setup = { cfg->type, cfg->size, cfg->probes, cfg->delay_ns },
	                           .window = cfg->window };
	struct echo_conn_c c;
	struct echo_figures fig;
	int64_t wall = pk_wall_ns();
	char why[512];
	int rc, code;

	rc = echo_conn_open(&c, cfg);
	echo_report_stream_start(&rep, "client", cfg->host, c.addr.len ? &c.addr : NULL, wall);
	if (rc == ECHO_C_OK) {
		echo_report_connecting(&rep, cfg->host, &c.addr);
		if (cfg->csv)
			echo_report_probe_csv_header(&rep);
		rc = echo_session(&c, cfg, &res, &rep);
	}
	code = echo_outcome(cfg, &c, rc, no_session(rc) || rc == ECHO_C_SYS ? NULL : &res,
	            why, sizeof why);
	if (!no_session(rc) && !(rc == ECHO_C_SYS && res.rtt_ns == NULL)) {
		echo_figures_of(res.rtt_ns, res.echoed, res.setup.size,
		                res.last_echo_ns - res.first_send_ns, &fig);
		if (rep.json)
			echo_report_doc(&rep, echo_session_doc(cfg->host, &c.addr, wall, &res, &fig, why));
		else
			echo_report_session(&rep, cfg->host, &res, &fig);
	} else if (rep.json) {  /* the document says why even without a session */
		cJSON *doc = pk_json_envelope("tcp-echo", "client", cfg->host,
		                              c.addr.len ? &c.addr : NULL, wall);
		cJSON_AddObjectToObject(doc, "summary");
		cJSON_AddArrayToObject(doc, "samples");
		if (why[0])
			cJSON_AddStringToObject(doc, "error", why);
		echo_report_doc(&rep, doc);
	}
	echo_say_failure(&rep, rc, why);
	echo_conn_close(&c);
	free(res.rtt_ns);
	return code;
}

int echo_point_add(struct echo_point *p, const struct echo_result *res, int64_t *span)
{
	int64_t *v = realloc(p->rtt_ns, (p->fig.n + res->echoed + 1) * sizeof *v);
	int64_t *w, off = pk_wall_ns() - pk_now_ns();

	if (v == NULL)
		return -ENOMEM;
	p->rtt_ns = v;
	if ((w = realloc(p->wall_ns, (p->fig.n + res->echoed + 1) * sizeof *w)) == NULL)
		return -ENOMEM;
	p->wall_ns = w;
	memcpy(v + p->fig.n, res->rtt_ns, res->echoed * sizeof *v);
	for (uint64_t i = 0; i < res->echoed; i++)
		w[p->fig.n + i] = res->t0_ns[i] + off;
	p->fig.n += res->echoed;
	p->sessions++;
	if (res->echoed > 0)
		*span += res->last_echo_ns - res->first_send_ns;
	return 0;
}

/* Runs every session of the sweep in order; stops at the first failure. */
static int sweep_sessions(const struct echo_client_cfg *cfg, struct echo_point *pts,
                          size_t npts, int64_t *spans, struct echo_conn_c *c,
                          struct echo_result *res, const struct echo_report *rep)
{
	struct echo_report quiet = *rep;
	int rc = ECHO_C_OK;

	quiet.quiet = 1;
	quiet.stream = quiet.csv = 0;   /* a sweep's records are per point */
	for (size_t i = 0; i < npts && rc == ECHO_C_OK; i++) {
		for (unsigned r = 0; r < cfg->repeat && rc == ECHO_C_OK; r++) {
			free(res->rtt_ns);
			*res = (struct echo_result){
				.setup = { cfg->type, pts[i].size, cfg->probes, pts[i].delay_ns },
				.window = cfg->window };
			echo_conn_close(c);
			if (*cfg->stop)
				return ECHO_C_STOPPED;
			rc = echo_conn_open(c, cfg);
			if (rc == ECHO_C_OK)
				rc = echo_session(c, cfg, res, &quiet);
			if (res->rtt_ns != NULL && echo_point_add(&pts[i], res, &spans[i]) != 0)
				return c->err = -ENOMEM, ECHO_C_SYS;
			if (rc == ECHO_C_OK)
				echo_report_sweep_session(rep, &pts[i], r + 1, res);
		}
		if (rc == ECHO_C_OK) {
			echo_figures_of(pts[i].rtt_ns, pts[i].fig.n, pts[i].size, spans[i], &pts[i].fig);
			echo_report_sweep_point(rep, &pts[i], i);
		}
	}
	return rc;
}

static int sweep_outputs(const struct echo_client_cfg *cfg, const struct echo_conn_c *c,
                         int64_t wall, struct echo_point *pts, size_t npts,
                         const int64_t *delays, size_t nd, const char *why)
{
	struct echo_report rep = rep_of(cfg);
	struct echo_fit fits[ECHO_MAX_LIST];
	struct echo_sweep_result sr = { .cfg = cfg, .peer = c->addr, .start_wall_ns = wall,
	                                .pts = pts, .npts = npts, .fits = fits, .nfits = nd };
	int rc;

	for (size_t d = 0; d < nd; d++)
		echo_fit_points(pts, npts, delays[d], &fits[d]);
	if (rep.json)
		echo_report_doc(&rep, echo_sweep_doc(&sr, why));
	else
		echo_report_sweep(&rep, &sr);
	if (cfg->csv_file && (rc = echo_report_sweep_csv(cfg->csv_file, pts, npts)) != 0) {
		echo_report_error("%s: %s", cfg->csv_file, strerror(-rc));
		return 2;
	}
	struct echo_plot_spec ps = { .path = cfg->plot, .type = cfg->type, .host = cfg->host,
	                             .start_wall_ns = wall, .probes = cfg->probes * cfg->repeat,
	                             .panels = ECHO_PLOT_RTT | ECHO_PLOT_TPUT, .what = "sweep" };
	if (cfg->plot && (rc = echo_plot(&ps, pts, npts, fits, nd)) != 0) {
		echo_report_error("%s: %s", cfg->plot, rc == -ECHILD ? "gnuplot failed"
		                  : rc == -ENOENT ? "gnuplot not found" : strerror(-rc));
		return 2;
	}
	return 0;
}

static int run_sweep(const struct echo_client_cfg *cfg)
{
	const uint64_t *sizes = cfg->nsizes ? cfg->sizes
	                        : cfg->type == ECHO_RTT ? rtt_sizes : ttput_sizes;
	size_t ns = cfg->nsizes ? cfg->nsizes : 6, nd = cfg->ndelays ? cfg->ndelays : 1;
	const int64_t *delays = cfg->ndelays ? cfg->delays : &cfg->delay_ns;
	struct echo_point *pts = calloc(ns * nd, sizeof *pts);
	int64_t *spans = calloc(ns * nd, sizeof *spans), wall = pk_wall_ns();
	struct echo_report rep = rep_of(cfg);
	struct echo_result res = { 0 };
	struct echo_conn_c c = { .fd = -1 };
	char why[512];
	int rc, code, code2;

	if (pts == NULL || spans == NULL) {
		echo_report_error("out of memory");
		free(pts);
		free(spans);
		return 2;
	}
	for (size_t d = 0; d < nd; d++)
		for (size_t s = 0; s < ns; s++)
			pts[d * ns + s] = (struct echo_point){ .delay_ns = delays[d], .size = sizes[s] };
	if (rep.stream) {
		struct pk_addr a;
		int r = pk_resolve(cfg->host, cfg->port, cfg->family, SOCK_STREAM, 0, &a);
		echo_report_stream_start(&rep, "client", cfg->host, r < 0 ? NULL : &a, wall);
	}
	if (cfg->csv)
		echo_report_sweep_csv_header(&rep);
	rc = sweep_sessions(cfg, pts, ns * nd, spans, &c, &res, &rep);
	code = echo_outcome(cfg, &c, rc, no_session(rc) ? NULL : &res, why, sizeof why);
	if (rc == ECHO_C_STOPPED)
		code = 0;
	for (size_t i = 0; i < ns * nd; i++)
		echo_figures_of(pts[i].rtt_ns, pts[i].fig.n, pts[i].size, spans[i], &pts[i].fig);
	code2 = sweep_outputs(cfg, &c, wall, pts, ns * nd, delays, nd, why);
	echo_say_failure(&rep, rc, why);
	echo_conn_close(&c);
	for (size_t i = 0; i < ns * nd; i++) {
		free(pts[i].rtt_ns);
		free(pts[i].wall_ns);
	}
	free(pts);
	free(spans);
	free(res.rtt_ns);
	return code ? code : code2;
}

/* Seed 002's first half: send the text, print the echo, exit. */
static int run_plain(const struct echo_client_cfg *cfg)
{
	struct echo_report rep = rep_of(cfg);
	struct echo_conn_c c;
	size_t len = strlen(cfg->message), got = 0;
	char *buf = malloc(len + 1), why[512];
	int64_t t0 = 0, t1 = 0;
	int rc;

	if (buf == NULL)
		return 2;
	rc = echo_conn_open(&c, cfg);
	echo_report_stream_start(&rep, "client", cfg->host, c.addr.len ? &c.addr : NULL,
	                         pk_wall_ns());
	if (rc == ECHO_C_OK) {
		echo_report_plain_sending(&rep, cfg->host, &c.addr, cfg->message);
		t0 = pk_now_ns();
		rc = echo_send_all(&c, cfg->message, len, t0 + cfg->timeout_ns);
	}
	while (rc == ECHO_C_OK && got < len) {      /* the whole echo within -W */
		ssize_t n = echo_recv_some(&c, buf + got, len - got, t0 + cfg->timeout_ns);
		if (n <= 0)
			rc = -n == ECHO_C_SYS ? ECHO_C_CLOSED : (int)-n;
		else
			got += (size_t)n;
	}
	t1 = pk_now_ns();
	buf[got] = '\0';
	if (rc == ECHO_C_STOPPED)
		rc = ECHO_C_CLOSED;
	int code = echo_outcome(cfg, &c, rc, NULL, why, sizeof why);
	if (rc == ECHO_C_OK && memcmp(buf, cfg->message, len) != 0) {
		snprintf(why, sizeof why, "the echo differs from the message");
		code = 1;
	}
	if (!no_session(rc) && rc != ECHO_C_SYS)
		echo_report_plain_result(&rep, cfg->host, &c.addr, cfg->message, buf, got,
		                         t1 - t0, why);
	if (why[0])
		echo_report_error("%s", why);
	echo_conn_close(&c);
	free(buf);
	return code;
}

int echo_client_run(const struct echo_client_cfg *cfg)
{
	if (cfg->message != NULL)
		return run_plain(cfg);
	if (cfg->sweep)
		return run_sweep(cfg);
	return run_single(cfg);
}
