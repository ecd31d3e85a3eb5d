/* echo_match: the client's check of an echo as its bytes arrive (pure).
 *
 * The echo of probe `seq` is the probe line itself, "m <payload> <seq>\n".
 * The client compares what it reads against that line in one pass: each
 * byte once, as it comes, with no search for the "\n" first (the general
 * path, echo_read_line, finds the line and then compares it: two passes).
 * Bytes equal to the expected line so far cannot hold a "\n" before its
 * end (echo_match_init refuses a payload with one), so a complete match is
 * exactly the line the general path would have found and accepted; at the
 * first byte that differs the caller hands over to the general path, which
 * decides (a 404, an unexpected line) as it always did.
 *
 * A payload that repeats (echo_fill_payload's pattern does, every 36
 * bytes) is compared against its first `ref` bytes, a multiple of the
 * period of at most ECHO_MATCH_REF: a block that stays in the L1 cache
 * instead of a second copy of the whole payload.
 *
 * No I/O, no allocation; `payload` is the caller's and must outlive it. */
#ifndef ECHO_MATCH_H
#define ECHO_MATCH_H

#include <stddef.h>
#include <stdint.h>

#define ECHO_MATCH_REF 1024   /* most payload bytes compared against */

struct echo_match {
	const char *payload;
	size_t size;           /* payload bytes */
	size_t ref;            /* payload[i] == payload[i % ref] for all i < size */
	int usable;            /* 0: the payload holds a "\n"; use the general path */
	uint64_t seq;          /* the awaited echo's probe (0: none yet) */
	char tail[24];         /* " <seq>\n" */
	size_t tlen;
	size_t len;            /* the whole line with its "\n": 2 + size + tlen */
};

/* For a session's payload (size bytes, any content). */
void echo_match_init(struct echo_match *m, const char *payload, size_t size);
/* The echo awaited is probe seq's (>= 1). */
void echo_match_seq(struct echo_match *m, uint64_t seq);
/* 1 when got[0..n) equals bytes [off, off + n) of the awaited line
 * (off + n <= m->len), else 0. */
int echo_match_range(const struct echo_match *m, const char *got, size_t off, size_t n);

#endif
