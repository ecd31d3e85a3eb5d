#include "pk_cli.h"
#include "pk_opt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The program's name and usage text: set once by main, read on the error
 * path, like err(3)'s program name. */
static const char *cli_prog = "probekit";
static const char *cli_usage;

void pk_cli_init(const char *prog)
{
	cli_prog = prog;
}

void pk_cli_set_usage(const char *usage)
{
	cli_usage = usage;
}

void pk_cli_version(void)
{
	printf("%s (probekit) %s\n", cli_prog, PK_VERSION);
	exit(0);
}

int pk_cli_main(const char *prog, const char *usage_top, const struct pk_cli_role *roles,
                size_t nroles, int argc, char **argv)
{
	char names[128] = "";
	size_t i;

	pk_cli_init(prog);
	pk_cli_set_usage(usage_top);
	for (i = 0; argc >= 2 && i < nroles; i++) {
		if (strcmp(argv[1], roles[i].name) == 0) {
			pk_cli_set_usage(roles[i].usage);
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

void pk_cli_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cli_usage != NULL)
		fputs(cli_usage, stderr);
	exit(2);
}

void pk_cli_usage(void)
{
	if (cli_usage != NULL)
		fputs(cli_usage, stderr);
	exit(2);
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
