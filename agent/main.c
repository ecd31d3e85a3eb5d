/* vxlan-agent: command line. Fills a struct agent_cfg, calls agent_run(). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent.h"
#include "pk_cli.h"

static const char usage_text[] =
	"usage: vxlan-agent [-4|-6] [--group ADDR] [-p|--port N] [-i|--interval DUR]\n"
	"                   [-W|--timeout DUR] [-r|--report DUR] [-I|--iface IF]\n"
	"                   [--peer-timeout DUR] [--max-peers N] [--ttl N] [--echo-rate N]\n"
	"                   [-J|--json] [--prom-file PATH] [--metrics-port N]\n"
	"                   [--metrics-addr ADDR] [--metrics-conns N]\n"
	"                   [--metrics-timeout DUR] [-c|--count N] [--seq-probes]\n"
	"                   [--trace FILE] [-q] [OWN_ADDR]\n"
	"\n"
	"Joins the multicast group, echoes the probes of other agents and sends its\n"
	"own; every report period prints the average one-way latency (RTT/2), the\n"
	"probes lost, and a line per peer.\n"
	"\n"
	"  -4, -6              IPv4 (default) or IPv6\n"
	"  --group ADDR        multicast group (239.255.255.250; ff0e::10 with -6)\n"
	"  -p, --port N        group port (1910)\n"
	"  -i, --interval DUR  time between probes (0.5s)\n"
	"  -W, --timeout DUR   a probe with no reply after this is lost (2s)\n"
	"  -r, --report DUR    report period (10s)\n"
	"  -I, --iface IF      interface for the group (default: the routing table's)\n"
	"  --peer-timeout DUR  forget a peer silent for this long (30s)\n"
	"  --max-peers N       peers tracked at most (256)\n"
	"  --ttl N             multicast TTL / hop limit (1; 2 with -6)\n"
	"  --echo-rate N       probes echoed per second per source at most (1000)\n"
	"  -J, --json          one JSON object per line per report\n"
	"  --prom-file PATH    rewrite PATH (atomically) with Prometheus metrics each report\n"
	"  --metrics-port N    serve Prometheus metrics on HTTP /metrics (0: any port)\n"
	"  --metrics-addr ADDR address of the metrics endpoint (0.0.0.0)\n"
	"  --metrics-conns N   connections to the metrics endpoint at once (16; one\n"
	"                      more is closed at once with a 503)\n"
	"  --metrics-timeout DUR  deadline of a whole request to the endpoint, from\n"
	"                      connect to the answer written (10s)\n"
	"  -c, --count N       stop after N reports\n"
	"  --seq-probes        number probes 1, 2, 3... as the original agent does (no\n"
	"                      one-way figures at the peers); default: stamped probes\n"
	"                      (send time + seq)\n"
	"  --trace FILE        diagnostic: a line per probe, reply, echo, kernel stamp\n"
	"  -q, --quiet         print only the average latency and lost lines\n"
	"  -h, --help          this text;  -V, --version  the version\n"
	"  OWN_ADDR            this agent's address: replies from it are ignored and\n"
	"                      echoes are sent from it (default: all local addresses)\n";

enum { OPT_GROUP = 256, OPT_PEER_TIMEOUT, OPT_PROM, OPT_MPORT, OPT_MADDR, OPT_MAXPEERS,
       OPT_TTL, OPT_ECHO, OPT_SEQ, OPT_TRACE, OPT_MCONNS, OPT_MTIMEOUT };

static const struct option longopts[] = {
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "port", required_argument, NULL, 'p' },
	{ "interval", required_argument, NULL, 'i' },
	{ "timeout", required_argument, NULL, 'W' },
	{ "report", required_argument, NULL, 'r' },
	{ "iface", required_argument, NULL, 'I' },
	{ "peer-timeout", required_argument, NULL, OPT_PEER_TIMEOUT },
	{ "max-peers", required_argument, NULL, OPT_MAXPEERS },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "echo-rate", required_argument, NULL, OPT_ECHO },
	{ "json", no_argument, NULL, 'J' },
	{ "prom-file", required_argument, NULL, OPT_PROM },
	{ "metrics-port", required_argument, NULL, OPT_MPORT },
	{ "metrics-addr", required_argument, NULL, OPT_MADDR },
	{ "metrics-conns", required_argument, NULL, OPT_MCONNS },
	{ "metrics-timeout", required_argument, NULL, OPT_MTIMEOUT },
	{ "count", required_argument, NULL, 'c' },
	{ "seq-probes", no_argument, NULL, OPT_SEQ },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void defaults(struct agent_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->family = AF_UNSPEC;
	c->port = AGENT_PORT;
	c->interval_ns = 500 * PK_NS_PER_MS;
	c->timeout_ns = 2 * PK_NS_PER_S;
	c->report_ns = 10 * PK_NS_PER_S;
	c->peer_timeout_ns = 30 * PK_NS_PER_S;
	c->metrics_port = -1;
	c->metrics_addr = "0.0.0.0";
	c->metrics_conns = 16;
	c->metrics_timeout_ns = 10 * PK_NS_PER_S;
	c->max_peers = 256;
	c->echo_rate = 1000;
	c->ttl = -1;
}

static void option(struct agent_cfg *c, int ch, const char *arg)
{
	switch (ch) {
	case '4': c->family = AF_INET; break;
	case '6': c->family = AF_INET6; break;
	case OPT_GROUP: c->group = arg; break;
	case 'p': c->port = pk_cli_port("port", arg, 0); break;
	case 'i': c->interval_ns = pk_cli_duration("interval", arg, PK_NS_PER_MS, 3600 * PK_NS_PER_S); break;
	case 'W': c->timeout_ns = pk_cli_duration("timeout", arg, PK_NS_PER_MS, 3600 * PK_NS_PER_S); break;
	case 'r': c->report_ns = pk_cli_duration("report", arg, 10 * PK_NS_PER_MS, 86400 * PK_NS_PER_S); break;
	case 'I': c->iface = arg; break;
	case OPT_PEER_TIMEOUT: c->peer_timeout_ns = pk_cli_duration("peer-timeout", arg, PK_NS_PER_MS, 86400 * PK_NS_PER_S); break;
	case OPT_MAXPEERS: c->max_peers = pk_cli_uint("max-peers", arg, 1, 65536); break;
	case OPT_TTL: c->ttl = (int)pk_cli_uint("ttl", arg, 0, 255); break;
	case OPT_ECHO: c->echo_rate = (double)pk_cli_uint("echo-rate", arg, 1, 1000000); break;
	case 'J': c->json = 1; break;
	case OPT_PROM: c->prom_file = arg; break;
	case OPT_MPORT: c->metrics_port = (int)pk_cli_uint("metrics-port", arg, 0, 65535); break;
	case OPT_MADDR: c->metrics_addr = arg; break;
	case OPT_MCONNS: c->metrics_conns = pk_cli_uint("metrics-conns", arg, 1, 65536); break;
	case OPT_MTIMEOUT: c->metrics_timeout_ns = pk_cli_duration("metrics-timeout", arg, 10 * PK_NS_PER_MS, 3600 * PK_NS_PER_S); break;
	case 'c': c->reports = pk_cli_uint("count", arg, 1, UINT64_MAX); break;
	case 'q': c->quiet = 1; break;
	case OPT_SEQ: c->seq_probes = 1; break;
	case OPT_TRACE: c->trace = arg; break;
	case 'h': fputs(usage_text, stdout); exit(0);
	case 'V': pk_cli_version();
	default: pk_cli_usage();
	}
}

/* The family from -4/-6, else from the addresses given, else IPv4. */
static int pick_family(const struct agent_cfg *c)
{
	if (c->family != AF_UNSPEC)
		return c->family;
	if ((c->own != NULL && strchr(c->own, ':') != NULL) ||
	    (c->group != NULL && strchr(c->group, ':') != NULL))
		return AF_INET6;
	return AF_INET;
}

int main(int argc, char **argv)
{
	struct agent_cfg cfg;
	int ch;

	pk_cli_init("vxlan-agent");
	pk_cli_set_usage(usage_text);
	defaults(&cfg);
	while ((ch = getopt_long(argc, argv, "46p:i:W:r:I:Jc:qhV", longopts, NULL)) != -1)
		option(&cfg, ch, optarg);
	if (argc - optind > 1)
		pk_cli_error("unexpected argument '%s'", argv[optind + 1]);
	if (argc - optind == 1)
		cfg.own = argv[optind];
	cfg.family = pick_family(&cfg);
	if (cfg.ttl < 0)
		cfg.ttl = cfg.family == AF_INET6 ? 2 : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return agent_run(&cfg);
}
