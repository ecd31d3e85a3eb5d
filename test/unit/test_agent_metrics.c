/* agent_metrics: the exposition of a table of 31 peers (a 32-agent fleet):
 * its series count (docs/vxlan-agent.md, "Metrics"), cumulative buckets
 * that end at _count, peer_up, and the render's cost. */
#include "cm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "pk_clock.h"

#define MS PK_NS_PER_MS
#define S PK_NS_PER_S
#define NPEERS 31
#define PER_PEER 44      /* series per peer */
#define PER_AGENT 27     /* series of the agent, with the endpoint's */

static size_t count_series(const char *text)
{
	size_t n = 0;

	for (const char *l = text; *l != '\0'; l = strchr(l, '\n') + 1) {
		if (*l != '#')
			n++;
		if (strchr(l, '\n') == NULL)
			break;
	}
	return n;
}

static uint64_t value(const char *text, const char *series)
{
	const char *p = strstr(text, series);

	assert_non_null(p);
	return strtoull(p + strlen(series) + 1, NULL, 10);
}

/* 31 peers; peer i answers every probe of 100 after (i + 1) * 30 us of
 * RTT, so its RTTs fall into a bucket of its own, and sends stamped probes. */
static void fill(struct agent_table *t, struct agent_cfg *cfg, struct agent_result *r)
{
	int64_t lat;

	memset(cfg, 0, sizeof *cfg);
	cfg->interval_ns = 500 * MS;
	cfg->timeout_ns = 2 * S;
	cfg->metrics_port = 0;
	assert_int_equal(agent_table_init(t, 256, 64, 2 * S, 1), 0);
	for (int i = 0; i < NPEERS; i++) {
		struct pk_addr a = cm_v4(0x0a000001 + (uint32_t)i, 0);
		assert_non_null(agent_table_heard(t, &a, 0));
	}
	for (int k = 0; k < 100; k++) {
		int64_t at = (k + 1) * 500 * MS;
		uint64_t n = agent_table_send(t, at);
		for (int i = 0; i < NPEERS; i++) {
			struct pk_addr a = cm_v4(0x0a000001 + (uint32_t)i, 0);
			assert_int_equal(agent_table_reply(t, &a, n, at + (i + 1) * 30000, &lat),
			                 AGENT_REPLY_OK);
			assert_int_equal(agent_table_oneway(t, t->peers[i], (uint64_t)k + 1, 20000), 0);
		}
		if (k % 20 == 19) {
			agent_table_expire(t, at);
			agent_table_judge_oneway(t);
			agent_table_roll(t, at);
		}
	}
	memset(r, 0, sizeof *r);
	r->cfg = cfg;
	r->tab = t;
	r->group = cm_v4(0xeffffffa, 1910);
	r->start_wall_ns = pk_wall_ns();
}

static void fleet_of_32(void **st)
{
	struct agent_table t;
	struct agent_cfg cfg;
	struct agent_result r;
	int64_t now = 100 * 500 * MS + 100 * MS, best = INT64_MAX;
	char *text;
	(void)st;
	fill(&t, &cfg, &r);
	text = agent_metrics_render(&r, now);
	assert_non_null(text);
	assert_int_equal(count_series(text), PER_AGENT + PER_PEER * NPEERS);
	/* peer 10.0.0.4: RTT 120 us, in le 0.00025 and above, not in le 0.0001 */
	assert_int_equal(value(text, "vxlan_agent_peer_rtt_seconds_bucket{peer=\"10.0.0.4\",le=\"0.0001\"}"), 0);
	assert_int_equal(value(text, "vxlan_agent_peer_rtt_seconds_bucket{peer=\"10.0.0.4\",le=\"0.00025\"}"), 100);
	assert_int_equal(value(text, "vxlan_agent_peer_rtt_seconds_bucket{peer=\"10.0.0.4\",le=\"+Inf\"}"), 100);
	assert_int_equal(value(text, "vxlan_agent_peer_rtt_seconds_count{peer=\"10.0.0.4\"}"), 100);
	assert_non_null(strstr(text, "vxlan_agent_peer_rtt_seconds_sum{peer=\"10.0.0.4\"} 0.012000000\n"));
	/* peer 10.0.0.31: RTT 930 us, le 0.001 */
	assert_int_equal(value(text, "vxlan_agent_peer_rtt_seconds_bucket{peer=\"10.0.0.31\",le=\"0.0005\"}"), 0);
	assert_int_equal(value(text, "vxlan_agent_peer_rtt_seconds_bucket{peer=\"10.0.0.31\",le=\"0.001\"}"), 100);
	assert_int_equal(value(text, "vxlan_agent_peer_oneway_latency_seconds_bucket{peer=\"10.0.0.31\",direction=\"from_peer\",le=\"0.0001\"}"), 100);
	/* up: the last reply 100 ms ago (within 2.5 s); later, not */
	assert_non_null(strstr(text, "vxlan_agent_peer_up{peer=\"10.0.0.1\"} 1\n"));
	free(text);
	text = agent_metrics_render(&r, now + 2500 * MS);
	assert_non_null(strstr(text, "vxlan_agent_peer_up{peer=\"10.0.0.1\"} 0\n"));
	free(text);
	/* the cost: the best of 50 renders (the machine's noise only adds) */
	for (int i = 0; i < 50; i++) {
		int64_t t0 = pk_now_ns();
		text = agent_metrics_render(&r, now);
		if (pk_now_ns() - t0 < best)
			best = pk_now_ns() - t0;
		assert_non_null(text);
		free(text);
	}
	printf("render of %d peers: %zu series, best of 50: %.3f ms\n", NPEERS,
	       (size_t)(PER_AGENT + PER_PEER * NPEERS), pk_ns_to_ms(best));
	agent_table_free(&t);
}

CM_MAIN(CM_T(fleet_of_32))
