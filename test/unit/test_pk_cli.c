/* pk_cli: good values pass through; a bad one prints `prog role: what 'v':
 * why` and the Try line on stderr and exits 2 (checked in a child process). */
#include "cm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pk_cli.h"

/* Runs fn in a child with stderr captured; returns its exit status. */
static int in_child(void (*fn)(void), char *err, size_t cap)
{
	int p[2], status;
	pid_t pid;
	ssize_t n, got = 0;

	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 2);
		dup2(p[1], 1);      /* stdout too: -h and -V print there */
		close(p[0]);
		fn();
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], err + got, cap - 1 - (size_t)got)) > 0)
		got += n;
	err[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void bad_count(void) { pk_cli_uint("count", "12x", 1, 10); }
static void big_count(void) { pk_cli_uint("count", "11", 1, 10); }
static void bad_interval(void) { pk_cli_duration("interval", "1 parsec", 0, INT64_MAX); }
static void port_zero(void) { pk_cli_port("port", "0", 0); }
static void bad_loss(void) { pk_cli_prob("loss", "1.5"); }
static void custom(void) { pk_cli_error("unknown role '%s'", "frob"); }

static void good_values(void **st)
{
	(void)st;
	assert_int_equal(pk_cli_uint("count", "10", 1, 10), 10);
	assert_int_equal(pk_cli_duration("interval", "250ms", 0, INT64_MAX), 250000000);
	assert_int_equal(pk_cli_size("size", "32K", 1, 1 << 20), 32768);
	assert_int_equal(pk_cli_port("port", "0", 1), 0);
	assert_float_equal(pk_cli_prob("loss", "30%"), 0.3, 1e-12);
	assert_float_equal(pk_cli_double("x", "-1.5", -2, 2), -1.5, 0);
}

static void bad_values_exit_2(void **st)
{
	char err[512];
	(void)st;
	pk_cli_init("udp-ping");
	pk_cli_set_usage("usage: udp-ping client HOST\n");
	assert_int_equal(in_child(bad_count, err, sizeof err), 2);
	assert_string_equal(err, "udp-ping: count '12x': invalid\n"
	                         "Try 'udp-ping --help' for more information.\n");
	pk_cli_set_role("client");
	assert_int_equal(in_child(bad_count, err, sizeof err), 2);
	assert_string_equal(err, "udp-ping client: count '12x': invalid\n"
	                         "Try 'udp-ping client --help' for more information.\n");
	pk_cli_set_role(NULL);
	assert_int_equal(in_child(big_count, err, sizeof err), 2);
	assert_non_null(strstr(err, "count '11': too large"));
	assert_int_equal(in_child(bad_interval, err, sizeof err), 2);
	assert_non_null(strstr(err, "interval '1 parsec': invalid"));
	assert_int_equal(in_child(port_zero, err, sizeof err), 2);
	assert_non_null(strstr(err, "port '0': too small"));
	assert_int_equal(in_child(bad_loss, err, sizeof err), 2);
	assert_non_null(strstr(err, "loss '1.5': too large"));
	pk_cli_set_usage(NULL);
	assert_int_equal(in_child(custom, err, sizeof err), 2);
	assert_string_equal(err, "udp-ping: unknown role 'frob'\n"
	                         "Try 'udp-ping --help' for more information.\n");
}

static const char *expected_version(const char *prog);

/* ---- role dispatch ---- */

static int role_seen_argc;
static char role_seen[64];

static int role_server(int argc, char **argv)
{
	role_seen_argc = argc;
	snprintf(role_seen, sizeof role_seen, "%s %s", argv[0], argc > 1 ? argv[1] : "-");
	return 7;
}

static int role_client(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	pk_cli_error("a HOST is required");   /* "t client: " before it */
}

static const struct pk_cli_role roles[] = {
	{ "server", "usage: t server\n", role_server },
	{ "client", "usage: t client HOST\n", role_client },
};

static int run_main(int argc, char **argv)
{
	return pk_cli_main("t", "usage: t server|client\n", roles, 2, argc, argv);
}

static char *av_help[] = { "t", "--help", NULL };
static char *av_version[] = { "t", "-V", NULL };
static char *av_none[] = { "t", NULL };
static char *av_bad[] = { "t", "frob", NULL };
static char *av_client[] = { "t", "client", NULL };
static void main_help(void) { exit(run_main(1 + 1, av_help)); }
static void main_version(void) { exit(run_main(2, av_version)); }
static void main_none(void) { exit(run_main(1, av_none)); }
static void main_bad(void) { exit(run_main(2, av_bad)); }
static void main_client(void) { exit(run_main(2, av_client)); }

static void roles_dispatch(void **st)
{
	char out[512];
	char *av[] = { "t", "server", "-p", NULL };
	(void)st;
	/* a role runs with argv from its own name on */
	assert_int_equal(run_main(3, av), 7);
	assert_int_equal(role_seen_argc, 2);
	assert_string_equal(role_seen, "server -p");
	assert_int_equal(in_child(main_help, out, sizeof out), 0);
	assert_string_equal(out, "usage: t server|client\n");
	assert_int_equal(in_child(main_version, out, sizeof out), 0);
	assert_string_equal(out, expected_version("t"));
	assert_int_equal(in_child(main_none, out, sizeof out), 2);
	assert_string_equal(out, "t: a role is required: server or client\n"
	                         "Try 't --help' for more information.\n");
	assert_int_equal(in_child(main_bad, out, sizeof out), 2);
	assert_string_equal(out, "t: unknown role 'frob' (server or client)\n"
	                         "Try 't --help' for more information.\n");
	/* an error inside a role names the role */
	assert_int_equal(in_child(main_client, out, sizeof out), 2);
	assert_string_equal(out, "t client: a HOST is required\n"
	                         "Try 't client --help' for more information.\n");
}

/* ---- version ---- */

static const char *expected_version(const char *prog)
{
	static char buf[128];

	if (pk_cli_git_str()[0] != '\0')
		snprintf(buf, sizeof buf, "%s (probekit) 0.2.0 (git %s)\n", prog, pk_cli_git_str());
	else
		snprintf(buf, sizeof buf, "%s (probekit) 0.2.0\n", prog);
	return buf;
}

static void version_strings(void **st)
{
	const char *g = pk_cli_git_str();
	(void)st;
	assert_string_equal(pk_cli_version_str(), "0.2.0");
	/* "" or a short hash */
	assert_true(strlen(g) == 0 || (strlen(g) >= 4 && strspn(g, "0123456789abcdef") == strlen(g)));
}

/* ---- getopt's complaints, a role parser as the tools write it ---- */

static const char help_r[] = "usage: t r [-c N] [-q]\n";

static int role_r(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		PK_CLI_LONGOPTS_STD,
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "+:c:qhV", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': pk_cli_uint("count", optarg, 1, 10); break;
		case 'q': break;
		default: pk_cli_default(ch, argv, help_r);
		}
	}
	return 0;
}

static const struct pk_cli_role roles_r[] = { { "r", help_r, role_r } };
static char **opt_av;
static int opt_ac;
static void opt_main(void)
{
	optind = 1;
	exit(pk_cli_main("t", "usage: t r\n", roles_r, 1, opt_ac, opt_av));
}

static int run_opts(char *out, size_t cap, int ac, char **av)
{
	opt_ac = ac;
	opt_av = av;
	return in_child(opt_main, out, cap);
}
#define RUN(out, ...) run_opts(out, sizeof out, \
	(int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)) - 1, (char *[]){ __VA_ARGS__ })

static void getopt_complaints(void **st)
{
	char out[512];
	(void)st;
	assert_int_equal(RUN(out, "t", "r", "-x", NULL), 2);
	assert_string_equal(out, "t r: unknown option '-x'\nTry 't r --help' for more information.\n");
	assert_int_equal(RUN(out, "t", "r", "-qxq", NULL), 2);
	assert_string_equal(out, "t r: unknown option '-x'\nTry 't r --help' for more information.\n");
	assert_int_equal(RUN(out, "t", "r", "-c", NULL), 2);
	assert_string_equal(out, "t r: option '-c' needs a value\nTry 't r --help' for more information.\n");
	assert_int_equal(RUN(out, "t", "r", "--count", NULL), 2);
	assert_string_equal(out, "t r: option '--count' needs a value\n"
	                         "Try 't r --help' for more information.\n");
	assert_int_equal(RUN(out, "t", "r", "--frob=2", NULL), 2);
	assert_string_equal(out, "t r: unknown option '--frob'\nTry 't r --help' for more information.\n");
	assert_int_equal(RUN(out, "t", "r", "--quiet=1", NULL), 2);
	assert_string_equal(out, "t r: option '--quiet' takes no value\n"
	                         "Try 't r --help' for more information.\n");
	assert_int_equal(RUN(out, "t", "r", "-c", "0", NULL), 2);
	assert_string_equal(out, "t r: count '0': too small\nTry 't r --help' for more information.\n");
	/* -V and -h at every level */
	assert_int_equal(RUN(out, "t", "r", "-q", "-V", NULL), 0);
	assert_string_equal(out, expected_version("t"));
	assert_int_equal(RUN(out, "t", "r", "--version", NULL), 0);
	assert_string_equal(out, expected_version("t"));
	assert_int_equal(RUN(out, "t", "--version", NULL), 0);
	assert_string_equal(out, expected_version("t"));
	assert_int_equal(RUN(out, "t", "r", "-h", NULL), 0);
	assert_string_equal(out, help_r);
	assert_int_equal(RUN(out, "t", "r", "-q", NULL), 0);
	assert_string_equal(out, "");
}

static void json_csv_conflict(void)
{
	pk_cli_init("t");
	pk_cli_set_role("client");
	pk_cli_json_csv_conflict();
}

static void conflict_message(void **st)
{
	char out[256];
	(void)st;
	assert_int_equal(in_child(json_csv_conflict, out, sizeof out), 2);
	assert_string_equal(out, "t client: -J and --csv cannot be used together\n"
	                         "Try 't client --help' for more information.\n");
}

CM_MAIN(CM_T(good_values), CM_T(bad_values_exit_2), CM_T(roles_dispatch),
        CM_T(version_strings), CM_T(getopt_complaints), CM_T(conflict_message))
