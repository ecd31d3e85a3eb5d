/* echo_match: the client's one-pass check agrees with a comparison of the
 * whole line (what the general path's check_echo does), for any split of
 * the bytes into reads and any byte changed. */
#include "cm.h"
#include <stdlib.h>

#include "echo_match.h"
#include "echo_proto.h"

/* Feeds line[0..len) in pieces of `step` bytes (the last one shorter):
 * 1 when every piece matches. */
static int feed(const struct echo_match *m, const char *line, size_t len, size_t step)
{
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		if (!echo_match_range(m, line + off, off, n))
			return 0;
	}
	return 1;
}

/* Every split step and every changed byte of the line of (payload, seq):
 * a match exactly when the bytes are the probe's. */
static void agree(const char *payload, size_t size, uint64_t seq, int every_byte)
{
	struct echo_match m;
	size_t cap = echo_probe_len(size, seq);
	char *line = malloc(cap);
	int len;

	assert_non_null(line);
	len = echo_fmt_probe(line, cap, payload, size, seq);
	assert_int_equal(len, (int)cap);
	echo_match_init(&m, payload, size);
	echo_match_seq(&m, seq);
	assert_int_equal(m.seq, seq);
	assert_int_equal(m.len, cap);
	assert_memory_equal(m.tail, line + 2 + size, m.tlen);
	assert_true(m.ref >= 1 && (m.ref == size || m.ref <= ECHO_MATCH_REF));
	for (size_t i = 0; i < size; i++)
		assert_int_equal(payload[i], payload[i % m.ref]);
	static const size_t steps[] = { 1, 2, 3, 7, 35, 36, 37, 1000, 1008, 1009, 4096, 65536 };
	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
		assert_true(feed(&m, line, (size_t)len, steps[k]));
	for (size_t i = 0; i < (size_t)len; i += every_byte ? 1 : 97) {
		char was = line[i];
		line[i] = was == 'Z' ? 'Y' : 'Z';
		assert_false(feed(&m, line, (size_t)len, (size_t)len));
		assert_false(feed(&m, line, (size_t)len, 1 + i % 5000));
		/* the pieces before the changed byte still match */
		assert_true(i == 0 || echo_match_range(&m, line, 0, i));
		line[i] = was;
	}
	free(line);
}

static void repeating_payloads(void **st)
{
	static const size_t sizes[] = { 1, 2, 35, 36, 37, 100, 1000, 1007, 1008, 1009, 1023,
	                                1024, 1025, 2017, 4096, 8191, 32768, 100000 };
	static const uint64_t seqs[] = { 1, 9, 10, 99, 12345, 1000000, UINT64_MAX };
	(void)st;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *p = malloc(sizes[i]);
		assert_non_null(p);
		echo_fill_payload(p, sizes[i]);
		for (size_t j = 0; j < sizeof seqs / sizeof seqs[0]; j++)
			agree(p, sizes[i], seqs[j], sizes[i] <= 1100);
		free(p);
	}
}

/* The fill pattern repeats every 36 bytes: a payload over ECHO_MATCH_REF
 * (1024) is compared against its first 28 periods (1008 bytes), a small
 * one whole. */
static void reference_block(void **st)
{
	struct echo_match m;
	char *p = malloc(32768);
	(void)st;
	assert_non_null(p);
	echo_fill_payload(p, 32768);
	echo_match_init(&m, p, 32768);
	assert_int_equal(m.ref, 1008);
	assert_true(m.usable);
	echo_match_init(&m, p, 1025);
	assert_int_equal(m.ref, 1008);
	echo_match_init(&m, p, 1024);
	assert_int_equal(m.ref, 1024);
	free(p);
}

/* Payloads that do not repeat, or almost do: compared whole, still right. */
static void other_payloads(void **st)
{
	enum { N = 20000 };
	struct echo_match m;
	char *p = malloc(N);
	(void)st;
	assert_non_null(p);
	srand(7);
	for (size_t i = 0; i < N; i++)
		p[i] = (char)('!' + rand() % 90);
	echo_match_init(&m, p, N);
	assert_int_equal(m.ref, N);
	agree(p, N, 77, 0);
	memset(p, 'a', N);                      /* one period of 1 but for the last byte */
	p[N - 1] = 'b';
	echo_match_init(&m, p, N);
	assert_int_equal(m.ref, N);
	agree(p, N, 5, 0);
	for (size_t i = 0; i < N; i++)          /* a period of 5000: over ECHO_MATCH_REF */
		p[i] = (char)('a' + (i % 5000) % 26 + (i % 5000 == 0));
	echo_match_init(&m, p, N);
	assert_int_equal(m.ref, N);
	agree(p, N, 3, 0);
	free(p);
}

/* A payload with a "\n" would end the line early: not usable (the client
 * reads lines then). */
static void newline_in_payload(void **st)
{
	struct echo_match m;
	(void)st;
	echo_match_init(&m, "ab\ncd", 5);
	assert_false(m.usable);
	echo_match_init(&m, "abcd", 4);
	assert_true(m.usable);
}

/* The server's other lines never match an echo, whole or in part. */
static void replies_do_not_match(void **st)
{
	static const char *const lines[] = {
		"404 ERROR: Invalid Measurement Message\n", "200 OK: Closing Connection\n",
		"m abcd 2\n", "m abcd 1 \n", "m abcd 1\r\n", "m abcde 1\n", "m abc 1\n", "m abcd 10\n",
		"M abcd 1\n", "m  abcd 1\n", "\n",
	};
	struct echo_match m;
	(void)st;
	echo_match_init(&m, "abcd", 4);
	echo_match_seq(&m, 1);
	assert_true(feed(&m, "m abcd 1\n", 9, 1));
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		size_t n = strlen(lines[i]);
		assert_false(feed(&m, lines[i], n < m.len ? n : m.len, 1));
		assert_false(feed(&m, lines[i], n < m.len ? n : m.len, 64));
	}
}

CM_MAIN(CM_T(repeating_payloads), CM_T(reference_block), CM_T(other_payloads),
        CM_T(newline_in_payload), CM_T(replies_do_not_match))
