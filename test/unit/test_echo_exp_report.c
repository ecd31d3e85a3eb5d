/* echo_exp_report: the experiment's report.md and its sentences, from
 * synthetic sweeps (open_memstream, no files). */
#include "cm.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_exp_report.h"

#define ND 3
#define NS 3
#define NP 10

static const int64_t delays[ND] = { 0, 20000000, 50000000 };
static const uint64_t rsizes[NS] = { 1, 500, 1000 };
static const uint64_t tsizes[NS] = { 1024, 8192, 32768 };

struct fixture {
	int64_t rtt[2][ND * NS][NP];
	struct echo_point pts[2][ND * NS];
	struct echo_fit fits[2][ND];
	struct echo_exp_result r;
};

/* RTT = delay + 50 us (+ size / 100 Mbit/s when sized) +- 5 us. */
static void build(struct fixture *x, int sized)
{
	memset(x, 0, sizeof *x);
	for (int m = 0; m < 2; m++) {
		for (int d = 0; d < ND; d++) {
			for (int s = 0; s < NS; s++) {
				int i = d * NS + s;
				uint64_t size = m == 0 ? rsizes[s] : tsizes[s];
				for (int k = 0; k < NP; k++)
					x->rtt[m][i][k] = delays[d] + 50000 + (k % 2 ? 5000 : -5000) +
					                  (sized ? (int64_t)size * 80 : 0);
				x->pts[m][i] = (struct echo_point){ .delay_ns = delays[d], .size = size,
				                                    .sessions = 1, .rtt_ns = x->rtt[m][i] };
				echo_figures_of(x->rtt[m][i], NP, size, 0, &x->pts[m][i].fig);
			}
			echo_fit_points(x->pts[m], ND * NS, delays[d], &x->fits[m][d]);
		}
		x->r.sweep[m] = (struct echo_exp_sweep){ m == 0 ? ECHO_RTT : ECHO_TTPUT, x->pts[m],
		                                         ND * NS, x->fits[m], ND, 1 };
	}
	x->r.server = "127.0.0.1 port 9900 (own server on loopback, pid 1)";
	x->r.kernel = "6.1.0-test";
	x->r.command = "tcp-echo experiment -o out";
	x->r.start_wall_ns = 1700000000LL * 1000000000LL;
	x->r.duration_ns = 2500000000LL;
	x->r.probes = NP;
	x->r.repeat = 1;
	x->r.delays = delays;
	x->r.ndelays = ND;
	x->r.done = x->r.total = 2 * ND * NS;
}

static char *render(const struct echo_exp_result *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	echo_exp_markdown(f, r);
	fclose(f);
	return buf;
}

static void sentences(void **st)
{
	static struct fixture x;
	struct echo_line l;
	char b[256];
	(void)st;
	build(&x, 0);
	echo_delay_effect(x.pts[0], ND * NS, &l);
	echo_exp_delay_sentence(&l, b, sizeof b);
	assert_non_null(strstr(b, "RTT rises 1.00 ms per ms of server delay"));
	assert_non_null(strstr(b, "90 samples"));
	echo_exp_tput_sentence(&x.r.sweep[1], b, sizeof b);
	if (getenv("PK_SHOW"))
		fprintf(stderr, "%s\n", b);
	/* 32 KiB: the mean of 8 * 32768 / 45 us and / 55 us = 5296 Mbit/s; at 50 ms 5.24 */
	assert_non_null(strstr(b, "throughput at 32 KiB falls from 5296 Mbit/s at 0 ms to 5.24 "
	                          "Mbit/s at 50 ms of server delay"));
	/* one delay only */
	echo_delay_effect(x.pts[0], NS, &l);
	assert_non_null(strstr(echo_exp_delay_sentence(&l, b, sizeof b), "not measured"));
	struct echo_exp_sweep one = x.r.sweep[1];
	one.npts = NS;
	assert_string_equal(echo_exp_tput_sentence(&one, b, sizeof b), "");
}

static void report_no_size_effect(void **st)
{
	static struct fixture x;
	(void)st;
	build(&x, 0);
	char *md = render(&x.r);
	assert_non_null(strstr(md, "# tcp-echo experiment"));
	assert_null(strstr(md, "Partial run"));
	assert_non_null(strstr(md, "| kernel (`uname -r`, this host) | 6.1.0-test |"));
	assert_non_null(strstr(md, "`tcp-echo experiment -o out`"));
	assert_non_null(strstr(md, "![mean RTT against message size"));
	assert_non_null(strstr(md, "(rtt.png)"));
	assert_non_null(strstr(md, "[ttput.svg](ttput.svg)"));
	assert_non_null(strstr(md, "RTT rises 1.00 ms per ms of server delay"));
	/* a table row per point: delay 20 ms, 500 B, 10 probes, 20.050 ms */
	assert_non_null(strstr(md, "| 20 | 500 | 10 | 20.050 |"));
	/* no bandwidth where size changes nothing */
	assert_non_null(strstr(md, "size has no measurable effect on this path"));
	assert_null(strstr(md, "size adds"));
	free(md);
}

static void report_size_effect_and_partial(void **st)
{
	static struct fixture x;
	(void)st;
	build(&x, 1);
	x.r.partial = 1;
	x.r.done = 7;
	x.r.sweep[1].npts = 0;
	x.r.sweep[1].nfits = 0;
	x.r.sweep[0].npts = 7;
	x.r.sweep[0].nfits = 2;
	x.r.error = NULL;
	x.r.figures_note = "gnuplot not found";
	x.r.sweep[0].figures = x.r.sweep[1].figures = 0;
	char *md = render(&x.r);
	if (getenv("PK_SHOW"))
		fputs(md, stderr);
	assert_non_null(strstr(md, "**Partial run**: it ended after 7 of 18 points (interrupted)"));
	assert_non_null(strstr(md, "Figures skipped: gnuplot not found"));
	assert_null(strstr(md, "rtt.png"));
	/* 80 ns per byte = 100 Mbit/s, at the two delays with every size */
	assert_non_null(strstr(md, "| 0 | 30 | 0.050 \xc2\xb1 "));
	assert_non_null(strstr(md, "size adds 80 ns per byte"));
	assert_non_null(strstr(md, "100 (") );
	assert_non_null(strstr(md, "Not measured."));
	assert_non_null(strstr(md, "that is 1 ms per ms"));
	free(md);
}

/* The run's lines: the plan states its length in minutes past 2 minutes
 * (a bare "--delays 0,20,50" is seconds: 140 min, said at once). */
static void run_lines(void **st)
{
	char buf[512];
	FILE *f = tmpfile();
	struct echo_point p = { .delay_ns = 50000000, .size = 100 };
	(void)st;
	assert_non_null(f);
	echo_exp_say_plan(f, 36, 18, 18, 10, 1, "h port 1", "d", 140 * 60e3);
	echo_exp_say_plan(f, 2, 1, 1, 10, 1, "h port 1", "d", 1500);
	p.fig.rtt.avg = 50.25;
	echo_exp_say_point(f, 3, 36, ECHO_RTT, &p, 1.5, 10.25);
	echo_exp_say_written(f, 1, "d", 0);
	rewind(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	assert_string_equal(buf, "experiment: 36 points (18 rtt, 18 ttput), 10 probes x 1 per "
	                    "point, server h port 1, into d; expected 140.0 min\n");
	assert_non_null(fgets(buf, sizeof buf, f));
	assert_non_null(strstr(buf, "; expected 1.5 s\n"));
	assert_non_null(fgets(buf, sizeof buf, f));
	assert_string_equal(buf, "point 3/36: rtt, delay 50 ms, 100 B: mean RTT 50.250 ms; "
	                    "elapsed 1.5 s, ETA 10.2 s\n");
	assert_non_null(fgets(buf, sizeof buf, f));
	assert_string_equal(buf, "partial experiment written to d/ (report.md, rtt.csv, ttput.csv, "
	                    "experiment.json; figures skipped)\n");
	fclose(f);
}

CM_MAIN(CM_T(run_lines), CM_T(sentences), CM_T(report_no_size_effect), CM_T(report_size_effect_and_partial))
