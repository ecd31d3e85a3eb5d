/* echo_proto: framer, setup/probe/termination parsers, the session state
 * machine on every valid and invalid form of docs/PROTOCOLS.md section 3, and
 * the client's formatting on known bytes. */
#include "cm.h"
#include <errno.h>
#include <string.h>

#include "echo_proto.h"

static const struct echo_limits lim = { 1024 * 1024, 1000000, 60000000000LL };

#define S(str) (str), (sizeof(str) - 1)

static void framer(void **st)
{
	size_t ll = 99;
	(void)st;
	assert_int_equal(echo_frame(S("t\n"), 10, &ll), 2);
	assert_int_equal(ll, 1);
	assert_int_equal(echo_frame(S("\n"), 10, &ll), 1);
	assert_int_equal(ll, 0);
	/* two lines in one read: the first only */
	assert_int_equal(echo_frame(S("m a 1\nm a 2\n"), 10, &ll), 6);
	assert_int_equal(ll, 5);
	/* no newline yet */
	assert_int_equal(echo_frame(S("s RTT"), 10, &ll), ECHO_PARTIAL);
	assert_int_equal(echo_frame("", 0, 10, &ll), ECHO_PARTIAL);
	/* exactly max bytes then newline is fine; max+1 without newline is bad */
	assert_int_equal(echo_frame(S("abcd\n"), 4, &ll), 5);
	assert_int_equal(echo_frame(S("abcd"), 4, &ll), ECHO_PARTIAL);
	assert_int_equal(echo_frame(S("abcde"), 4, &ll), ECHO_BAD);
	assert_int_equal(echo_frame(S("abcde\n"), 4, &ll), ECHO_BAD);
	/* a newline beyond the bound does not save the line */
	assert_int_equal(echo_frame(S("abcdefgh\n"), 4, &ll), ECHO_BAD);
}

static void setup_valid(void **st)
{
	struct echo_setup s;
	(void)st;
	assert_int_equal(echo_parse_setup(S("s RTT 1000 10 0.5"), &lim, &s), 0);
	assert_int_equal(s.type, ECHO_RTT);
	assert_int_equal(s.size, 1000);
	assert_int_equal(s.probes, 10);
	assert_int_equal(s.delay_ns, 500000000);
	assert_int_equal(echo_parse_setup(S("s TTPUT 32768 10 0"), &lim, &s), 0);
	assert_int_equal(s.type, ECHO_TTPUT);
	assert_int_equal(s.delay_ns, 0);
	assert_int_equal(echo_parse_setup(S("s RTT 1 1 1.25"), &lim, &s), 0);
	assert_int_equal(s.delay_ns, 1250000000);
	assert_int_equal(echo_parse_setup(S("s RTT 1 1 0.000000001"), &lim, &s), 0);
	assert_int_equal(s.delay_ns, 1);
	assert_int_equal(echo_parse_setup(S("s RTT 1 1 0.0000000019"), &lim, &s), 0);
	assert_int_equal(s.delay_ns, 1);         /* digits past ns ignored */
	assert_int_equal(echo_parse_setup(S("s RTT 1 1 60"), &lim, &s), 0);
	assert_int_equal(echo_parse_setup(S("s RTT 1048576 1000000 0"), &lim, &s), 0);
	assert_int_equal(echo_parse_setup(S("s RTT 1 1 00.5"), &lim, &s), 0);
}

static void setup_invalid(void **st)
{
	static const char *const bad[] = {
		"", "s", "s RTT", "s RTT 10", "s RTT 10 10",           /* incomplete */
		"s RTT 10 10 0 extra", "s RTT 10 10 0 ",              /* extra field */
		"s  RTT 10 10 0", " s RTT 10 10 0", "s RTT 10  10 0", /* empty fields */
		"S RTT 10 10 0", "m RTT 10 10 0", "t", "x RTT 10 10 0",
		"s rtt 10 10 0", "s Rtt 10 10 0", "s TPUT 10 10 0", "s RTTX 10 10 0",
		"s RTT 0 10 0", "s RTT 10 0 0", "s RTT -1 10 0", "s RTT +1 10 0",
		"s RTT 010 10 0", "s RTT 10 010 0", "s RTT 1e3 10 0", "s RTT 0x10 10 0",
		"s RTT 10 10 -1", "s RTT 10 10 +1", "s RTT 10 10 .5", "s RTT 10 10 5.",
		"s RTT 10 10 1e-3", "s RTT 10 10 0.5s", "s RTT 10 10 inf", "s RTT 10 10 nan",
		"s RTT 10 10 1.2.3", "s RTT 10 10 0\r", "s\tRTT 10 10 0", "s RTT 10 10 0,5",
		"s RTT 99999999999999999999999 10 0",
	};
	struct echo_setup s;
	(void)st;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = echo_parse_setup(bad[i], strlen(bad[i]), &lim, &s);
		if (rc == 0)
			fail_msg("accepted invalid setup \"%s\"", bad[i]);
	}
	/* beyond the server's bounds */
	assert_int_equal(echo_parse_setup(S("s RTT 1048577 10 0"), &lim, &s), -ERANGE);
	assert_int_equal(echo_parse_setup(S("s RTT 10 1000001 0"), &lim, &s), -ERANGE);
	assert_int_equal(echo_parse_setup(S("s RTT 10 10 60.000000001"), &lim, &s), -ERANGE);
	assert_int_equal(echo_parse_setup(S("s RTT 10 10 99999999999999999999"), &lim, &s), -ERANGE);
	/* longer than any setup line */
	char big[ECHO_SETUP_MAX + 8];
	memset(big, '1', sizeof big);
	memcpy(big, "s RTT 1 1 0.", 12);
	assert_int_not_equal(echo_parse_setup(big, sizeof big, &lim, &s), 0);
}

static void probe_forms(void **st)
{
	struct echo_probe p;
	(void)st;
	assert_int_equal(echo_parse_probe(S("m abc 1"), &p), 0);
	assert_int_equal(p.payload_len, 3);
	assert_memory_equal(p.payload, "abc", 3);
	assert_int_equal(p.seq, 1);
	assert_int_equal(echo_parse_probe(S("m \x01\xff\r 18446744073709551615"), &p), 0);
	assert_int_equal(p.seq, UINT64_MAX);
	static const char *const bad[] = {
		"m", "m abc", "m  1", "m abc  1", "m abc 1 ", "m a b 1", "mabc 1", "M abc 1",
		"s abc 1", "m abc 0", "m abc 01", "m abc -1", "m abc x", " m abc 1",
		"m abc 18446744073709551616",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (echo_parse_probe(bad[i], strlen(bad[i]), &p) == 0)
			fail_msg("accepted invalid probe \"%s\"", bad[i]);
	assert_true(echo_is_term(S("t")));
	assert_false(echo_is_term(S("t ")));
	assert_false(echo_is_term(S("T")));
	assert_false(echo_is_term(S("")));
	assert_false(echo_is_term(S("tt")));
}

/* Feeds lines to a fresh session; returns the last verdict. */
static enum echo_verdict run(struct echo_session *s, const char *const *lines, size_t n)
{
	enum echo_verdict v = ECHO_V_BAD_TERM;
	echo_session_init(s);
	for (size_t i = 0; i < n; i++)
		v = echo_session_line(s, &lim, lines[i], strlen(lines[i]));
	return v;
}

#define RUN(s, ...) run((s), (const char *const[]){ __VA_ARGS__ }, \
	sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static void session_flow(void **st)
{
	struct echo_session s;
	(void)st;
	echo_session_init(&s);
	assert_int_equal(echo_session_max_line(&s), ECHO_SETUP_MAX);
	assert_int_equal(echo_session_line(&s, &lim, S("s RTT 3 2 0")), ECHO_V_READY);
	assert_int_equal(s.phase, ECHO_PH_MEASURE);
	assert_int_equal(echo_session_max_line(&s), strlen("m abc 2"));
	assert_int_equal(echo_session_line(&s, &lim, S("m abc 1")), ECHO_V_ECHO);
	assert_int_equal(echo_session_line(&s, &lim, S("m xyz 2")), ECHO_V_ECHO);
	assert_int_equal(s.phase, ECHO_PH_TERM);
	assert_int_equal(s.echoed, 2);
	assert_int_equal(echo_session_line(&s, &lim, S("t")), ECHO_V_CLOSE);
	assert_int_equal(s.phase, ECHO_PH_DONE);

	/* early termination is valid */
	assert_int_equal(RUN(&s, "s RTT 3 5 0", "m abc 1", "t"), ECHO_V_CLOSE);
	assert_int_equal(RUN(&s, "s RTT 3 5 0", "t"), ECHO_V_CLOSE);
	/* each 404 */
	assert_int_equal(RUN(&s, "t"), ECHO_V_BAD_SETUP);
	assert_int_equal(RUN(&s, "m abc 1"), ECHO_V_BAD_SETUP);
	assert_int_equal(RUN(&s, "s RTT 3 5 0", "m abc 2"), ECHO_V_BAD_PROBE);      /* seq skip */
	assert_int_equal(RUN(&s, "s RTT 3 5 0", "m abc 1", "m abc 1"), ECHO_V_BAD_PROBE);
	assert_int_equal(RUN(&s, "s RTT 3 5 0", "m ab 1"), ECHO_V_BAD_PROBE);       /* size */
	assert_int_equal(RUN(&s, "s RTT 3 5 0", "m abcd 1"), ECHO_V_BAD_PROBE);
	assert_int_equal(RUN(&s, "s RTT 3 5 0", "m abc"), ECHO_V_BAD_PROBE);        /* fields */
	assert_int_equal(RUN(&s, "s RTT 3 5 0", "s RTT 3 5 0"), ECHO_V_BAD_PROBE);  /* phase */
	assert_int_equal(RUN(&s, "s RTT 3 5 0", "x abc 1"), ECHO_V_BAD_PROBE);
	assert_int_equal(RUN(&s, "s RTT 3 5 0", "t "), ECHO_V_BAD_PROBE);
	assert_int_equal(RUN(&s, "s RTT 3 5 0", ""), ECHO_V_BAD_PROBE);
	/* after the last probe: 'm' is a probe beyond probes, others bad termination */
	assert_int_equal(RUN(&s, "s RTT 3 1 0", "m abc 1", "m abc 2"), ECHO_V_BAD_PROBE);
	assert_int_equal(RUN(&s, "s RTT 3 1 0", "m abc 1", "mxyz"), ECHO_V_BAD_PROBE);
	assert_int_equal(RUN(&s, "s RTT 3 1 0", "m abc 1", "x"), ECHO_V_BAD_TERM);
	assert_int_equal(RUN(&s, "s RTT 3 1 0", "m abc 1", "t "), ECHO_V_BAD_TERM);
	assert_int_equal(RUN(&s, "s RTT 3 1 0", "m abc 1", ""), ECHO_V_BAD_TERM);
	assert_int_equal(RUN(&s, "s RTT 3 1 0", "m abc 1", "s RTT 3 1 0"), ECHO_V_BAD_TERM);
	assert_int_equal(s.phase, ECHO_PH_DONE);
}

static void session_broken(void **st)
{
	struct echo_session s;
	(void)st;
	echo_session_init(&s);
	assert_int_equal(echo_session_broken(&s, 's'), ECHO_V_BAD_SETUP);
	RUN(&s, "s RTT 3 1 0");
	assert_int_equal(echo_session_broken(&s, 'm'), ECHO_V_BAD_PROBE);
	RUN(&s, "s RTT 3 1 0", "m abc 1");
	assert_int_equal(echo_session_max_line(&s), 1);
	assert_int_equal(echo_session_broken(&s, 'm'), ECHO_V_BAD_PROBE);
	RUN(&s, "s RTT 3 1 0", "m abc 1");
	assert_int_equal(echo_session_broken(&s, 't'), ECHO_V_BAD_TERM);
	RUN(&s, "s RTT 3 1 0", "m abc 1");
	assert_int_equal(echo_session_broken(&s, -1), ECHO_V_BAD_TERM);
}

static void replies(void **st)
{
	size_t n;
	(void)st;
	assert_string_equal(echo_verdict_reply(ECHO_V_READY, &n), "200 OK: Ready\n");
	assert_int_equal(n, 14);
	assert_string_equal(echo_verdict_reply(ECHO_V_CLOSE, NULL), "200 OK: Closing Connection\n");
	assert_string_equal(echo_verdict_reply(ECHO_V_BAD_SETUP, NULL),
	                    "404 ERROR: Invalid Connection Setup Message\n");
	assert_string_equal(echo_verdict_reply(ECHO_V_BAD_PROBE, NULL),
	                    "404 ERROR: Invalid Measurement Message\n");
	assert_string_equal(echo_verdict_reply(ECHO_V_BAD_TERM, NULL),
	                    "404 ERROR: Invalid Connection Termination Message\n");
	assert_null(echo_verdict_reply(ECHO_V_ECHO, &n));
	assert_int_equal(echo_parse_reply(S("200 OK: Ready")), ECHO_R_READY);
	assert_int_equal(echo_parse_reply(S("200 OK: Closing Connection")), ECHO_R_CLOSING);
	assert_int_equal(echo_parse_reply(S("404 ERROR: Invalid Measurement Message")), ECHO_R_ERR_PROBE);
	assert_int_equal(echo_parse_reply(S("404 ERROR: Invalid Connection Setup Message")), ECHO_R_ERR_SETUP);
	assert_int_equal(echo_parse_reply(S("404 ERROR: Invalid Connection Termination Message")), ECHO_R_ERR_TERM);
	assert_int_equal(echo_parse_reply(S("404ERROR: Invalid Measurement Message")), ECHO_R_ERR_OTHER);
	assert_int_equal(echo_parse_reply(S("200 Ok: Ready")), ECHO_R_OTHER);
	assert_int_equal(echo_parse_reply(S("200 OK: Ready ")), ECHO_R_OTHER);
}

static void client_format(void **st)
{
	char buf[256];
	struct echo_setup s = { ECHO_RTT, 1000, 10, 500000000 };
	(void)st;
	assert_int_equal(echo_fmt_setup(buf, sizeof buf, &s), 18);
	assert_string_equal(buf, "s RTT 1000 10 0.5\n");
	s = (struct echo_setup){ ECHO_TTPUT, 2048, 3, 0 };
	echo_fmt_setup(buf, sizeof buf, &s);
	assert_string_equal(buf, "s TTPUT 2048 3 0\n");
	s.delay_ns = 1;
	echo_fmt_setup(buf, sizeof buf, &s);
	assert_string_equal(buf, "s TTPUT 2048 3 0.000000001\n");
	assert_int_equal(echo_fmt_setup(buf, 10, &s), -ENOSPC);
	echo_fmt_delay(buf, sizeof buf, 1250000000);
	assert_string_equal(buf, "1.25");
	echo_fmt_delay(buf, sizeof buf, 2000000000);
	assert_string_equal(buf, "2");
	/* probe bytes, exact, without a terminating NUL beyond the line */
	char payload[5];
	echo_fill_payload(payload, 5);
	assert_memory_equal(payload, "abcde", 5);
	memset(buf, '#', sizeof buf);
	assert_int_equal(echo_fmt_probe(buf, 12, payload, 5, 123), 12);
	assert_memory_equal(buf, "m abcde 123\n", 12);
	assert_int_equal(buf[12], '#');
	assert_int_equal(echo_probe_len(5, 123), 12);
	assert_int_equal(echo_fmt_probe(buf, 11, payload, 5, 123), -ENOSPC);
	assert_int_equal(echo_fmt_probe(buf, sizeof buf, payload, 1, 1), 6);
	assert_memory_equal(buf, "m a 1\n", 6);
	/* round trip through the parsers */
	struct echo_setup back;
	s = (struct echo_setup){ ECHO_RTT, 77, 1000000, 59999999999LL };
	int n = echo_fmt_setup(buf, sizeof buf, &s);
	assert_int_equal(echo_parse_setup(buf, (size_t)n - 1, &lim, &back), 0);
	assert_int_equal(back.delay_ns, s.delay_ns);
	assert_int_equal(back.probes, s.probes);
}

CM_MAIN(CM_T(framer), CM_T(setup_valid), CM_T(setup_invalid), CM_T(probe_forms),
	CM_T(session_flow), CM_T(session_broken), CM_T(replies), CM_T(client_format))
