/* pk_opt: strict bounded parsing. */
#include "cm.h"
#include <errno.h>
#include <string.h>

#include "pk_opt.h"

static void uints(void **st)
{
	uint64_t v;
	const char *e;
	(void)st;
	assert_int_equal(pk_opt_uint("10", 1, 100, &v, &e), 0);
	assert_int_equal(v, 10);
	assert_int_equal(pk_opt_uint("0", 1, 100, &v, &e), -ERANGE);
	assert_string_equal(e, "too small");
	assert_int_equal(pk_opt_uint("101", 1, 100, &v, &e), -ERANGE);
	assert_string_equal(e, "too large");
	const char *bad[] = { "", "-1", "+1", " 1", "1 ", "1x", "0x10", "1e3", "abc" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(pk_opt_uint(bad[i], 0, 1000, &v, &e), -EINVAL);
		assert_string_equal(e, "invalid");
	}
	assert_int_equal(pk_opt_uint("99999999999999999999999", 0, UINT64_MAX, &v, &e), -ERANGE);
	assert_int_equal(pk_opt_uint(NULL, 0, 1, &v, &e), -EINVAL);
}

static void doubles(void **st)
{
	double v;
	const char *e;
	(void)st;
	assert_int_equal(pk_opt_double("0.25", 0, 1, &v, &e), 0);
	assert_float_equal(v, 0.25, 0);
	assert_int_equal(pk_opt_double(".5", 0, 1, &v, &e), 0);
	assert_int_equal(pk_opt_double("1.", 0, 1, &v, &e), 0);
	assert_int_equal(pk_opt_double("-0.5", -1, 1, &v, &e), 0);
	assert_float_equal(v, -0.5, 0);
	assert_int_equal(pk_opt_double("-0.5", 0, 1, &v, &e), -EINVAL);
	const char *bad[] = { "", ".", "nan", "inf", "1e3", "0x1p3", "1..2", "1.2.3", "1,5" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(pk_opt_double(bad[i], -1e9, 1e9, &v, &e), -EINVAL);
	assert_int_equal(pk_opt_double("2", 0, 1, &v, &e), -ERANGE);
}

static void durations(void **st)
{
	int64_t ns;
	const char *e;
	(void)st;
	struct { const char *s; int64_t ns; } ok[] = {
		{ "1", 1000000000LL }, { "1.5s", 1500000000LL }, { "250ms", 250000000LL },
		{ "100us", 100000LL }, { "10ns", 10 }, { "2m", 120000000000LL },
		{ "0.2", 200000000LL }, { "1h", 3600000000000LL }, { "0.001ms", 1000 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(pk_opt_duration(ok[i].s, 0, INT64_MAX, &ns, &e), 0);
		assert_int_equal(ns, ok[i].ns);
	}
	const char *bad[] = { "", "ms", "1 s", "1sec", "-1s", "1.5.s", "1S", "s1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(pk_opt_duration(bad[i], 0, INT64_MAX, &ns, &e), -EINVAL);
	assert_int_equal(pk_opt_duration("1us", 10000, INT64_MAX, &ns, &e), -ERANGE);
	assert_string_equal(e, "too small");
	assert_int_equal(pk_opt_duration("100000000h", 0, INT64_MAX, &ns, &e), -ERANGE);
}

static void sizes_ports_probs(void **st)
{
	uint64_t v;
	uint16_t p;
	double d;
	const char *e;
	(void)st;
	assert_int_equal(pk_opt_size("32K", 1, 1 << 30, &v, &e), 0);
	assert_int_equal(v, 32768);
	assert_int_equal(pk_opt_size("1MiB", 1, 1 << 30, &v, &e), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(pk_opt_size("1000", 1, 1 << 30, &v, &e), 0);
	assert_int_equal(pk_opt_size("1G", 1, 1 << 30, &v, &e), -EINVAL);
	assert_int_equal(pk_opt_size("2M", 1, 1048576, &v, &e), -ERANGE);
	assert_int_equal(pk_opt_port("0", &p, &e), 0);
	assert_int_equal(pk_opt_port("65535", &p, &e), 0);
	assert_int_equal(p, 65535);
	assert_int_equal(pk_opt_port("65536", &p, &e), -ERANGE);
	assert_int_equal(pk_opt_port("http", &p, &e), -EINVAL);
	assert_int_equal(pk_opt_prob("0.3", &d, &e), 0);
	assert_float_equal(d, 0.3, 1e-12);
	assert_int_equal(pk_opt_prob("30%", &d, &e), 0);
	assert_float_equal(d, 0.3, 1e-12);
	assert_int_equal(pk_opt_prob("1.1", &d, &e), -ERANGE);
	assert_int_equal(pk_opt_prob("101%", &d, &e), -ERANGE);
	assert_int_equal(pk_opt_prob("%", &d, &e), -EINVAL);
}

static void format_duration(void **st)
{
	char b[32];
	(void)st;
	assert_string_equal(pk_fmt_duration(1000000000LL, b, sizeof b), "1 s");
	assert_string_equal(pk_fmt_duration(250000000LL, b, sizeof b), "250 ms");
	assert_string_equal(pk_fmt_duration(1500000000LL, b, sizeof b), "1.500 s");
	assert_string_equal(pk_fmt_duration(100000LL, b, sizeof b), "100.000 us");
}

CM_MAIN(CM_T(uints), CM_T(doubles), CM_T(durations), CM_T(sizes_ports_probs),
	CM_T(format_duration))
