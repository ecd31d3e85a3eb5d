/* echo_lines: partial lines kept across reads within the shared budget. */
#include "cm.h"
#include <errno.h>
#include <stdlib.h>

#include "echo_lines.h"

/* A line in three pieces: kept, completed, its big buffer given back. */
static void line_across_reads(void **st)
{
	struct echo_budget b = { 0, 1 << 20 };
	struct echo_partial pl = { NULL, 0, 0, 0 };
	size_t used;
	(void)st;
	assert_int_equal(echo_partial_keep(&pl, &b, "m ab", 4, 100), 0);
	assert_true(echo_partial_any(&pl));
	assert_int_equal(echo_partial_first(&pl), 'm');
	assert_int_equal(echo_partial_feed(&pl, &b, "cd", 2, 100, &used), ECHO_PART_MORE);
	assert_int_equal(used, 2);
	assert_int_equal(echo_partial_feed(&pl, &b, " 1\nm x", 6, 100, &used), ECHO_PART_LINE);
	assert_int_equal(used, 3);                      /* up to and with the "\n" */
	assert_int_equal(pl.len, 9);
	assert_memory_equal(pl.buf, "m abcd 1\n", 9);
	assert_int_equal(b.used, pl.cap);
	echo_partial_done(&pl, &b);
	assert_false(echo_partial_any(&pl));
	assert_int_equal(b.used, 101);                  /* capped at max + 1, small: kept */
	echo_partial_free(&pl, &b);
	assert_int_equal(b.used, 0);
}

/* Content past max is broken; the newline does not count. */
static void too_long(void **st)
{
	struct echo_budget b = { 0, 1 << 20 };
	struct echo_partial pl = { NULL, 0, 0, 0 };
	size_t used;
	(void)st;
	assert_int_equal(echo_partial_keep(&pl, &b, "s RT", 4, 8), 0);
	assert_int_equal(echo_partial_feed(&pl, &b, "T 1\n", 4, 8, &used), ECHO_PART_LINE);
	echo_partial_done(&pl, &b);
	assert_int_equal(echo_partial_keep(&pl, &b, "s RT", 4, 8), 0);
	assert_int_equal(echo_partial_feed(&pl, &b, "T 123\nxx", 8, 8, &used), ECHO_PART_LONG);
	assert_int_equal(used, 8);                      /* the rest of the read is dropped */
	assert_int_equal(echo_partial_first(&pl), 's');
	echo_partial_drop(&pl);
	assert_false(echo_partial_any(&pl));
	echo_partial_free(&pl, &b);
	assert_int_equal(b.used, 0);
}

/* Buffers double from 4 KiB; a large one goes back after its line; all
 * connections together stay within the budget (at least two lines). */
static void budget(void **st)
{
	enum { MAX = 64 * 1024 };
	struct echo_budget b = { 0, 3 * (MAX + 1) };
	struct echo_partial p[4] = { { NULL, 0, 0, 0 } };
	char *chunk = calloc(1, 2 * MAX);
	size_t used;
	(void)st;
	assert_non_null(chunk);
	assert_int_equal(echo_partial_keep(&p[0], &b, chunk, 5000, MAX), 0);
	assert_int_equal(p[0].cap, 8192);
	for (int i = 0; i < 3; i++)
		assert_int_equal(echo_partial_keep(&p[i], &b, chunk, MAX - 5000, MAX), 0);
	assert_int_equal(b.used, 3 * MAX);              /* doubled to MAX: all of the budget */
	assert_int_equal(echo_partial_keep(&p[3], &b, chunk, 100, MAX), -ENOBUFS);
	assert_int_equal(echo_partial_feed(&p[0], &b, "\n", 1, MAX, &used), ECHO_PART_LINE);
	echo_partial_done(&p[0], &b);                   /* larger than 4 KiB: returned */
	assert_int_equal(p[0].cap, 0);
	assert_int_equal(echo_partial_keep(&p[3], &b, chunk, 100, MAX), 0);
	/* a budget under two lines is raised to two */
	struct echo_budget tiny = { 0, 10 };
	struct echo_partial q = { NULL, 0, 0, 0 };
	assert_int_equal(echo_partial_keep(&q, &tiny, chunk, 2 * MAX, 2 * MAX), 0);
	echo_partial_free(&q, &tiny);
	for (int i = 0; i < 4; i++)
		echo_partial_free(&p[i], &b);
	assert_int_equal(b.used, 0);
	free(chunk);
}

/* A complete line lent to its answer stops counting (its echo is counted
 * instead); afterwards a small buffer counts again only within the budget. */
static void lend(void **st)
{
	struct echo_budget b = { 0, 8192 };
	struct echo_partial pl = { NULL, 0, 0, 0 };
	size_t used;
	(void)st;
	assert_int_equal(echo_partial_keep(&pl, &b, "m ab", 4, 100), 0);
	assert_int_equal(echo_partial_feed(&pl, &b, "c 1\n", 4, 100, &used), ECHO_PART_LINE);
	assert_int_equal(b.used, 101);
	echo_partial_lend(&pl, &b);
	assert_int_equal(b.used, 0);
	b.used += 9;                                    /* its echo, queued */
	echo_partial_done(&pl, &b);
	assert_int_equal(b.used, 9 + 101);              /* small, fits: kept */
	assert_int_equal(echo_partial_keep(&pl, &b, "m x", 3, 100), 0);
	assert_int_equal(echo_partial_feed(&pl, &b, " 2\n", 3, 100, &used), ECHO_PART_LINE);
	echo_partial_lend(&pl, &b);
	b.used = 8192 - 50;                             /* the budget filled meanwhile */
	echo_partial_done(&pl, &b);
	assert_null(pl.buf);                            /* no room: given back */
	assert_int_equal(b.used, 8192 - 50);
	echo_partial_free(&pl, &b);
	assert_int_equal(b.used, 8192 - 50);
}

CM_MAIN(CM_T(line_across_reads), CM_T(too_long), CM_T(budget), CM_T(lend))
