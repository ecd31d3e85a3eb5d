/* Fuzz target: the agent's peer table over SEQUENCES of datagrams, as
 * agent.c drives it: our probes sent, peers' probes heard on the group
 * socket (stamped ones giving one-way delays and loss), replies on the
 * probe socket (matched, late, duplicate, unknown), from up to 32 sources
 * (IPv4 and IPv6, each with several ports: the port never counts), with
 * expiry, reaping, kernel restamps and report roll-overs between them.
 *
 * The input is a list of records:
 *   byte 0: bits 0-2 the event, bits 3-7 the source (0..31)
 *   byte 1: time advance, in units of 8 ms (to 2 s)
 *   byte 2: payload length L (taken modulo 25), then L payload bytes
 * Events: 0 send a probe; 1 a datagram on the group socket (a probe heard);
 * 2 a datagram on the probe socket (a reply); 3 a reply that echoes our
 * probe `payload[0]` back (so most sequences match); 4 expire; 5 reap
 * (peer timeout 1 s); 6 end of a report interval; 7 a kernel transmit stamp
 * for a recent probe.
 *
 * Checked besides memory errors (the sanitizer build): the table never
 * holds more than max_peers peers, never two with one address, never a
 * peer with a port; counters never go down; interval figures are finite.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"
#include "agent_table.h"
#include "pk_clock.h"

#define MAX_PEERS 4
#define WINDOW 64
#define TIMEOUT (2 * PK_NS_PER_S)
#define WALL0 ((int64_t)1726820518 * PK_NS_PER_S)

static struct pk_addr source(unsigned i, unsigned port)
{
	struct pk_addr a;

	memset(&a, 0, sizeof a);
	if (i < 16) {
		struct sockaddr_in *s = (struct sockaddr_in *)&a.ss;
		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(0x0a000001u + i);
		s->sin_port = htons((uint16_t)(40000 + port));
		a.len = sizeof *s;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a.ss;
		s->sin6_family = AF_INET6;
		s->sin6_addr.s6_addr[0] = 0x20;
		s->sin6_addr.s6_addr[1] = 0x01;
		s->sin6_addr.s6_addr[15] = (uint8_t)i;
		s->sin6_port = htons((uint16_t)(40000 + port));
		a.len = sizeof *s;
	}
	return a;
}

static void check_table(const struct agent_table *t, uint64_t *last_lost, uint64_t *last_replies)
{
	if (t->n > MAX_PEERS || t->lost < *last_lost || t->replies < *last_replies)
		abort();
	*last_lost = t->lost;
	*last_replies = t->replies;
	for (size_t i = 0; i < t->n; i++) {
		if (pk_addr_port(&t->peers[i]->addr) != 0)
			abort();
		for (size_t j = i + 1; j < t->n; j++)
			if (pk_addr_same_host(&t->peers[i]->addr, &t->peers[j]->addr))
				abort();
	}
}

/* What agent.c does with a probe heard on the group socket. */
static void heard(struct agent_table *t, const struct pk_addr *from, const uint8_t *p, size_t len,
                  int64_t now, int64_t wall)
{
	struct agent_peer *peer;
	struct agent_stamp st;
	uint64_t num;

	if (agent_probe_parse(p, len, &num) == AGENT_PROBE_BAD)
		return;
	peer = agent_table_heard(t, from, now);
	if (peer != NULL && agent_stamp_parse(num, &st))
		(void)agent_table_oneway(t, peer, st.seq, agent_stamp_delay_ns(&st, wall));
}

/* What agent.c does with a reply on the probe socket (stamped probes). */
static void reply(struct agent_table *t, const struct pk_addr *from, uint64_t num, int64_t now,
                  const uint64_t *sent)
{
	struct agent_stamp st;
	uint64_t seq;
	int64_t lat;

	if (!agent_stamp_parse(num, &st)) {
		agent_table_unknown(t);
		return;
	}
	seq = agent_stamp_unwrap(st.seq, agent_table_next_probe(t));
	if (seq >= agent_table_next_probe(t) || sent[seq % WINDOW] != num) {
		agent_table_unknown(t);
		return;
	}
	(void)agent_table_reply(t, from, seq, now, &lat);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_table t;
	uint64_t sent[WINDOW] = { 0 };
	uint64_t last_lost = 0, last_replies = 0, num;
	int64_t now = 0;
	size_t i = 0;

	if (agent_table_init(&t, MAX_PEERS, WINDOW, TIMEOUT, 1) != 0)
		return 0;
	while (i + 3 <= size) {
		unsigned ev = data[i] & 7, src = data[i] >> 3;
		size_t len = data[i + 2] % 25;
		const uint8_t *p = data + i + 3;
		struct pk_addr from;

		now += (int64_t)data[i + 1] * 8 * PK_NS_PER_MS;
		if (i + 3 + len > size)
			len = size - i - 3;
		from = source(src, len > 0 ? p[0] % 4 : 0);
		switch (ev) {
		case 0: {
			uint64_t seq = agent_table_send(&t, now);
			sent[seq % WINDOW] = agent_stamp_make(WALL0 + now, seq);
			break;
		}
		case 1: heard(&t, &from, p, len, now, WALL0 + now); break;
		case 2:
			if (agent_probe_parse(p, len, &num) == AGENT_PROBE_OK)
				reply(&t, &from, num, now, sent);
			else
				agent_table_unknown(&t);
			break;
		case 3:
			if (agent_table_next_probe(&t) > 1) {
				uint64_t back = len > 0 ? p[0] % 80 : 0;
				uint64_t next = agent_table_next_probe(&t);
				uint64_t seq = back < next - 1 ? next - 1 - back : 1;
				reply(&t, &from, sent[seq % WINDOW] != 0 ? sent[seq % WINDOW] : seq, now, sent);
			}
			break;
		case 4: agent_table_expire(&t, now); break;
		case 5: (void)agent_table_reap(&t, now, PK_NS_PER_S); break;
		case 6: {
			struct agent_interval in;
			struct agent_peer_stats ps;
			agent_table_expire(&t, now);
			(void)agent_table_judge_oneway(&t);
			agent_table_interval(&t, &in);
			if (in.have_latency && !isfinite(in.avg_latency_ms))
				abort();
			for (size_t k = 0; k < t.n; k++) {
				agent_peer_stats(t.peers[k], now, &ps);
				if ((ps.have_latency && !isfinite(ps.avg_ms)) ||
				    (ps.have_oneway && !isfinite(ps.ow.avg)))
					abort();
			}
			agent_table_roll(&t, now);
			break;
		}
		case 7:
			if (agent_table_next_probe(&t) > 1)
				(void)agent_table_restamp(&t, agent_table_next_probe(&t) - 1,
				                          now - (len > 0 ? p[0] : 0) * PK_NS_PER_US);
			break;
		}
		check_table(&t, &last_lost, &last_replies);
		i += 3 + len;
	}
	agent_table_free(&t);
	return 0;
}
