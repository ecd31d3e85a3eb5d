/* udp-ping: UDP pinger, `udp-ping server` and `udp-ping client HOST`.
 * Command line to config struct; the run functions do the rest. */
#include "ping.h"
#include "ping_proto.h"
#include "pk_clock.h"
#include "pk_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage_top[] =
	"usage: udp-ping server [-p PORT] [-b ADDR] [-4|-6] [--loss P] [--seed N]\n"
	"                       [--rate-limit PPS] [--allow-low-ports] [-q]\n"
	"       udp-ping client [-A] [-c COUNT] [-i INTERVAL] [-W TIMEOUT] [-s SIZE] [-p PORT]\n"
	"                       [-4|-6] [-q] [-J] [--csv] HOST\n"
	"       udp-ping -h | -V\n";

static const char usage_server[] =
	"usage: udp-ping server [-p PORT] [-b ADDR] [-4|-6] [--loss P] [--seed N]\n"
	"                       [--rate-limit PPS] [--allow-low-ports] [-q]\n"
	"Echoes each datagram with ASCII letters upper-cased; drops a share P of them.\n"
	"  -p, --port PORT        port to serve (default 12000; 0 = any)\n"
	"  -b, --bind ADDR        address to bind (default: all, IPv6 and IPv4)\n"
	"  -4, -6                 IPv4 or IPv6 only\n"
	"      --loss P           simulated loss, 0..1 or a percentage (default 0.30)\n"
	"      --seed N           seed of the loss draws, for reproducible drops\n"
	"      --rate-limit PPS   datagrams per second per source (default 50000, 0 = off)\n"
	"      --allow-low-ports  answer source ports 1-1023 too (default: refused)\n"
	"  -q, --quiet            no line per datagram\n"
	"  -h, --help             this text;  -V, --version  the version\n"
	"Never answers source port 0, its own address and port, or a datagram with\n"
	"no lower-case letter (an echo already). On SIGINT or SIGTERM prints its\n"
	"totals and exits 0.\n";

static const char usage_client[] =
	"usage: udp-ping client [-A] [-c COUNT] [-i INTERVAL] [-W TIMEOUT] [-s SIZE] [-p PORT]\n"
	"                       [-4|-6] [-q] [-J] [--csv] HOST\n"
	"Sends `Ping <seq> <time>` on schedule and times the upper-cased echo.\n"
	"  -A, --adaptive         next ping when the reply comes or the timeout passes\n"
	"                         (one in flight, as the course's client); with -i, no\n"
	"                         closer than INTERVAL\n"
	"  -c, --count COUNT      pings to send (default 10; 0 = until interrupted)\n"
	"  -i, --interval DUR     time between sends (default 1s; e.g. 250ms, 100us)\n"
	"  -W, --timeout DUR      wait for each reply (default 1s)\n"
	"  -s, --size BYTES       pad each request to BYTES (default: the bare text)\n"
	"  -p, --port PORT        server port (default 12000)\n"
	"  -4, -6                 IPv4 or IPv6 only\n"
	"  -q, --quiet            summary only\n"
	"  -J, --json             one JSON document at the end\n"
	"      --csv              one CSV row per ping at the end\n"
	"  -h, --help             this text;  -V, --version  the version\n"
	"Exit status: 0 a reply came, 1 no reply, 2 usage or system error.\n";

enum { OPT_LOSS = 256, OPT_SEED, OPT_RATE, OPT_CSV, OPT_LOWPORTS };

static int server_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "loss", required_argument, NULL, OPT_LOSS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "rate-limit", required_argument, NULL, OPT_RATE },
		{ "allow-low-ports", no_argument, NULL, OPT_LOWPORTS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ping_server_cfg cfg = { .port = 12000, .family = AF_UNSPEC, .loss = 0.30,
	                               .rate_limit = 50000 };
	int ch;

	/* a line per datagram, visible as it happens even through a pipe;
	 * the client flushes each event line itself */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt_long(argc, argv, "+p:b:46qhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': cfg.port = pk_cli_port("port", optarg, 1); break;
		case 'b': cfg.bind = optarg; break;
		case '4': cfg.family = AF_INET; break;
		case '6': cfg.family = AF_INET6; break;
		case 'q': cfg.quiet = 1; break;
		case OPT_LOSS: cfg.loss = pk_cli_prob("loss", optarg); break;
		case OPT_SEED:
			cfg.seed = pk_cli_uint("seed", optarg, 0, UINT64_MAX);
			cfg.have_seed = 1;
			break;
		case OPT_RATE: cfg.rate_limit = pk_cli_double("rate limit", optarg, 0, 1e9); break;
		case OPT_LOWPORTS: cfg.allow_low_ports = 1; break;
		case 'h':
			fputs(usage_server, stdout);
			return 0;
		case 'V': pk_cli_version();
		default: pk_cli_usage();
		}
	}
	if (optind != argc)
		pk_cli_error("unexpected argument '%s'", argv[optind]);
	return ping_server_run(&cfg);
}

static void client_options(int argc, char **argv, struct ping_client_cfg *cfg)
{
	static const struct option opts[] = {
		{ "adaptive", no_argument, NULL, 'A' },
		{ "count", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 'W' },
		{ "size", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'J' },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, interval_set = 0;

	while ((ch = getopt_long(argc, argv, "+Ac:i:W:s:p:46qJhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'A': cfg->adaptive = 1; break;
		case 'c': cfg->count = pk_cli_uint("count", optarg, 0, 1000000000); break;
		case 'i':
			cfg->interval_ns = pk_cli_duration("interval", optarg, PK_NS_PER_US,
			                                   3600 * PK_NS_PER_S);
			interval_set = 1;
			break;
		case 'W':
			cfg->timeout_ns = pk_cli_duration("timeout", optarg, PK_NS_PER_US,
			                                  3600 * PK_NS_PER_S);
			break;
		case 's': cfg->size = (size_t)pk_cli_size("size", optarg, 0, PING_MAX_PAYLOAD); break;
		case 'p': cfg->port = pk_cli_port("port", optarg, 0); break;
		case '4': cfg->family = AF_INET; break;
		case '6': cfg->family = AF_INET6; break;
		case 'q': cfg->quiet = 1; break;
		case 'J': cfg->output = PING_OUT_JSON; break;
		case OPT_CSV: cfg->output = PING_OUT_CSV; break;
		case 'h':
			fputs(usage_client, stdout);
			exit(0);
		case 'V': pk_cli_version();
		default: pk_cli_usage();
		}
	}
	if (cfg->adaptive && interval_set)
		cfg->min_gap_ns = cfg->interval_ns;
}

static int client_main(int argc, char **argv)
{
	struct ping_client_cfg cfg = { .port = 12000, .family = AF_UNSPEC, .count = 10,
	                               .interval_ns = PK_NS_PER_S, .timeout_ns = PK_NS_PER_S };

	client_options(argc, argv, &cfg);
	if (optind >= argc)
		pk_cli_error("client: a HOST is required");
	if (optind + 1 != argc)
		pk_cli_error("unexpected argument '%s'", argv[optind + 1]);
	cfg.host = argv[optind];
	return ping_client_run(&cfg);
}

int main(int argc, char **argv)
{
	static const struct pk_cli_role roles[] = {
		{ "server", usage_server, server_main },
		{ "client", usage_client, client_main },
	};

	return pk_cli_main("udp-ping", usage_top, roles, 2, argc, argv);
}
