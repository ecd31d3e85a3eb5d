/* hb_proto: heartbeat and reply parsing and formatting on known bytes. */
#include "cm.h"
#include <string.h>

#include "hb_proto.h"

static int beat(const char *s, struct hb_beat *b)
{
	return hb_parse_beat(s, strlen(s), b);
}

static int reply(const char *s, struct hb_reply *r)
{
	return hb_parse_reply(s, strlen(s), r);
}

static void beat_good(void **st)
{
	struct hb_beat b;
	(void)st;
	/* the seed's own bytes: "44 1726820518.3919091" */
	assert_int_equal(beat("44 1726820518.3919091", &b), 21);
	assert_int_equal(b.seq, 44);
	assert_int_equal(b.ts_ns, 1726820518391909100LL);
	assert_int_equal(beat("0 1726820517", &b), 12);
	assert_int_equal(b.seq, 0);
	assert_int_equal(b.ts_ns, 1726820517000000000LL);
	/* split() tolerance: blank runs, one trailing newline */
	assert_int_equal(beat("7 \t 1.5\n", &b), 8);
	assert_int_equal(b.ts_ns, 1500000000LL);
	assert_int_equal(beat("7 1.5\r\n", &b), 7);
	/* digits past ns are accepted and dropped */
	assert_int_equal(beat("1 2.1234567891234", &b), 17);
	assert_int_equal(b.ts_ns, 2123456789LL);
	/* an exponent (Python never sends one, but it is a float) */
	assert_int_equal(beat("3 1.5e3", &b), 7);
	assert_int_equal(b.ts_ns, 1500000000000LL);
	assert_int_equal(beat("9223372036854775807 1.0", &b), 23);
	assert_int_equal(b.seq, 9223372036854775807ULL);
}

static void beat_bad(void **st)
{
	struct hb_beat b = { 99, 99 };
	char big[HB_MSG_MAX + 2];
	(void)st;
	assert_int_equal(hb_parse_beat("", 0, &b), HB_BAD_EMPTY);
	assert_int_equal(beat("44", &b), HB_BAD_FIELDS);            /* short */
	assert_int_equal(beat("44 ", &b), HB_BAD_FIELDS);
	assert_int_equal(beat(" 44 1.0", &b), HB_BAD_FIELDS);       /* leading blank */
	assert_int_equal(beat("44 1.0 x", &b), HB_BAD_FIELDS);      /* third field */
	assert_int_equal(beat("44 1.0 ", &b), HB_BAD_FIELDS);
	assert_int_equal(beat("abc 1.0", &b), HB_BAD_NUMBER);       /* non-numeric */
	assert_int_equal(beat("44 now", &b), HB_BAD_NUMBER);
	assert_int_equal(beat("44 1.0x", &b), HB_BAD_NUMBER);       /* trailing garbage */
	assert_int_equal(beat("44x 1.0", &b), HB_BAD_NUMBER);
	assert_int_equal(beat("-1 1.0", &b), HB_BAD_NUMBER);        /* negative */
	assert_int_equal(beat("1 -1.0", &b), HB_BAD_NUMBER);
	assert_int_equal(beat("+1 1.0", &b), HB_BAD_NUMBER);
	assert_int_equal(beat("1 inf", &b), HB_BAD_NUMBER);
	assert_int_equal(beat("1 nan", &b), HB_BAD_NUMBER);
	assert_int_equal(beat("1 0x10", &b), HB_BAD_NUMBER);
	assert_int_equal(beat("1 .5", &b), HB_BAD_NUMBER);
	assert_int_equal(beat("1 1e", &b), HB_BAD_NUMBER);
	assert_int_equal(beat("1 1.0\n\n", &b), HB_BAD_NUMBER);
	assert_int_equal(hb_parse_beat("1 1.0\0", 6, &b), HB_BAD_FIELDS);
	assert_int_equal(hb_parse_beat("1\0 1.0", 6, &b), HB_BAD_FIELDS);
	/* huge */
	assert_int_equal(beat("9223372036854775808 1.0", &b), HB_BAD_RANGE);
	assert_int_equal(beat("99999999999999999999999 1.0", &b), HB_BAD_RANGE);
	assert_int_equal(beat("1 9000000000.0", &b), HB_BAD_RANGE);
	assert_int_equal(beat("1 1e300", &b), HB_BAD_RANGE);
	assert_int_equal(beat("1 1e999", &b), HB_BAD_RANGE);
	memset(big, '1', sizeof big);
	big[1] = ' ';
	assert_int_equal(hb_parse_beat(big, HB_MSG_MAX + 1, &b), HB_BAD_SIZE);
	assert_int_equal(hb_parse_beat(big, HB_MSG_MAX, &b), HB_BAD_RANGE);
	/* nothing written on failure */
	assert_int_equal(b.seq, 99);
	assert_int_equal(b.ts_ns, 99);
}

static void reply_good_bad(void **st)
{
	struct hb_reply r;
	(void)st;
	assert_int_equal(reply("44 0.0", &r), 6);
	assert_int_equal(r.seq, 44);
	assert_true(r.diff_s == 0.0);
	assert_int_equal(reply("19 -2.5680248737335205", &r), 22);
	assert_float_equal(r.diff_s, -2.5680248737335205, 1e-15);
	assert_int_equal(reply("5 4.0531158447265625e-05", &r), 24);
	assert_float_equal(r.diff_s, 4.0531158447265625e-05, 1e-18);
	assert_int_equal(reply("5 1E-3\n", &r), 7);
	assert_int_equal(reply("5", &r), HB_BAD_FIELDS);
	assert_int_equal(reply("5 abc", &r), HB_BAD_NUMBER);
	assert_int_equal(reply("5 1.0e", &r), HB_BAD_NUMBER);
	assert_int_equal(reply("5 --1", &r), HB_BAD_NUMBER);
	assert_int_equal(reply("5 1e10", &r), HB_BAD_RANGE);
	assert_int_equal(reply("5 -1e400", &r), HB_BAD_RANGE);
	assert_int_equal(reply("PING 5 x", &r), HB_BAD_FIELDS);
}

static void format(void **st)
{
	char buf[64];
	struct hb_beat b;
	struct hb_reply r;
	(void)st;
	assert_int_equal(hb_format_beat(buf, sizeof buf, 44, 1726820518391909100LL), 23);
	assert_string_equal(buf, "44 1726820518.391909100");
	assert_int_equal(beat(buf, &b), 23);
	assert_int_equal(b.ts_ns, 1726820518391909100LL);
	assert_int_equal(hb_format_reply(buf, sizeof buf, 3, 51234), 13);
	assert_string_equal(buf, "3 0.000051234");
	assert_int_equal(hb_format_reply(buf, sizeof buf, 19, -2568024873LL), 15);
	assert_string_equal(buf, "19 -2.568024873");
	assert_int_equal(reply(buf, &r), 15);
	assert_float_equal(r.diff_s, -2.568024873, 1e-12);
	assert_int_equal(hb_format_reply(buf, 5, 19, 1), -1);
	assert_string_equal(hb_bad_str(HB_BAD_SIZE), "oversized");
}

/* A reply is never longer than the heartbeat: decimals cut, then none. */
static void reply_max(void **st)
{
	char buf[64];
	struct hb_reply r;
	const int64_t big = 1726820518391909100LL;    /* diff of a timestamp 0 */
	(void)st;
	assert_int_equal(hb_format_reply_max(buf, 64, 44, 51234), 14);
	assert_memory_equal(buf, "44 0.000051234", 14);
	assert_int_equal(hb_format_reply_max(buf, 14, 44, 51234), 14);
	assert_int_equal(hb_format_reply_max(buf, 9, 44, 51234), 9);
	assert_memory_equal(buf, "44 0.0000", 9);
	assert_int_equal(hb_format_reply_max(buf, 6, 44, 51234), 6);
	assert_memory_equal(buf, "44 0.0", 6);
	/* no lone '.' */
	assert_int_equal(hb_format_reply_max(buf, 5, 44, 51234), 4);
	assert_memory_equal(buf, "44 0", 4);
	assert_int_equal(hb_format_reply_max(buf, 4, 44, 51234), 4);
	assert_int_equal(hb_format_reply_max(buf, 3, 44, 51234), -1);
	assert_int_equal(hb_format_reply_max(buf, 5, 4, -2568024873LL), 4);
	assert_memory_equal(buf, "4 -2", 4);
	assert_int_equal(hb_format_reply_max(buf, 13, 44, big), 13);
	assert_memory_equal(buf, "44 1726820518", 13);
	assert_int_equal(hb_format_reply_max(buf, 14, 44, big), 13);
	assert_int_equal(hb_format_reply_max(buf, 15, 44, big), 15);
	assert_memory_equal(buf, "44 1726820518.3", 15);
	assert_int_equal(hb_format_reply_max(buf, 12, 44, big), -1);
	/* "0 0" (3 bytes) asked for a 22-byte reply: none now */
	assert_int_equal(hb_format_reply_max(buf, 3, 0, big), -1);
	/* what is cut still parses as a reply, with the same seq */
	for (size_t max = 1; max <= 30; max++) {
		int n = hb_format_reply_max(buf, max, 123, -987654321012LL);
		if (n < 0)
			continue;
		assert_true((size_t)n <= max);
		assert_int_equal(hb_parse_reply(buf, (size_t)n, &r), n);
		assert_int_equal(r.seq, 123);
	}
}

static void reply_shaped(void **st)
{
	const int64_t s = 1000000000LL;
	(void)st;
	assert_false(hb_reply_shaped(0));
	assert_false(hb_reply_shaped(51234));
	assert_false(hb_reply_shaped(-2568024873LL));
	assert_false(hb_reply_shaped(HB_ANSWER_DIFF_MAX_S * s));
	assert_false(hb_reply_shaped(-HB_ANSWER_DIFF_MAX_S * s));
	assert_true(hb_reply_shaped(HB_ANSWER_DIFF_MAX_S * s + 1));
	assert_true(hb_reply_shaped(-HB_ANSWER_DIFF_MAX_S * s - 1));
	/* our reply "44 0.000051234" read as a heartbeat, now */
	assert_true(hb_reply_shaped(1726820518391909100LL - 51234));
}

CM_MAIN(CM_T(beat_good), CM_T(beat_bad), CM_T(reply_good_bad), CM_T(format),
	CM_T(reply_max), CM_T(reply_shaped))
