/* pk_cli: the command line's error path, for each tool's main.c only.
 *
 * Unlike the rest of common/, these print and exit, as err(3) does at the
 * top of a program: a bad value gives `tool: what 'value': why` on stderr,
 * then the usage text of the role being parsed, and exit status 2. The
 * value parsers are pk_opt's; this file only adds the message and the exit.
 * The program name and usage text are borrowed pointers (string literals).
 */
#ifndef PK_CLI_H
#define PK_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Program name for messages ("udp-ping"). */
void pk_cli_init(const char *prog);

/* "<prog> (probekit) <version>" on stdout, exit 0: every tool's -V. */
void pk_cli_version(void) __attribute__((noreturn));

/* A role of a tool with roles (`udp-ping server`, `udp-ping client`), as
 * wireguard-tools' subcommands: its name, the usage text printed after an
 * error in its options, and its main, which gets argv from the role's name
 * on (argv[0] is "server") and returns the exit status. */
struct pk_cli_role {
	const char *name;
	const char *usage;
	int (*main)(int argc, char **argv);
};

/* main() of a tool with roles: `prog ROLE [options]` runs the role (with
 * its usage set for errors); `prog -h|--help` prints usage_top on stdout
 * and returns 0; `prog -V|--version` prints the version; no role or an
 * unknown one is an error naming the roles (exit 2). Calls pk_cli_init. */
int pk_cli_main(const char *prog, const char *usage_top, const struct pk_cli_role *roles,
                size_t nroles, int argc, char **argv);
/* Usage text printed after an error (NULL: none). */
void pk_cli_set_usage(const char *usage);

/* "prog: <message>\n" and the usage text on stderr, exit 2. */
void pk_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The usage text alone on stderr (after getopt's own complaint), exit 2. */
void pk_cli_usage(void) __attribute__((noreturn));

uint64_t pk_cli_uint(const char *what, const char *arg, uint64_t min, uint64_t max);
double pk_cli_double(const char *what, const char *arg, double min, double max);
int64_t pk_cli_duration(const char *what, const char *arg, int64_t min_ns, int64_t max_ns);
uint64_t pk_cli_size(const char *what, const char *arg, uint64_t min, uint64_t max);
/* A port; 0 only when allow_zero (servers: pick one). */
uint16_t pk_cli_port(const char *what, const char *arg, int allow_zero);
/* 0..1 or a percentage ("30%"). */
double pk_cli_prob(const char *what, const char *arg);

#endif
