/* All printing of `heartbeat server`: the listening line, client events
 * (one line each, or one JSON object per line under -J) and the table.
 */
#include "hb.h"

#include <inttypes.h>
#include <string.h>

#include "pk_opt.h"
#include "pk_report.h"

static const char *const ev_name[] = {
	[HB_EV_SEEN] = "seen", [HB_EV_STOPPED] = "stopped",
	[HB_EV_RESUMED] = "resumed", [HB_EV_RESTARTED] = "restarted",
	[HB_EV_EVICTED] = "evicted",
};

static const char *const state_name[] = {
	[HB_PEER_FREE] = "free", [HB_PEER_ACTIVE] = "active",
	[HB_PEER_STOPPED] = "stopped",
};

void hb_report_error(const char *where, int code)
{
	fprintf(stderr, "heartbeat: %s: %s\n", where, pk_sock_strerror(code));
}

void hb_report_listening(const struct hb_server *s)
{
	char a[80], d[32];

	if (s->cfg->json)
		printf("{\"event\":\"listening\",\"message\":\"heartbeat server listening on %s\","
		       "\"loss\":%g,\"seed\":%" PRIu64 "}\n",
		       pk_addr_str(&s->local, a, sizeof a), s->cfg->loss, s->seed);
	else
		printf("heartbeat server listening on %s (loss %g%%, seed %" PRIu64
		       ", client stopped after %s, at most %" PRIu32 " clients)\n",
		       pk_addr_str(&s->local, a, sizeof a), 100.0 * s->cfg->loss,
		       s->seed, pk_fmt_duration(s->cfg->dead_after_ns, d, sizeof d),
		       s->cfg->max_clients);
	fflush(stdout);
}

static void peer_json(cJSON *o, const struct hb_peer *p, int64_t now_ns)
{
	struct pk_addr a;
	char buf[80];
	uint64_t exp = pk_rxseq_expected(&p->rx);

	hb_peer_addr(p, &a);
	cJSON_AddStringToObject(o, "client", pk_addr_str(&a, buf, sizeof buf));
	cJSON_AddStringToObject(o, "state", state_name[p->state]);
	cJSON_AddNumberToObject(o, "received", (double)p->rx.received);
	cJSON_AddNumberToObject(o, "lost", (double)pk_rxseq_lost(&p->rx));
	pk_json_num(o, "loss_percent", exp ? 100.0 * (double)pk_rxseq_lost(&p->rx) / (double)exp : 0,
	            exp > 0);
	cJSON_AddNumberToObject(o, "duplicates", p->rx.dups);
	cJSON_AddNumberToObject(o, "reordered", p->rx.reordered);
	cJSON_AddNumberToObject(o, "restarts", p->rx.restarts);
	cJSON_AddNumberToObject(o, "last_seq", (double)p->last_seq);
	pk_json_num(o, "time_diff_min_ms", p->diff_min_ns / 1e6, p->diff_n > 0);
	pk_json_num(o, "time_diff_avg_ms", p->diff_mean_ns / 1e6, p->diff_n > 0);
	pk_json_num(o, "time_diff_max_ms", p->diff_max_ns / 1e6, p->diff_n > 0);
	cJSON_AddNumberToObject(o, "silent_s", pk_ns_to_s(now_ns - p->last_ns));
}

static void event_json(const struct hb_server *s, enum hb_srv_event ev,
                       const struct hb_peer *p, int64_t now_ns, uint64_t prev_seq)
{
	cJSON *o = cJSON_CreateObject();
	char iso[48];

	if (o == NULL)
		return;
	cJSON_AddStringToObject(o, "event", "client");
	cJSON_AddStringToObject(o, "what", ev_name[ev]);
	cJSON_AddStringToObject(o, "time", pk_wall_iso(now_ns + s->wall_offset_ns, iso, sizeof iso));
	if (p != NULL)
		peer_json(o, p, now_ns);
	if (ev == HB_EV_RESTARTED || ev == HB_EV_RESUMED)
		cJSON_AddNumberToObject(o, "previous_seq", (double)prev_seq);
	if (ev == HB_EV_EVICTED)
		cJSON_AddNumberToObject(o, "evicted_total", (double)s->tot.evicted);
	pk_json_print(stdout, o, 1);
	cJSON_Delete(o);
}

void hb_report_server_event(const struct hb_server *s, enum hb_srv_event ev,
                            const struct hb_peer *p, int64_t now_ns,
                            uint64_t prev_seq)
{
	char t[32], a[80];
	struct pk_addr addr;

	if (s->cfg->quiet)
		return;
	if (s->cfg->json) {
		event_json(s, ev, p, now_ns, prev_seq);
		return;
	}
	hb_clock_str(s->wall_offset_ns, now_ns, t, sizeof t);
	if (ev == HB_EV_EVICTED) {
		printf("%s table full: oldest silent client evicted (%" PRIu64 " so far)\n",
		       t, s->tot.evicted);
		fflush(stdout);
		return;
	}
	hb_peer_addr(p, &addr);
	pk_addr_str(&addr, a, sizeof a);
	switch (ev) {
	case HB_EV_SEEN:
		printf("%s client %s seen (seq %" PRIu64 ")\n", t, a, p->last_seq);
		break;
	case HB_EV_STOPPED:
		printf("%s client %s stopped: no heartbeat for %.3f s (last seq %" PRIu64
		       ", %" PRIu64 " received, %" PRIu64 " lost)\n", t, a,
		       pk_ns_to_s(now_ns - p->last_ns), p->last_seq, p->rx.received,
		       pk_rxseq_lost(&p->rx));
		break;
	case HB_EV_RESUMED:
		printf("%s client %s resumed (seq %" PRIu64 " after %" PRIu64 ")\n",
		       t, a, p->last_seq, prev_seq);
		break;
	default:
		printf("%s client %s restarted (seq %" PRIu64 " after %" PRIu64 ")\n",
		       t, a, p->last_seq, prev_seq);
		break;
	}
	fflush(stdout);
}

static void totals_json(const struct hb_server *s, cJSON *o)
{
	const struct hb_server_totals *t = &s->tot;
	cJSON *bad;

	cJSON_AddNumberToObject(o, "datagrams", (double)t->datagrams);
	cJSON_AddNumberToObject(o, "accepted", (double)t->accepted);
	cJSON_AddNumberToObject(o, "replies", (double)t->replies);
	cJSON_AddNumberToObject(o, "malformed", (double)t->malformed);
	bad = cJSON_AddObjectToObject(o, "malformed_by_kind");
	for (int i = 0; bad != NULL && i < HB_BAD_KINDS; i++)
		cJSON_AddNumberToObject(bad, hb_bad_str(-i - 1), (double)t->bad[i]);
	cJSON_AddNumberToObject(o, "rate_limited", (double)t->rate_limited);
	cJSON_AddNumberToObject(o, "sim_dropped", (double)t->sim_dropped);
	cJSON_AddNumberToObject(o, "send_errors", (double)t->send_errors);
	cJSON_AddNumberToObject(o, "clients_seen", (double)t->clients_seen);
	cJSON_AddNumberToObject(o, "client_count", (double)s->tab.used);
	cJSON_AddNumberToObject(o, "evicted", (double)t->evicted);
	cJSON_AddNumberToObject(o, "stopped_events", (double)t->ev_stopped);
	cJSON_AddNumberToObject(o, "resumed_events", (double)t->ev_resumed);
	cJSON_AddNumberToObject(o, "restarted_events", (double)t->ev_restarted);
	cJSON_AddNumberToObject(o, "bytes_per_client", (double)hb_table_bytes_per_client(&s->tab));
	cJSON_AddBoolToObject(o, "kernel_timestamps", s->kernel_ts);
}

static void table_json(const struct hb_server *s, int64_t now_ns, int final)
{
	struct hb_table *tab = (struct hb_table *)&s->tab;
	cJSON *o = cJSON_CreateObject(), *arr;
	const struct hb_list *lists[] = { &tab->active, &tab->stopped };
	char iso[48];

	if (o == NULL)
		return;
	cJSON_AddStringToObject(o, "event", final ? "final" : "report");
	cJSON_AddStringToObject(o, "time", pk_wall_iso(now_ns + s->wall_offset_ns, iso, sizeof iso));
	totals_json(s, o);
	arr = cJSON_AddArrayToObject(o, "clients");
	for (int l = 0; l < 2; l++)
		for (struct hb_peer *p = hb_table_first(tab, lists[l]); p; p = hb_table_next(tab, p)) {
			cJSON *x = cJSON_CreateObject();
			if (x == NULL)
				break;
			peer_json(x, p, now_ns);
			cJSON_AddItemToArray(arr, x);
		}
	pk_json_print(stdout, o, 1);
	cJSON_Delete(o);
}

static void table_row(const struct hb_peer *p, int64_t now_ns)
{
	struct pk_addr a;
	char buf[80];
	uint64_t exp = pk_rxseq_expected(&p->rx), lost = pk_rxseq_lost(&p->rx);

	hb_peer_addr(p, &a);
	printf("%-24s %-7s %9" PRIu64 " %7" PRIu64 " %6.1f%% %5u %5u %4u ",
	       pk_addr_str(&a, buf, sizeof buf), state_name[p->state], p->rx.received,
	       lost, exp ? 100.0 * (double)lost / (double)exp : 0.0, p->rx.dups,
	       p->rx.reordered, p->rx.restarts);
	if (p->diff_n > 0)
		printf("%9.3f/%.3f/%.3f", p->diff_min_ns / 1e6, p->diff_mean_ns / 1e6,
		       p->diff_max_ns / 1e6);
	else
		printf("%9s", "-");
	printf(" %8.3f\n", pk_ns_to_s(now_ns - p->last_ns));
}

void hb_report_server_table(const struct hb_server *s, int64_t now_ns, int final)
{
	struct hb_table *tab = (struct hb_table *)&s->tab;
	const struct hb_server_totals *t = &s->tot;
	const struct hb_list *lists[] = { &tab->active, &tab->stopped };
	char tm[32];

	if (s->cfg->json) {
		table_json(s, now_ns, final);
		return;
	}
	printf("--- %s heartbeat clients at %s: %" PRIu32 " (%" PRIu32 " active) ---\n",
	       final ? "final" : "report",
	       hb_clock_str(s->wall_offset_ns, now_ns, tm, sizeof tm), tab->used,
	       tab->active.len);
	if (tab->used > 0)
		printf("%-24s %-7s %9s %7s %7s %5s %5s %4s %s %s\n", "client", "state",
		       "received", "lost", "loss", "dups", "reord", "rest",
		       "time_diff min/avg/max ms", "silent_s");
	for (int l = 0; l < 2; l++)
		for (struct hb_peer *p = hb_table_first(tab, lists[l]); p; p = hb_table_next(tab, p))
			table_row(p, now_ns);
	printf("datagrams %" PRIu64 ", accepted %" PRIu64 ", replies %" PRIu64
	       ", malformed %" PRIu64 ", rate-limited %" PRIu64 ", dropped (simulated) %"
	       PRIu64 ", send errors %" PRIu64 "\n", t->datagrams, t->accepted,
	       t->replies, t->malformed, t->rate_limited, t->sim_dropped, t->send_errors);
	printf("clients seen %" PRIu64 ", evicted %" PRIu64 ", stopped %" PRIu64
	       ", resumed %" PRIu64 ", restarted %" PRIu64 ", %zu bytes per client slot\n",
	       t->clients_seen, t->evicted, t->ev_stopped, t->ev_resumed,
	       t->ev_restarted, hb_table_bytes_per_client(&s->tab));
	if (t->malformed) {
		printf("malformed:");
		for (int i = 0; i < HB_BAD_KINDS; i++)
			if (t->bad[i])
				printf(" %s %" PRIu64, hb_bad_str(-i - 1), t->bad[i]);
		putchar('\n');
	}
	fflush(stdout);
}
