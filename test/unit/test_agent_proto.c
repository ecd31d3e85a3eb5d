/* agent_proto: probes are 1 to 20 ASCII digits, nothing else. */
#include "cm.h"
#include <string.h>

#include "agent_proto.h"

static enum agent_probe_rc parse(const char *s, uint64_t *n)
{
	return agent_probe_parse(s, strlen(s), n);
}

static void valid_probes(void **st)
{
	uint64_t n;
	(void)st;
	assert_int_equal(parse("1", &n), AGENT_PROBE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(parse("17", &n), AGENT_PROBE_OK);
	assert_int_equal(n, 17);
	assert_int_equal(parse("0", &n), AGENT_PROBE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(parse("000042", &n), AGENT_PROBE_OK);
	assert_int_equal(n, 42);
	assert_int_equal(parse("18446744073709551615", &n), AGENT_PROBE_OK);
	assert_true(n == UINT64_MAX);
	/* 20 digits that do not fit: a probe (echoed) that never matches */
	assert_int_equal(parse("18446744073709551616", &n), AGENT_PROBE_OVERFLOW);
	assert_int_equal(n, 0);
	assert_int_equal(parse("99999999999999999999", &n), AGENT_PROBE_OVERFLOW);
}

static void not_probes(void **st)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1\n", "12a", "0x10", "1.5", "Ping 1",
		"123456789012345678901", /* 21 digits */
	};
	uint64_t n;
	size_t i;
	(void)st;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(parse(bad[i], &n), AGENT_PROBE_BAD);
	/* an embedded NUL is not a digit */
	assert_int_equal(agent_probe_parse("1\0" "2", 3, &n), AGENT_PROBE_BAD);
	assert_int_equal(agent_probe_parse("12", 0, &n), AGENT_PROBE_BAD);
}

static void format_known_bytes(void **st)
{
	char buf[32];
	uint64_t n;
	(void)st;
	assert_int_equal(agent_probe_format(17, buf, sizeof buf), 2);
	assert_memory_equal(buf, "17", 3);
	assert_int_equal(agent_probe_format(0, buf, sizeof buf), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(agent_probe_format(UINT64_MAX, buf, sizeof buf), 20);
	assert_string_equal(buf, "18446744073709551615");
	assert_int_equal(agent_probe_format(12345, buf, 4), 0);   /* no room */
	assert_int_equal(agent_probe_format(12345, buf, 5), 5);   /* exact, no NUL */
	assert_memory_equal(buf, "12345", 5);
	for (uint64_t v = 1; v < 100000; v = v * 3 + 1) {
		size_t len = agent_probe_format(v, buf, sizeof buf);
		assert_int_equal(agent_probe_parse(buf, len, &n), AGENT_PROBE_OK);
		assert_true(n == v);
	}
}

/* Stamped probes: known bytes, the fields back, and within 20 digits and
 * uint64 (a seed agent echoes them; we parse them). */
static void stamp_known_bytes(void **st)
{
	char buf[32];
	struct agent_stamp s;
	uint64_t n, num;
	size_t len;
	(void)st;
	/* 2026-11-29T20:00:00.123456789Z, probe 17 */
	num = agent_stamp_make(1796068800123456789LL, 17);
	len = agent_probe_format(num, buf, sizeof buf);
	assert_int_equal(len, 19);
	/* 1796068800123456 us mod 10^11 = 68800123456 */
	assert_string_equal(buf, "1688001234560000017");
	assert_int_equal(agent_probe_parse(buf, len, &n), AGENT_PROBE_OK);
	assert_true(n == num);
	assert_int_equal(agent_stamp_parse(n, &s), 1);
	assert_true(s.time_us == 68800123456ULL);
	assert_true(s.seq == 17);
	/* the sequence wraps at 10^7; the largest stamp still fits */
	num = agent_stamp_make(99999999999999LL, 10000000 + 5);
	assert_int_equal(agent_stamp_parse(num, &s), 1);
	assert_true(s.seq == 5);
	assert_true(s.time_us == 99999999999ULL);
	assert_int_equal(agent_probe_format(num, buf, sizeof buf), 19);
	assert_string_equal(buf, "1999999999990000005");
	/* a counter is not a stamp */
	assert_int_equal(agent_stamp_parse(17, &s), 0);
	assert_int_equal(agent_stamp_parse(999999999999999999ULL, &s), 0);
	assert_int_equal(agent_stamp_parse(2000000000000000000ULL, &s), 0);
}

static void stamp_delay(void **st)
{
	struct agent_stamp s;
	int64_t tx = 1796068800123456789LL;
	(void)st;
	assert_int_equal(agent_stamp_parse(agent_stamp_make(tx, 1), &s), 1);
	/* 20 ms later: the middle of the send microsecond is 456500 ns */
	assert_int_equal(agent_stamp_delay_ns(&s, 1796068800143456500LL), 20000000);
	/* a receiver whose clock is behind: negative, not wrapped */
	assert_int_equal(agent_stamp_delay_ns(&s, 1796068800122456500LL), -1000000);
	/* across the 10^11 us wrap of the stamp */
	tx = 1796068899999990000LL;                 /* us mod 10^11 = 99999990 ... */
	assert_int_equal(agent_stamp_parse(agent_stamp_make(tx, 1), &s), 1);
	assert_int_equal(agent_stamp_delay_ns(&s, tx + 30000000), 30000000 - 500);
	tx = 1796068799999999000LL;                 /* 68799999999 us: wraps at +1 us */
	assert_int_equal(agent_stamp_parse(agent_stamp_make(tx, 1), &s), 1);
	assert_true(s.time_us == 68799999999ULL);
	tx = (int64_t)(AGENT_STAMP_T_MOD - 1) * 1000 + 1796000000000000000LL;
	assert_int_equal(agent_stamp_parse(agent_stamp_make(tx, 1), &s), 1);
	assert_int_equal(agent_stamp_delay_ns(&s, tx + 5000500), 5000000);
}

static void stamp_unwrap(void **st)
{
	(void)st;
	assert_true(agent_stamp_unwrap(17, 20) == 17);
	assert_true(agent_stamp_unwrap(17, 1) == 17);
	assert_true(agent_stamp_unwrap(3, 10000001) == 10000003);
	assert_true(agent_stamp_unwrap(9999999, 10000002) == 9999999);
	assert_true(agent_stamp_unwrap(2, 29999998) == 30000002);
	assert_true(agent_stamp_unwrap(0, 3) == 10000000);      /* never 0 */
}

CM_MAIN(CM_T(valid_probes), CM_T(not_probes), CM_T(format_known_bytes),
	CM_T(stamp_known_bytes), CM_T(stamp_delay), CM_T(stamp_unwrap))
