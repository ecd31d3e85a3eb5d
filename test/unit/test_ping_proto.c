/* ping_proto on known bytes. */
#include "cm.h"
#include <errno.h>
#include <string.h>

#include "ping_proto.h"

static void format_known(void **st)
{
	char buf[128];
	(void)st;
	int n = ping_req_format(buf, sizeof buf, 17, 1726820518391909100LL, 0);
	assert_int_equal(n, 25);
	assert_memory_equal(buf, "Ping 17 1726820518.391909", 25);
	/* padded to 32 bytes: a space, then a..f */
	n = ping_req_format(buf, sizeof buf, 1, 1000000000LL, 32);
	assert_int_equal(n, 32);
	assert_memory_equal(buf, "Ping 1 1.000000 abcdefghijklmnop", 32);
	/* a size below the text's length sends the text */
	assert_int_equal(ping_req_format(buf, sizeof buf, 1, 1000000000LL, 3), 15);
	/* microseconds keep their leading zeros */
	n = ping_req_format(buf, sizeof buf, 2, 5000001000LL, 0);
	assert_memory_equal(buf, "Ping 2 5.000001", (size_t)n);
	assert_int_equal(ping_req_format(buf, 10, 1, 0, 0), -ENOSPC);
	assert_int_equal(ping_req_format(buf, 40, 1, 0, 41), -ENOSPC);
}

static void parse_good(void **st)
{
	uint64_t seq;
	(void)st;
	assert_int_equal(ping_parse_seq("PING 17 1726820518.391909", 25, &seq), 0);
	assert_int_equal(seq, 17);
	assert_int_equal(ping_parse_seq("Ping 5 Fri Sep 20 13:12:19 2024", 31, &seq), 0);
	assert_int_equal(seq, 5);
	assert_int_equal(ping_parse_seq("PING 5 FRI SEP 20 13:12:19 2024", 31, &seq), 0);
	assert_int_equal(ping_parse_seq("PING 9", 6, &seq), 0);
	assert_int_equal(seq, 9);
	assert_int_equal(ping_parse_seq("PING 18446744073709551615 x", 27, &seq), 0);
	assert_true(seq == UINT64_MAX);
}

static void parse_bad(void **st)
{
	uint64_t seq = 0;
	const char *bad[] = {
		"", "PING", "PING ", "PONG 1 x", "PING x", "PING -1 x", "PING 1x 2",
		"PING  1", "PING 18446744073709551616 x", "PING 123456789012345678901 x",
		"PING\t1 x", "XPING 1",
	};
	(void)st;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(ping_parse_seq(bad[i], strlen(bad[i]), &seq), -EINVAL);
	/* binary bytes after a valid head are the server's business */
	assert_int_equal(ping_parse_seq("PING 3 \x00\xff", 9, &seq), 0);
}

static void echo_uppercases_ascii_only(void **st)
{
	unsigned char buf[] = "Ping 1 abc-XYZ \xe9\xff z{`";
	unsigned char want[] = "PING 1 ABC-XYZ \xe9\xff Z{`";
	(void)st;
	ping_echo(buf, sizeof buf - 1);
	assert_memory_equal(buf, want, sizeof buf);
	/* a reply is never larger than its request: the length is the caller's */
}

/* An echo (no byte a-z) is never answered; every request has "ing". */
static void is_echo(void **st)
{
	char buf[128];
	int n;
	(void)st;
	assert_true(ping_is_echo("", 0));
	assert_true(ping_is_echo("PING 1 1726820518.391909", 24));
	assert_true(ping_is_echo("44 0.000051234", 14));
	assert_true(ping_is_echo("\x00\xff\xe9 Z{`", 8));
	assert_false(ping_is_echo("Ping 1 1726820518.391909", 24));
	assert_false(ping_is_echo("PING 5 FRi", 10));
	assert_false(ping_is_echo("z", 1));
	/* every request of ours, bare or padded, and its echo never */
	n = ping_req_format(buf, sizeof buf, 18446744073709551615ULL, 0, 0);
	assert_false(ping_is_echo(buf, (size_t)n));
	ping_echo(buf, (size_t)n);
	assert_true(ping_is_echo(buf, (size_t)n));
	n = ping_req_format(buf, sizeof buf, 3, 1726820518391909100LL, 100);
	assert_false(ping_is_echo(buf, (size_t)n));
	ping_echo(buf, (size_t)n);
	assert_true(ping_is_echo(buf, (size_t)n));
}

CM_MAIN(CM_T(format_known), CM_T(parse_good), CM_T(parse_bad),
	CM_T(echo_uppercases_ascii_only), CM_T(is_echo))
