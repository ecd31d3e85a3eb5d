/* tcp-echo experiment: seed 002's experiment in one run (echo.h).
 *
 * The output directory is checked first (a non-empty one is refused unless
 * --force). Without a host the server is a child process of our own, in
 * its own process group (a Ctrl-C at the terminal reaches only us), bound
 * to loopback on port 0; its first line on a pipe gives the port, and it is
 * stopped by its PID with SIGTERM at the end, on every path. Then every
 * point of the rtt grid and of the ttput grid, one session per repeat, with
 * a progress line per point on stderr. Whatever was measured, interrupted
 * or not, is written: the CSVs, experiment.json, the figures (skipped with
 * a note when there is no gnuplot) and report.md (echo_exp_report.c).
 */
#include "echo_client.h"
#include "echo_exp_report.h"
#include "echo_plot.h"
#include "echo_spawn.h"
#include "pk_clock.h"
#include "pk_report.h"
#include "pk_out.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static const char *const outputs[] = {
	"rtt.csv", "ttput.csv", "experiment.json", "report.md",
	"rtt.png", "rtt.svg", "ttput.png", "ttput.svg",
};

/* ---- the directory -------------------------------------------------- */

static int dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;

	if (d == NULL)
		return -errno;
	while (empty && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

static int path_in(char *buf, size_t cap, const char *dir, const char *name)
{
	return snprintf(buf, cap, "%s/%s", dir, name) < (int)cap ? 0 : -ENAMETOOLONG;
}

/* Creates dir, or takes an empty one (a non-empty one with force, after
 * removing the files an earlier run left). 2 and a message, or 0. */
static int prepare_dir(const struct echo_exp_cfg *cfg)
{
	char p[4096];
	int e;

	if (mkdir(cfg->dir, 0777) == 0)
		return 0;
	if (errno != EEXIST) {
		echo_report_error("output directory '%s': %s", cfg->dir, strerror(errno));
		return 2;
	}
	if ((e = dir_empty(cfg->dir)) < 0) {
		echo_report_error("output directory '%s': %s", cfg->dir, strerror(-e));
		return 2;
	}
	if (e == 0 && !cfg->force) {
		echo_report_error("output directory '%s' is not empty (--force writes into it)",
		                  cfg->dir);
		return 2;
	}
	for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++)
		if (path_in(p, sizeof p, cfg->dir, outputs[i]) == 0)
			(void)unlink(p);
	return 0;
}

/* ---- the run -------------------------------------------------------- */

struct grid {
	struct echo_client_cfg ccfg;    /* what the sessions of this mode use */
	struct echo_point *pts;
	int64_t *spans;
	size_t npts, done;
	struct echo_fit fits[ECHO_MAX_LIST];
	size_t nfits;
};

static int grid_init(struct grid *g, const struct echo_exp_cfg *cfg, enum echo_mtype type,
                     const char *host, uint16_t port)
{
	const uint64_t *sizes = type == ECHO_RTT ? cfg->sizes_rtt : cfg->sizes_ttput;
	size_t ns = type == ECHO_RTT ? cfg->nsizes_rtt : cfg->nsizes_ttput;

	memset(g, 0, sizeof *g);
	g->ccfg = (struct echo_client_cfg){
		.host = host, .port = port, .family = cfg->family, .type = type,
		.probes = cfg->probes, .timeout_ns = cfg->timeout_ns, .window = 1,
		.sweep = 1, .repeat = cfg->repeat, .stop = cfg->stop, .so = PK_SOCKOPT_INIT,
	};
	g->npts = ns * cfg->ndelays;
	g->pts = calloc(g->npts, sizeof *g->pts);
	g->spans = calloc(g->npts, sizeof *g->spans);
	if (g->pts == NULL || g->spans == NULL)
		return -ENOMEM;
	for (size_t d = 0; d < cfg->ndelays; d++)
		for (size_t i = 0; i < ns; i++)
			g->pts[d * ns + i] = (struct echo_point){ .delay_ns = cfg->delays[d],
			                                          .size = sizes[i] };
	return 0;
}

static void grid_free(struct grid *g)
{
	for (size_t i = 0; g->pts && i < g->npts; i++) {
		free(g->pts[i].rtt_ns);
		free(g->pts[i].wall_ns);
	}
	free(g->pts);
	free(g->spans);
}

/* The expected cost of a point, for the ETA: its probes' delays plus 1 ms
 * each and 2 ms per session. */
static double weight(const struct echo_exp_cfg *cfg, const struct echo_point *p)
{
	return (double)cfg->repeat * ((double)cfg->probes * ((double)p->delay_ns / 1e6 + 1.0) + 2.0);
}

struct progress {
	size_t k, total;
	double w_done, w_total;
	int64_t t0;
};

static void say_progress(struct progress *pr, const struct grid *g, const struct echo_point *p)
{
	double el = (double)(pk_now_ns() - pr->t0) / 1e9;
	double eta = pr->w_done > 0 ? el * (pr->w_total - pr->w_done) / pr->w_done : 0;

	echo_exp_say_point(stderr, pr->k, pr->total, g->ccfg.type, p, el, eta);
}

/* Every session of every point of g; stops at the first failure. */
static int grid_run(const struct echo_exp_cfg *cfg, struct grid *g, struct progress *pr,
                    struct echo_conn_c *c, struct echo_result *res)
{
	struct echo_report quiet = { .out = stdout, .quiet = 1 };
	int rc = ECHO_C_OK;

	for (size_t i = 0; i < g->npts && rc == ECHO_C_OK; i++) {
		struct echo_point *p = &g->pts[i];
		for (unsigned r = 0; r < cfg->repeat && rc == ECHO_C_OK; r++) {
			free(res->rtt_ns);
			*res = (struct echo_result){
				.setup = { g->ccfg.type, p->size, cfg->probes, p->delay_ns },
				.window = 1 };
			echo_conn_close(c);
			if (*cfg->stop) {
				rc = ECHO_C_STOPPED;
				break;
			}
			rc = echo_conn_open(c, &g->ccfg);
			if (rc == ECHO_C_OK)
				rc = echo_session(c, &g->ccfg, res, &quiet);
			if (res->rtt_ns != NULL && res->echoed > 0) {
				if (echo_point_add(p, res, &g->spans[i]) != 0) {
					c->err = -ENOMEM;
					rc = ECHO_C_SYS;
				}
				g->done = i + 1;
			}
		}
		echo_figures_of(p->rtt_ns, p->fig.n, p->size, g->spans[i], &p->fig);
		if (rc == ECHO_C_OK) {
			pr->k++;
			pr->w_done += weight(cfg, p);
			say_progress(pr, g, p);
			if (cfg->stream) {      /* a sample per point, seq = points done */
				cJSON *o = pk_json_sample(pr->k - 1, pk_wall_ns());
				cJSON_AddStringToObject(o, "mode", g->ccfg.type == ECHO_RTT ? "rtt" : "ttput");
				cJSON_AddItemToObject(o, "point", echo_json_point(p));
				pk_json_stream_event(stdout, "sample", o);
				cJSON_Delete(o);
			}
		}
	}
	return rc;
}

static void grid_fit(struct grid *g, const struct echo_exp_cfg *cfg)
{
	g->nfits = 0;
	for (size_t d = 0; d < cfg->ndelays; d++) {
		int any = 0;
		for (size_t i = 0; i < g->done; i++)
			any |= g->pts[i].delay_ns == cfg->delays[d];
		if (any)
			echo_fit_points(g->pts, g->done, cfg->delays[d], &g->fits[g->nfits++]);
	}
}

/* ---- the outputs ---------------------------------------------------- */

struct exp_run {
	const struct echo_exp_cfg *cfg;
	struct grid g[2];               /* rtt, ttput */
	struct pk_addr peer;
	const char *host;
	char server[160], kernel[128], why[512];
	int64_t wall, t0;
	int partial, figures, plot_rc;
};

static void sweep_of(const struct exp_run *x, int m, struct echo_sweep_result *sr)
{
	*sr = (struct echo_sweep_result){ .cfg = &x->g[m].ccfg, .peer = x->peer,
	                                  .start_wall_ns = x->wall, .pts = x->g[m].pts,
	                                  .npts = x->g[m].done, .fits = x->g[m].fits,
	                                  .nfits = x->g[m].nfits };
}

static cJSON *exp_json(const struct exp_run *x)
{
	static const char *const mode[2] = { "rtt", "ttput" };
	const struct echo_exp_cfg *cfg = x->cfg;
	cJSON *doc = pk_json_envelope("tcp-echo", "experiment", x->host,
	                              x->peer.len ? &x->peer : NULL, x->wall);
	cJSON *sum = cJSON_AddObjectToObject(doc, "summary");
	cJSON *sw, *smp, *de, *ds;
	struct echo_sweep_result sr;
	struct echo_line l;

	cJSON_AddStringToObject(sum, "mode", "experiment");
	cJSON_AddBoolToObject(sum, "partial", x->partial);
	cJSON_AddNumberToObject(sum, "points_done", (double)(x->g[0].done + x->g[1].done));
	cJSON_AddNumberToObject(sum, "points_total", (double)(x->g[0].npts + x->g[1].npts));
	cJSON_AddNumberToObject(sum, "probes", (double)cfg->probes);
	cJSON_AddNumberToObject(sum, "repeat", cfg->repeat);
	cJSON_AddNumberToObject(sum, "window", 1);
	ds = cJSON_AddArrayToObject(sum, "server_delays_s");
	for (size_t d = 0; d < cfg->ndelays; d++)
		cJSON_AddItemToArray(ds, cJSON_CreateNumber((double)cfg->delays[d] / 1e9));
	cJSON_AddBoolToObject(sum, "own_server", cfg->host == NULL);
	cJSON_AddStringToObject(sum, "kernel", x->kernel);
	cJSON_AddStringToObject(sum, "command", cfg->command ? cfg->command : "");
	cJSON_AddBoolToObject(sum, "figures", x->figures);
	echo_delay_effect(x->g[0].pts, x->g[0].done, &l);
	de = cJSON_AddObjectToObject(sum, "delay_effect");
	pk_json_num(de, "rtt_ms_per_delay_ms", l.b, l.valid);
	pk_json_num(de, "ci95", l.b_ci, l.valid && isfinite(l.b_ci));
	pk_json_num(de, "r2", l.r2, l.valid);
	cJSON_AddNumberToObject(de, "samples", (double)l.n);
	sw = cJSON_AddArrayToObject(sum, "sweeps");
	smp = cJSON_AddArrayToObject(doc, "samples");
	for (int m = 0; m < 2; m++) {
		sweep_of(x, m, &sr);
		cJSON_AddItemToArray(sw, echo_json_sweep_summary(&sr));
		echo_json_sweep_samples(smp, &sr, mode[m]);
	}
	if (x->why[0])
		cJSON_AddStringToObject(doc, "error", x->why);
	return doc;
}

static FILE *open_in(const char *dir, const char *name)
{
	char p[4096];

	if (path_in(p, sizeof p, dir, name) != 0)
		return errno = ENAMETOOLONG, NULL;
	return fopen(p, "w");
}

static int close_ok(FILE *f)
{
	int bad = ferror(f);
	return fclose(f) == 0 && !bad ? 0 : -EIO;
}

/* The four figures; sets x->figures and x->plot_rc (-ENOENT: no gnuplot). */
static void draw(struct exp_run *x)
{
	static const char *const names[2][2] = { { "rtt.png", "rtt.svg" },
	                                         { "ttput.png", "ttput.svg" } };
	char p[4096];

	x->figures = 1;
	for (int m = 0; m < 2 && x->plot_rc == 0; m++) {
		struct grid *g = &x->g[m];
		if (g->done == 0)
			continue;
		for (int k = 0; k < 2 && x->plot_rc == 0; k++) {
			struct echo_plot_spec ps = {
				.path = p, .type = g->ccfg.type, .host = x->host, .start_wall_ns = x->wall,
				.probes = x->cfg->probes * x->cfg->repeat,
				.panels = m == 0 ? ECHO_PLOT_RTT : ECHO_PLOT_TPUT, .what = "experiment" };
			if ((x->plot_rc = path_in(p, sizeof p, x->cfg->dir, names[m][k])) == 0)
				x->plot_rc = echo_plot(&ps, g->pts, g->done, g->fits, g->nfits);
		}
	}
	if (x->plot_rc != 0)
		x->figures = 0;
}

static int write_outputs(struct exp_run *x)
{
	const struct echo_exp_cfg *cfg = x->cfg;
	char p[4096], note[160] = "";
	struct echo_exp_result er;
	cJSON *doc;
	FILE *f;
	int rc = 0;

	for (int m = 0; m < 2 && rc == 0; m++) {
		if ((rc = path_in(p, sizeof p, cfg->dir, m == 0 ? "rtt.csv" : "ttput.csv")) == 0)
			rc = echo_report_sweep_csv(p, x->g[m].pts, x->g[m].done);
	}
	draw(x);
	if (x->plot_rc != 0) {
		snprintf(note, sizeof note, "%s", x->plot_rc == -ENOENT
		         ? "gnuplot not found (install gnuplot-nox to draw them)"
		         : "gnuplot failed");
		echo_exp_say_figures_skipped(stderr, note);
	}
	doc = exp_json(x);
	if (rc == 0 && (f = open_in(cfg->dir, "experiment.json")) != NULL) {
		pk_json_print(f, doc, 0);
		rc = close_ok(f);
	} else if (rc == 0) {
		rc = -errno;
	}
	if (cfg->stream) {
		pk_json_stream_event(stdout, "end", doc);
	} else if (cfg->json) {
		pk_json_print(stdout, doc, 0);
		pk_out_flush(stdout);
	}
	cJSON_Delete(doc);
	er = (struct echo_exp_result){
		.server = x->server, .kernel = x->kernel, .command = cfg->command ? cfg->command : "",
		.start_wall_ns = x->wall, .duration_ns = pk_now_ns() - x->t0,
		.probes = cfg->probes, .repeat = cfg->repeat, .delays = cfg->delays,
		.ndelays = cfg->ndelays, .done = x->g[0].done + x->g[1].done,
		.total = x->g[0].npts + x->g[1].npts, .partial = x->partial,
		.error = x->why[0] ? x->why : NULL, .figures_note = note[0] ? note : NULL,
	};
	for (int m = 0; m < 2; m++)
		er.sweep[m] = (struct echo_exp_sweep){ x->g[m].ccfg.type, x->g[m].pts, x->g[m].done,
		                                       x->g[m].fits, x->g[m].nfits,
		                                       x->figures && x->g[m].done > 0 };
	if (rc == 0 && (f = open_in(cfg->dir, "report.md")) != NULL) {
		echo_exp_markdown(f, &er);
		rc = close_ok(f);
	} else if (rc == 0) {
		rc = -errno;
	}
	if (rc != 0)
		echo_report_error("output directory '%s': %s", cfg->dir, strerror(-rc));
	return rc;
}

/* The tables and fits on stdout (not under -q / -J), the effect. */
static void print_text(const struct exp_run *x)
{
	struct echo_report rep = { .out = stdout };
	struct echo_sweep_result sr;

	for (int m = 0; m < 2; m++) {
		if (x->g[m].done == 0)
			continue;
		sweep_of(x, m, &sr);
		echo_report_sweep(&rep, &sr);
	}
	echo_exp_say_effect(stdout, x->g[0].pts, x->g[0].done, x->g[1].pts, x->g[1].done);
	pk_out_flush(stdout);
}

int echo_exp_run(const struct echo_exp_cfg *cfg)
{
	struct exp_run x = { .cfg = cfg, .wall = pk_wall_ns(), .t0 = pk_now_ns() };
	struct echo_spawn srv = { .pid = 0, .fd = -1 };
	struct echo_conn_c c = { .fd = -1 };
	struct echo_result res = { 0 };
	struct progress pr = { .t0 = pk_now_ns() };
	struct utsname u;
	uint16_t port = cfg->port;
	int rc = ECHO_C_OK, code = 0;

	if ((code = prepare_dir(cfg)) != 0)
		return code;
	snprintf(x.kernel, sizeof x.kernel, "%s", uname(&u) == 0 ? u.release : "unknown");
	x.host = cfg->host;
	if (x.host == NULL) {
		x.host = cfg->family == AF_INET6 ? "::1" : "127.0.0.1";
		if ((code = echo_spawn_server(cfg, &srv)) != 0) {
			echo_report_error("own server: %s", strerror(-code));
			return 2;
		}
		port = srv.port;
		snprintf(x.server, sizeof x.server, "%s port %u (own server on loopback, pid %ld)",
		         x.host, (unsigned)port, (long)srv.pid);
	} else {
		snprintf(x.server, sizeof x.server, "%s port %u", x.host, (unsigned)port);
	}
	if (pk_resolve(x.host, port, cfg->family, SOCK_STREAM, 0, &x.peer) < 0)
		memset(&x.peer, 0, sizeof x.peer);   /* the first session says why */
	if (grid_init(&x.g[0], cfg, ECHO_RTT, x.host, port) != 0 ||
	    grid_init(&x.g[1], cfg, ECHO_TTPUT, x.host, port) != 0) {
		echo_report_error("out of memory");
		code = 2;
		goto out;
	}
	pr.total = x.g[0].npts + x.g[1].npts;
	if (cfg->stream) {
		cJSON *st = pk_json_envelope("tcp-echo", "experiment", x.host,
		                             x.peer.len ? &x.peer : NULL, x.wall);
		pk_json_stream_event(stdout, "start", st);
		cJSON_Delete(st);
	}
	for (int m = 0; m < 2; m++)
		for (size_t i = 0; i < x.g[m].npts; i++)
			pr.w_total += weight(cfg, &x.g[m].pts[i]);
	/* the expected length up front: a bare number in --delays is seconds,
	 * so "--delays 0,20,50" asks for hours, and says so before the first
	 * point instead of after it */
	echo_exp_say_plan(stderr, pr.total, x.g[0].npts, x.g[1].npts, cfg->probes, cfg->repeat,
	                  x.server, cfg->dir, pr.w_total);
	for (int m = 0; m < 2 && rc == ECHO_C_OK; m++)
		rc = grid_run(cfg, &x.g[m], &pr, &c, &res);
	if (rc != ECHO_C_OK) {
		const struct echo_client_cfg *cc = &x.g[x.g[1].done > 0 || rc == ECHO_C_STOPPED ? 1 : 0].ccfg;
		x.partial = 1;
		code = echo_outcome(cc, &c, rc, rc == ECHO_C_CONNECT ? NULL : &res, x.why,
		                    sizeof x.why);
		if (rc == ECHO_C_STOPPED) {
			code = x.g[0].done + x.g[1].done > 0 ? 0 : 1;
			snprintf(x.why, sizeof x.why, "interrupted by a signal");
			echo_exp_say_interrupted(stderr, pr.k, pr.total);
		} else {
			struct echo_report rep = { .out = stdout, .json = 1, .quiet = 1 };
			echo_say_failure(&rep, rc, x.why);
		}
	}
	for (int m = 0; m < 2; m++)
		grid_fit(&x.g[m], cfg);
	if (write_outputs(&x) != 0)
		code = 2;
	else if (!cfg->quiet && !cfg->json && !cfg->stream)
		print_text(&x);
	echo_exp_say_written(stderr, x.partial, cfg->dir, x.figures);
out:
	echo_conn_close(&c);
	free(res.rtt_ns);
	grid_free(&x.g[0]);
	grid_free(&x.g[1]);
	echo_spawn_stop(&srv);
	return code;
}
