/* heartbeat: `heartbeat server` and `heartbeat client HOST`.
 * Fills a config struct from the command line and calls its run function.
 * Exit: 0 ok, 1 server down at the end / never answered, 2 usage or system
 * error, 141 stdout closed (SIGPIPE, pk_out_flush).
 */
#include "hb.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pk_cli.h"
#include "hb_detect.h"
#include "hb_metrics.h"
#include "pk_clock.h"
#include "pk_sockopt.h"

static const char server_usage[] =
"usage: heartbeat server [-p PORT] [-b ADDR] [-4|-6] [--loss P] [--seed N]\n"
"                        [--dead-after DUR] [--report DUR] [--max-clients N]\n"
"                        [--rate-limit N] [--allow-low-ports] [-t TTL] [-Q TOS]\n"
"                        [--metrics-port N [--metrics-addr ADDR] [--metrics-conns N]\n"
"                        [--metrics-timeout DUR] [--metrics-max-clients N]]\n"
"                        [-D] [-J | --json-stream] [-q]\n"
"  -p, --port PORT        UDP port (default 12000; 0 picks one)\n"
"  -b, --bind ADDR        local address (default: all, IPv6 and IPv4)\n"
"  -4, -6                 IPv4 / IPv6 only\n"
"      --loss P           simulated loss, 0..1 or N% (default 0.30)\n"
"      --seed N           seed of the simulated loss (default: random)\n"
"      --dead-after DUR   silence before `client stopped' (default 3s)\n"
"      --report DUR       print the client table every DUR\n"
"      --max-clients N    clients remembered (default 10000; oldest silent evicted)\n"
"      --rate-limit N     datagrams/s accepted per source (default 2000, 0 off)\n"
"      --allow-low-ports  answer source ports 1-1023 too (default: refused)\n"
"  -t, --ttl TTL          TTL / hop limit of the replies (1..255)\n"
"  -Q, --tos TOS          ToS / traffic class of the replies (0..255, 0xb8, ef, af41, ...)\n"
"      --metrics-port N   serve Prometheus metrics on HTTP /metrics (0: any port)\n"
"      --metrics-addr ADDR  address of the metrics endpoint (default 127.0.0.1)\n"
"      --metrics-conns N  connections to the metrics endpoint at once (16; one\n"
"                         more is closed at once with a 503)\n"
"      --metrics-timeout DUR  deadline of a whole request to the endpoint, from\n"
"                         connect to the answer written (10s)\n"
"      --metrics-max-clients N  clients with per-client series (100, 0..10000;\n"
"                         most recently heard first, the rest counted)\n"
"  -D, --timestamps       prefix event lines with [unix seconds.microseconds]\n"
"  -J, --json             one JSON document when stopped (final table, events)\n"
"      --json-stream      JSON Lines as things happen (listening, client_*, table, end)\n"
"  -q, --quiet            no event lines, only the final table\n"
"  -h, --help             this text;  -V, --version  the version\n";

static const char client_usage[] =
"usage: heartbeat client [-c COUNT] [-i INTERVAL] [-W TIMEOUT] [--misses K]\n"
"                        [--detector kmiss|phi] [--phi-threshold X] [--keep-going]\n"
"                        [-p PORT] [-4|-6] [-I ADDR|IFACE] [-t TTL] [-Q TOS]\n"
"                        [-D] [-q] [-v] [-J | --json-stream | --csv] HOST\n"
"  -c, --count COUNT      heartbeats to send (default 1000, 0 = until interrupted)\n"
"  -i, --interval DUR     time between heartbeats (default 1s, at least 1ms)\n"
"  -W, --timeout DUR      wait for each reply (default 1s)\n"
"      --misses K         consecutive misses that mean `server down' (default 3)\n"
"      --detector D       kmiss (default) or phi: which verdict acts\n"
"      --phi-threshold X  phi accrual threshold (default 8)\n"
"      --keep-going       keep sending after `server down'; list the outages\n"
"  -p, --port PORT        server port (default 12000)\n"
"  -4, -6                 IPv4 / IPv6 only\n"
"  -I, --interface A|IF   source address or interface to send from\n"
"  -t, --ttl TTL          TTL / hop limit of the heartbeats (1..255)\n"
"  -Q, --tos TOS          ToS / traffic class (0..255, 0xb8, ef, af41, ...)\n"
"  -D, --timestamps       prefix lines with [unix seconds.microseconds]\n"
"  -q, --quiet            no per-heartbeat lines\n"
"  -v, --verbose          ttl= of each reply\n"
"  -J, --json             one JSON document at the end\n"
"      --json-stream      JSON Lines as things happen (start, sample, server_down, end)\n"
"      --csv              one CSV row per heartbeat as it is decided; summary on stderr\n"
"  -h, --help             this text;  -V, --version  the version\n";

static const char analyze_usage[] =
"usage: heartbeat analyze [-i INTERVAL] [-W TIMEOUT] [--budget P] [-J] P,K,N\n"
"The false alarms of the k-miss rule at independent loss P, K misses, over a\n"
"run of N heartbeats; sends nothing.\n"
"  P                      loss per heartbeat, 0 <= P < 1 (0.3 or 30%)\n"
"  K                      consecutive misses that mean `server down' (1..1000)\n"
"  N                      heartbeats in the run (1..100000000)\n"
"  -i, --interval DUR     time between heartbeats, for the rates (default 1s)\n"
"  -W, --timeout DUR      wait for each reply (default 1s; a longer timeout\n"
"                         than the interval needs more losses)\n"
"      --budget P         bound on P(at least one in N) for the K search (default 1%)\n"
"  -J, --json             one JSON document\n"
"  -h, --help             this text;  -V, --version  the version\n";

static const char top_usage[] =
"usage: heartbeat server [options]\n"
"       heartbeat client [options] HOST\n"
"       heartbeat analyze [options] P,K,N\n"
"       heartbeat -h | -V\n"
"Run `heartbeat server -h', `heartbeat client -h' or `heartbeat analyze -h'\n"
"for the options.\n";

enum {
	OPT_LOSS = 256, OPT_SEED, OPT_DEAD, OPT_REPORT, OPT_MAXC, OPT_RATE, OPT_MISSES,
	OPT_DETECTOR, OPT_PHI, OPT_KEEP, OPT_CSV, OPT_LOWPORTS, OPT_BUDGET, OPT_STREAM,
	OPT_MPORT, OPT_MADDR, OPT_MCONNS, OPT_MTIMEOUT, OPT_MMAXC,
};

/* --metrics-*: 1 when ch was one of them. */
static int metrics_opt(struct hb_server_cfg *cfg, int ch, const char *arg, int *given)
{
	switch (ch) {
	case OPT_MPORT: cfg->metrics_port = (int)pk_cli_uint("metrics-port", arg, 0, 65535); return 1;
	case OPT_MADDR: cfg->metrics_addr = arg; break;
	case OPT_MCONNS: cfg->metrics_conns = pk_cli_uint("metrics-conns", arg, 1, 65536); break;
	case OPT_MTIMEOUT:
		cfg->metrics_timeout_ns = pk_cli_duration("metrics-timeout", arg, 10 * PK_NS_PER_MS,
		                                          3600 * PK_NS_PER_S);
		break;
	case OPT_MMAXC:
		cfg->metrics_max_clients = (uint32_t)pk_cli_uint("metrics-max-clients", arg, 0,
		                                                 HB_METRICS_SERIES_MAX);
		break;
	default: return 0;
	}
	*given = 1;
	return 1;
}

static int server_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", 1, NULL, 'p' }, { "bind", 1, NULL, 'b' },
		{ "loss", 1, NULL, OPT_LOSS }, { "seed", 1, NULL, OPT_SEED },
		{ "dead-after", 1, NULL, OPT_DEAD }, { "report", 1, NULL, OPT_REPORT },
		{ "max-clients", 1, NULL, OPT_MAXC }, { "rate-limit", 1, NULL, OPT_RATE },
		{ "allow-low-ports", 0, NULL, OPT_LOWPORTS },
		{ "ttl", 1, NULL, 't' }, { "tos", 1, NULL, 'Q' },
		{ "timestamps", 0, NULL, 'D' }, { "json-stream", 0, NULL, OPT_STREAM },
		{ "json", 0, NULL, 'J' }, { "quiet", 0, NULL, 'q' },
		{ "metrics-port", 1, NULL, OPT_MPORT }, { "metrics-addr", 1, NULL, OPT_MADDR },
		{ "metrics-conns", 1, NULL, OPT_MCONNS }, { "metrics-timeout", 1, NULL, OPT_MTIMEOUT },
		{ "metrics-max-clients", 1, NULL, OPT_MMAXC },
		PK_CLI_LONGOPTS_STD,
	};
	struct hb_server_cfg cfg = {
		.port = HB_DEFAULT_PORT, .family = AF_UNSPEC, .loss = 0.30,
		.dead_after_ns = 3 * PK_NS_PER_S, .max_clients = 10000,
		.rate_limit = 2000, .so = PK_SOCKOPT_INIT,
		.metrics_port = -1, .metrics_addr = "127.0.0.1", .metrics_conns = 16,
		.metrics_timeout_ns = 10 * PK_NS_PER_S,
		.metrics_max_clients = HB_METRICS_SERIES_DEFAULT,
	};
	int ch, metrics_given = 0;

	while ((ch = getopt_long(argc, argv, "+:p:b:46t:Q:DJqhV", lo, NULL)) != -1) {
		if (metrics_opt(&cfg, ch, optarg, &metrics_given))
			continue;
		switch (ch) {
		case 'p': cfg.port = pk_cli_port("port", optarg, 1); break;
		case 'b': cfg.bind = optarg; break;
		case '4': cfg.family = AF_INET; break;
		case '6': cfg.family = AF_INET6; break;
		case OPT_LOSS: cfg.loss = pk_cli_prob("loss", optarg); break;
		case OPT_SEED:
			cfg.seed = pk_cli_uint("seed", optarg, 0, UINT64_MAX);
			cfg.have_seed = 1;
			break;
		case OPT_DEAD:
			cfg.dead_after_ns = pk_cli_duration("dead-after", optarg, PK_NS_PER_MS, 86400 * PK_NS_PER_S);
			break;
		case OPT_REPORT:
			cfg.report_ns = pk_cli_duration("report", optarg, 10 * PK_NS_PER_MS, 86400 * PK_NS_PER_S);
			break;
		case OPT_MAXC:
			cfg.max_clients = (uint32_t)pk_cli_uint("max-clients", optarg, 1, 1u << 24);
			break;
		case OPT_RATE:
			cfg.rate_limit = (double)pk_cli_uint("rate-limit", optarg, 0, 10000000);
			break;
		case OPT_LOWPORTS: cfg.allow_low_ports = 1; break;
		case 't': case 'Q': pk_cli_sockopt(&cfg.so, ch, optarg); break;
		case 'D': cfg.timestamps = 1; break;
		case 'J': cfg.json = 1; break;
		case OPT_STREAM: cfg.json = cfg.stream = 1; break;
		case 'q': cfg.quiet = 1; break;
		default: pk_cli_default(ch, argv, server_usage);
		}
	}
	if (optind != argc)
		pk_cli_error("unexpected argument '%s'", argv[optind]);
	if (metrics_given && cfg.metrics_port < 0)
		pk_cli_error("--metrics-addr, --metrics-conns, --metrics-timeout and "
		             "--metrics-max-clients need --metrics-port");
	return hb_server_run(&cfg);
}

static void client_opt(struct hb_client_cfg *cfg, int ch, const char *arg, char **argv)
{
	switch (ch) {
	case 'c': cfg->count = pk_cli_uint("count", arg, 0, UINT64_C(1) << 40); break;
	case 'i': cfg->interval_ns = pk_cli_duration("interval", arg, PK_NS_PER_MS, 3600 * PK_NS_PER_S); break;
	case 'W': cfg->timeout_ns = pk_cli_duration("timeout", arg, PK_NS_PER_MS, 600 * PK_NS_PER_S); break;
	case 'p': cfg->port = pk_cli_port("port", arg, 0); break;
	case OPT_MISSES: cfg->misses = (unsigned)pk_cli_uint("misses", arg, 1, 1000); break;
	case OPT_DETECTOR:
		if (strcmp(arg, "kmiss") == 0)
			cfg->detector = HB_DET_KMISS;
		else if (strcmp(arg, "phi") == 0)
			cfg->detector = HB_DET_PHI;
		else
			pk_cli_error("detector '%s': invalid (kmiss or phi)", arg);
		break;
	case OPT_PHI: cfg->phi_threshold = pk_cli_double("phi-threshold", arg, 0.1, 300); break;
	case OPT_KEEP: cfg->keep_going = 1; break;
	case OPT_CSV: cfg->csv = 1; break;
	case '4': cfg->family = AF_INET; break;
	case '6': cfg->family = AF_INET6; break;
	case 'D': cfg->timestamps = 1; break;
	case 'q': cfg->quiet = 1; break;
	case 'J': cfg->json = 1; break;
	case OPT_STREAM: cfg->json = cfg->stream = 1; break;
	case 'v': cfg->verbose = 1; break;
	case 'I': case 't': case 'Q': pk_cli_sockopt(&cfg->so, ch, arg); break;
	default: pk_cli_default(ch, argv, client_usage);
	}
}

static int client_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "count", 1, NULL, 'c' }, { "interval", 1, NULL, 'i' },
		{ "timeout", 1, NULL, 'W' }, { "misses", 1, NULL, OPT_MISSES },
		{ "detector", 1, NULL, OPT_DETECTOR }, { "phi-threshold", 1, NULL, OPT_PHI },
		{ "keep-going", 0, NULL, OPT_KEEP }, { "port", 1, NULL, 'p' },
		{ "timestamps", 0, NULL, 'D' }, { "quiet", 0, NULL, 'q' },
		{ "json", 0, NULL, 'J' }, { "csv", 0, NULL, OPT_CSV },
		{ "json-stream", 0, NULL, OPT_STREAM }, { "verbose", 0, NULL, 'v' },
		{ "interface", 1, NULL, 'I' }, { "ttl", 1, NULL, 't' }, { "tos", 1, NULL, 'Q' },
		PK_CLI_LONGOPTS_STD,
	};
	struct hb_client_cfg cfg = {
		.port = HB_DEFAULT_PORT, .family = AF_UNSPEC, .count = 1000,
		.interval_ns = PK_NS_PER_S, .timeout_ns = PK_NS_PER_S, .misses = 3,
		.detector = HB_DET_KMISS, .phi_threshold = 8.0, .so = PK_SOCKOPT_INIT,
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "+:c:i:W:p:46I:t:Q:DqvJhV", lo, NULL)) != -1)
		client_opt(&cfg, ch, optarg, argv);
	if (optind == argc)
		pk_cli_error("missing HOST");
	if (optind + 1 != argc)
		pk_cli_error("unexpected argument '%s'", argv[optind + 1]);
	if (cfg.json && cfg.csv)
		pk_cli_json_csv_conflict();
	cfg.host = argv[optind];
	return hb_client_run(&cfg);
}

/* P,K,N: loss in [0, 1), misses 1..1000, heartbeats 1..HB_FA_N_MAX. */
static void analyze_triple(const char *arg, struct hb_analyze_cfg *cfg)
{
	char buf[128], *f[3], *save = NULL;
	int n = 0;

	if (strlen(arg) >= sizeof buf || strchr(arg, ',') == NULL)
		pk_cli_error("'%s': expected P,K,N (loss, misses, heartbeats)", arg);
	strcpy(buf, arg);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (n == 3)
			pk_cli_error("'%s': expected P,K,N (loss, misses, heartbeats)", arg);
		f[n++] = t;
	}
	if (n != 3 || strstr(arg, ",,") || arg[0] == ',' || arg[strlen(arg) - 1] == ',')
		pk_cli_error("'%s': expected P,K,N (loss, misses, heartbeats)", arg);
	cfg->loss = pk_cli_prob("loss", f[0]);
	if (cfg->loss >= 1.0)
		pk_cli_error("loss '%s': must be below 1 (every heartbeat lost)", f[0]);
	cfg->misses = (unsigned)pk_cli_uint("misses", f[1], 1, 1000);
	cfg->count = pk_cli_uint("heartbeats", f[2], 1, HB_FA_N_MAX);
}

static int analyze_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "interval", 1, NULL, 'i' }, { "timeout", 1, NULL, 'W' },
		{ "budget", 1, NULL, OPT_BUDGET }, { "json", 0, NULL, 'J' },
		PK_CLI_LONGOPTS_STD,
	};
	struct hb_analyze_cfg cfg = {
		.interval_ns = PK_NS_PER_S, .timeout_ns = PK_NS_PER_S, .budget = HB_FA_BUDGET,
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "+:i:W:JhV", lo, NULL)) != -1) {
		switch (ch) {
		case 'i': cfg.interval_ns = pk_cli_duration("interval", optarg, PK_NS_PER_MS, 3600 * PK_NS_PER_S); break;
		case 'W': cfg.timeout_ns = pk_cli_duration("timeout", optarg, PK_NS_PER_MS, 600 * PK_NS_PER_S); break;
		case OPT_BUDGET:
			cfg.budget = pk_cli_prob("budget", optarg);
			if (cfg.budget <= 0.0)
				pk_cli_error("budget '%s': must be above 0", optarg);
			break;
		case 'J': cfg.json = 1; break;
		default: pk_cli_default(ch, argv, analyze_usage);
		}
	}
	if (optind == argc)
		pk_cli_error("missing P,K,N (loss, misses, heartbeats)");
	if (optind + 1 != argc)
		pk_cli_error("unexpected argument '%s'", argv[optind + 1]);
	analyze_triple(argv[optind], &cfg);
	return hb_analyze_run(&cfg);
}

int main(int argc, char **argv)
{
	static const struct pk_cli_role roles[] = {
		{ "server", server_usage, server_main },
		{ "client", client_usage, client_main },
		{ "analyze", analyze_usage, analyze_main },
	};

	return pk_cli_main("heartbeat", top_usage, roles, sizeof roles / sizeof roles[0],
	                   argc, argv);
}
