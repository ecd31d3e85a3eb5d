/* echo_lines: line assembly for the server. A line that one read does not
 * complete is kept (the start of it) until its end arrives.
 *
 * The buffer grows by doubling up to the line limit (max + 1), not to the
 * limit at once, and the buffers of all connections share one budget
 * (--max-buffer, at least two maximum-size lines): 10,000 slow peers each
 * sending most of a 1 MiB line cannot make the server hold 10 GB. Complete
 * lines in the read buffer never come here (echo_frame takes them there).
 */
#ifndef ECHO_LINES_H
#define ECHO_LINES_H

#include <stddef.h>
#include <stdint.h>

/* Every byte the server holds for its connections (issue 10): partial-line
 * buffers (their capacities) and, through echo_outq, queued, delayed and
 * unsent output with its delay marks. */
struct echo_budget {
	size_t used;
	uint64_t limit;             /* --max-buffer */
};

/* 1 when n more bytes would pass the budget. */
static inline int echo_budget_over(const struct echo_budget *b, size_t n)
{
	return b->used + (uint64_t)n > b->limit;
}

struct echo_partial {
	char *buf;
	size_t len, cap;
	int lent;                   /* its capacity is not counted (echo_partial_lend) */
};

/* Appends p[0..n) to the kept line of at most `max` bytes. 0, -ENOMEM, or
 * -ENOBUFS (over the budget: that connection ends). */
int echo_partial_keep(struct echo_partial *pl, struct echo_budget *b, const char *p,
                      size_t n, size_t max);

/* What echo_partial_feed did with the bytes. */
enum echo_part {
	ECHO_PART_MORE,   /* all kept, the line goes on */
	ECHO_PART_LINE,   /* the line is complete: buf[0..len - 1), "\n" at len - 1 */
	ECHO_PART_LONG,   /* longer than max: broken (its first byte stays readable) */
};

/* Continues the kept line with the start of p. Sets *used to the bytes
 * taken (all of them for ECHO_PART_LONG) and returns an enum echo_part, or
 * an error of echo_partial_keep. After ECHO_PART_LINE call echo_partial_done;
 * after ECHO_PART_LONG, echo_partial_drop. */
int echo_partial_feed(struct echo_partial *pl, struct echo_budget *b, const char *p,
                      size_t n, size_t max, size_t *used);

/* A complete line is about to be answered from pl->buf (its echo may be
 * copied into the output queue): its buffer stops counting, so the line is
 * not counted twice. echo_partial_done follows. */
void echo_partial_lend(struct echo_partial *pl, struct echo_budget *b);

/* A complete line was answered: empties the buffer and gives a large one
 * back to the budget (a lent one is kept, counted again, only when small
 * and within the budget). */
void echo_partial_done(struct echo_partial *pl, struct echo_budget *b);
void echo_partial_free(struct echo_partial *pl, struct echo_budget *b);

static inline int echo_partial_any(const struct echo_partial *pl) { return pl->len > 0; }
/* The first byte of a kept line (the phase's letter, for a broken line). */
static inline unsigned char echo_partial_first(const struct echo_partial *pl)
{
	return (unsigned char)pl->buf[0];
}
/* Forgets the kept bytes (the line was answered as broken). */
static inline void echo_partial_drop(struct echo_partial *pl) { pl->len = 0; }

#endif
