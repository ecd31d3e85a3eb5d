/* echo_plot: a sweep's plot, drawn by gnuplot: mean RTT and / or mean
 * throughput against the size, one curve per server delay, each point with
 * the 95% confidence interval of its mean as an error bar, the fit
 * RTT = a + size / bandwidth dashed where it is significant (echo_fit.h),
 * the legend below the data, a log2 size axis when the sizes double. */
#ifndef ECHO_PLOT_H
#define ECHO_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "echo_fit.h"
#include "echo_proto.h"

enum { ECHO_PLOT_RTT = 1, ECHO_PLOT_TPUT = 2 };

/* What to draw and the title's facts. */
struct echo_plot_spec {
	const char *path;           /* .png or .svg */
	enum echo_mtype type;       /* the sweep's mode, for the title */
	const char *host;           /* the server, for the title */
	int64_t start_wall_ns;      /* the run's start, for the title */
	uint64_t probes;            /* probes per point (probes x repeat) */
	int panels;                 /* ECHO_PLOT_RTT | ECHO_PLOT_TPUT */
	const char *what;           /* "sweep" or "experiment" */
};

/* "png" / "svg" by the file's ending, NULL when neither. */
const char *echo_plot_format(const char *path);
/* Runs gnuplot; 0, or -errno, -EINVAL (bad ending), -ENOENT (no gnuplot),
 * -ECHILD (gnuplot failed or made no file). */
int echo_plot(const struct echo_plot_spec *ps, const struct echo_point *pts, size_t npts,
              const struct echo_fit *fits, size_t nfits);

#endif
