/* heartbeat: `heartbeat server` and `heartbeat client HOST`.
 * Fills a config struct from the command line and calls its run function.
 * Exit: 0 ok, 1 server down at the end / never answered, 2 usage or system error.
 */
#include "hb.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pk_opt.h"

static const char server_usage[] =
"usage: heartbeat server [-p PORT] [-b ADDR] [-4|-6] [--loss P] [--seed N]\n"
"                        [--dead-after DUR] [--report DUR] [--max-clients N]\n"
"                        [--rate-limit N] [-J] [-q]\n"
"  -p, --port PORT        UDP port (default 12000; 0 picks one)\n"
"  -b, --bind ADDR        local address (default: all, IPv6 and IPv4)\n"
"  -4, -6                 IPv4 / IPv6 only\n"
"      --loss P           simulated loss, 0..1 or N% (default 0.30)\n"
"      --seed N           seed of the simulated loss (default: random)\n"
"      --dead-after DUR   silence before `client stopped' (default 3s)\n"
"      --report DUR       print the client table every DUR\n"
"      --max-clients N    clients remembered (default 10000; oldest silent evicted)\n"
"      --rate-limit N     datagrams/s accepted per source (default 2000, 0 off)\n"
"  -J, --json             events and tables as JSON lines\n"
"  -q, --quiet            no event lines, only the final table\n"
"  -h, --help, -V, --version\n";

static const char client_usage[] =
"usage: heartbeat client [-c COUNT] [-i INTERVAL] [-W TIMEOUT] [--misses K]\n"
"                        [--detector kmiss|phi] [--phi-threshold X] [--keep-going]\n"
"                        [-p PORT] [-4|-6] [-D] [-q] [-J] [--csv] HOST\n"
"  -c, --count COUNT      heartbeats to send (default 1000, 0 = until interrupted)\n"
"  -i, --interval DUR     time between heartbeats (default 1s, at least 1ms)\n"
"  -W, --timeout DUR      wait for each reply (default 1s)\n"
"      --misses K         consecutive misses that mean `server down' (default 3)\n"
"      --detector D       kmiss (default) or phi: which verdict acts\n"
"      --phi-threshold X  phi accrual threshold (default 8)\n"
"      --keep-going       keep sending after `server down'; list the outages\n"
"  -p, --port PORT        server port (default 12000)\n"
"  -4, -6                 IPv4 / IPv6 only\n"
"  -D, --timestamps       prefix lines with the wall-clock time\n"
"  -q, --quiet            no per-heartbeat lines\n"
"  -J, --json             one JSON document at the end\n"
"      --csv              one CSV row per heartbeat; summary on stderr\n"
"  -h, --help, -V, --version\n";

static const char top_usage[] =
"usage: heartbeat server [options]\n"
"       heartbeat client [options] HOST\n"
"       heartbeat -h | -V\n"
"Run `heartbeat server -h' or `heartbeat client -h' for the options.\n";

/* `heartbeat: what 'arg': why' and exit 2, as usage errors do. */
static void bad(const char *what, const char *arg, const char *why)
{
	fprintf(stderr, "heartbeat: %s '%s': %s\n", what, arg, why);
	exit(2);
}

static void usage_error(const char *text, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("heartbeat: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fputs(text, stderr);
	exit(2);
}

static int64_t opt_dur(const char *what, const char *s, int64_t min, int64_t max)
{
	const char *why;
	int64_t v;

	if (pk_opt_duration(s, min, max, &v, &why) != 0)
		bad(what, s, why);
	return v;
}

static uint64_t opt_uint(const char *what, const char *s, uint64_t min, uint64_t max)
{
	const char *why;
	uint64_t v;

	if (pk_opt_uint(s, min, max, &v, &why) != 0)
		bad(what, s, why);
	return v;
}

static uint16_t opt_port(const char *s)
{
	const char *why;
	uint16_t v;

	if (pk_opt_port(s, &v, &why) != 0)
		bad("port", s, why);
	return v;
}

enum {
	O_LOSS = 256, O_SEED, O_DEAD, O_REPORT, O_MAXC, O_RATE, O_MISSES,
	O_DETECTOR, O_PHI, O_KEEP, O_CSV,
};

static int server_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", 1, NULL, 'p' }, { "bind", 1, NULL, 'b' },
		{ "loss", 1, NULL, O_LOSS }, { "seed", 1, NULL, O_SEED },
		{ "dead-after", 1, NULL, O_DEAD }, { "report", 1, NULL, O_REPORT },
		{ "max-clients", 1, NULL, O_MAXC }, { "rate-limit", 1, NULL, O_RATE },
		{ "json", 0, NULL, 'J' }, { "quiet", 0, NULL, 'q' },
		{ "help", 0, NULL, 'h' }, { "version", 0, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct hb_server_cfg cfg = {
		.port = HB_DEFAULT_PORT, .family = AF_UNSPEC, .loss = 0.30,
		.dead_after_ns = 3 * PK_NS_PER_S, .max_clients = 10000,
		.rate_limit = 2000,
	};
	const char *why;
	int ch;

	while ((ch = getopt_long(argc, argv, "p:b:46JqhV", lo, NULL)) != -1) {
		switch (ch) {
		case 'p': cfg.port = opt_port(optarg); break;
		case 'b': cfg.bind = optarg; break;
		case '4': cfg.family = AF_INET; break;
		case '6': cfg.family = AF_INET6; break;
		case O_LOSS:
			if (pk_opt_prob(optarg, &cfg.loss, &why) != 0)
				bad("loss", optarg, why);
			break;
		case O_SEED:
			cfg.seed = opt_uint("seed", optarg, 0, UINT64_MAX);
			cfg.have_seed = 1;
			break;
		case O_DEAD:
			cfg.dead_after_ns = opt_dur("dead-after", optarg, PK_NS_PER_MS, 86400 * PK_NS_PER_S);
			break;
		case O_REPORT:
			cfg.report_ns = opt_dur("report", optarg, 10 * PK_NS_PER_MS, 86400 * PK_NS_PER_S);
			break;
		case O_MAXC:
			cfg.max_clients = (uint32_t)opt_uint("max-clients", optarg, 1, 1u << 24);
			break;
		case O_RATE:
			cfg.rate_limit = (double)opt_uint("rate-limit", optarg, 0, 10000000);
			break;
		case 'J': cfg.json = 1; break;
		case 'q': cfg.quiet = 1; break;
		case 'h': fputs(server_usage, stdout); return 0;
		case 'V': printf("heartbeat %s\n", PK_VERSION); return 0;
		default: usage_error(server_usage, NULL);
		}
	}
	if (optind != argc)
		usage_error(server_usage, "unexpected argument '%s'", argv[optind]);
	return hb_server_run(&cfg);
}

static void client_opt(struct hb_client_cfg *cfg, int ch, const char *arg)
{
	const char *why;

	switch (ch) {
	case 'c': cfg->count = opt_uint("count", arg, 0, UINT64_C(1) << 40); break;
	case 'i': cfg->interval_ns = opt_dur("interval", arg, PK_NS_PER_MS, 3600 * PK_NS_PER_S); break;
	case 'W': cfg->timeout_ns = opt_dur("timeout", arg, PK_NS_PER_MS, 600 * PK_NS_PER_S); break;
	case 'p': cfg->port = opt_port(arg); break;
	case O_MISSES: cfg->misses = (unsigned)opt_uint("misses", arg, 1, 1000); break;
	case O_DETECTOR:
		if (strcmp(arg, "kmiss") == 0)
			cfg->detector = HB_DET_KMISS;
		else if (strcmp(arg, "phi") == 0)
			cfg->detector = HB_DET_PHI;
		else
			bad("detector", arg, "invalid (kmiss or phi)");
		break;
	case O_PHI:
		if (pk_opt_double(arg, 0.1, 300, &cfg->phi_threshold, &why) != 0)
			bad("phi-threshold", arg, why);
		break;
	case O_KEEP: cfg->keep_going = 1; break;
	case O_CSV: cfg->csv = 1; break;
	case '4': cfg->family = AF_INET; break;
	case '6': cfg->family = AF_INET6; break;
	case 'D': cfg->timestamps = 1; break;
	case 'q': cfg->quiet = 1; break;
	case 'J': cfg->json = 1; break;
	default: usage_error(client_usage, NULL);
	}
}

static int client_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "count", 1, NULL, 'c' }, { "interval", 1, NULL, 'i' },
		{ "timeout", 1, NULL, 'W' }, { "misses", 1, NULL, O_MISSES },
		{ "detector", 1, NULL, O_DETECTOR }, { "phi-threshold", 1, NULL, O_PHI },
		{ "keep-going", 0, NULL, O_KEEP }, { "port", 1, NULL, 'p' },
		{ "timestamps", 0, NULL, 'D' }, { "quiet", 0, NULL, 'q' },
		{ "json", 0, NULL, 'J' }, { "csv", 0, NULL, O_CSV },
		{ "help", 0, NULL, 'h' }, { "version", 0, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct hb_client_cfg cfg = {
		.port = HB_DEFAULT_PORT, .family = AF_UNSPEC, .count = 1000,
		.interval_ns = PK_NS_PER_S, .timeout_ns = PK_NS_PER_S, .misses = 3,
		.detector = HB_DET_KMISS, .phi_threshold = 8.0,
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:i:W:p:46DqJhV", lo, NULL)) != -1) {
		if (ch == 'h') {
			fputs(client_usage, stdout);
			return 0;
		}
		if (ch == 'V') {
			printf("heartbeat %s\n", PK_VERSION);
			return 0;
		}
		client_opt(&cfg, ch, optarg);
	}
	if (optind + 1 != argc)
		usage_error(client_usage, optind == argc ? "missing HOST" :
		            "unexpected argument '%s'", argv[optind + 1]);
	if (cfg.json && cfg.csv)
		usage_error(client_usage, "-J and --csv exclude each other");
	cfg.host = argv[optind];
	return hb_client_run(&cfg);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage_error(top_usage, NULL);
	if (strcmp(argv[1], "server") == 0)
		return server_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "client") == 0)
		return client_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(top_usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("heartbeat %s\n", PK_VERSION);
		return 0;
	}
	usage_error(top_usage, "unknown role '%s'", argv[1]);
	return 2;
}
