#include "echo_proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char REPLY_READY[] = "200 OK: Ready\n";
static const char REPLY_CLOSING[] = "200 OK: Closing Connection\n";
static const char REPLY_BAD_SETUP[] = "404 ERROR: Invalid Connection Setup Message\n";
static const char REPLY_BAD_PROBE[] = "404 ERROR: Invalid Measurement Message\n";
static const char REPLY_BAD_TERM[] = "404 ERROR: Invalid Connection Termination Message\n";

ssize_t echo_frame(const void *buf, size_t len, size_t max_line, size_t *line_len)
{
	size_t look = len < max_line + 1 ? len : max_line + 1;
	const char *nl = memchr(buf, '\n', look);

	if (nl != NULL) {
		*line_len = (size_t)(nl - (const char *)buf);
		return (ssize_t)(*line_len + 1);
	}
	return len > max_line ? ECHO_BAD : ECHO_PARTIAL;
}

/* A positive integer without sign or leading zeros in p[0..n). */
static int parse_pos(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || p[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';
		if (d > 9)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int echo_parse_delay(const char *p, size_t n, int64_t max_ns, int64_t *ns)
{
	const int64_t cap = INT64_MAX / 2;
	int64_t sec = 0, frac = 0, scale = 100000000;
	size_t i = 0;

	if (n == 0)
		return -EINVAL;
	for (; i < n && p[i] != '.'; i++) {
		unsigned d = (unsigned char)p[i] - '0';
		if (d > 9)
			return -EINVAL;
		sec = sec < 1000000000000LL ? sec * 10 + d : sec;   /* saturates */
	}
	if (i == 0)
		return -EINVAL;                 /* ".5": no integer part */
	if (i < n) {
		if (++i == n)
			return -EINVAL;             /* "5.": no fraction digits */
		for (; i < n; i++) {
			unsigned d = (unsigned char)p[i] - '0';
			if (d > 9)
				return -EINVAL;
			frac += d * scale;          /* digits past ns are ignored */
			scale /= 10;
		}
	}
	if (sec > cap / 1000000000 || sec * 1000000000 + frac > max_ns)
		return -ERANGE;
	*ns = sec * 1000000000 + frac;
	return 0;
}

/* Splits line into at most max fields at single spaces; an empty field
 * (two spaces, leading or trailing space) makes it malformed. Returns the
 * number of fields, or -1 when there are more than max or an empty one. */
static int split(const char *line, size_t len, const char **f, size_t *fl, int max)
{
	int n = 0;
	size_t start = 0;

	for (;;) {
		const char *sp = memchr(line + start, ' ', len - start);   /* memchr: fast on 1 MiB */
		size_t end = sp ? (size_t)(sp - line) : len;

		if (end == start || n == max)
			return -1;
		f[n] = line + start;
		fl[n] = end - start;
		n++;
		if (sp == NULL)
			return n;
		start = end + 1;
	}
}

int echo_parse_setup(const char *line, size_t len, const struct echo_limits *lim,
                     struct echo_setup *out)
{
	const char *f[5];
	size_t fl[5];
	struct echo_setup s;
	int rc;

	if (len > ECHO_SETUP_MAX || split(line, len, f, fl, 5) != 5)
		return -EINVAL;
	if (fl[0] != 1 || f[0][0] != 's')
		return -EINVAL;
	if (fl[1] == 3 && memcmp(f[1], "RTT", 3) == 0)
		s.type = ECHO_RTT;
	else if (fl[1] == 5 && memcmp(f[1], "TTPUT", 5) == 0)
		s.type = ECHO_TTPUT;
	else
		return -EINVAL;
	if ((rc = parse_pos(f[2], fl[2], &s.size)) != 0 ||
	    (rc = parse_pos(f[3], fl[3], &s.probes)) != 0 ||
	    (rc = echo_parse_delay(f[4], fl[4], lim ? lim->max_delay_ns : INT64_MAX / 2,
	                           &s.delay_ns)) != 0)
		return rc;
	if (lim != NULL && (s.size > lim->max_size || s.probes > lim->max_probes))
		return -ERANGE;
	*out = s;
	return 0;
}

int echo_parse_probe(const char *line, size_t len, struct echo_probe *out)
{
	const char *f[3];
	size_t fl[3];

	if (split(line, len, f, fl, 3) != 3 || fl[0] != 1 || f[0][0] != 'm')
		return -EINVAL;
	if (parse_pos(f[2], fl[2], &out->seq) != 0)
		return -EINVAL;
	out->payload = f[1];
	out->payload_len = fl[1];
	return 0;
}

int echo_is_term(const char *line, size_t len)
{
	return len == 1 && line[0] == 't';
}

void echo_session_init(struct echo_session *s)
{
	memset(s, 0, sizeof *s);
	s->phase = ECHO_PH_SETUP;
}

static size_t ndigits(uint64_t v)
{
	size_t n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

size_t echo_session_max_line(const struct echo_session *s)
{
	switch (s->phase) {
	case ECHO_PH_SETUP:
		return ECHO_SETUP_MAX;
	case ECHO_PH_MEASURE:
		return echo_probe_len(s->setup.size, s->setup.probes) - 1;
	case ECHO_PH_TERM:
		return 1;                       /* "t"; the rest by first byte */
	case ECHO_PH_DONE:
		break;
	}
	return 0;
}

static enum echo_verdict finish(struct echo_session *s, enum echo_verdict v)
{
	if (echo_verdict_closes(v))
		s->phase = ECHO_PH_DONE;
	return v;
}

static enum echo_verdict measure_line(struct echo_session *s, const char *line, size_t len)
{
	struct echo_probe p;

	if (echo_is_term(line, len))
		return finish(s, ECHO_V_CLOSE);           /* early end is valid */
	if (echo_parse_probe(line, len, &p) != 0 || p.payload_len != s->setup.size ||
	    p.seq != s->echoed + 1 || p.seq > s->setup.probes)
		return finish(s, ECHO_V_BAD_PROBE);
	if (++s->echoed == s->setup.probes)
		s->phase = ECHO_PH_TERM;
	return ECHO_V_ECHO;
}

enum echo_verdict echo_session_line(struct echo_session *s, const struct echo_limits *lim,
                                    const char *line, size_t len)
{
	switch (s->phase) {
	case ECHO_PH_SETUP:
		if (echo_parse_setup(line, len, lim, &s->setup) != 0)
			return finish(s, ECHO_V_BAD_SETUP);
		s->phase = ECHO_PH_MEASURE;
		return ECHO_V_READY;
	case ECHO_PH_MEASURE:
		return measure_line(s, line, len);
	case ECHO_PH_TERM:
		if (echo_is_term(line, len))
			return finish(s, ECHO_V_CLOSE);
		return echo_session_broken(s, len > 0 ? (unsigned char)line[0] : -1);
	case ECHO_PH_DONE:
		break;
	}
	return ECHO_V_BAD_TERM;
}

enum echo_verdict echo_session_broken(struct echo_session *s, int first_byte)
{
	switch (s->phase) {
	case ECHO_PH_SETUP:
		return finish(s, ECHO_V_BAD_SETUP);
	case ECHO_PH_MEASURE:
		return finish(s, ECHO_V_BAD_PROBE);
	case ECHO_PH_TERM:
		/* a line beginning with 'm' here is a probe beyond `probes` */
		return finish(s, first_byte == 'm' ? ECHO_V_BAD_PROBE : ECHO_V_BAD_TERM);
	case ECHO_PH_DONE:
		break;
	}
	return ECHO_V_BAD_TERM;
}

const char *echo_verdict_reply(enum echo_verdict v, size_t *len)
{
	const char *r = NULL;

	switch (v) {
	case ECHO_V_READY: r = REPLY_READY; break;
	case ECHO_V_CLOSE: r = REPLY_CLOSING; break;
	case ECHO_V_BAD_SETUP: r = REPLY_BAD_SETUP; break;
	case ECHO_V_BAD_PROBE: r = REPLY_BAD_PROBE; break;
	case ECHO_V_BAD_TERM: r = REPLY_BAD_TERM; break;
	case ECHO_V_ECHO: break;
	}
	if (len != NULL)
		*len = r != NULL ? strlen(r) : 0;
	return r;
}

const char *echo_verdict_name(enum echo_verdict v)
{
	static const char *const names[] = {
		"ready", "echo", "terminated", "invalid setup",
		"invalid measurement", "invalid termination",
	};
	return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "?";
}

const char *echo_mtype_name(enum echo_mtype t)
{
	return t == ECHO_TTPUT ? "TTPUT" : "RTT";
}

int echo_fmt_delay(char *buf, size_t cap, int64_t ns)
{
	char frac[16];
	int n, k;

	if (ns < 0)
		ns = 0;
	snprintf(frac, sizeof frac, "%09" PRId64, ns % 1000000000);
	for (k = 9; k > 0 && frac[k - 1] == '0'; k--)
		;
	frac[k] = '\0';
	n = snprintf(buf, cap, "%" PRId64 "%s%s", ns / 1000000000, k ? "." : "", frac);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int echo_fmt_setup(char *buf, size_t cap, const struct echo_setup *s)
{
	char d[32];
	int n;

	if (echo_fmt_delay(d, sizeof d, s->delay_ns) < 0)
		return -ENOSPC;
	n = snprintf(buf, cap, "s %s %" PRIu64 " %" PRIu64 " %s\n",
	             echo_mtype_name(s->type), s->size, s->probes, d);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

void echo_fill_payload(char *payload, size_t size)
{
	static const char pat[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	for (size_t i = 0; i < size; i++)
		payload[i] = pat[i % (sizeof pat - 1)];
}

size_t echo_probe_len(uint64_t size, uint64_t seq)
{
	return 2 + size + 1 + ndigits(seq) + 1;
}

int echo_fmt_probe_seq(char *buf, size_t cap, size_t size, uint64_t seq)
{
	size_t need = echo_probe_len(size, seq);

	if (need > cap)
		return -ENOSPC;
	buf[need - 1] = '\n';
	for (size_t i = need - 2; ; i--) {       /* seq digits, right to left */
		buf[i] = (char)('0' + seq % 10);
		seq /= 10;
		if (seq == 0) {
			buf[i - 1] = ' ';
			break;
		}
	}
	return (int)need;
}

int echo_fmt_probe(char *buf, size_t cap, const char *payload, size_t size, uint64_t seq)
{
	if (echo_probe_len(size, seq) > cap)
		return -ENOSPC;
	buf[0] = 'm';
	buf[1] = ' ';
	memcpy(buf + 2, payload, size);
	return echo_fmt_probe_seq(buf, cap, size, seq);
}

enum echo_reply echo_parse_reply(const char *line, size_t len)
{
	static const struct { const char *text; enum echo_reply r; } known[] = {
		{ REPLY_READY, ECHO_R_READY },
		{ REPLY_CLOSING, ECHO_R_CLOSING },
		{ REPLY_BAD_SETUP, ECHO_R_ERR_SETUP },
		{ REPLY_BAD_PROBE, ECHO_R_ERR_PROBE },
		{ REPLY_BAD_TERM, ECHO_R_ERR_TERM },
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strlen(known[i].text) - 1 == len && memcmp(known[i].text, line, len) == 0)
			return known[i].r;
	if (len >= 3 && memcmp(line, "404", 3) == 0)
		return ECHO_R_ERR_OTHER;
	return ECHO_R_OTHER;
}
