/* pk_limit: token buckets per source, bounded table. */
#include "cm.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "pk_limit.h"
#include "pk_sock.h"


static void burst_then_rate(void **st)
{
	struct pk_limit l;
	struct pk_addr a = cm_v4(0x7f000001, 1000);
	int ok = 0;
	(void)st;
	assert_int_equal(pk_limit_init(&l, 64, 100.0, 10.0), 0);
	for (int i = 0; i < 50; i++)
		ok += pk_limit_allow(&l, &a, 0);
	assert_int_equal(ok, 10);                 /* the burst */
	assert_int_equal(l.refused, 40);
	/* one second later: 100 more tokens, capped at the burst */
	ok = 0;
	for (int i = 0; i < 50; i++)
		ok += pk_limit_allow(&l, &a, 1000000000LL);
	assert_int_equal(ok, 10);
	/* steady 100/s for one second: every one of 100 allowed */
	ok = 0;
	for (int i = 1; i <= 100; i++)
		ok += pk_limit_allow(&l, &a, 2000000000LL + i * 10000000LL);
	assert_int_equal(ok, 100);
	pk_limit_free(&l);
}

static void sources_independent(void **st)
{
	struct pk_limit l;
	struct pk_addr a = cm_v4(0x7f000001, 1000), b = cm_v4(0x7f000002, 1000);
	struct pk_addr a2 = cm_v4(0x7f000001, 1001);
	(void)st;
	assert_int_equal(pk_limit_init(&l, 64, 1.0, 1.0), 0);
	assert_true(pk_limit_allow(&l, &a, 0));
	assert_false(pk_limit_allow(&l, &a, 0));
	/* a source is its address: another port of it shares the bucket */
	assert_false(pk_limit_allow(&l, &a2, 0));
	assert_true(pk_limit_allow(&l, &b, 0));   /* b has its own bucket */
	pk_limit_free(&l);
}

static void unlimited_and_bounded(void **st)
{
	struct pk_limit l;
	(void)st;
	assert_int_equal(pk_limit_init(&l, 16, 0.0, 0.0), 0);
	for (int i = 0; i < 1000; i++) {
		struct pk_addr a = cm_v4(0x0a000000 + (uint32_t)i, 1);
		assert_true(pk_limit_allow(&l, &a, 0));
	}
	pk_limit_free(&l);
	/* 10,000 sources through a 16-entry table: evictions, no growth */
	assert_int_equal(pk_limit_init(&l, 16, 10.0, 5.0), 0);
	for (int i = 0; i < 10000; i++) {
		struct pk_addr a = cm_v4(0x0a000000 + (uint32_t)i, 1);
		assert_true(pk_limit_allow(&l, &a, i));
	}
	assert_true(l.evicted >= 10000 - 16);
	assert_int_equal(l.sets * 4, 16);
	pk_limit_free(&l);
}

CM_MAIN(CM_T(burst_then_rate), CM_T(sources_independent), CM_T(unlimited_and_bounded))
