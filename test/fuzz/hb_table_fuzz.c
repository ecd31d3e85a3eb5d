/* libFuzzer target: the heartbeat server's table update over SEQUENCES of
 * datagrams, as hb_server.c's handle() runs it (parse, reply-shape and size
 * checks, hb_table_beat, stop timer), on a table of 4 clients so that
 * eviction, stop and resume happen. The input is a run of records:
 *
 *     byte 0   bits 0-2: source (8 address/port pairs, v4 and v6);
 *              bits 3-7: time advance in units of 50 ms (stops after 3 s)
 *     byte 1   length L of the datagram (truncated at the input's end)
 *     L bytes  the datagram
 *
 * Checked after every datagram: no crash or out-of-bounds access (ASan),
 * the table's lists and counts agree, no client is ever shown more lost
 * heartbeats than HB_SEQ_JUMP_MAX allows per received one (never 9.2e18),
 * and every reply fits in its heartbeat and parses as a reply. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hb_proto.h"
#include "hb_table.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "check failed: %s\n", #x); abort(); } } while (0)

#define CAP 4
#define DEAD_NS (3 * 1000000000LL)
#define WALL0_NS 1726820518000000000LL   /* the server's wall clock at mono 0 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pk_addr source(unsigned k)
{
	struct pk_addr a;

	memset(&a, 0, sizeof a);
	if (k < 5) {
		struct sockaddr_in *s = (struct sockaddr_in *)&a.ss;
		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(0x7f000001u + (k & 1));
		s->sin_port = htons((uint16_t)(40000 + k));
		a.len = sizeof *s;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a.ss;
		s->sin6_family = AF_INET6;
		s->sin6_addr.s6_addr[15] = 1;
		s->sin6_port = htons((uint16_t)(40000 + k));
		a.len = sizeof *s;
	}
	return a;
}

static uint32_t list_len(const struct hb_table *t, const struct hb_list *l, int state)
{
	uint32_t n = 0;

	for (const struct hb_peer *p = hb_table_first(t, l); p; p = hb_table_next(t, p)) {
		CHECK(p->state == state);
		CHECK(++n <= t->cap);
	}
	return n;
}

static void check_table(struct hb_table *t, int64_t now)
{
	const struct hb_list *lists[] = { &t->active, &t->stopped };

	CHECK(t->used <= t->cap);
	CHECK(list_len(t, &t->active, HB_PEER_ACTIVE) == t->active.len);
	CHECK(list_len(t, &t->stopped, HB_PEER_STOPPED) == t->stopped.len);
	CHECK(t->active.len + t->stopped.len == t->used);
	for (int l = 0; l < 2; l++)
		for (const struct hb_peer *p = hb_table_first(t, lists[l]); p;
		     p = hb_table_next(t, p)) {
			struct hb_peer_figures f;
			struct pk_addr a;

			hb_peer_figures(p, now, &f);
			hb_peer_addr(p, &a);
			CHECK(hb_table_find(t, &a) == p);
			CHECK(f.received >= 1 && f.received <= p->beats);
			/* each received heartbeat can follow at most a window's gap */
			CHECK(f.lost / HB_SEQ_JUMP_MAX <= f.received);
			CHECK(!f.loss_valid || (f.loss_percent >= 0 && f.loss_percent <= 100));
			CHECK(!f.diff_valid || f.diff_min_ms <= f.diff_max_ms);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hb_table t;
	int64_t now = 0;
	size_t i = 0;

	if (hb_table_init(&t, CAP) != 0)
		return 0;
	while (i + 2 <= size) {
		unsigned k = data[i] & 7;
		size_t len = data[i + 1];
		struct pk_addr from = source(k);
		struct hb_beat m;
		struct hb_beat_result r;
		struct hb_peer *p;
		uint8_t *buf;
		char reply[64];
		int64_t diff;
		int n;

		now += (int64_t)(data[i] >> 3) * 50000000LL;
		i += 2;
		if (len > size - i)
			len = size - i;
		buf = malloc(len ? len : 1);        /* exact size, for ASan */
		if (buf == NULL)
			break;
		memcpy(buf, data + i, len);
		i += len;
		/* the stop timer, as on_dead_timer runs it */
		while ((p = hb_table_oldest_active(&t)) != NULL && p->last_ns + DEAD_NS <= now)
			hb_table_stop(&t, p);
		if (hb_parse_beat(buf, len, &m) < 0) {
			free(buf);
			continue;
		}
		diff = WALL0_NS + now - m.ts_ns;
		n = hb_format_reply_max(reply, len, m.seq, diff);
		if (hb_reply_shaped(diff) || n < 0) {
			free(buf);
			continue;
		}
		{
			struct hb_reply rp;
			CHECK((size_t)n <= len);
			CHECK(hb_parse_reply(reply, (size_t)n, &rp) == n && rp.seq == m.seq);
		}
		hb_table_beat(&t, &from, m.seq, diff, now, &r);
		CHECK(r.p != NULL && hb_table_find(&t, &from) == r.p);
		if (r.ev != HB_BEAT_JUMP)
			CHECK(r.p->last_seq == m.seq && r.p->state == HB_PEER_ACTIVE);
		check_table(&t, now);
		free(buf);
	}
	hb_table_free(&t);
	return 0;
}
