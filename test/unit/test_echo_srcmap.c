/* echo_srcmap: connections per source for the server's per-source cap. */
#include "cm.h"
#include <errno.h>
#include <stdlib.h>

#include "echo_srcmap.h"

/* The cap holds per key; others go on; a freed slot is taken again. */
static void cap_per_key(void **st)
{
	struct echo_srcmap m = { 0 };
	(void)st;
	for (int i = 0; i < 3; i++)
		assert_int_equal(echo_srcmap_add(&m, 42, 3), 0);
	assert_int_equal(echo_srcmap_add(&m, 42, 3), -EUSERS);
	assert_int_equal(echo_srcmap_count(&m, 42), 3);
	assert_int_equal(echo_srcmap_add(&m, 43, 3), 0);
	echo_srcmap_del(&m, 42);
	assert_int_equal(echo_srcmap_add(&m, 42, 3), 0);
	assert_int_equal(echo_srcmap_add(&m, 7, 0), 0);         /* 0: no cap */
	assert_int_equal(m.n, 3);
	for (int i = 0; i < 3; i++)
		echo_srcmap_del(&m, 42);
	assert_int_equal(echo_srcmap_count(&m, 42), 0);
	assert_int_equal(m.n, 2);
	echo_srcmap_free(&m);
}

/* Many keys, clustered on purpose (close in the table), added and removed in a
 * scrambled order: every count stays right (the backward shift keeps each
 * probe run whole), the table grows and ends empty. */
static void collisions_and_growth(void **st)
{
	enum { N = 3000 };
	struct echo_srcmap m = { 0 };
	uint32_t want[N] = { 0 };
	uint64_t rnd = 88172645463325252ULL;
	(void)st;
	for (int round = 0; round < 20000; round++) {
		rnd ^= rnd << 13; rnd ^= rnd >> 7; rnd ^= rnd << 17;
		int k = (int)(rnd % N);
		uint64_t key = ((uint64_t)k << 40) | (uint64_t)(k % 5);  /* clustered */
		if ((rnd >> 32) % 3 != 0 || want[k] == 0) {
			int rc = echo_srcmap_add(&m, key, 4);
			assert_int_equal(rc, want[k] < 4 ? 0 : -EUSERS);
			if (rc == 0)
				want[k]++;
		} else {
			echo_srcmap_del(&m, key);
			want[k]--;
		}
	}
	size_t held = 0;
	for (int k = 0; k < N; k++) {
		uint64_t key = ((uint64_t)k << 40) | (uint64_t)(k % 5);
		assert_int_equal(echo_srcmap_count(&m, key), want[k]);
		held += want[k] > 0;
	}
	assert_int_equal(m.n, held);
	assert_true(m.cap >= 2 * held);
	for (int k = 0; k < N; k++)
		while (want[k]-- > 0)
			echo_srcmap_del(&m, ((uint64_t)k << 40) | (uint64_t)(k % 5));
	assert_int_equal(m.n, 0);
	for (size_t i = 0; i < m.cap; i++)
		assert_int_equal(m.t[i].count, 0);
	echo_srcmap_del(&m, 12345);                 /* unknown key: nothing */
	echo_srcmap_free(&m);
}

CM_MAIN(CM_T(cap_per_key), CM_T(collisions_and_growth))
