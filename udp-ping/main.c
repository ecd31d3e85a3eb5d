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
	"usage: udp-ping server [-p PORT] [-b ADDR] [-4|-6] [-t TTL] [-Q TOS] [--loss P]\n"
	"                       [--seed N] [--rate-limit PPS] [--allow-low-ports] [-q] [-D]\n"
	"                       [-J | --json-stream]\n"
	"       udp-ping client [-A] [-c COUNT] [-i INTERVAL] [-W TIMEOUT] [-s SIZE] [-p PORT]\n"
	"                       [-I ADDR|IFACE] [-t TTL] [-Q TOS] [-4|-6] [-q] [-v] [-D]\n"
	"                       [-J | --json-stream | --csv] HOST\n"
	"       udp-ping -h | -V\n"
	"Run 'udp-ping server --help' or 'udp-ping client --help' for the options.\n";

static const char usage_server[] =
	"usage: udp-ping server [-p PORT] [-b ADDR] [-4|-6] [-t TTL] [-Q TOS] [--loss P]\n"
	"                       [--seed N] [--rate-limit PPS] [--allow-low-ports] [-q] [-D]\n"
	"                       [-J | --json-stream]\n"
	"Echoes each datagram with ASCII letters upper-cased; drops a share P of them.\n"
	"  -p, --port PORT        port to serve (default 12000; 0 = any)\n"
	"  -b, --bind ADDR        address to bind (default: all, IPv6 and IPv4)\n"
	"  -4, -6                 IPv4 or IPv6 only\n"
	"  -t, --ttl TTL          TTL / hop limit of the replies (1..255)\n"
	"  -Q, --tos TOS          ToS / traffic class of the replies (0..255, 0xb8, ef, af41...)\n"
	"      --loss P           simulated loss, 0..1 or a percentage (default 0.30)\n"
	"      --seed N           seed of the loss draws, for reproducible drops\n"
	"      --rate-limit PPS   datagrams per second per source (default 50000, 0 = off)\n"
	"      --allow-low-ports  answer source ports 1-1023 too (default: refused)\n"
	"  -q, --quiet            no line (or sample record) per datagram\n"
	"  -D, --timestamps       prefix each line with [unix time] as ping -D\n"
	"  -J, --json             one JSON document when stopped (counters, clients seen)\n"
	"      --json-stream      JSON Lines as it happens: start, listening, a sample per\n"
	"                         datagram, client_seen, end (the -J document)\n"
	"  -h, --help             this text;  -V, --version  the version\n"
	"Never answers source port 0, its own address and port, or a datagram with\n"
	"no lower-case letter (an echo already). On SIGINT or SIGTERM prints its\n"
	"totals and exits 0; SIGQUIT prints them on stderr and it goes on.\n";

static const char usage_client[] =
	"usage: udp-ping client [-A] [-c COUNT] [-i INTERVAL] [-W TIMEOUT] [-s SIZE] [-p PORT]\n"
	"                       [-I ADDR|IFACE] [-t TTL] [-Q TOS] [-4|-6] [-q] [-v] [-D]\n"
	"                       [-J | --json-stream | --csv] HOST\n"
	"Sends `Ping <seq> <time>` on schedule and times the upper-cased echo.\n"
	"  -A, --adaptive         next ping when the reply comes or the timeout passes\n"
	"                         (one in flight, as the course's client); with -i, no\n"
	"                         closer than INTERVAL\n"
	"  -c, --count COUNT      pings to send (default 10; 0 = until interrupted)\n"
	"  -i, --interval DUR     time between sends (default 1s; e.g. 250ms, 100us)\n"
	"  -W, --timeout DUR      wait for each reply (default 1s)\n"
	"  -s, --size BYTES       pad each request to BYTES (default: the bare text)\n"
	"  -p, --port PORT        server port (default 12000)\n"
	"  -I, --interface ADDR|IFACE  source address, or interface to send from\n"
	"  -t, --ttl TTL          TTL / hop limit of the pings (1..255)\n"
	"  -Q, --tos TOS          ToS / traffic class of the pings (0..255, 0xb8, ef, af41...)\n"
	"  -4, -6                 IPv4 or IPv6 only\n"
	"  -q, --quiet            summary only\n"
	"  -v, --verbose          ttl= and tos= of each reply\n"
	"  -D, --timestamps       prefix each line per ping with [unix time] as ping -D\n"
	"  -J, --json             one JSON document at the end\n"
	"      --json-stream      JSON Lines as it happens: start, a sample per ping, end\n"
	"      --csv              CSV on stdout: a row per ping as its outcome is known\n"
	"  -h, --help             this text;  -V, --version  the version\n"
	"SIGQUIT prints the figures so far on stderr and the run goes on.\n"
	"Exit status: 0 a reply came, 1 no reply, 2 usage or system error,\n"
	"141 stdout closed (SIGPIPE).\n";

enum { OPT_LOSS = 256, OPT_SEED, OPT_RATE, OPT_CSV, OPT_LOWPORTS, OPT_STREAM };

static int server_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "ttl", required_argument, NULL, 't' },
		{ "tos", required_argument, NULL, 'Q' },
		{ "loss", required_argument, NULL, OPT_LOSS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "rate-limit", required_argument, NULL, OPT_RATE },
		{ "allow-low-ports", no_argument, NULL, OPT_LOWPORTS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "timestamps", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'J' },
		{ "json-stream", no_argument, NULL, OPT_STREAM },
		PK_CLI_LONGOPTS_STD,
	};
	struct ping_server_cfg cfg = { .port = 12000, .family = AF_UNSPEC, .loss = 0.30,
	                               .rate_limit = 50000, .so = PK_SOCKOPT_INIT };
	int ch, stream = 0;

	while ((ch = getopt_long(argc, argv, "+:p:b:46t:Q:qDJhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': cfg.port = pk_cli_port("port", optarg, 1); break;
		case 'b': cfg.bind = optarg; break;
		case '4': cfg.family = AF_INET; break;
		case '6': cfg.family = AF_INET6; break;
		case 't': case 'Q': pk_cli_sockopt(&cfg.so, ch, optarg); break;
		case 'q': cfg.quiet = 1; break;
		case 'D': cfg.stamp = 1; break;
		case 'J': cfg.output = PING_OUT_JSON; break;
		case OPT_STREAM: stream = 1; break;
		case OPT_LOSS: cfg.loss = pk_cli_prob("loss", optarg); break;
		case OPT_SEED:
			cfg.seed = pk_cli_uint("seed", optarg, 0, UINT64_MAX);
			cfg.have_seed = 1;
			break;
		case OPT_RATE: cfg.rate_limit = pk_cli_double("rate limit", optarg, 0, 1e9); break;
		case OPT_LOWPORTS: cfg.allow_low_ports = 1; break;
		default: pk_cli_default(ch, argv, usage_server);
		}
	}
	if (optind != argc)
		pk_cli_error("unexpected argument '%s'", argv[optind]);
	/* --json-stream wins over -J: it ends with the same document */
	if (stream)
		cfg.output = PING_OUT_STREAM;
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
		{ "interface", required_argument, NULL, 'I' },
		{ "ttl", required_argument, NULL, 't' },
		{ "tos", required_argument, NULL, 'Q' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "timestamps", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'J' },
		{ "json-stream", no_argument, NULL, OPT_STREAM },
		{ "csv", no_argument, NULL, OPT_CSV },
		PK_CLI_LONGOPTS_STD,
	};
	int ch, interval_set = 0, json = 0, stream = 0, csv = 0;

	while ((ch = getopt_long(argc, argv, "+:Ac:i:W:s:p:I:t:Q:46qvDJhV", opts, NULL)) != -1) {
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
		case 'I': case 't': case 'Q':
			pk_cli_sockopt(&cfg->so, ch, optarg);
			if (ch == 'I')
				cfg->iface_arg = optarg;
			break;
		case '4': cfg->family = AF_INET; break;
		case '6': cfg->family = AF_INET6; break;
		case 'q': cfg->quiet = 1; break;
		case 'v': cfg->verbose = 1; break;
		case 'D': cfg->stamp = 1; break;
		case 'J': json = 1; break;
		case OPT_STREAM: stream = 1; break;
		case OPT_CSV: csv = 1; break;
		default: pk_cli_default(ch, argv, usage_client);
		}
	}
	if (csv && (json || stream))
		pk_cli_json_csv_conflict();
	/* --json-stream wins over -J: it ends with the same document */
	cfg->output = stream ? PING_OUT_STREAM : json ? PING_OUT_JSON
	              : csv ? PING_OUT_CSV : PING_OUT_TEXT;
	if (cfg->adaptive && interval_set)
		cfg->min_gap_ns = cfg->interval_ns;
}

static int client_main(int argc, char **argv)
{
	struct ping_client_cfg cfg = { .port = 12000, .family = AF_UNSPEC, .count = 10,
	                               .interval_ns = PK_NS_PER_S, .timeout_ns = PK_NS_PER_S,
	                               .so = PK_SOCKOPT_INIT };

	client_options(argc, argv, &cfg);
	if (optind >= argc)
		pk_cli_error("a HOST is required");
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
