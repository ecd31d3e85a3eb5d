/* echo_lines: partial lines within a shared budget (see echo_lines.h). */
#include "echo_lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_LINE 4096           /* kept after a line; larger buffers go back */

int echo_partial_keep(struct echo_partial *pl, struct echo_budget *b, const char *p,
                      size_t n, size_t max)
{
	size_t need = pl->len + n;

	if (pl->cap < need) {
		size_t cap = pl->cap ? pl->cap : SMALL_LINE;
		uint64_t budget = b->limit;
		char *in;

		while (cap < need)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		if (budget < 2 * (uint64_t)(max + 1))
			budget = 2 * (uint64_t)(max + 1);
		if (b->used - pl->cap + cap > budget)
			return -ENOBUFS;
		in = realloc(pl->buf, cap);
		if (in == NULL)
			return -ENOMEM;
		b->used += cap - pl->cap;
		pl->buf = in;
		pl->cap = cap;
	}
	memcpy(pl->buf + pl->len, p, n);
	pl->len += n;
	return 0;
}

int echo_partial_feed(struct echo_partial *pl, struct echo_budget *b, const char *p,
                      size_t n, size_t max, size_t *used)
{
	const char *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;
	size_t content = pl->len + take - (nl ? 1 : 0);
	int rc;

	if (content > max) {
		*used = n;
		return ECHO_PART_LONG;
	}
	if ((rc = echo_partial_keep(pl, b, p, take, max)) != 0)
		return rc;
	*used = take;
	return nl ? ECHO_PART_LINE : ECHO_PART_MORE;
}

void echo_partial_lend(struct echo_partial *pl, struct echo_budget *b)
{
	if (!pl->lent)
		b->used -= pl->cap;
	pl->lent = 1;
}

void echo_partial_done(struct echo_partial *pl, struct echo_budget *b)
{
	pl->len = 0;
	if (pl->lent) {
		if (pl->cap > SMALL_LINE || echo_budget_over(b, pl->cap)) {
			free(pl->buf);
			*pl = (struct echo_partial){ NULL, 0, 0, 0 };
			return;
		}
		b->used += pl->cap;
		pl->lent = 0;
	}
	if (pl->cap > SMALL_LINE)
		echo_partial_free(pl, b);
}

void echo_partial_free(struct echo_partial *pl, struct echo_budget *b)
{
	if (!pl->lent)
		b->used -= pl->cap;
	free(pl->buf);
	*pl = (struct echo_partial){ NULL, 0, 0, 0 };
}
