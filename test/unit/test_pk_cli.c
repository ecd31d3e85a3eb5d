/* pk_cli: good values pass through; a bad one prints `prog: what 'v': why`
 * and the usage text on stderr and exits 2 (checked in a child process). */
#include "cm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	assert_string_equal(err, "udp-ping: count '12x': invalid\nusage: udp-ping client HOST\n");
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
	assert_string_equal(err, "udp-ping: unknown role 'frob'\n");
}

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
	pk_cli_error("client: a HOST is required");   /* the role's usage follows */
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
	assert_string_equal(out, "t (probekit) " PK_VERSION "\n");
	assert_int_equal(in_child(main_none, out, sizeof out), 2);
	assert_string_equal(out, "t: a role is required: server or client\nusage: t server|client\n");
	assert_int_equal(in_child(main_bad, out, sizeof out), 2);
	assert_string_equal(out, "t: unknown role 'frob' (server or client)\nusage: t server|client\n");
	/* an error inside a role prints that role's usage */
	assert_int_equal(in_child(main_client, out, sizeof out), 2);
	assert_string_equal(out, "t: client: a HOST is required\nusage: t client HOST\n");
}

CM_MAIN(CM_T(good_values), CM_T(bad_values_exit_2), CM_T(roles_dispatch))
