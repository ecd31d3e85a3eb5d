/* tcp-echo: TCP echo with measurement phases (docs/PROTOCOLS.md section 3),
 * `tcp-echo server` and `tcp-echo client HOST`.
 * Command line to config struct; echo_server_run / echo_client_run do the rest. */
#include "echo.h"
#include "echo_fit.h"
#include "echo_plot.h"
#include "pk_clock.h"
#include "pk_cli.h"
#include "pk_loop.h"
#include "pk_opt.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const char usage_top[] =
	"usage: tcp-echo server [-p PORT] [-b ADDR] [-4|-6] [--plain] [--max-size BYTES]\n"
	"                       [--max-probes N] [--max-delay DUR] [--idle-timeout DUR]\n"
	"                       [--max-conns N] [--max-per-source N] [--max-buffer BYTES]\n"
	"                       [--no-fast-path] [-t TTL] [-Q TOS] [-D] [-J | --json-stream] [-q]\n"
	"       tcp-echo client [-p PORT] [-m rtt|ttput] [-s SIZE] [-c COUNT] [-d DELAY]\n"
	"                       [-W TIMEOUT] [-I ADDR|IFACE] [-t TTL] [-Q TOS] [--window N]\n"
	"                       [--sweep] [--sizes LIST] [--delays LIST] [--repeat R]\n"
	"                       [-J | --json-stream | --csv] [--csv-file FILE] [--plot FILE]\n"
	"                       [--message TEXT] [-4|-6] [-D] [-q] HOST\n"
	"       tcp-echo experiment [-p PORT] [--sizes-rtt LIST] [--sizes-ttput LIST]\n"
	"                       [--delays LIST] [-n PROBES] [--repeat R] [-W TIMEOUT]\n"
	"                       [--force] [-J | --json-stream] [-q] [-4|-6] -o DIR [HOST]\n"
	"       tcp-echo -h | -V\n"
	"Run 'tcp-echo ROLE --help' for a role's options.\n";

static const char usage_server[] =
	"usage: tcp-echo server [-p PORT] [-b ADDR] [-4|-6] [--plain] [--max-size BYTES]\n"
	"                       [--max-probes N] [--max-delay DUR] [--idle-timeout DUR]\n"
	"                       [--max-conns N] [--max-per-source N] [--max-buffer BYTES]\n"
	"                       [--no-fast-path] [-t TTL] [-Q TOS] [-D] [-J | --json-stream] [-q]\n"
	"Serves the measurement protocol (setup s, probes m, termination t) to every\n"
	"connection at once on one event loop; each session's delay is its own timer.\n"
	"  -p, --port PORT        port to serve (default 9900; 0 = any)\n"
	"  -b, --bind ADDR        address to bind (default: all, IPv6 and IPv4)\n"
	"  -4, -6                 IPv4 or IPv6 only\n"
	"      --plain            echo whatever bytes arrive (the assignment's plain echo)\n"
	"      --max-size BYTES   largest msg_size accepted (default 1M)\n"
	"      --max-probes N     most probes per session (default 1000000)\n"
	"      --max-delay DUR    longest server delay (default 60s)\n"
	"      --idle-timeout DUR close a connection that completes no message this long\n"
	"                         (default 30s; a line cut off then gets its 404)\n"
	"      --max-conns N      connections at once; more are refused (default 10000)\n"
	"      --max-per-source N connections at once from one address (IPv6: one /64);\n"
	"                         more are refused (default 64; 0 = no cap)\n"
	"      --max-buffer BYTES memory for all connections together: partial lines,\n"
	"                         queued and delayed echoes (default 256M; at least two\n"
	"                         longest probes); a line or echo past it gets its 404\n"
	"      --no-fast-path     serve a lone session through the event loop too (the\n"
	"                         same answers; one more system call per message)\n"
	"  -t, --ttl TTL          TTL / hop limit of what it sends (1..255)\n"
	"  -Q, --tos TOS          ToS / traffic class: 0..255, 0xNN or a DSCP name (ef, af41)\n"
	"  -D, --timestamps       prefix each log line with [unix seconds.microseconds]\n"
	"  -J, --json             one JSON document when it stops (totals, sessions)\n"
	"      --json-stream      JSON Lines as it happens: listening, setup, session,\n"
	"                         refused, end (the -J document)\n"
	"  -q, --quiet            no log line (or event) per session\n"
	"  -h, --help             this help\n"
	"  -V, --version          the version\n"
	"On SIGINT or SIGTERM prints its totals and exits 0; SIGQUIT prints them on\n"
	"stderr and goes on.\n";

static const char usage_client[] =
	"usage: tcp-echo client [-p PORT] [-m rtt|ttput] [-s SIZE] [-c COUNT] [-d DELAY]\n"
	"                       [-W TIMEOUT] [-I ADDR|IFACE] [-t TTL] [-Q TOS] [--window N]\n"
	"                       [--sweep] [--sizes LIST] [--delays LIST] [--repeat R]\n"
	"                       [-J | --json-stream | --csv] [--csv-file FILE] [--plot FILE]\n"
	"                       [--message TEXT] [-4|-6] [-D] [-q] HOST\n"
	"Measures RTT and throughput with probes of SIZE bytes echoed by a tcp-echo server.\n"
	"  -p, --port PORT        server port (default 9900)\n"
	"  -m, --mode rtt|ttput   measurement type sent in the setup (default rtt)\n"
	"  -s, --size SIZE        payload bytes per probe (default 1000 rtt, 2K ttput)\n"
	"  -c, --count N          probes per session (default 10)\n"
	"  -n, --probes N         the same as -c\n"
	"  -d, --delay DUR        server delay before each echo (default 0; e.g. 0.5, 100ms)\n"
	"  -W, --timeout DUR      longest wait for a reply, beyond the delay (default 5s)\n"
	"  -I, --interface ADDR|IFACE  source address or interface of the connection\n"
	"  -t, --ttl TTL          TTL / hop limit of the connection's segments (1..255)\n"
	"  -Q, --tos TOS          ToS / traffic class: 0..255, 0xNN or a DSCP name (ef, af41)\n"
	"      --window N         probes in flight at once (default 1: stop-and-wait)\n"
	"      --sweep            every size x delay x repeat: table, fit, CSV/JSON/plot\n"
	"      --sizes LIST       sweep sizes, e.g. 1,100,1K (default by mode: rtt\n"
	"                         1,100,200,400,800,1000; ttput 1K,2K,4K,8K,16K,32K)\n"
	"      --delays LIST      sweep server delays, e.g. 0,10ms,0.5 (default: -d)\n"
	"      --repeat R         sessions per sweep point (default 1)\n"
	"  -J, --json             one JSON document at the end\n"
	"      --json-stream      JSON Lines: start, a sample per probe (--sweep: per\n"
	"                         point), end (the -J document)\n"
	"      --csv              CSV on stdout: a row per probe (--sweep: per point)\n"
	"      --csv-file FILE    --sweep: the points as CSV into FILE\n"
	"      --plot FILE        sweep plot with gnuplot, PNG or SVG by the ending\n"
	"      --message TEXT     plain echo: send TEXT, print the echo, exit\n"
	"  -4, -6                 IPv4 or IPv6 only\n"
	"  -D, --timestamps       prefix each line with [unix seconds.microseconds]\n"
	"  -q, --quiet            summary only\n"
	"  -h, --help             this help\n"
	"  -V, --version          the version\n"
	"SIGQUIT prints the session's counters so far on stderr and goes on.\n"
	"Exit status: 0 success, 1 a 404, refused, timeout or early close, 2 usage or\n"
	"system error, 141 stdout closed (| head).\n";

static const char usage_experiment[] =
	"usage: tcp-echo experiment [-p PORT] [--sizes-rtt LIST] [--sizes-ttput LIST]\n"
	"                           [--delays LIST] [-n PROBES] [--repeat R] [-W TIMEOUT]\n"
	"                           [--force] [-J | --json-stream] [-q] [-4|-6] -o DIR [HOST]\n"
	"Seed 002's experiment in one command: mean RTT over the rtt sizes and mean\n"
	"throughput over the ttput sizes, for every server delay, with tables, fits,\n"
	"figures and a report. Without HOST it runs its own server on loopback.\n"
	"  -o, --output DIR       directory for rtt.csv, ttput.csv, experiment.json,\n"
	"                         rtt.png/.svg, ttput.png/.svg, report.md (created;\n"
	"                         a non-empty one is refused without --force)\n"
	"  -p, --port PORT        server port with HOST (default 9900)\n"
	"      --sizes-rtt LIST   rtt-mode sizes (default 1,100,200,400,800,1000)\n"
	"      --sizes-ttput LIST ttput-mode sizes (default 1K,2K,4K,8K,16K,32K)\n"
	"      --delays LIST      server delays (default 0,50ms,100ms,200ms)\n"
	"  -n, --probes N         probes per session, at least 10 (default 10)\n"
	"      --repeat R         sessions per point (default 1)\n"
	"  -W, --timeout DUR      longest wait for a reply, beyond the delay (default 5s)\n"
	"      --force            write into a non-empty DIR (replacing these files)\n"
	"  -J, --json             experiment.json on stdout too\n"
	"      --json-stream      JSON Lines: start, a sample per point, end (the -J document)\n"
	"  -q, --quiet            nothing on stdout (progress stays on stderr)\n"
	"  -4, -6                 IPv4 or IPv6 only (own server: 127.0.0.1 or ::1)\n"
	"  -h, --help             this help\n"
	"  -V, --version          the version\n"
	"Progress, one line per point with the time elapsed and left, goes to stderr.\n"
	"SIGINT or SIGTERM stops it; the points measured are written, marked partial.\n"
	"Exit status: 0 success (or interrupted after a point), 1 a 404, refused,\n"
	"timeout or early close, 2 usage, output or system error.\n";

enum {
	OPT_PLAIN = 256, OPT_MAX_SIZE, OPT_MAX_PROBES, OPT_MAX_DELAY, OPT_IDLE, OPT_MAX_CONNS, OPT_MAX_BUFFER,
	OPT_MAX_SOURCE, OPT_NO_FAST,
	OPT_WINDOW, OPT_SWEEP, OPT_SIZES, OPT_DELAYS, OPT_REPEAT, OPT_CSV, OPT_PLOT, OPT_MESSAGE,
	OPT_SIZES_RTT, OPT_SIZES_TTPUT, OPT_FORCE, OPT_JSON_STREAM, OPT_CSV_FILE,
};

static const uint64_t rtt_sizes[] = { 1, 100, 200, 400, 800, 1000 };
static const uint64_t ttput_sizes[] = { 1024, 2048, 4096, 8192, 16384, 32768 };
static const int64_t exp_delays[] = { 0, 50 * PK_NS_PER_MS, 100 * PK_NS_PER_MS,
                                      200 * PK_NS_PER_MS };

static int server_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "plain", no_argument, NULL, OPT_PLAIN },
		{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
		{ "max-probes", required_argument, NULL, OPT_MAX_PROBES },
		{ "max-delay", required_argument, NULL, OPT_MAX_DELAY },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
		{ "max-buffer", required_argument, NULL, OPT_MAX_BUFFER },
		{ "max-per-source", required_argument, NULL, OPT_MAX_SOURCE },
		{ "no-fast-path", no_argument, NULL, OPT_NO_FAST },
		{ "ttl", required_argument, NULL, 't' },
		{ "tos", required_argument, NULL, 'Q' },
		{ "timestamps", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'J' },
		{ "json-stream", no_argument, NULL, OPT_JSON_STREAM },
		{ "quiet", no_argument, NULL, 'q' },
		PK_CLI_LONGOPTS_STD,
	};
	struct echo_server_cfg cfg = {
		.port = ECHO_DEFAULT_PORT, .family = AF_UNSPEC,
		.lim = { .max_size = 1024 * 1024, .max_probes = 1000000,
		         .max_delay_ns = 60 * PK_NS_PER_S },
		.idle_ns = 30 * PK_NS_PER_S, .max_conns = 10000, .max_per_source = 64,
		.max_buffer = 256 * 1024 * 1024, .so = PK_SOCKOPT_INIT,
	};
	int c;

	while ((c = getopt_long(argc, argv, "+:p:b:t:Q:46DJqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'p': cfg.port = pk_cli_port("port", optarg, 1); break;
		case 'b': cfg.bind_host = optarg; break;
		case '4': cfg.family = AF_INET; break;
		case '6': cfg.family = AF_INET6; break;
		case OPT_PLAIN: cfg.plain = 1; break;
		case OPT_NO_FAST: cfg.no_fast = 1; break;
		case OPT_MAX_SIZE:
			cfg.lim.max_size = pk_cli_size("max size", optarg, 1, 64 * 1024 * 1024);
			break;
		case OPT_MAX_PROBES:
			cfg.lim.max_probes = pk_cli_uint("max probes", optarg, 1, 1000000000);
			break;
		case OPT_MAX_DELAY:
			cfg.lim.max_delay_ns = pk_cli_duration("max delay", optarg, 0, 3600 * PK_NS_PER_S);
			break;
		case OPT_IDLE:
			cfg.idle_ns = pk_cli_duration("idle timeout", optarg, PK_NS_PER_MS,
			                              24 * 3600 * PK_NS_PER_S);
			break;
		case OPT_MAX_CONNS: cfg.max_conns = pk_cli_uint("max conns", optarg, 1, 1000000); break;
		case OPT_MAX_SOURCE:
			cfg.max_per_source = (uint32_t)pk_cli_uint("max per source", optarg, 0, 1000000);
			break;
		case OPT_MAX_BUFFER:
			cfg.max_buffer = pk_cli_size("max buffer", optarg, 4096,
			                             (uint64_t)64 * 1024 * 1024 * 1024);
			break;
		case 't': case 'Q': pk_cli_sockopt(&cfg.so, c, optarg); break;
		case 'D': cfg.stamp = 1; break;
		case 'J': cfg.json = 1; break;
		case OPT_JSON_STREAM: cfg.stream = 1; break;
		case 'q': cfg.quiet = 1; break;
		default: pk_cli_default(c, argv, usage_server);
		}
	}
	if (optind != argc)
		pk_cli_error("unexpected argument '%s'", argv[optind]);
	if (cfg.stream)
		cfg.json = 0;           /* --json-stream wins: it ends with the same document */
	signal(SIGPIPE, SIG_IGN);
	return echo_server_run(&cfg);
}

static void parse_mode(const char *arg, struct echo_client_cfg *cfg)
{
	if (strcasecmp(arg, "rtt") == 0)
		cfg->type = ECHO_RTT;
	else if (strcasecmp(arg, "ttput") == 0)
		cfg->type = ECHO_TTPUT;
	else
		pk_cli_error("mode '%s': invalid (rtt or ttput)", arg);
}

static void parse_sizes(const char *what, const char *arg, uint64_t *out, size_t *n)
{
	const char *e = NULL;

	if (echo_parse_list_sizes(arg, out, ECHO_MAX_LIST, n, &e) || *n == 0)
		pk_cli_error("%s '%s': %s", what, arg, e ? e : "invalid");
	for (size_t i = 0; i < *n; i++)
		if (out[i] > 64 * 1024 * 1024)
			pk_cli_error("%s '%s': too large", what, arg);
}

static void parse_delays(const char *arg, int64_t *out, size_t *n)
{
	const char *e = NULL;

	if (echo_parse_list_delays(arg, out, ECHO_MAX_LIST, n, &e) || *n == 0)
		pk_cli_error("delays '%s': %s", arg, e ? e : "invalid");
}

/* Checks what only makes sense together; fills defaults. */
static void client_finish(struct echo_client_cfg *cfg, int have_size)
{
	if (!cfg->sweep && (cfg->nsizes || cfg->ndelays || cfg->csv_file || cfg->plot))
		pk_cli_error("--sizes, --delays, --csv-file and --plot need --sweep");
	if (cfg->sweep && cfg->message)
		pk_cli_error("--message and --sweep exclude each other");
	if (cfg->message && cfg->csv)
		pk_cli_error("--message and --csv exclude each other");
	if (cfg->plot && echo_plot_format(cfg->plot) == NULL)
		pk_cli_error("plot file '%s': invalid (ends in .png or .svg)", cfg->plot);
	if (!have_size)
		cfg->size = cfg->type == ECHO_RTT ? 1000 : 2048;
}

static int client_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' },
		{ "probes", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },
		{ "delay", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 'W' },
		{ "interface", required_argument, NULL, 'I' },
		{ "ttl", required_argument, NULL, 't' },
		{ "tos", required_argument, NULL, 'Q' },
		{ "timestamps", no_argument, NULL, 'D' },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "sweep", no_argument, NULL, OPT_SWEEP },
		{ "sizes", required_argument, NULL, OPT_SIZES },
		{ "delays", required_argument, NULL, OPT_DELAYS },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "json", no_argument, NULL, 'J' },
		{ "json-stream", no_argument, NULL, OPT_JSON_STREAM },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "csv-file", required_argument, NULL, OPT_CSV_FILE },
		{ "plot", required_argument, NULL, OPT_PLOT },
		{ "message", required_argument, NULL, OPT_MESSAGE },
		{ "quiet", no_argument, NULL, 'q' },
		PK_CLI_LONGOPTS_STD,
	};
	struct echo_client_cfg cfg = {
		.port = ECHO_DEFAULT_PORT, .family = AF_UNSPEC, .type = ECHO_RTT, .probes = 10,
		.timeout_ns = 5 * PK_NS_PER_S, .window = 1, .repeat = 1, .so = PK_SOCKOPT_INIT,
	};
	int c, have_size = 0;

	while ((c = getopt_long(argc, argv, "+:p:m:s:n:c:d:W:I:t:Q:46DJqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'p': cfg.port = pk_cli_port("port", optarg, 0); break;
		case 'm': parse_mode(optarg, &cfg); break;
		case 's':
			cfg.size = pk_cli_size("size", optarg, 1, 64 * 1024 * 1024);
			have_size = 1;
			break;
		case 'n':
		case 'c': cfg.probes = pk_cli_uint("count", optarg, 1, 10000000); break;
		case 'I': case 't': case 'Q': pk_cli_sockopt(&cfg.so, c, optarg); break;
		case 'D': cfg.stamp = 1; break;
		case 'd': cfg.delay_ns = pk_cli_duration("delay", optarg, 0, 3600 * PK_NS_PER_S); break;
		case 'W':
			cfg.timeout_ns = pk_cli_duration("timeout", optarg, PK_NS_PER_MS, 3600 * PK_NS_PER_S);
			break;
		case OPT_WINDOW: cfg.window = (unsigned)pk_cli_uint("window", optarg, 1, 65536); break;
		case OPT_SWEEP: cfg.sweep = 1; break;
		case OPT_SIZES: parse_sizes("sizes", optarg, cfg.sizes, &cfg.nsizes); break;
		case OPT_DELAYS: parse_delays(optarg, cfg.delays, &cfg.ndelays); break;
		case OPT_REPEAT: cfg.repeat = (unsigned)pk_cli_uint("repeat", optarg, 1, 1000); break;
		case 'J': cfg.json = 1; break;
		case OPT_JSON_STREAM: cfg.stream = 1; break;
		case OPT_CSV: cfg.csv = 1; break;
		case OPT_CSV_FILE: cfg.csv_file = optarg; break;
		case OPT_PLOT: cfg.plot = optarg; break;
		case OPT_MESSAGE: cfg.message = optarg; break;
		case '4': cfg.family = AF_INET; break;
		case '6': cfg.family = AF_INET6; break;
		case 'q': cfg.quiet = 1; break;
		default: pk_cli_default(c, argv, usage_client);
		}
	}
	if ((cfg.json || cfg.stream) && cfg.csv)
		pk_cli_json_csv_conflict();
	if (cfg.stream)
		cfg.json = 0;           /* --json-stream wins: it ends with the same document */
	if (optind == argc)
		pk_cli_error("missing HOST");
	if (optind + 1 != argc)
		pk_cli_error("unexpected argument '%s'", argv[optind + 1]);
	cfg.host = argv[optind];
	client_finish(&cfg, have_size);
	/* the client blocks in send/recv/poll: a signal makes them return EINTR */
	cfg.stop = pk_stop_flag();
	cfg.quit = pk_quit_flag();
	return echo_client_run(&cfg);
}

/* "tcp-echo experiment ...", arguments with anything but [A-Za-z0-9_./:,=+-]
 * single-quoted, for the report. */
static char *command_line(int argc, char **argv)
{
	size_t cap = 16, len;
	char *s, *p;

	for (int i = 0; i < argc; i++)
		cap += 4 * strlen(argv[i]) + 3;
	if ((s = malloc(cap)) == NULL)
		return NULL;
	p = s + snprintf(s, cap, "tcp-echo");
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int plain = a[0] != '\0' && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                                       "0123456789_./:,=+-") == strlen(a);
		*p++ = ' ';
		if (!plain)
			*p++ = '\'';
		for (; *a; a++) {
			if (*a == '\'' && !plain) {
				memcpy(p, "'\\''", 4);
				p += 4;
			} else {
				*p++ = *a;
			}
		}
		if (!plain)
			*p++ = '\'';
	}
	*p = '\0';
	len = (size_t)(p - s);
	(void)len;
	return s;
}

static int experiment_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "port", required_argument, NULL, 'p' },
		{ "sizes-rtt", required_argument, NULL, OPT_SIZES_RTT },
		{ "sizes-ttput", required_argument, NULL, OPT_SIZES_TTPUT },
		{ "delays", required_argument, NULL, OPT_DELAYS },
		{ "probes", required_argument, NULL, 'n' },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "timeout", required_argument, NULL, 'W' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "json", no_argument, NULL, 'J' },
		{ "json-stream", no_argument, NULL, OPT_JSON_STREAM },
		{ "quiet", no_argument, NULL, 'q' },
		PK_CLI_LONGOPTS_STD,
	};
	struct echo_exp_cfg cfg = {
		.port = ECHO_DEFAULT_PORT, .family = AF_UNSPEC, .probes = 10, .repeat = 1,
		.timeout_ns = 5 * PK_NS_PER_S,
	};
	int c, have_port = 0, rc;
	char *cmd;

	while ((c = getopt_long(argc, argv, "+:o:p:n:W:46JqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'o': cfg.dir = optarg; break;
		case 'p': cfg.port = pk_cli_port("port", optarg, 0); have_port = 1; break;
		case OPT_SIZES_RTT:
			parse_sizes("sizes-rtt", optarg, cfg.sizes_rtt, &cfg.nsizes_rtt);
			break;
		case OPT_SIZES_TTPUT:
			parse_sizes("sizes-ttput", optarg, cfg.sizes_ttput, &cfg.nsizes_ttput);
			break;
		case OPT_DELAYS: parse_delays(optarg, cfg.delays, &cfg.ndelays); break;
		case 'n':
			cfg.probes = pk_cli_uint("probes", optarg, 1, 10000000);
			if (cfg.probes < 10)
				pk_cli_error("probes '%s': at least 10 per session (seed 002's experiment; "
				             "a 95%% interval needs them)", optarg);
			break;
		case OPT_REPEAT: cfg.repeat = (unsigned)pk_cli_uint("repeat", optarg, 1, 1000); break;
		case 'W':
			cfg.timeout_ns = pk_cli_duration("timeout", optarg, PK_NS_PER_MS, 3600 * PK_NS_PER_S);
			break;
		case OPT_FORCE: cfg.force = 1; break;
		case 'J': cfg.json = 1; break;
		case OPT_JSON_STREAM: cfg.stream = 1; break;
		case 'q': cfg.quiet = 1; break;
		case '4': cfg.family = AF_INET; break;
		case '6': cfg.family = AF_INET6; break;
		default: pk_cli_default(c, argv, usage_experiment);
		}
	}
	if (cfg.stream)
		cfg.json = 0;
	if (optind + 1 < argc)
		pk_cli_error("unexpected argument '%s'", argv[optind + 1]);
	cfg.host = optind < argc ? argv[optind] : NULL;
	if (cfg.dir == NULL || cfg.dir[0] == '\0')
		pk_cli_error("missing -o DIR (the directory for the results)");
	if (cfg.host == NULL && have_port)
		pk_cli_error("-p needs HOST (without one the experiment runs its own server)");
	if (cfg.nsizes_rtt == 0) {
		memcpy(cfg.sizes_rtt, rtt_sizes, sizeof rtt_sizes);
		cfg.nsizes_rtt = sizeof rtt_sizes / sizeof rtt_sizes[0];
	}
	if (cfg.nsizes_ttput == 0) {
		memcpy(cfg.sizes_ttput, ttput_sizes, sizeof ttput_sizes);
		cfg.nsizes_ttput = sizeof ttput_sizes / sizeof ttput_sizes[0];
	}
	if (cfg.ndelays == 0) {
		memcpy(cfg.delays, exp_delays, sizeof exp_delays);
		cfg.ndelays = sizeof exp_delays / sizeof exp_delays[0];
	}
	if ((cmd = command_line(argc, argv)) == NULL)
		pk_cli_error("out of memory");
	cfg.command = cmd;
	cfg.stop = pk_stop_flag();
	rc = echo_exp_run(&cfg);
	free(cmd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct pk_cli_role roles[] = {
		{ "server", usage_server, server_main },
		{ "client", usage_client, client_main },
		{ "experiment", usage_experiment, experiment_main },
	};

	return pk_cli_main("tcp-echo", usage_top, roles, sizeof roles / sizeof roles[0], argc, argv);
}
