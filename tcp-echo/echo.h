/* tcp-echo: the configurations and the run entry points.
 *
 * main.c fills a config from the command line and calls echo_server_run()
 * or echo_client_run(); both return the exit status (0 ok, 1 failure
 * detected, 2 usage or system error). What they print is echo_report.h's;
 * the client's figures are echo_fit.h's.
 */
#ifndef ECHO_H
#define ECHO_H

#include <signal.h>
#include <stdint.h>

#include "echo_proto.h"
#include "pk_sockopt.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define ECHO_MAX_LIST 64          /* entries of --sizes / --delays */

struct echo_server_cfg {
	const char *bind_host;        /* NULL: wildcard */
	uint16_t port;
	int family;                   /* AF_UNSPEC, AF_INET, AF_INET6 */
	int plain;                    /* echo raw bytes, no protocol */
	struct echo_limits lim;
	int64_t idle_ns;
	uint64_t max_conns;
	uint32_t max_per_source;     /* connections from one address (IPv6 /64); 0: no cap */
	uint64_t max_buffer;         /* bytes held for all connections: lines, output */
	struct pk_sockopt so;        /* -t / -Q of the listening socket (accepted ones inherit) */
	int json, stream, quiet;     /* -J (one document at stop), --json-stream, -q */
	int stamp;                   /* -D */
	int no_fast;                 /* --no-fast-path: every read through the event loop */
};

int echo_server_run(const struct echo_server_cfg *cfg);

struct echo_client_cfg {
	const char *host;
	uint16_t port;
	int family;
	enum echo_mtype type;
	uint64_t size, probes;
	int64_t delay_ns;
	int64_t timeout_ns;         /* -W: longest wait for any reply beyond the delay */
	unsigned window;
	int sweep;
	uint64_t sizes[ECHO_MAX_LIST];
	size_t nsizes;              /* 0: the default sizes of the mode */
	int64_t delays[ECHO_MAX_LIST];
	size_t ndelays;             /* 0: one delay, delay_ns */
	unsigned repeat;
	struct pk_sockopt so;       /* -I / -t / -Q of the TCP socket, before connect */
	int json, stream, quiet;    /* -J, --json-stream, -q */
	int csv, stamp;             /* --csv (stdout), -D */
	const char *csv_file, *plot, *message;
	volatile sig_atomic_t *stop; /* set by SIGINT/SIGTERM (pk_stop_flag) */
	volatile sig_atomic_t *quit; /* set by SIGQUIT (pk_quit_flag); NULL: none */
};

int echo_client_run(const struct echo_client_cfg *cfg);

/* `tcp-echo experiment`: seed 002's experiment in one run (echo_exp.c).
 * Both modes (rtt over sizes_rtt, ttput over sizes_ttput) x every delay x
 * repeat sessions of `probes` probes, against host, or against a server of
 * its own on loopback (a child process) when host is NULL; writes the CSVs,
 * the JSON, the figures and report.md into dir. */
struct echo_exp_cfg {
	const char *host;           /* NULL: own server on loopback */
	uint16_t port;
	int family;
	uint64_t sizes_rtt[ECHO_MAX_LIST], sizes_ttput[ECHO_MAX_LIST];
	size_t nsizes_rtt, nsizes_ttput;
	int64_t delays[ECHO_MAX_LIST];
	size_t ndelays;
	uint64_t probes;            /* per session, at least 10 */
	unsigned repeat;
	int64_t timeout_ns;
	const char *dir;
	int force;                  /* write into a non-empty dir */
	int json, stream, quiet;
	const char *command;        /* the command line, for the report */
	volatile sig_atomic_t *stop;
};

int echo_exp_run(const struct echo_exp_cfg *cfg);

#endif
