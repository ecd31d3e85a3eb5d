/* echo_match: the client's one-pass check of an echo (echo_match.h). */
#include "echo_match.h"

#include <string.h>

/* Candidate periods tried before comparing against the whole payload. */
#define TRIES 8

void echo_match_init(struct echo_match *m, const char *payload, size_t size)
{
	size_t p = 0, tries = 0;

	memset(m, 0, sizeof *m);
	m->payload = payload;
	m->size = size;
	m->usable = memchr(payload, '\n', size) == NULL;
	m->ref = size;
	if (size <= ECHO_MATCH_REF)
		return;
	/* the shortest period p <= ECHO_MATCH_REF, if one is found soon */
	for (size_t i = 1; i <= ECHO_MATCH_REF && tries < TRIES; i++) {
		if (payload[i] != payload[0])
			continue;
		tries++;
		if (memcmp(payload + i, payload, size - i) == 0) {
			p = i;
			break;
		}
	}
	if (p > 0)
		m->ref = ECHO_MATCH_REF / p * p;   /* a multiple of a period is one */
}

void echo_match_seq(struct echo_match *m, uint64_t seq)
{
	char d[24];
	size_t n = 0;
	uint64_t v = seq;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	m->seq = seq;
	m->tail[0] = ' ';
	for (size_t i = 0; i < n; i++)
		m->tail[1 + i] = d[n - 1 - i];
	m->tail[n + 1] = '\n';
	m->tlen = n + 2;
	m->len = 2 + m->size + m->tlen;
}

int echo_match_range(const struct echo_match *m, const char *got, size_t off, size_t n)
{
	static const char head[2] = { 'm', ' ' };
	size_t end = off + n, k;

	if (off < 2 && off < end) {                     /* "m " */
		k = (end < 2 ? end : 2) - off;
		if (memcmp(got, head + off, k) != 0)
			return 0;
		got += k;
		off += k;
	}
	if (off < 2 + m->size && off < end) {           /* the payload, by its period */
		size_t j = off - 2, stop = (end < 2 + m->size ? end : 2 + m->size) - 2;
		while (j < stop) {
			size_t o = j % m->ref, take = m->ref - o;
			if (take > stop - j)
				take = stop - j;
			if (memcmp(got, m->payload + o, take) != 0)
				return 0;
			got += take;
			j += take;
		}
		off = j + 2;
	}
	if (off < end && memcmp(got, m->tail + (off - 2 - m->size), end - off) != 0)
		return 0;                               /* " <seq>\n" */
	return 1;
}
