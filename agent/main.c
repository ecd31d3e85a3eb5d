/* vxlan-agent: command line. Fills a struct agent_cfg, calls agent_run(). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent.h"
#include "pk_cli.h"
#include "pk_opt.h"
#include "pk_sockopt.h"

static const char usage_text[] =
	"usage: vxlan-agent [-4|-6] [--group ADDR] [-p PORT] [-i DUR] [-W DUR] [-r DUR]\n"
	"                   [-I IFACE|ADDR] [-t TTL] [-Q TOS] [--peer-timeout DUR]\n"
	"                   [--max-peers N] [--echo-rate N] [-D] [-J|--json-stream|--csv]\n"
	"                   [--prom-file PATH] [--metrics-port N] [--metrics-addr ADDR]\n"
	"                   [--metrics-conns N] [--metrics-timeout DUR] [-c N]\n"
	"                   [--peer ADDR[:PORT]]... [--seq-probes] [--trace FILE] [-q]\n"
	"                   [OWN_ADDR]\n"
	"\n"
	"Joins the multicast group, echoes the probes of other agents and sends its\n"
	"own; every report period prints the average one-way latency (RTT/2), the\n"
	"probes lost, and a line per peer.\n"
	"\n"
	"  -4, -6                 IPv4 (default) or IPv6\n"
	"      --group ADDR       multicast group (239.255.255.250; ff0e::10 with -6)\n"
	"  -p, --port PORT        group port (1910)\n"
	"  -i, --interval DUR     time between probes (0.5s)\n"
	"  -W, --timeout DUR      a probe with no reply after this is lost (2s)\n"
	"  -r, --report DUR       report period (10s)\n"
	"  -I, --interface IFACE|ADDR  an interface: the group's (default: the routing\n"
	"                         table's); an address: the source of the probes\n"
	"                         (--iface is an alias)\n"
	"  -t, --ttl TTL          multicast TTL / hop limit of probes and TTL of\n"
	"                         echoes, 1..255 (probes: 1; 2 with -6)\n"
	"  -Q, --tos TOS          ToS byte of probes and echoes: 0..255, 0xNN, or a\n"
	"                         DSCP name (ef, af11..af43, cs0..cs7, le, va)\n"
	"      --peer-timeout DUR forget a peer silent for this long (30s)\n"
	"      --peer ADDR[:PORT] where the underlay carries no multicast: probes go by\n"
	"                         unicast to ADDR (port: -p's; [ADDR]:PORT for IPv6)\n"
	"                         and to every peer found (heard within -W), not to\n"
	"                         the group, which is not joined; repeatable, 256 at\n"
	"                         most; own addresses in the list are skipped\n"
	"      --max-peers N      peers tracked at most (256)\n"
	"      --echo-rate N      probes echoed per second per source at most (1000)\n"
	"  -D, --timestamps       [unix time] before each line of a text report\n"
	"  -J, --json             one JSON document at the end (-c reached, SIGINT,\n"
	"                         SIGTERM): the reports as its samples\n"
	"      --json-stream      JSON Lines as it happens: start, report, peer_seen,\n"
	"                         peer_lost, end (the -J document)\n"
	"      --csv              CSV: a row per peer per report\n"
	"      --prom-file PATH   rewrite PATH (atomically) with Prometheus metrics each report\n"
	"      --metrics-port N   serve Prometheus metrics on HTTP /metrics (0: any port)\n"
	"      --metrics-addr ADDR  address of the metrics endpoint (0.0.0.0)\n"
	"      --metrics-conns N  connections to the metrics endpoint at once (16; one\n"
	"                         more is closed at once with a 503)\n"
	"      --metrics-timeout DUR  deadline of a whole request to the endpoint, from\n"
	"                         connect to the answer written (10s)\n"
	"  -c, --count N          stop after N reports (0: never, the default)\n"
	"      --seq-probes       number probes 1, 2, 3... as the original agent does (no\n"
	"                         one-way figures at the peers); default: stamped probes\n"
	"                         (send time + seq)\n"
	"      --trace FILE       diagnostic: a line per probe, reply, echo, kernel stamp\n"
	"  -q, --quiet            print only the average latency and lost lines\n"
	"  -h, --help             this text;  -V, --version  the version\n"
	"  OWN_ADDR               this agent's address: replies from it are ignored and\n"
	"                         echoes are sent from it (default: all local addresses)\n"
	"\n"
	"SIGQUIT prints the report so far on stderr. Output formats: docs/OUTPUT.md.\n";

enum { OPT_GROUP = 256, OPT_PEER_TIMEOUT, OPT_PROM, OPT_MPORT, OPT_MADDR, OPT_MAXPEERS,
       OPT_ECHO, OPT_SEQ, OPT_TRACE, OPT_MCONNS, OPT_MTIMEOUT, OPT_STREAM, OPT_CSV,
       OPT_PEER };

static const struct option longopts[] = {
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "port", required_argument, NULL, 'p' },
	{ "interval", required_argument, NULL, 'i' },
	{ "timeout", required_argument, NULL, 'W' },
	{ "report", required_argument, NULL, 'r' },
	{ "interface", required_argument, NULL, 'I' },
	{ "iface", required_argument, NULL, 'I' },
	{ "ttl", required_argument, NULL, 't' },
	{ "tos", required_argument, NULL, 'Q' },
	{ "peer-timeout", required_argument, NULL, OPT_PEER_TIMEOUT },
	{ "max-peers", required_argument, NULL, OPT_MAXPEERS },
	{ "peer", required_argument, NULL, OPT_PEER },
	{ "echo-rate", required_argument, NULL, OPT_ECHO },
	{ "timestamps", no_argument, NULL, 'D' },
	{ "json", no_argument, NULL, 'J' },
	{ "json-stream", no_argument, NULL, OPT_STREAM },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "prom-file", required_argument, NULL, OPT_PROM },
	{ "metrics-port", required_argument, NULL, OPT_MPORT },
	{ "metrics-addr", required_argument, NULL, OPT_MADDR },
	{ "metrics-conns", required_argument, NULL, OPT_MCONNS },
	{ "metrics-timeout", required_argument, NULL, OPT_MTIMEOUT },
	{ "count", required_argument, NULL, 'c' },
	{ "seq-probes", no_argument, NULL, OPT_SEQ },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "quiet", no_argument, NULL, 'q' },
	PK_CLI_LONGOPTS_STD,
};

/* What the command line asked for beyond struct agent_cfg. */
struct flags {
	int json, stream, csv;
	const char *peer[AGENT_MAX_STATIC];   /* --peer, as given */
	size_t n_peer;
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
	pk_sockopt_init(&c->so);
}

static void option(struct agent_cfg *c, struct flags *fl, int ch, char *const argv[],
                   const char *arg)
{
	switch (ch) {
	case '4': c->family = AF_INET; break;
	case '6': c->family = AF_INET6; break;
	case OPT_GROUP: c->group = arg; break;
	case 'p': c->port = pk_cli_port("port", arg, 0); break;
	case 'i': c->interval_ns = pk_cli_duration("interval", arg, PK_NS_PER_MS, 3600 * PK_NS_PER_S); break;
	case 'W': c->timeout_ns = pk_cli_duration("timeout", arg, PK_NS_PER_MS, 3600 * PK_NS_PER_S); break;
	case 'r': c->report_ns = pk_cli_duration("report", arg, 10 * PK_NS_PER_MS, 86400 * PK_NS_PER_S); break;
	case 'I': case 't': case 'Q': pk_cli_sockopt(&c->so, ch, arg); break;
	case OPT_PEER_TIMEOUT: c->peer_timeout_ns = pk_cli_duration("peer-timeout", arg, PK_NS_PER_MS, 86400 * PK_NS_PER_S); break;
	case OPT_MAXPEERS: c->max_peers = pk_cli_uint("max-peers", arg, 1, 65536); break;
	case OPT_ECHO: c->echo_rate = (double)pk_cli_uint("echo-rate", arg, 1, 1000000); break;
	case 'D': c->stamp = 1; break;
	case 'J': fl->json = 1; break;
	case OPT_STREAM: fl->stream = 1; break;
	case OPT_CSV: fl->csv = 1; break;
	case OPT_PROM: c->prom_file = arg; break;
	case OPT_MPORT: c->metrics_port = (int)pk_cli_uint("metrics-port", arg, 0, 65535); break;
	case OPT_MADDR: c->metrics_addr = arg; break;
	case OPT_MCONNS: c->metrics_conns = pk_cli_uint("metrics-conns", arg, 1, 65536); break;
	case OPT_MTIMEOUT: c->metrics_timeout_ns = pk_cli_duration("metrics-timeout", arg, 10 * PK_NS_PER_MS, 3600 * PK_NS_PER_S); break;
	case 'c': c->reports = pk_cli_uint("count", arg, 0, UINT64_MAX); break;
	case 'q': c->quiet = 1; break;
	case OPT_SEQ: c->seq_probes = 1; break;
	case OPT_TRACE: c->trace = arg; break;
	case OPT_PEER:
		if (fl->n_peer == AGENT_MAX_STATIC)
			pk_cli_error("--peer: at most %d peers", AGENT_MAX_STATIC);
		fl->peer[fl->n_peer++] = arg;
		break;
	default: pk_cli_default(ch, argv, usage_text);
	}
}

/* An IPv6 --peer: "[ADDR]..." or two colons at least. */
static int peer_is_v6(const char *arg)
{
	const char *c = strchr(arg, ':');

	return arg[0] == '[' || (c != NULL && strchr(c + 1, ':') != NULL);
}

/* The family from -4/-6, else from the addresses given, else IPv4. */
static int pick_family(const struct agent_cfg *c, const struct flags *fl)
{
	if (c->family != AF_UNSPEC)
		return c->family;
	if ((c->own != NULL && strchr(c->own, ':') != NULL) ||
	    (c->group != NULL && strchr(c->group, ':') != NULL) ||
	    (c->so.have_src && pk_addr_family(&c->so.src) == AF_INET6) ||
	    (c->own == NULL && fl->n_peer > 0 && peer_is_v6(fl->peer[0])))
		return AF_INET6;
	return AF_INET;
}

/* --peer ADDR, ADDR:PORT, [ADDR]:PORT or [ADDR] (IPv6 ADDR bare too) into
 * *out: an address of the agent's family; a bad one is a usage error. */
static void parse_peer(const char *orig, const struct agent_cfg *c, struct pk_addr *out)
{
	const char *arg = orig;
	char host[256];
	const char *p = NULL, *colon = strrchr(arg, ':'), *why;
	uint16_t port = c->port;
	size_t len = strlen(arg);
	int rc;

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			pk_cli_error("peer '%s': expected [ADDR] or [ADDR]:PORT", orig);
		len = (size_t)(end - arg - 1);
		arg++;
		p = end[1] == ':' ? end + 2 : NULL;
	} else if (colon != NULL && !peer_is_v6(arg)) {
		len = (size_t)(colon - arg);
		p = colon + 1;
	}
	if (len == 0 || len >= sizeof host)
		pk_cli_error("peer '%s': no address", orig);
	memcpy(host, arg, len);
	host[len] = '\0';
	if (p != NULL && pk_opt_port(p, &port, &why) != 0)
		pk_cli_error("peer '%s': port '%s': %s", orig, p, why);
	if (p != NULL && port == 0)
		pk_cli_error("peer '%s': port 0", orig);
	rc = pk_resolve(host, port, c->family, SOCK_DGRAM, 0, out);
	if (rc != 0 && pk_resolve(host, port, AF_UNSPEC, SOCK_DGRAM, 0, out) == 0)
		pk_cli_error("peer '%s': not an IPv%c address, as the agent's",
		             host, c->family == AF_INET6 ? '6' : '4');
	if (rc != 0)
		pk_cli_error("peer '%s': %s", host, pk_sock_strerror(rc));
}

static void parse_peers(struct agent_cfg *c, const struct flags *fl)
{
	/* static: lives as long as the agent (a usage error exits at once);
	 * pages never touched are never resident */
	static struct pk_addr peers[AGENT_MAX_STATIC];
	size_t i, j;

	for (i = 0; i < fl->n_peer; i++) {
		parse_peer(fl->peer[i], c, &peers[i]);
		for (j = 0; j < i; j++)
			if (pk_addr_same_host(&peers[j], &peers[i]) &&
			    pk_addr_port(&peers[j]) == pk_addr_port(&peers[i]))
				pk_cli_error("peer '%s' given twice", fl->peer[i]);
	}
	c->peers = peers;
	c->n_peers = fl->n_peer;
}

int main(int argc, char **argv)
{
	struct agent_cfg cfg;
	struct flags fl = { 0 };
	int ch;

	pk_cli_init("vxlan-agent");
	defaults(&cfg);
	while ((ch = getopt_long(argc, argv, "+:46p:i:W:r:I:t:Q:DJc:qhV", longopts, NULL)) != -1)
		option(&cfg, &fl, ch, argv, optarg);
	if (fl.csv && (fl.json || fl.stream))
		pk_cli_json_csv_conflict();
	cfg.output = fl.stream ? AGENT_OUT_STREAM : fl.json ? AGENT_OUT_JSON
	           : fl.csv ? AGENT_OUT_CSV : AGENT_OUT_TEXT;
	if (cfg.so.ifname[0] != '\0')
		cfg.iface = cfg.so.ifname;
	if (argc - optind > 1)
		pk_cli_error("unexpected argument '%s'", argv[optind + 1]);
	if (argc - optind == 1)
		cfg.own = argv[optind];
	cfg.family = pick_family(&cfg, &fl);
	parse_peers(&cfg, &fl);
	cfg.ttl = cfg.so.ttl >= 0 ? cfg.so.ttl : cfg.family == AF_INET6 ? 2 : 1;
	return agent_run(&cfg);
}
