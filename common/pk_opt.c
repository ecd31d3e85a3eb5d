#include "pk_opt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(int code, const char **errstr, const char *why)
{
	if (errstr)
		*errstr = why;
	return code;
}

int pk_opt_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                const char **errstr)
{
	unsigned long long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return fail(-EINVAL, errstr, "invalid");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return fail(-EINVAL, errstr, "invalid");
	if (errno == ERANGE || v > max)
		return fail(-ERANGE, errstr, "too large");
	if (v < min)
		return fail(-ERANGE, errstr, "too small");
	*out = v;
	if (errstr)
		*errstr = NULL;
	return 0;
}

/* A plain decimal: digits with at most one '.', optional leading '-' when
 * allowed, no exponent, no hex, no inf/nan, no spaces. Returns the length
 * of the number part, 0 when there is none. */
static size_t decimal_len(const char *s, int allow_neg)
{
	size_t i = 0, digits = 0;
	int dot = 0;

	if (allow_neg && s[i] == '-')
		i++;
	for (;; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		else if (s[i] == '.' && !dot)
			dot = 1;
		else
			break;
	}
	return digits ? i : 0;
}

static int parse_decimal(const char *s, size_t n, double *out)
{
	char buf[64];

	if (n == 0 || n >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	*out = strtod(buf, NULL);
	if (errno == ERANGE || !isfinite(*out))
		return -ERANGE;
	return 0;
}

int pk_opt_double(const char *s, double min, double max, double *out,
                  const char **errstr)
{
	size_t n;
	double v;

	if (s == NULL)
		return fail(-EINVAL, errstr, "invalid");
	n = decimal_len(s, min < 0);
	if (n == 0 || s[n] != '\0' || parse_decimal(s, n, &v) != 0)
		return fail(-EINVAL, errstr, "invalid");
	if (v < min)
		return fail(-ERANGE, errstr, "too small");
	if (v > max)
		return fail(-ERANGE, errstr, "too large");
	*out = v;
	if (errstr)
		*errstr = NULL;
	return 0;
}

int pk_opt_duration(const char *s, int64_t min_ns, int64_t max_ns,
                    int64_t *out_ns, const char **errstr)
{
	static const struct { const char *unit; double ns; } units[] = {
		{ "", 1e9 }, { "s", 1e9 }, { "ms", 1e6 }, { "us", 1e3 },
		{ "ns", 1.0 }, { "m", 60e9 }, { "min", 60e9 }, { "h", 3600e9 },
	};
	size_t n, i;
	double v, ns;

	if (s == NULL)
		return fail(-EINVAL, errstr, "invalid");
	n = decimal_len(s, 0);
	if (n == 0 || parse_decimal(s, n, &v) != 0)
		return fail(-EINVAL, errstr, "invalid");
	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(s + n, units[i].unit) == 0)
			break;
	if (i == sizeof units / sizeof units[0])
		return fail(-EINVAL, errstr, "invalid (units: ns, us, ms, s, m, h)");
	ns = v * units[i].ns;
	if (ns > (double)max_ns || ns > 9.2e18)
		return fail(-ERANGE, errstr, "too large");
	if (ns < (double)min_ns)
		return fail(-ERANGE, errstr, "too small");
	*out_ns = (int64_t)llround(ns);
	if (errstr)
		*errstr = NULL;
	return 0;
}

int pk_opt_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                const char **errstr)
{
	static const struct { const char *unit; uint64_t mul; } units[] = {
		{ "", 1 }, { "B", 1 }, { "K", 1024 }, { "KiB", 1024 }, { "k", 1024 },
		{ "M", 1048576 }, { "MiB", 1048576 },
	};
	unsigned long long v;
	char *end;
	size_t i;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return fail(-EINVAL, errstr, "invalid");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return fail(-ERANGE, errstr, "too large");
	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].unit) == 0)
			break;
	if (i == sizeof units / sizeof units[0])
		return fail(-EINVAL, errstr, "invalid");
	if (v > max / units[i].mul)
		return fail(-ERANGE, errstr, "too large");
	v *= units[i].mul;
	if (v < min)
		return fail(-ERANGE, errstr, "too small");
	*out = v;
	if (errstr)
		*errstr = NULL;
	return 0;
}

int pk_opt_port(const char *s, uint16_t *out, const char **errstr)
{
	uint64_t v;
	int rc = pk_opt_uint(s, 0, 65535, &v, errstr);

	if (rc == 0)
		*out = (uint16_t)v;
	return rc;
}

int pk_opt_prob(const char *s, double *out, const char **errstr)
{
	size_t n = s ? strlen(s) : 0;

	if (n > 1 && s[n - 1] == '%') {
		char buf[64];
		double pct;
		int rc;

		if (n >= sizeof buf)
			return fail(-EINVAL, errstr, "invalid");
		memcpy(buf, s, n - 1);
		buf[n - 1] = '\0';
		rc = pk_opt_double(buf, 0.0, 100.0, &pct, errstr);
		if (rc == 0)
			*out = pct / 100.0;
		return rc;
	}
	return pk_opt_double(s, 0.0, 1.0, out, errstr);
}

char *pk_fmt_duration(int64_t ns, char *buf, unsigned cap)
{
	if (ns % 1000000000LL == 0)
		snprintf(buf, cap, "%lld s", (long long)(ns / 1000000000LL));
	else if (ns >= 1000000000LL)
		snprintf(buf, cap, "%.3f s", (double)ns / 1e9);
	else if (ns % 1000000LL == 0)
		snprintf(buf, cap, "%lld ms", (long long)(ns / 1000000LL));
	else if (ns >= 1000000LL)
		snprintf(buf, cap, "%.3f ms", (double)ns / 1e6);
	else
		snprintf(buf, cap, "%.3f us", (double)ns / 1e3);
	return buf;
}
