/* echo_plot: a sweep's plot through gnuplot (see echo_plot.h). */
#include "echo_plot.h"
#include "pk_clock.h"
#include "pk_opt.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* "png" or "svg" from the file name, NULL for anything else. */
const char *echo_plot_format(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot == NULL)
		return NULL;
	if (strcasecmp(dot, ".png") == 0)
		return "png";
	if (strcasecmp(dot, ".svg") == 0)
		return "svg";
	return NULL;
}

/* A gnuplot single-quoted string: quotes doubled. */
static void gp_quoted(FILE *g, const char *s)
{
	fputc('\'', g);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', g);
		fputc(*s, g);
	}
	fputc('\'', g);
}

static double point_value(const struct echo_point *p, int rtt)
{
	return rtt ? p->fig.rtt.avg : p->fig.tput_mbps[EF_MEAN];
}

/* Curves that differ by more than 50x (a delay next to none) would be flat
 * on a linear axis: such a panel gets a log y axis. */
static int wide_range(const struct echo_point *pts, size_t npts, int rtt, double *plo,
                      double *phi)
{
	double lo = 0, hi = 0;

	for (size_t i = 0; i < npts; i++) {
		double v = point_value(&pts[i], rtt);
		if (pts[i].fig.n == 0 || v <= 0)
			continue;
		lo = lo == 0 || v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	*plo = lo;
	*phi = hi;
	return lo > 0 && hi / lo > 50;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The distinct sizes measured, sorted; their count. */
static size_t sizes_of(const struct echo_point *pts, size_t npts, uint64_t *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < npts; i++) {
		size_t k;
		if (pts[i].fig.n == 0)
			continue;
		for (k = 0; k < n && out[k] != pts[i].size; k++)
			;
		if (k == n && n < cap)
			out[n++] = pts[i].size;
	}
	qsort(out, n, sizeof *out, cmp_u64);
	return n;
}

/* The size axis: log2 with a tic per size when the sizes double. */
static void gp_xaxis(FILE *g, const struct echo_point *pts, size_t npts)
{
	uint64_t s[256];
	size_t n = sizes_of(pts, npts, s, 256);

	if (n > 0 && echo_sizes_log2(s, n)) {
		fprintf(g, "set logscale x 2\nset xrange [%g:%g]\nset xtics (", (double)s[0] / 1.3,
		        (double)s[n - 1] * 1.3);
		for (size_t i = 0; i < n; i++) {
			char b[32];
			if (s[i] % 1024 == 0)
				snprintf(b, sizeof b, "%" PRIu64 "K", s[i] / 1024);
			else
				snprintf(b, sizeof b, "%" PRIu64, s[i]);
			fprintf(g, "%s\"%s\" %" PRIu64, i ? ", " : "", b, s[i]);
		}
		fprintf(g, ")\nset xlabel \"message size (bytes, log2 scale)\"\n");
	} else {
		double hi = n > 0 ? (double)s[n - 1] : 1;
		fprintf(g, "unset logscale x\nset xrange [0:%g]\nset xtics autofreq\n"
		        "set xlabel \"message size (bytes)\"\n", hi * 1.05);
	}
}

static void gp_panel(FILE *g, const struct echo_point *pts, size_t npts,
                     const struct echo_fit *fits, size_t nfits, int rtt)
{
	double lo, hi;
	int logy = wide_range(pts, npts, rtt, &lo, &hi);
	int first = 1;

	/* on a log axis the range follows the means: a bar reaching 0 is cut */
	if (logy)
		fprintf(g, "set logscale y\nset yrange [%g:%g]\n", lo / 4, hi * 4);
	else
		fprintf(g, "unset logscale y\nset yrange [*:*]\n");
	fprintf(g, "set ylabel \"%s%s\"\nplot ",
	        rtt ? "mean RTT (ms)" : "mean throughput, 8 x size / RTT (Mbit/s)",
	        logy ? ", log scale" : "");
	for (size_t d = 0; d < nfits; d++) {
		fprintf(g, "%s$d%zu using 1:%d:%d:%d with yerrorlines lw 2 pt 7 ps 0.8 lc %zu "
		        "title \"delay %g ms\"", first ? "" : ", ", d, rtt ? 2 : 5,
		        rtt ? 3 : 6, rtt ? 4 : 7, d + 1, (double)fits[d].delay_ns / 1e6);
		first = 0;
		if (rtt && fits[d].significant)
			fprintf(g, ", %.9g + %.9g * x with lines dt 2 lw 1 lc %zu title \"fit, %g ms\"",
			        fits[d].a_ms, fits[d].b_ms_per_byte, d + 1,
			        (double)fits[d].delay_ns / 1e6);
	}
	if (first)                  /* nothing measured: an empty frame */
		fprintf(g, "NaN notitle");
	fputc('\n', g);
}

/* Lower end of an error bar, kept above 0 for a log axis. */
static double bar_lo(double v, double ci)
{
	return v - ci > 0 ? v - ci : v / 1e3;
}

static void gp_data(FILE *g, const struct echo_point *pts, size_t npts,
                    const struct echo_fit *fits, size_t nfits)
{
	for (size_t d = 0; d < nfits; d++) {
		fprintf(g, "$d%zu << EOD\n", d);
		for (size_t i = 0; i < npts; i++) {
			const struct echo_figures *f = &pts[i].fig;
			double r = f->rtt.avg, t = f->tput_mbps[EF_MEAN];
			double rc = echo_ci95(f->rtt.mdev, f->n), tc = echo_ci95(f->tput_mbps[EF_SD], f->n);
			if (pts[i].delay_ns != fits[d].delay_ns || f->n == 0)
				continue;
			rc = isfinite(rc) ? rc : 0;
			tc = isfinite(tc) ? tc : 0;
			fprintf(g, "%" PRIu64 " %.9g %.9g %.9g %.9g %.9g %.9g\n", pts[i].size, r,
			        bar_lo(r, rc), r + rc, t, bar_lo(t, tc), t + tc);
		}
		fprintf(g, "EOD\n");
	}
}

static void gp_script(FILE *g, const struct echo_plot_spec *ps, const char *fmt,
                      const struct echo_point *pts, size_t npts,
                      const struct echo_fit *fits, size_t nfits)
{
	int two = (ps->panels & ECHO_PLOT_RTT) && (ps->panels & ECHO_PLOT_TPUT);
	char when[40];
	int any_fit = 0;

	for (size_t d = 0; d < nfits; d++)
		any_fit |= fits[d].significant;
	pk_wall_iso(ps->start_wall_ns, when, sizeof when);
	if (strlen(when) > 16)
		strcpy(when + 16, " UTC");  /* 2026-11-21T12:00 UTC */
	when[10] = ' ';
	fprintf(g, "set terminal %s size %d,%d noenhanced font \"sans,12\"\n",
	        strcmp(fmt, "png") == 0 ? "pngcairo" : "svg", two ? 1500 : 1000, 640);
	fprintf(g, "set output ");
	gp_quoted(g, ps->path);
	fprintf(g, "\nset datafile missing '?'\n");
	gp_data(g, pts, npts, fits, nfits);
	fprintf(g, "set grid\nset key outside right top vertical box\n"
	        "set format y \"%%g\"\nset bars 2\n");
	fprintf(g, "set multiplot layout 1,%d title \"", two ? 2 : 1);
	fprintf(g, "tcp-echo %s %s, server ", echo_mtype_name(ps->type),
	        ps->what ? ps->what : "sweep");
	for (const char *s = ps->host ? ps->host : "?"; *s; s++)   /* no quotes, no escapes */
		fputc(*s == '"' || *s == '\\' ? '_' : *s, g);
	fprintf(g, ", %s\\n%" PRIu64 " probes per point; bars: 95%% confidence interval of "
	        "the mean%s\"\n", when, ps->probes,
	        (ps->panels & ECHO_PLOT_RTT) && any_fit ? "; dashed: fit a + size / bandwidth" : "");
	gp_xaxis(g, pts, npts);
	if (ps->panels & ECHO_PLOT_RTT)
		gp_panel(g, pts, npts, fits, nfits, 1);
	if (ps->panels & ECHO_PLOT_TPUT)
		gp_panel(g, pts, npts, fits, nfits, 0);
	fprintf(g, "unset multiplot\nset output\n");
}

int echo_plot(const struct echo_plot_spec *ps, const struct echo_point *pts, size_t npts,
              const struct echo_fit *fits, size_t nfits)
{
	const char *fmt = echo_plot_format(ps->path);
	struct stat st;
	FILE *g;
	int status;

	if (fmt == NULL)
		return -EINVAL;
	(void)remove(ps->path);
	/* 127 (as a shell says) when there is no gnuplot; its errors go to stderr */
	g = popen("command -v gnuplot >/dev/null 2>&1 || exit 127; exec gnuplot >/dev/null", "w");
	if (g == NULL)
		return -errno;
	gp_script(g, ps, fmt, pts, npts, fits, nfits);
	status = pclose(g);
	if (status == -1)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ECHILD;
	if (stat(ps->path, &st) != 0 || st.st_size == 0)
		return -ECHILD;
	return 0;
}
