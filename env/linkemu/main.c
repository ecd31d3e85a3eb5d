/* linkemu: command line. See linkemu.1. */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkemu.h"
#include "pk_cli.h"
#include "pk_clock.h"
#include "pk_opt.h"

static const char usage_text[] =
	"usage: linkemu [--delay DUR] [--delay-ab DUR] [--delay-ba DUR]\n"
	"               [--jitter DUR] [--jitter-ab DUR] [--jitter-ba DUR]\n"
	"               [--loss P] [--loss-ab P] [--loss-ba P]\n"
	"               [--rate BPS] [--rate-ab BPS] [--rate-ba BPS]\n"
	"               [--limit N] [--spin DUR] [--seed N] [--pidfile PATH] [--realtime]\n"
	"               [--trace FILE]\n"
	"               [-q] IF_A IF_B\n"
	"\n"
	"Bridges IF_A and IF_B (packet sockets): frames from A leave B after the\n"
	"a->b delay, normal jitter (standard deviation), loss and rate, and the\n"
	"same the other way. P: probability (0.1) or percent (10%); BPS: bits/s\n"
	"with k, M or G (1000s). Prints 'linkemu: forwarding A <-> B' when ready;\n"
	"SIGINT/SIGTERM print the counters and stop. --realtime: SCHED_FIFO and no\n"
	"CPU idle states while it runs (PM QoS), so neither other processes nor a\n"
	"waking CPU delay a departure.\n";

enum { OPT_D = 256, OPT_DAB, OPT_DBA, OPT_J, OPT_JAB, OPT_JBA, OPT_L, OPT_LAB, OPT_LBA,
       OPT_R, OPT_RAB, OPT_RBA, OPT_LIMIT, OPT_SPIN, OPT_SEED, OPT_PIDFILE, OPT_RT, OPT_TRACE };

static const struct option longopts[] = {
	{ "delay", 1, NULL, OPT_D }, { "delay-ab", 1, NULL, OPT_DAB }, { "delay-ba", 1, NULL, OPT_DBA },
	{ "jitter", 1, NULL, OPT_J }, { "jitter-ab", 1, NULL, OPT_JAB }, { "jitter-ba", 1, NULL, OPT_JBA },
	{ "loss", 1, NULL, OPT_L }, { "loss-ab", 1, NULL, OPT_LAB }, { "loss-ba", 1, NULL, OPT_LBA },
	{ "rate", 1, NULL, OPT_R }, { "rate-ab", 1, NULL, OPT_RAB }, { "rate-ba", 1, NULL, OPT_RBA },
	{ "limit", 1, NULL, OPT_LIMIT }, { "spin", 1, NULL, OPT_SPIN }, { "seed", 1, NULL, OPT_SEED },
	{ "pidfile", 1, NULL, OPT_PIDFILE }, { "realtime", 0, NULL, OPT_RT },
	{ "trace", 1, NULL, OPT_TRACE },
	{ "quiet", 0, NULL, 'q' }, { "help", 0, NULL, 'h' }, { "version", 0, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int64_t dur(const char *name, const char *s)
{
	const char *errstr;
	int64_t v;

	if (pk_opt_duration(s, 0, 3600 * PK_NS_PER_S, &v, &errstr) != 0)
		errx(2, "%s '%s': %s", name, s, errstr);
	return v;
}

static double prob(const char *name, const char *s)
{
	const char *errstr;
	double v;

	if (pk_opt_prob(s, &v, &errstr) != 0)
		errx(2, "%s '%s': %s", name, s, errstr);
	return v;
}

/* Bits per second: a number with an optional k, M or G (powers of 1000). */
static uint64_t rate(const char *name, const char *s)
{
	char num[64];
	size_t len = strlen(s);
	double mult = 1, v;
	const char *errstr;

	if (len == 0 || len >= sizeof num)
		errx(2, "%s '%s': invalid", name, s);
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 'k': case 'K': mult = 1e3; num[len - 1] = '\0'; break;
	case 'M': mult = 1e6; num[len - 1] = '\0'; break;
	case 'G': mult = 1e9; num[len - 1] = '\0'; break;
	}
	if (pk_opt_double(num, 0, 1e12, &v, &errstr) != 0)
		errx(2, "%s '%s': %s", name, s, errstr);
	return (uint64_t)(v * mult);
}

static void option(struct emu_cfg *c, int ch, const char *a)
{
	const char *errstr;
	uint64_t u;

	switch (ch) {
	case OPT_D: c->ab.delay_ns = c->ba.delay_ns = dur("delay", a); break;
	case OPT_DAB: c->ab.delay_ns = dur("delay-ab", a); break;
	case OPT_DBA: c->ba.delay_ns = dur("delay-ba", a); break;
	case OPT_J: c->ab.jitter_ns = c->ba.jitter_ns = dur("jitter", a); break;
	case OPT_JAB: c->ab.jitter_ns = dur("jitter-ab", a); break;
	case OPT_JBA: c->ba.jitter_ns = dur("jitter-ba", a); break;
	case OPT_L: c->ab.loss = c->ba.loss = prob("loss", a); break;
	case OPT_LAB: c->ab.loss = prob("loss-ab", a); break;
	case OPT_LBA: c->ba.loss = prob("loss-ba", a); break;
	case OPT_R: c->ab.rate_bps = c->ba.rate_bps = rate("rate", a); break;
	case OPT_RAB: c->ab.rate_bps = rate("rate-ab", a); break;
	case OPT_RBA: c->ba.rate_bps = rate("rate-ba", a); break;
	case OPT_LIMIT:
		if (pk_opt_uint(a, 1, 100000, &u, &errstr) != 0)
			errx(2, "limit '%s': %s", a, errstr);
		c->limit = (size_t)u;
		break;
	case OPT_SPIN: c->spin_ns = dur("spin", a); break;
	case OPT_SEED:
		if (pk_opt_uint(a, 0, UINT64_MAX, &c->seed, &errstr) != 0)
			errx(2, "seed '%s': %s", a, errstr);
		break;
	case OPT_PIDFILE: c->pidfile = a; break;
	case OPT_RT: c->realtime = 1; break;
	case OPT_TRACE: c->trace = a; break;
	case 'q': c->quiet = 1; break;
	case 'h': fputs(usage_text, stdout); exit(0);
	case 'V': pk_cli_version();
	default: fputs(usage_text, stderr); exit(2);
	}
}

int main(int argc, char **argv)
{
	struct emu_cfg cfg;
	int ch;

	pk_cli_init("linkemu");
	memset(&cfg, 0, sizeof cfg);
	cfg.limit = 1000;
	cfg.spin_ns = 100 * PK_NS_PER_US;
	cfg.seed = pk_sim_random_seed();
	while ((ch = getopt_long(argc, argv, "qhV", longopts, NULL)) != -1)
		option(&cfg, ch, optarg);
	if (argc - optind != 2) {
		fputs(usage_text, stderr);
		return 2;
	}
	cfg.if_a = argv[optind];
	cfg.if_b = argv[optind + 1];
	return emu_run(&cfg);
}
