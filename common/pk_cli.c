#include "pk_cli.h"
#include "pk_opt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

uint64_t pk_cli_uint(const char *what, const char *arg, uint64_t min, uint64_t max)
{
	const char *why = NULL;
	uint64_t v = 0;

	int rc = pk_opt_uint(arg, min, max, &v, &why);

	check(rc, what, arg, why);
	return v;
}

double pk_cli_double(const char *what, const char *arg, double min, double max)
{
	const char *why = NULL;
	double v = 0;

	int rc = pk_opt_double(arg, min, max, &v, &why);

	check(rc, what, arg, why);
	return v;
}

int64_t pk_cli_duration(const char *what, const char *arg, int64_t min_ns, int64_t max_ns)
{
	const char *why = NULL;
	int64_t v = 0;

	int rc = pk_opt_duration(arg, min_ns, max_ns, &v, &why);

	check(rc, what, arg, why);
	return v;
}

uint64_t pk_cli_size(const char *what, const char *arg, uint64_t min, uint64_t max)
{
	const char *why = NULL;
	uint64_t v = 0;

	int rc = pk_opt_size(arg, min, max, &v, &why);

	check(rc, what, arg, why);
	return v;
}

uint16_t pk_cli_port(const char *what, const char *arg, int allow_zero)
{
	return (uint16_t)pk_cli_uint(what, arg, allow_zero ? 0 : 1, 65535);
}

double pk_cli_prob(const char *what, const char *arg)
{
	const char *why = NULL;
	double v = 0;

	int rc = pk_opt_prob(arg, &v, &why);

	check(rc, what, arg, why);
	return v;
}
