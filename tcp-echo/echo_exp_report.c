/* echo_exp_report: the experiment's report.md (see echo_exp_report.h). */
#include "echo_exp_report.h"
#include "pk_clock.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static const char *const mode_file[2] = { "rtt", "ttput" };

static double ms(int64_t ns) { return (double)ns / 1e6; }

/* "32 KiB" or "100 B". */
static const char *size_str(uint64_t size, char *b, size_t cap)
{
	if (size >= 1024 && size % 1024 == 0)
		snprintf(b, cap, "%" PRIu64 " KiB", size / 1024);
	else
		snprintf(b, cap, "%" PRIu64 " B", size);
	return b;
}

/* A figure with three significant digits, no exponent below 1e6. */
static const char *num(double v, char *b, size_t cap)
{
	double a = fabs(v);

	if (!isfinite(v))
		snprintf(b, cap, "-");
	else if (a >= 100 && a < 1e6)
		snprintf(b, cap, "%.0f", v);
	else if (a >= 1 || a == 0)
		snprintf(b, cap, "%.3g", v);
	else if (a >= 1e-3)
		snprintf(b, cap, "%.3f", v);
	else
		snprintf(b, cap, "%.2g", v);
	return b;
}

char *echo_exp_delay_sentence(const struct echo_line *l, char *buf, size_t cap)
{
	if (!l->valid) {
		snprintf(buf, cap, "the effect of the server delay is not measured "
		         "(it needs points at two delays)");
		return buf;
	}
	snprintf(buf, cap, "RTT %s %.2f ms per ms of server delay (95%% CI %.3f..%.3f, "
	         "r\xc2\xb2 %.3f, %zu samples)", l->b >= 0 ? "rises" : "falls", fabs(l->b),
	         l->b - l->b_ci, l->b + l->b_ci, l->r2, l->n);
	return buf;
}

char *echo_exp_tput_sentence(const struct echo_exp_sweep *s, char *buf, size_t cap)
{
	const struct echo_point *lo = NULL, *hi = NULL;
	uint64_t big = 0;
	char a[32], b[32], q[32], z[32];

	buf[0] = '\0';
	for (size_t i = 0; i < s->npts; i++)
		if (s->pts[i].fig.n > 0 && s->pts[i].size > big)
			big = s->pts[i].size;
	for (size_t i = 0; i < s->npts; i++) {
		const struct echo_point *p = &s->pts[i];
		if (p->fig.n == 0 || p->size != big)
			continue;
		if (lo == NULL || p->delay_ns < lo->delay_ns)
			lo = p;
		if (hi == NULL || p->delay_ns > hi->delay_ns)
			hi = p;
	}
	if (lo == NULL || lo == hi)
		return buf;
	double x = lo->fig.tput_mbps[EF_MEAN], y = hi->fig.tput_mbps[EF_MEAN];
	snprintf(buf, cap, "throughput at %s %s from %s Mbit/s at %g ms to %s Mbit/s at %g ms "
	         "of server delay (%s times %s)", size_str(big, z, sizeof z),
	         y <= x ? "falls" : "rises", num(x, a, sizeof a), ms(lo->delay_ns),
	         num(y, b, sizeof b), ms(hi->delay_ns),
	         num(y > 0 && y <= x ? x / y : x > 0 ? y / x : NAN, q, sizeof q),
	         y <= x ? "less" : "more");
	return buf;
}

static void setup_section(FILE *f, const struct echo_exp_result *r)
{
	char when[40];

	fprintf(f, "## Setup\n\n| | |\n|---|---|\n");
	fprintf(f, "| server | %s |\n", r->server);
	fprintf(f, "| kernel (`uname -r`, this host) | %s |\n", r->kernel);
	fprintf(f, "| date | %s |\n", pk_wall_iso(r->start_wall_ns, when, sizeof when));
	fprintf(f, "| duration | %.1f s |\n", (double)r->duration_ns / 1e9);
	fprintf(f, "| command | `%s` |\n", r->command);
	fprintf(f, "| probes | %" PRIu64 " per session, %u session%s per point, one connection "
	        "per session, stop-and-wait |\n", r->probes, r->repeat, r->repeat == 1 ? "" : "s");
	fprintf(f, "| server delays | ");
	for (size_t i = 0; i < r->ndelays; i++)
		fprintf(f, "%s%g ms", i ? ", " : "", ms(r->delays[i]));
	fprintf(f, " |\n| points | %zu of %zu measured |\n\n", r->done, r->total);
}

static void effect_section(FILE *f, const struct echo_exp_result *r, const struct echo_line *l)
{
	const struct echo_exp_sweep *rs = &r->sweep[0];
	char s[256];

	fprintf(f, "## Effect of the server delay\n\n");
	fprintf(f, "- %s; least squares of every RTT sample of the RTT mode against its "
	        "server delay.\n", echo_exp_delay_sentence(l, s, sizeof s));
	/* the mean RTT of each delay over every size, against the lowest delay */
	double base = NAN;
	int64_t base_d = 0;
	for (size_t d = 0; d < rs->nfits; d++) {
		double sum = 0;
		uint64_t n = 0;
		for (size_t i = 0; i < rs->npts; i++)
			if (rs->pts[i].delay_ns == rs->fits[d].delay_ns)
				for (uint64_t k = 0; k < rs->pts[i].fig.n; k++, n++)
					sum += ms(rs->pts[i].rtt_ns[k]);
		if (n == 0)
			continue;
		if (isnan(base)) {
			base = sum / (double)n;
			base_d = rs->fits[d].delay_ns;
			fprintf(f, "- Mean RTT over every size: %.3f ms at %g ms of delay", base,
			        ms(base_d));
		} else {
			fprintf(f, "; %.3f ms at %g ms (+%.3f ms for +%g ms of delay)", sum / (double)n,
			        ms(rs->fits[d].delay_ns), sum / (double)n - base,
			        ms(rs->fits[d].delay_ns - base_d));
		}
	}
	if (!isnan(base))
		fprintf(f, ".\n");
	if (echo_exp_tput_sentence(&r->sweep[1], s, sizeof s)[0] != '\0')
		fprintf(f, "- The %s.\n", s);
	fputc('\n', f);
}

static void points_table(FILE *f, const struct echo_exp_sweep *s)
{
	char a[32], b[32], c[32];

	fprintf(f, "| delay (ms) | size (B) | probes | mean RTT (ms) | \xc2\xb1 95%% CI | min | "
	        "p50 | p99 | mean throughput (Mbit/s) | \xc2\xb1 95%% CI |\n"
	        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < s->npts; i++) {
		const struct echo_figures *g = &s->pts[i].fig;
		if (g->n == 0) {
			fprintf(f, "| %g | %" PRIu64 " | 0 | - | - | - | - | - | - | - |\n",
			        ms(s->pts[i].delay_ns), s->pts[i].size);
			continue;
		}
		fprintf(f, "| %g | %" PRIu64 " | %" PRIu64 " | %.3f | %s | %.3f | %.3f | %.3f | %s | %s |\n",
		        ms(s->pts[i].delay_ns), s->pts[i].size, g->n, g->rtt.avg,
		        num(echo_ci95(g->rtt.mdev, g->n), a, sizeof a), g->rtt.min, g->rtt.p50,
		        g->rtt.p99, num(g->tput_mbps[EF_MEAN], b, sizeof b),
		        num(echo_ci95(g->tput_mbps[EF_SD], g->n), c, sizeof c));
	}
	fputc('\n', f);
}

static void fit_table(FILE *f, const struct echo_exp_sweep *s)
{
	char a[32], b[32], c[32], d[32];

	fprintf(f, "Fit RTT = a + size / b per delay (least squares over every sample; "
	        "95%% intervals, Student's t):\n\n"
	        "| delay (ms) | samples | a (ms) | b (Mbit/s) | r\xc2\xb2 | |\n"
	        "|---:|---:|---:|---:|---:|---|\n");
	for (size_t i = 0; i < s->nfits; i++) {
		const struct echo_fit *ft = &s->fits[i];
		fprintf(f, "| %g | %zu | ", ms(ft->delay_ns), ft->n);
		if (!ft->valid) {
			fprintf(f, "- | - | - | no fit (needs two sizes) |\n");
			continue;
		}
		fprintf(f, "%.3f \xc2\xb1 %s | ", ft->a_ms, num(ft->a_ci_ms, a, sizeof a));
		if (ft->significant)
			fprintf(f, "%s (%s..%s) | %.3f | size adds %s ns per byte |\n",
			        num(ft->bandwidth_mbps, a, sizeof a), num(ft->bw_lo_mbps, b, sizeof b),
			        num(ft->bw_hi_mbps, c, sizeof c), ft->r2,
			        num(ft->b_ms_per_byte * 1e6, d, sizeof d));
		else
			fprintf(f, "- | %.3f | size has no measurable effect on this path (slope %s "
			        "\xc2\xb1 %s ns per byte) |\n", ft->r2,
			        num(ft->b_ms_per_byte * 1e6, b, sizeof b),
			        num(ft->b_ci_ms_per_byte * 1e6, c, sizeof c));
	}
	fputc('\n', f);
}

static void mode_section(FILE *f, const struct echo_exp_result *r, int m)
{
	const struct echo_exp_sweep *s = &r->sweep[m];

	fprintf(f, "## %s mode\n\n", m == 0 ? "RTT" : "Throughput");
	if (s->figures)
		fprintf(f, "![mean %s against message size, one curve per server delay](%s.png)\n\n"
		        "Figure: [%s.png](%s.png), [%s.svg](%s.svg). Data: [%s.csv](%s.csv).\n\n",
		        m == 0 ? "RTT" : "throughput", mode_file[m], mode_file[m], mode_file[m],
		        mode_file[m], mode_file[m], mode_file[m], mode_file[m]);
	else
		fprintf(f, "Figures skipped%s%s. Data: [%s.csv](%s.csv).\n\n",
		        r->figures_note ? ": " : "", r->figures_note ? r->figures_note : "",
		        mode_file[m], mode_file[m]);
	if (s->npts == 0) {
		fprintf(f, "Not measured.\n\n");
		return;
	}
	points_table(f, s);
	fit_table(f, s);
}

static void discussion(FILE *f, const struct echo_exp_result *r, const struct echo_line *l)
{
	const struct echo_exp_sweep *rs = &r->sweep[0];
	size_t sig = 0, fits = 0;
	char s[256];

	fprintf(f, "## Discussion\n\n");
	if (l->valid) {
		/* 1 within the interval, or within 1% (a clean run's interval is tiny) */
		int has1 = fabs(l->b - 1) <= (isfinite(l->b_ci) && l->b_ci > 0.01 ? l->b_ci : 0.01);
		fprintf(f, "- **Server delay.** Each ms the server waits adds %.2f ms to the RTT. "
		        "The client sends a probe only after the echo of the last one "
		        "(stop-and-wait), so the delay is paid once per probe; ", l->b);
		if (has1)
			fprintf(f, "that is 1 ms per ms (within its 95%% interval or 1%%), so nothing "
			        "else grows with the delay.\n");
		else
			fprintf(f, "its 95%% interval (%.3f..%.3f) is more than 1%% away from 1 ms per "
			        "ms: the server's timer or the scheduler stretch the delay, or the "
			        "path changed during the run.\n", l->b - l->b_ci, l->b + l->b_ci);
	}
	for (size_t d = 0; d < rs->nfits; d++) {
		fits += rs->fits[d].valid;
		sig += rs->fits[d].significant;
	}
	if (fits > 0 && sig == 0)
		fprintf(f, "- **Message size.** In the RTT mode size has no measurable effect on "
		        "this path at any delay: the time per byte is below the noise of the RTT, "
		        "so no bandwidth is given (1/b of a slope that is not above 0 would be "
		        "meaningless).\n");
	else if (fits > 0)
		fprintf(f, "- **Message size.** In the RTT mode size has a measurable effect at "
		        "%zu of %zu delays; there the fit's b is the bandwidth the probes see "
		        "(table above). A slope counts when its whole 95%% interval lies above 0 "
		        "and it explains at least %.0f%% of the spread (r\xc2\xb2).\n", sig, fits,
		        ECHO_FIT_MIN_R2 * 100);
	if (echo_exp_tput_sentence(&r->sweep[1], s, sizeof s)[0] != '\0')
		fprintf(f, "- **Throughput.** Throughput per probe is 8 \xc3\x97 size / RTT: with the "
		        "RTT made mostly of the server delay it grows with the size and falls with "
		        "the delay. Here the %s. It describes one probe at a time waiting for its "
		        "echo, not the capacity of the path.\n", s);
	fprintf(f, "- **Uncertainty.** The \xc2\xb1 columns and the error bars are 95%% confidence "
	        "intervals of the mean (Student's t, n - 1 degrees of freedom) with %" PRIu64
	        " probes per point. They assume independent probes; probes of one session share a "
	        "connection, so `--repeat R` (R sessions per point) gives a fairer interval.\n\n",
	        r->probes * r->repeat);
}

void echo_exp_markdown(FILE *f, const struct echo_exp_result *r)
{
	struct echo_line l;

	echo_delay_effect(r->sweep[0].pts, r->sweep[0].npts, &l);
	fprintf(f, "# tcp-echo experiment: RTT and throughput against message size and "
	        "server delay\n\n");
	if (r->partial)
		fprintf(f, "> **Partial run**: it ended after %zu of %zu points%s%s. The tables, "
		        "fits and figures cover only the points measured.\n\n", r->done, r->total,
		        r->error ? ": " : " (interrupted)", r->error ? r->error : "");
	setup_section(f, r);
	effect_section(f, r, &l);
	mode_section(f, r, 0);
	mode_section(f, r, 1);
	discussion(f, r, &l);
	fprintf(f, "## Files\n\n- `rtt.csv`, `ttput.csv`: one row per point (the columns of "
	        "`tcp-echo client --sweep --csv`)\n- `experiment.json`: both sweeps, their fits "
	        "and every sample\n");
	if (r->sweep[0].figures || r->sweep[1].figures)
		fprintf(f, "- `rtt.png`, `rtt.svg`, `ttput.png`, `ttput.svg`: the figures "
		        "(gnuplot)\n");
	fprintf(f, "- `report.md`: this report\n");
}

/* ---- the run's own lines ------------------------------------------------ */

void echo_exp_say_plan(FILE *f, size_t total, size_t nrtt, size_t nttput, uint64_t probes,
                       unsigned repeat, const char *server, const char *dir, double expected_ms)
{
	int min = expected_ms >= 120e3;

	fprintf(f, "experiment: %zu points (%zu rtt, %zu ttput), %llu probes x %u per point, "
	        "server %s, into %s; expected %.1f %s\n", total, nrtt, nttput,
	        (unsigned long long)probes, repeat, server, dir,
	        min ? expected_ms / 60e3 : expected_ms / 1e3, min ? "min" : "s");
	fflush(f);
}

void echo_exp_say_point(FILE *f, size_t k, size_t total, enum echo_mtype type,
                        const struct echo_point *p, double elapsed_s, double eta_s)
{
	fprintf(f, "point %zu/%zu: %s, delay %g ms, %llu B: mean RTT %.3f ms; "
	        "elapsed %.1f s, ETA %.1f s\n", k, total, type == ECHO_RTT ? "rtt" : "ttput",
	        (double)p->delay_ns / 1e6, (unsigned long long)p->size, p->fig.rtt.avg,
	        elapsed_s, eta_s);
	fflush(f);
}

void echo_exp_say_interrupted(FILE *f, size_t done, size_t total)
{
	fprintf(f, "interrupted after %zu of %zu points: writing what was measured\n", done, total);
	fflush(f);
}

void echo_exp_say_figures_skipped(FILE *f, const char *why)
{
	fprintf(f, "figures skipped: %s\n", why);
	fflush(f);
}

void echo_exp_say_written(FILE *f, int partial, const char *dir, int figures)
{
	fprintf(f, "%s written to %s/ (report.md, rtt.csv, ttput.csv, experiment.json%s)\n",
	        partial ? "partial experiment" : "experiment", dir,
	        figures ? ", rtt.png/.svg, ttput.png/.svg" : "; figures skipped");
	fflush(f);
}

void echo_exp_say_effect(FILE *f, const struct echo_point *rtt, size_t nrtt,
                         const struct echo_point *ttput, size_t nttput)
{
	struct echo_exp_sweep ts = { ECHO_TTPUT, ttput, nttput, NULL, 0, 0 };
	struct echo_line l;
	char s[256];

	echo_delay_effect(rtt, nrtt, &l);
	fprintf(f, "\n%s\n", echo_exp_delay_sentence(&l, s, sizeof s));
	if (echo_exp_tput_sentence(&ts, s, sizeof s)[0])
		fprintf(f, "%s\n", s);
}
