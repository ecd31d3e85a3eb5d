/* pk_cli: the command line's error path, for each tool's main.c only.
 *
 * Unlike the rest of common/, these print and exit, as err(3) does at the
 * top of a program. Every complaint is ONE line on stderr, then a pointer
 * to the help, then exit status 2 (docs/OUTPUT.md, "Errors"):
 *
 *   udp-ping client: count '12x': invalid
 *   Try 'udp-ping client --help' for more information.
 *
 * "<prog> <role>" while a role's options are parsed (pk_cli_main records
 * the role), "<prog>" before. The value parsers are pk_opt's; this file
 * only adds the message and the exit. The program name and usage text are
 * borrowed pointers (string literals).
 */
#ifndef PK_CLI_H
#define PK_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Program name for messages ("udp-ping"); clears the role. */
void pk_cli_init(const char *prog);
/* The role whose options are being parsed ("client"; NULL: none). Set by
 * pk_cli_main; a tool without a role table never calls it. */
void pk_cli_set_role(const char *role);

/* The version alone, "0.2.0": the JSON documents' "version". */
const char *pk_cli_version_str(void);
/* The git commit the program was built from ("abc1234"), or "" when it was
 * not built from a git checkout. */
const char *pk_cli_git_str(void);
/* "<prog> (probekit) 0.2.0 (git abc1234)" on stdout (without " (git ...)"
 * when not built from a checkout), exit 0: every tool's -V at every level. */
void pk_cli_version(void) __attribute__((noreturn));

/* A role of a tool with roles (`udp-ping server`, `udp-ping client`), as
 * wireguard-tools' subcommands: its name, its usage (kept for the tool's
 * own -h; errors no longer print it), and its main, which gets argv from
 * the role's name on (argv[0] is "server") and returns the exit status. */
struct pk_cli_role {
	const char *name;
	const char *usage;
	int (*main)(int argc, char **argv);
};

/* main() of a tool with roles: `prog ROLE [options]` runs the role (with
 * the role recorded for errors); `prog -h|--help` prints usage_top on stdout and returns 0;
 * `prog -V|--version` prints the version; no role or an unknown one is an
 * error naming the roles (exit 2). Calls pk_cli_init. */
int pk_cli_main(const char *prog, const char *usage_top, const struct pk_cli_role *roles,
                size_t nroles, int argc, char **argv);
/* Kept for source compatibility: the usage is no longer printed on errors. */
void pk_cli_set_usage(const char *usage);

/* "<prog> <role>: <message>" and the Try line on stderr (stdout flushed
 * first), exit 2. */
void pk_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The Try line alone on stderr, exit 2 (after a complaint already printed,
 * e.g. by getopt itself when opterr is on). New code: pk_cli_getopt_error. */
void pk_cli_usage(void) __attribute__((noreturn));

/* getopt_long's complaint, in our words, for a parser whose optstring
 * begins with ':' (after '+' if any: "+:c:i:hV"), so that getopt prints
 * nothing and returns ':' for a missing value and '?' for an unknown
 * option. ch is what getopt_long returned; reads optopt and optind.
 *   ':'  "<prog> <role>: option '-p' needs a value"  ('--port' for a long one)
 *   '?'  "<prog> <role>: unknown option '-x'"        ('--frob')
 *        "<prog> <role>: option '--quiet' takes no value" (--quiet=1)
 * then the Try line, exit 2. Any other ch: "unhandled option" (a bug). */
void pk_cli_getopt_error(int ch, char *const argv[]) __attribute__((noreturn));

/* The end of every role parser's switch: `default: pk_cli_default(ch, argv,
 * usage_client);` handles 'h' (help on stdout, exit 0), 'V' (pk_cli_version),
 * '?' and ':' (pk_cli_getopt_error). Every role's optstring therefore
 * contains "hV" and begins with ':' (after '+'), and its long options end
 * with PK_CLI_LONGOPTS_STD. Never returns. */
void pk_cli_default(int ch, char *const argv[], const char *help) __attribute__((noreturn));
#define PK_CLI_LONGOPTS_STD                                     \
	{ "help", no_argument, NULL, 'h' },                     \
	{ "version", no_argument, NULL, 'V' },                  \
	{ NULL, 0, NULL, 0 }

uint64_t pk_cli_uint(const char *what, const char *arg, uint64_t min, uint64_t max);
double pk_cli_double(const char *what, const char *arg, double min, double max);
int64_t pk_cli_duration(const char *what, const char *arg, int64_t min_ns, int64_t max_ns);
uint64_t pk_cli_size(const char *what, const char *arg, uint64_t min, uint64_t max);
/* A port; 0 only when allow_zero (servers: pick one). */
uint16_t pk_cli_port(const char *what, const char *arg, int allow_zero);
/* 0..1 or a percentage ("30%"). */
double pk_cli_prob(const char *what, const char *arg);

/* -I, -t or -Q (letter 'I', 't', 'Q') into o with pk_sockopt_set, or the
 * error path: "TTL '300': too large", "ToS 'xx': not a number or a DSCP
 * name (...)", "source 'eth0/1': not an address or an interface name". */
struct pk_sockopt;
void pk_cli_sockopt(struct pk_sockopt *o, int letter, const char *arg);

/* -J and --csv together: every tool refuses them with this one message,
 * "-J and --csv cannot be used together" (pk_cli_error). */
void pk_cli_json_csv_conflict(void) __attribute__((noreturn));
#define PK_CLI_JSON_CSV_MSG "-J and --csv cannot be used together"

#endif
