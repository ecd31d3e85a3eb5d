/* echo_heap: a binary min-heap of deadlines, for the server's delayed echoes.
 *
 * Each item keeps its own position (a size_t the heap updates, ECHO_HEAP_NONE
 * when not in the heap), so updating or removing an item is O(log n) without
 * a search. The heap owns only its array (echo_heap_free); items are borrowed.
 */
#ifndef ECHO_HEAP_H
#define ECHO_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define ECHO_HEAP_NONE ((size_t)-1)

struct echo_heap_ent {
	int64_t due;
	void *item;
	size_t *pos;
};

struct echo_heap {
	struct echo_heap_ent *v;
	size_t n, cap;
};

/* Inserts the item, or moves it when *pos says it is in. 0 or -ENOMEM. */
int echo_heap_set(struct echo_heap *h, void *item, size_t *pos, int64_t due);
/* Removes the item when it is in (else nothing). */
void echo_heap_remove(struct echo_heap *h, size_t *pos);
/* The earliest entry, or NULL when empty. */
static inline const struct echo_heap_ent *echo_heap_top(const struct echo_heap *h)
{
	return h->n ? &h->v[0] : NULL;
}
void echo_heap_free(struct echo_heap *h);

#endif
