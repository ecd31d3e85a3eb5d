/* libFuzzer target: the tcp-echo line framer and session state machine.
 *
 * The first input byte picks how the rest is cut into reads (1..16 bytes,
 * or all at once); the bytes are framed exactly as the server does (a
 * partial line kept, bounded by the phase's longest line) and every line fed
 * to echo_session_line(). Checks the invariants the server relies on: a
 * phase's line bound holds, a closing verdict ends the session, the echoed
 * count never passes the probes of the setup, and the server and the
 * client's parsers agree on each echoed probe. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echo_proto.h"

/* Not assert(): release builds define NDEBUG, and the replay must check. */
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static const struct echo_limits lim = { 4096, 1000, 2000000000LL };

struct feeder {
	struct echo_session s;
	char part[4097 + 64];
	size_t plen;
	int done;
};

static void verdict(struct feeder *f, enum echo_verdict v, const char *line, size_t len)
{
	if (v == ECHO_V_ECHO) {
		struct echo_probe p;
		CHECK(echo_parse_probe(line, len, &p) == 0);
		CHECK(p.payload_len == f->s.setup.size);
		CHECK(p.seq == f->s.echoed && p.seq <= f->s.setup.probes);
		CHECK(memchr(p.payload, ' ', p.payload_len) == NULL);
	}
	if (v == ECHO_V_READY) {
		char buf[ECHO_SETUP_MAX + 2];
		struct echo_setup again;
		int n = echo_fmt_setup(buf, sizeof buf, &f->s.setup);
		/* what the server accepted, formatted again, parses the same */
		CHECK(n > 0 && echo_parse_setup(buf, (size_t)n - 1, &lim, &again) == 0);
		CHECK(again.size == f->s.setup.size && again.probes == f->s.setup.probes);
	}
	CHECK(echo_verdict_reply(v, NULL) != NULL || v == ECHO_V_ECHO);
	if (echo_verdict_closes(v)) {
		CHECK(f->s.phase == ECHO_PH_DONE);
		f->done = 1;
	}
}

static void feed(struct feeder *f, const char *p, size_t n)
{
	while (n > 0 && !f->done) {
		size_t max = echo_session_max_line(&f->s), ll;
		ssize_t r;

		CHECK(max <= sizeof f->part - 1);
		if (f->plen > 0) {
			const char *nl = memchr(p, '\n', n);
			size_t take = nl ? (size_t)(nl - p) + 1 : n;
			size_t content = f->plen + take - (nl ? 1 : 0);
			if (content > max) {
				verdict(f, echo_session_broken(&f->s, (unsigned char)f->part[0]), NULL, 0);
				return;
			}
			memcpy(f->part + f->plen, p, take);
			f->plen += take;
			p += take;
			n -= take;
			if (nl) {
				enum echo_verdict v = echo_session_line(&f->s, &lim, f->part, f->plen - 1);
				verdict(f, v, f->part, f->plen - 1);
				f->plen = 0;
			}
			continue;
		}
		r = echo_frame(p, n, max, &ll);
		if (r == ECHO_PARTIAL) {
			CHECK(n <= max);
			memcpy(f->part, p, n);
			f->plen = n;
			return;
		}
		if (r == ECHO_BAD) {
			verdict(f, echo_session_broken(&f->s, (unsigned char)p[0]), NULL, 0);
			return;
		}
		CHECK(ll <= max && p[ll] == '\n');
		verdict(f, echo_session_line(&f->s, &lim, p, ll), p, ll);
		p += r;
		n -= (size_t)r;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feeder f;
	size_t chunk;

	if (size == 0)
		return 0;
	memset(&f, 0, sizeof f);
	echo_session_init(&f.s);
	chunk = data[0] % 17;           /* 0: everything in one read */
	data++;
	size--;
	if (chunk == 0)
		chunk = size ? size : 1;
	for (size_t off = 0; off < size && !f.done; off += chunk)
		feed(&f, (const char *)data + off, size - off < chunk ? size - off : chunk);
	/* and the standalone parsers on the raw bytes */
	struct echo_setup s;
	struct echo_probe p;
	int64_t ns;
	(void)echo_parse_setup((const char *)data, size, &lim, &s);
	(void)echo_parse_probe((const char *)data, size, &p);
	(void)echo_parse_delay((const char *)data, size, INT64_MAX / 2, &ns);
	(void)echo_parse_reply((const char *)data, size);
	return 0;
}
