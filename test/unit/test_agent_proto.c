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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_probes),
		cmocka_unit_test(not_probes),
		cmocka_unit_test(format_known_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
