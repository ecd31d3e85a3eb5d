/* echo_heap: the server's deadline heap, against a sorted reference. */
#include "cm.h"
#include <stdlib.h>

#include "echo_heap.h"

struct item { size_t pos; int64_t due; int in; };

static int64_t ref_min(struct item *it, int n)
{
	int64_t m = INT64_MAX;
	for (int i = 0; i < n; i++)
		if (it[i].in && it[i].due < m)
			m = it[i].due;
	return m;
}

static void random_ops(void **st)
{
	enum { N = 300 };
	struct item it[N];
	struct echo_heap h = { 0 };
	unsigned seed = 12345;
	(void)st;
	for (int i = 0; i < N; i++)
		it[i] = (struct item){ ECHO_HEAP_NONE, 0, 0 };
	for (int step = 0; step < 20000; step++) {
		seed = seed * 1103515245u + 12345u;
		int i = (int)((seed >> 8) % N), op = (int)((seed >> 4) % 4);
		if (op < 3) {
			it[i].due = (int64_t)((seed >> 12) % 1000);
			it[i].in = 1;
			assert_int_equal(echo_heap_set(&h, &it[i], &it[i].pos, it[i].due), 0);
		} else {
			echo_heap_remove(&h, &it[i].pos);
			it[i].in = 0;
			assert_true(it[i].pos == ECHO_HEAP_NONE);
		}
		const struct echo_heap_ent *top = echo_heap_top(&h);
		int64_t want = ref_min(it, N);
		if (want == INT64_MAX) {
			assert_null(top);
		} else {
			assert_non_null(top);
			assert_int_equal(top->due, want);
			assert_int_equal(((struct item *)top->item)->due, want);
		}
	}
	/* drain in order */
	int64_t last = -1;
	const struct echo_heap_ent *top;
	while ((top = echo_heap_top(&h)) != NULL) {
		struct item *x = top->item;
		assert_true(top->due >= last);
		last = top->due;
		echo_heap_remove(&h, &x->pos);
	}
	echo_heap_free(&h);
}

CM_MAIN(CM_T(random_ops))
