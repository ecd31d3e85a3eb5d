#include "pk_cli.h"
#include "pk_opt.h"
#include "pk_sockopt.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PK_GIT
#define PK_GIT ""
#endif

/* The program's name and role: set once by main, read on the error path,
 * like err(3)'s program name. */
static const char *cli_prog = "probekit";
static const char *cli_role;

void pk_cli_init(const char *prog)
{
	cli_prog = prog;
	cli_role = NULL;
}

void pk_cli_set_role(const char *role)
{
	cli_role = role;
}

void pk_cli_set_usage(const char *usage)
{
	(void)usage;
}

const char *pk_cli_version_str(void)
{
	return PK_VERSION;
}

const char *pk_cli_git_str(void)
{
	return PK_GIT;
}

void pk_cli_version(void)
{
	if (PK_GIT[0] != '\0')
		printf("%s (probekit) %s (git %s)\n", cli_prog, PK_VERSION, PK_GIT);
	else
		printf("%s (probekit) %s\n", cli_prog, PK_VERSION);
	exit(fflush(stdout) == 0 ? 0 : 1);
}

int pk_cli_main(const char *prog, const char *usage_top, const struct pk_cli_role *roles,
                size_t nroles, int argc, char **argv)
{
	char names[128] = "";
	size_t i;

	pk_cli_init(prog);
	for (i = 0; argc >= 2 && i < nroles; i++) {
		if (strcmp(argv[1], roles[i].name) == 0) {
			pk_cli_set_role(roles[i].name);
			return roles[i].main(argc - 1, argv + 1);
		}
	}
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(usage_top, stdout);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0))
		pk_cli_version();
	for (i = 0; i < nroles; i++) {
		size_t n = strlen(names);
		snprintf(names + n, sizeof names - n, "%s%s", i == 0 ? "" :
		         i + 1 == nroles ? " or " : ", ", roles[i].name);
	}
	if (argc < 2)
		pk_cli_error("a role is required: %s", names);
	pk_cli_error("unknown role '%s' (%s)", argv[1], names);
}

static void __attribute__((noreturn)) try_line(void)
{
	if (cli_role != NULL)
		fprintf(stderr, "Try '%s %s --help' for more information.\n", cli_prog, cli_role);
	else
		fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
	exit(2);
}

void pk_cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (cli_role != NULL)
		fprintf(stderr, "%s %s: ", cli_prog, cli_role);
	else
		fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	try_line();
}

void pk_cli_usage(void)
{
	fflush(stdout);
	try_line();
}

void pk_cli_getopt_error(int ch, char *const argv[])
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	int is_long = arg != NULL && strncmp(arg, "--", 2) == 0 && arg[2] != '\0';
	int n = 0;

	if (is_long) {
		const char *eq = strchr(arg, '=');
		n = eq != NULL ? (int)(eq - arg) : (int)strlen(arg);
	}
	if (ch == ':') {
		if (is_long)
			pk_cli_error("option '%.*s' needs a value", n, arg);
		pk_cli_error("option '-%c' needs a value", optopt);
	}
	if (ch == '?') {
		/* an unknown short option sets optopt; an unknown long one does
		 * not; a value given to a long option that takes none does. In
		 * a cluster ("-qx"), getopt has not moved past it yet. */
		const char *next = argv[optind];

		if (optopt > 0 && optopt < 256 && next != NULL && next[0] == '-' &&
		    next[1] != '-' && strchr(next + 1, optopt) != NULL)
			pk_cli_error("unknown option '-%c'", optopt);
		if (is_long && optopt != 0 && strchr(arg, '=') != NULL)
			pk_cli_error("option '%.*s' takes no value", n, arg);
		if (optopt != 0 && optopt < 256)
			pk_cli_error("unknown option '-%c'", optopt);
		if (is_long)
			pk_cli_error("unknown option '%.*s'", n, arg);
		pk_cli_error("unknown option");
	}
	pk_cli_error("unhandled option %d", ch);
}

void pk_cli_default(int ch, char *const argv[], const char *help)
{
	if (ch == 'h') {
		fputs(help, stdout);
		exit(fflush(stdout) == 0 ? 0 : 1);
	}
	if (ch == 'V')
		pk_cli_version();
	pk_cli_getopt_error(ch, argv);
}

void pk_cli_json_csv_conflict(void)
{
	pk_cli_error(PK_CLI_JSON_CSV_MSG);
}

static void check(int rc, const char *what, const char *arg, const char *why)
{
	if (rc != 0)
		pk_cli_error("%s '%s': %s", what, arg ? arg : "", why ? why : "invalid");
}

/* The body of every pk_cli_<kind>: pk_opt_<kind> into v, or the error path. */
#define CHECKED(type, call)                     \
	do {                                    \
		const char *why = NULL;         \
		type v = 0;                     \
		int rc = (call);                \
		check(rc, what, arg, why);      \
		return v;                       \
	} while (0)

uint64_t pk_cli_uint(const char *what, const char *arg, uint64_t min, uint64_t max)
{
	CHECKED(uint64_t, pk_opt_uint(arg, min, max, &v, &why));
}

double pk_cli_double(const char *what, const char *arg, double min, double max)
{
	CHECKED(double, pk_opt_double(arg, min, max, &v, &why));
}

int64_t pk_cli_duration(const char *what, const char *arg, int64_t min_ns, int64_t max_ns)
{
	CHECKED(int64_t, pk_opt_duration(arg, min_ns, max_ns, &v, &why));
}

uint64_t pk_cli_size(const char *what, const char *arg, uint64_t min, uint64_t max)
{
	CHECKED(uint64_t, pk_opt_size(arg, min, max, &v, &why));
}

uint16_t pk_cli_port(const char *what, const char *arg, int allow_zero)
{
	return (uint16_t)pk_cli_uint(what, arg, allow_zero ? 0 : 1, 65535);
}

double pk_cli_prob(const char *what, const char *arg)
{
	CHECKED(double, pk_opt_prob(arg, &v, &why));
}

void pk_cli_sockopt(struct pk_sockopt *o, int letter, const char *arg)
{
	const char *why = NULL;
	const char *what = letter == 't' ? "TTL" : letter == 'Q' ? "ToS" : "source";

	int rc = pk_sockopt_set(o, letter, arg, &why);   /* before why is read */

	check(rc, what, arg, why);
}
