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

#include <stdint.h>

/* Program name for messages ("udp-ping"). */
void pk_cli_init(const char *prog);
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
