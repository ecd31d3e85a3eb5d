/* pk_opt: strict, bounded parsing of option values.
 *
 * Each parser takes the whole string (no trailing garbage, no empty string,
 * no sign where none is allowed), checks it against [min, max] and returns 0,
 * or -EINVAL (not a number) / -ERANGE (outside the bounds) and points *errstr
 * at a static phrase ("invalid", "too small", "too large") for messages like
 * OpenBSD's `errx(2, "interval %s: %s", errstr, optarg)`.
 */
#ifndef PK_OPT_H
#define PK_OPT_H

#include <stdint.h>

int pk_opt_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                const char **errstr);
int pk_opt_double(const char *s, double min, double max, double *out,
                  const char **errstr);
/* Durations: a decimal number with an optional unit ns, us, ms, s, m, h;
 * a bare number is seconds ("250ms", "1.5s", "0.2", "100us"). */
int pk_opt_duration(const char *s, int64_t min_ns, int64_t max_ns,
                    int64_t *out_ns, const char **errstr);
/* Sizes: bytes with an optional K/KiB (1024), M/MiB suffix ("32K"). */
int pk_opt_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                const char **errstr);
/* Port 0..65535 (0 = any, for servers). */
int pk_opt_port(const char *s, uint16_t *out, const char **errstr);
/* Probability in [0, 1]; also accepts a percentage "30%". */
int pk_opt_prob(const char *s, double *out, const char **errstr);

/* Formats a duration for display: "1 s", "250 ms", "100 us". Returns buf. */
char *pk_fmt_duration(int64_t ns, char *buf, unsigned cap);

#endif
