/* echo_plot: a sweep's plot through gnuplot (see echo_plot.h). */
#include "echo_plot.h"
#include "pk_opt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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

/* Curves that differ by more than 50x (a delay next to none) would be flat
 * on a linear axis: such a panel gets a log y axis. */
static int wide_range(const struct echo_point *pts, size_t npts, int col)
{
	double lo = 0, hi = 0;

	for (size_t i = 0; i < npts; i++) {
		double v = col == 2 ? pts[i].fig.rtt.avg : pts[i].fig.tput_mbps[EF_MEAN];
		if (pts[i].fig.n == 0 || v <= 0)
			continue;
		lo = lo == 0 || v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	return lo > 0 && hi / lo > 50;
}

static void gp_panel(FILE *g, const struct echo_point *pts, size_t npts,
                     const struct echo_fit *fits, size_t nfits, int col,
                     const char *ylabel, int with_fit)
{
	fprintf(g, "%s logscale y\n", wide_range(pts, npts, col) ? "set" : "unset");
	fprintf(g, "set ylabel \"%s%s\"\nplot ", ylabel,
	        wide_range(pts, npts, col) ? ", log scale" : "");
	for (size_t d = 0; d < nfits; d++) {
		char b[32];
		pk_fmt_duration(fits[d].delay_ns, b, sizeof b);
		fprintf(g, "%s$d%zu using 1:%d with linespoints lw 2 pt 7 lc %zu title \"delay %s\"",
		        d ? ", " : "", d, col, d + 1, b);
		if (with_fit && fits[d].valid)
			fprintf(g, ", %.9g + %.9g * x with lines dt 2 lc %zu title \"fit, delay %s\"",
			        fits[d].a_ms, fits[d].b_ms_per_byte, d + 1, b);
	}
	fputc('\n', g);
}

static void gp_script(FILE *g, const char *path, const char *fmt, enum echo_mtype type,
                      const struct echo_point *pts, size_t npts,
                      const struct echo_fit *fits, size_t nfits)
{
	if (strcmp(fmt, "png") == 0)
		fprintf(g, "set terminal pngcairo size 1400,560 noenhanced\n");
	else
		fprintf(g, "set terminal svg size 1400,560 noenhanced\n");
	fprintf(g, "set output ");
	gp_quoted(g, path);
	fprintf(g, "\nset datafile missing '?'\n");
	for (size_t d = 0; d < nfits; d++) {
		fprintf(g, "$d%zu << EOD\n", d);
		for (size_t i = 0; i < npts; i++)
			if (pts[i].delay_ns == fits[d].delay_ns && pts[i].fig.n > 0)
				fprintf(g, "%" PRIu64 " %.9g %.9g\n", pts[i].size, pts[i].fig.rtt.avg,
				        pts[i].fig.tput_mbps[EF_MEAN]);
		fprintf(g, "EOD\n");
	}
	fprintf(g, "set multiplot layout 1,2 title \"tcp-echo %s sweep: mean of each size, "
	        "one curve per server delay\"\n", echo_mtype_name(type));
	fprintf(g, "set grid\nset key top left\nset xlabel \"message size (bytes)\"\n");
	gp_panel(g, pts, npts, fits, nfits, 2, "mean RTT (ms)", 1);
	gp_panel(g, pts, npts, fits, nfits, 3, "mean throughput (Mbit/s)", 0);
	fprintf(g, "unset multiplot\nset output\n");
}

int echo_plot(const char *path, enum echo_mtype type, const struct echo_point *pts,
              size_t npts, const struct echo_fit *fits, size_t nfits)
{
	const char *fmt = echo_plot_format(path);
	struct stat st;
	FILE *g;
	int status;

	if (fmt == NULL)
		return -EINVAL;
	(void)remove(path);
	g = popen("gnuplot >/dev/null", "w");
	if (g == NULL)
		return -errno;
	gp_script(g, path, fmt, type, pts, npts, fits, nfits);
	status = pclose(g);
	if (status == -1)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ECHILD;
	if (stat(path, &st) != 0 || st.st_size == 0)
		return -ECHILD;
	return 0;
}
