/* echo_plot: a sweep's plot, drawn by gnuplot (one panel of mean RTT, one of
 * mean throughput, against the size; one curve per server delay). */
#ifndef ECHO_PLOT_H
#define ECHO_PLOT_H

#include <stddef.h>

#include "echo_fit.h"
#include "echo_proto.h"

/* "png" / "svg" by the file's ending, NULL when neither. */
const char *echo_plot_format(const char *path);
/* Runs gnuplot; 0, or -errno, -EINVAL (bad ending), -ENOENT (no gnuplot),
 * -ECHILD (gnuplot failed or made no file). */
int echo_plot(const char *path, enum echo_mtype type, const struct echo_point *pts,
              size_t npts, const struct echo_fit *fits, size_t nfits);

#endif
