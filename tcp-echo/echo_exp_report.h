/* echo_exp_report: the experiment's report.md and the sentences that state
 * its findings, from a result struct (no sockets, no clock, no files: it
 * writes to the FILE * it is given). In echo_core, unit-tested
 * (test_echo_exp_report). The run is echo_exp.c's.
 */
#ifndef ECHO_EXP_REPORT_H
#define ECHO_EXP_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "echo_fit.h"
#include "echo_proto.h"

/* One mode's sweep, as measured (the points done: all, or a prefix when
 * the run was interrupted). */
struct echo_exp_sweep {
	enum echo_mtype type;
	const struct echo_point *pts;   /* delays outer, sizes inner */
	size_t npts;
	const struct echo_fit *fits;    /* one per delay with points */
	size_t nfits;
	int figures;                    /* <mode>.png and <mode>.svg were drawn */
};

struct echo_exp_result {
	const char *server;             /* "127.0.0.1 port 41000 (own server ...)" */
	const char *kernel;             /* uname -r */
	const char *command;
	int64_t start_wall_ns, duration_ns;
	uint64_t probes;                /* per session */
	unsigned repeat;
	const int64_t *delays;          /* the grid asked for */
	size_t ndelays;
	size_t done, total;             /* points */
	int partial;                    /* interrupted or failed before the end */
	const char *error;              /* why it ended early, or NULL */
	const char *figures_note;       /* why figures are missing, or NULL */
	struct echo_exp_sweep sweep[2]; /* [0] rtt, [1] ttput */
};

/* "RTT rises 1.00 ms per ms of server delay (95% CI 0.99..1.01, r2 0.999,
 * 480 samples)"; a sentence saying it could not be measured when the line
 * is not valid (one delay). Returns buf. */
char *echo_exp_delay_sentence(const struct echo_line *l, char *buf, size_t cap);
/* "throughput at 32 KiB falls from X Mbit/s at 0 ms to Y Mbit/s at 200 ms
 * of server delay (Z times less)": the largest size of the ttput points, its
 * lowest and highest delay measured; "" when there are not two. Returns buf. */
char *echo_exp_tput_sentence(const struct echo_exp_sweep *s, char *buf, size_t cap);
/* The whole report.md. */
void echo_exp_markdown(FILE *f, const struct echo_exp_result *r);

/* The run's own lines, on the FILE * given (stderr: they come under -q and
 * -J too). The plan before the first point, with its expected length
 * (expected_ms; a bare number in --delays is seconds, so a grid of hours
 * says so at once): */
void echo_exp_say_plan(FILE *f, size_t total, size_t nrtt, size_t nttput, uint64_t probes,
                       unsigned repeat, const char *server, const char *dir, double expected_ms);
/* One point done: "point k/N: rtt, delay 50 ms, 100 B: mean RTT ...; elapsed, ETA". */
void echo_exp_say_point(FILE *f, size_t k, size_t total, enum echo_mtype type,
                        const struct echo_point *p, double elapsed_s, double eta_s);
void echo_exp_say_interrupted(FILE *f, size_t done, size_t total);
void echo_exp_say_figures_skipped(FILE *f, const char *why);
void echo_exp_say_written(FILE *f, int partial, const char *dir, int figures);
/* The effect of the delay (and on throughput at the largest size) after the
 * tables, as the text output ends. */
void echo_exp_say_effect(FILE *f, const struct echo_point *rtt, size_t nrtt,
                         const struct echo_point *ttput, size_t nttput);

#endif
