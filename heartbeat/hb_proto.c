#include "hb_proto.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Splits buf into two fields. *a / *b point into buf; lengths in *alen,
 * *blen. Returns 0 or a negative enum hb_bad. */
static int split2(const char *s, size_t len, const char **a, size_t *alen,
                  const char **b, size_t *blen)
{
	size_t i = 0, j;

	if (len == 0)
		return HB_BAD_EMPTY;
	if (len > HB_MSG_MAX)
		return HB_BAD_SIZE;
	if (len >= 1 && s[len - 1] == '\n')
		len -= (len >= 2 && s[len - 2] == '\r') ? 2 : 1;
	while (i < len && !is_blank(s[i]) && s[i] != '\0')
		i++;
	if (i == 0 || i == len || !is_blank(s[i]))
		return HB_BAD_FIELDS;
	*a = s;
	*alen = i;
	while (i < len && is_blank(s[i]))
		i++;
	j = i;
	while (j < len && !is_blank(s[j]) && s[j] != '\0')
		j++;
	if (j == i || j != len)
		return HB_BAD_FIELDS;
	*b = s + i;
	*blen = j - i;
	return 0;
}

/* A sequence number: 1..19 digits, value <= HB_SEQ_MAX. */
static int parse_seq(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return HB_BAD_NUMBER;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return HB_BAD_NUMBER;
		if (v > (HB_SEQ_MAX - (uint64_t)(s[i] - '0')) / 10)
			return HB_BAD_RANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Checks the decimal grammar [-]D+[.D*][(e|E)[+|-]D+]; returns 0 and sets
 * *has_exp, or HB_BAD_NUMBER. */
static int check_float(const char *s, size_t n, int allow_neg, int *has_exp)
{
	size_t i = 0, d = 0;

	*has_exp = 0;
	if (i < n && s[i] == '-' && allow_neg)
		i++;
	while (i < n && is_digit(s[i]))
		i++, d++;
	if (d == 0)
		return HB_BAD_NUMBER;
	if (i < n && s[i] == '.')
		for (i++; i < n && is_digit(s[i]); i++)
			;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t e = 0;
		*has_exp = 1;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < n && is_digit(s[i]))
			i++, e++;
		if (e == 0)
			return HB_BAD_NUMBER;
	}
	return i == n ? 0 : HB_BAD_NUMBER;
}

static int to_double(const char *s, size_t n, double *out)
{
	char tmp[HB_MSG_MAX + 1];

	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	*out = strtod(tmp, NULL);
	if (!isfinite(*out))
		return HB_BAD_RANGE;
	return 0;
}

/* Timestamp to ns. Without an exponent the digits are taken exactly (the
 * first 9 fraction digits; the rest must still be digits); with one, the
 * double value is rounded to ns. */
static int parse_ts(const char *s, size_t n, int64_t *out)
{
	int has_exp, rc = check_float(s, n, 0, &has_exp);
	int64_t sec = 0, frac = 0;
	size_t i = 0;
	int fd = 0;

	if (rc != 0)
		return rc;
	if (has_exp) {
		double v;
		if ((rc = to_double(s, n, &v)) != 0)
			return rc;
		if (v >= (double)HB_TS_MAX_S)
			return HB_BAD_RANGE;
		*out = (int64_t)llround(v * 1e9);
		return 0;
	}
	for (; i < n && is_digit(s[i]); i++) {
		sec = sec * 10 + (s[i] - '0');
		if (sec >= HB_TS_MAX_S)
			return HB_BAD_RANGE;
	}
	if (i < n && s[i] == '.')
		for (i++; i < n; i++)
			if (fd < 9) {
				frac = frac * 10 + (s[i] - '0');
				fd++;
			}
	for (; fd < 9; fd++)
		frac *= 10;
	*out = sec * 1000000000LL + frac;
	return 0;
}

int hb_parse_beat(const void *buf, size_t len, struct hb_beat *out)
{
	const char *a, *b;
	size_t alen, blen;
	struct hb_beat m;
	int rc = split2(buf, len, &a, &alen, &b, &blen);

	if (rc == 0)
		rc = parse_seq(a, alen, &m.seq);
	if (rc == 0)
		rc = parse_ts(b, blen, &m.ts_ns);
	if (rc != 0)
		return rc;
	*out = m;
	return (int)len;
}

int hb_parse_reply(const void *buf, size_t len, struct hb_reply *out)
{
	const char *a, *b;
	size_t alen, blen;
	struct hb_reply m;
	int has_exp, rc = split2(buf, len, &a, &alen, &b, &blen);

	if (rc == 0)
		rc = parse_seq(a, alen, &m.seq);
	if (rc == 0)
		rc = check_float(b, blen, 1, &has_exp);
	if (rc == 0)
		rc = to_double(b, blen, &m.diff_s);
	if (rc == 0 && fabs(m.diff_s) > HB_DIFF_MAX_S)
		rc = HB_BAD_RANGE;
	if (rc != 0)
		return rc;
	*out = m;
	return (int)len;
}

int hb_format_beat(char *buf, size_t cap, uint64_t seq, int64_t wall_ns)
{
	int n;

	if (wall_ns < 0)
		wall_ns = 0;
	n = snprintf(buf, cap, "%" PRIu64 " %" PRId64 ".%09" PRId64, seq,
	             (int64_t)(wall_ns / 1000000000), (int64_t)(wall_ns % 1000000000));
	return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

int hb_format_reply(char *buf, size_t cap, uint64_t seq, int64_t diff_ns)
{
	uint64_t mag = diff_ns < 0 ? (uint64_t)0 - (uint64_t)diff_ns : (uint64_t)diff_ns;
	int n = snprintf(buf, cap, "%" PRIu64 " %s%" PRIu64 ".%09" PRIu64, seq,
	                 diff_ns < 0 ? "-" : "", (uint64_t)(mag / 1000000000u),
	                 (uint64_t)(mag % 1000000000u));

	return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

int hb_format_reply_max(char *buf, size_t max, uint64_t seq, int64_t diff_ns)
{
	char tmp[64];
	int n = hb_format_reply(tmp, sizeof tmp, seq, diff_ns);
	char *dot;
	size_t len;

	if (n < 0)
		return -1;
	len = (size_t)n;
	if (len > max) {
		/* cut decimals; without any, the '.' goes too */
		dot = strchr(tmp, '.');
		len = max;
		if (dot == NULL || tmp + len < dot + 2)
			len = dot ? (size_t)(dot - tmp) : len;
		if (len > max)
			return -1;
	}
	memcpy(buf, tmp, len);
	return (int)len;
}

int hb_reply_shaped(int64_t diff_ns)
{
	const int64_t bound = HB_ANSWER_DIFF_MAX_S * 1000000000LL;

	return diff_ns > bound || diff_ns < -bound;
}

const char *hb_bad_str(int code)
{
	switch (code) {
	case HB_BAD_EMPTY:  return "empty";
	case HB_BAD_SIZE:   return "oversized";
	case HB_BAD_FIELDS: return "not two fields";
	case HB_BAD_NUMBER: return "not a number";
	case HB_BAD_RANGE:  return "out of range";
	default:            return "ok";
	}
}
