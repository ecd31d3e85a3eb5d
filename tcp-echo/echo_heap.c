#include "echo_heap.h"

#include <errno.h>
#include <stdlib.h>

static void put(struct echo_heap *h, size_t i, struct echo_heap_ent e)
{
	h->v[i] = e;
	*e.pos = i;
}

static void sift_up(struct echo_heap *h, size_t i)
{
	struct echo_heap_ent e = h->v[i];

	while (i > 0 && h->v[(i - 1) / 2].due > e.due) {
		put(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	put(h, i, e);
}

static void sift_down(struct echo_heap *h, size_t i)
{
	struct echo_heap_ent e = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1].due < h->v[c].due)
			c++;
		if (h->v[c].due >= e.due)
			break;
		put(h, i, h->v[c]);
		i = c;
	}
	put(h, i, e);
}

int echo_heap_set(struct echo_heap *h, void *item, size_t *pos, int64_t due)
{
	if (*pos != ECHO_HEAP_NONE) {
		int64_t old = h->v[*pos].due;
		h->v[*pos].due = due;
		if (due < old)
			sift_up(h, *pos);
		else
			sift_down(h, *pos);
		return 0;
	}
	if (h->n == h->cap) {
		size_t ncap = h->cap ? 2 * h->cap : 64;
		struct echo_heap_ent *v = realloc(h->v, ncap * sizeof *v);
		if (v == NULL)
			return -ENOMEM;
		h->v = v;
		h->cap = ncap;
	}
	put(h, h->n, (struct echo_heap_ent){ due, item, pos });
	sift_up(h, h->n++);
	return 0;
}

void echo_heap_remove(struct echo_heap *h, size_t *pos)
{
	size_t i = *pos;

	if (i == ECHO_HEAP_NONE)
		return;
	*pos = ECHO_HEAP_NONE;
	if (i == --h->n)
		return;
	int64_t old = h->v[i].due;
	put(h, i, h->v[h->n]);
	if (h->v[i].due < old)
		sift_up(h, i);
	else
		sift_down(h, i);
}

void echo_heap_free(struct echo_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}
