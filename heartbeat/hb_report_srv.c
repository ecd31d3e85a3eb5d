/* All printing of `heartbeat server`: the listening line, client events
 * and the table: text lines, --json-stream records (listening, client_*,
 * table, end), or the -J document at the end (summary: the final table;
 * events: the client events).
 */
#include "hb_report.h"

#include <inttypes.h>
#include <string.h>

#include "pk_clock.h"
#include "pk_opt.h"
#include "pk_out.h"
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

static cJSON *envelope(const struct hb_server_cfg *cfg, const struct pk_addr *local,
                       int64_t start_wall_ns)
{
	(void)cfg;
	return pk_json_envelope("heartbeat", "server", NULL, local, start_wall_ns);
}

/* One --json-stream record {"event": name, "data": data} on out, flushed.
 * Not pk_json_stream_event: its pk_out_flush ends the program on a closed
 * stdout, and the server must go on serving (hb_server.c check_output). */
static void stream(const struct hb_server_view *v, const char *name, cJSON *data)
{
	cJSON *rec = cJSON_CreateObject();
	char *txt;

	if (rec != NULL && data != NULL) {
		cJSON_AddStringToObject(rec, "event", name);
		cJSON_AddItemReferenceToObject(rec, "data", data);
		txt = cJSON_PrintUnformatted(rec);
		if (txt != NULL) {
			fprintf(v->out, "%s\n", txt);
			cJSON_free(txt);
		}
		fflush(v->out);
	}
	cJSON_Delete(rec);
	cJSON_Delete(data);
}

void hb_report_listening(const struct hb_server_view *v)
{
	char a[80], d[32];
	/* the banner: stdout in text mode, stderr under -J / --json-stream */
	FILE *f = v->json ? stderr : v->out;

	if (v->cfg->stream) {
		cJSON *o = cJSON_CreateObject();
		stream(v, "start", envelope(v->cfg, v->local, v->start_wall_ns));
		if (o != NULL) {
			pk_json_time(o, "time", v->start_wall_ns);
			cJSON_AddStringToObject(o, "address", pk_addr_host(v->local, a, sizeof a));
			cJSON_AddNumberToObject(o, "port", pk_addr_port(v->local));
			cJSON_AddNumberToObject(o, "loss", v->cfg->loss);
			char sd[24];
			snprintf(sd, sizeof sd, "%" PRIu64, v->seed);
			cJSON_AddStringToObject(o, "seed", sd);  /* exact: 64 bits */
			cJSON_AddNumberToObject(o, "dead_after_s", pk_ns_to_s(v->cfg->dead_after_ns));
			cJSON_AddNumberToObject(o, "max_clients", v->cfg->max_clients);
			if (v->metrics_port >= 0) {
				cJSON_AddStringToObject(o, "metrics_address", v->cfg->metrics_addr);
				cJSON_AddNumberToObject(o, "metrics_port", v->metrics_port);
			}
		}
		stream(v, "listening", o);
	}
	fprintf(f, "heartbeat server listening on %s (loss %g%%, seed %" PRIu64
	       ", client stopped after %s, at most %" PRIu32 " clients)\n",
	       pk_addr_str(v->local, a, sizeof a), 100.0 * v->cfg->loss,
	       v->seed, pk_fmt_duration(v->cfg->dead_after_ns, d, sizeof d),
	       v->cfg->max_clients);
	if (v->metrics_port >= 0)
		fprintf(f, "metrics listening on %s%s%s:%d\n",
		        strchr(v->cfg->metrics_addr, ':') ? "[" : "", v->cfg->metrics_addr,
		        strchr(v->cfg->metrics_addr, ':') ? "]" : "", v->metrics_port);
	fflush(f);
}

static void peer_json(cJSON *o, const struct hb_peer_figures *f)
{
	char buf[80];

	cJSON_AddStringToObject(o, "client", pk_addr_str(&f->addr, buf, sizeof buf));
	cJSON_AddStringToObject(o, "state", state_name[f->state]);
	cJSON_AddNumberToObject(o, "received", (double)f->received);
	cJSON_AddNumberToObject(o, "lost", (double)f->lost);
	pk_json_num(o, "loss_percent", f->loss_percent, f->loss_valid);
	cJSON_AddNumberToObject(o, "duplicates", f->dups);
	cJSON_AddNumberToObject(o, "reordered", f->reordered);
	cJSON_AddNumberToObject(o, "restarts", f->restarts);
	cJSON_AddNumberToObject(o, "last_seq", (double)f->last_seq);
	pk_json_num(o, "time_diff_min_ms", f->diff_min_ms, f->diff_valid);
	pk_json_num(o, "time_diff_avg_ms", f->diff_avg_ms, f->diff_valid);
	pk_json_num(o, "time_diff_max_ms", f->diff_max_ms, f->diff_valid);
	cJSON_AddNumberToObject(o, "silent_s", f->silent_s);
}

void hb_report_server_fail(const struct hb_server_cfg *cfg, const char *msg)
{
	int64_t now = pk_wall_ns();
	cJSON *doc;

	hb_report_error("%s", msg);
	if (!cfg->json || (doc = envelope(cfg, NULL, now)) == NULL)
		return;
	cJSON_AddObjectToObject(doc, "summary");
	cJSON_AddStringToObject(doc, "error", msg);
	if (cfg->stream) {
		cJSON *st = envelope(cfg, NULL, now);
		if (st != NULL)
			pk_json_stream_event(stdout, "start", st);
		cJSON_Delete(st);
		pk_json_stream_event(stdout, "end", doc);
	} else {
		pk_json_print(stdout, doc, 0);
	}
	cJSON_Delete(doc);
	fflush(stdout);
}

static void event_json(const struct hb_server_view *v, enum hb_srv_event ev,
                       const struct hb_peer_figures *f, int64_t now_ns, uint64_t prev_seq)
{
	cJSON *o = cJSON_CreateObject();
	char iso[48];

	char name[32];

	if (o == NULL)
		return;
	snprintf(name, sizeof name, "client_%s", ev_name[ev]);
	if (!v->cfg->stream)
		cJSON_AddStringToObject(o, "event", name);
	cJSON_AddStringToObject(o, "time", pk_wall_iso(now_ns + v->wall_offset_ns, iso, sizeof iso));
	if (f != NULL)
		peer_json(o, f);
	if (ev == HB_EV_RESTARTED || ev == HB_EV_RESUMED)
		cJSON_AddNumberToObject(o, "previous_seq", (double)prev_seq);
	if (ev == HB_EV_EVICTED)
		cJSON_AddNumberToObject(o, "evicted_total", (double)v->tot->evicted);
	if (v->cfg->stream) {
		stream(v, name, o);
		return;
	}
	/* -J: kept for the document (bounded) */
	if (v->events != NULL && cJSON_GetArraySize(v->events) < HB_SRV_EVENTS_MAX) {
		cJSON_AddItemToArray(v->events, o);
		return;
	}
	(*v->events_dropped)++;
	cJSON_Delete(o);
}

void hb_report_server_event(const struct hb_server_view *v, enum hb_srv_event ev,
                            const struct hb_peer *p, int64_t now_ns, uint64_t prev_seq)
{
	struct hb_peer_figures f;
	char t[32], a[80];

	if (v->cfg->quiet)
		return;
	if (p != NULL)
		hb_peer_figures(p, now_ns, &f);
	if (v->json) {
		event_json(v, ev, p != NULL ? &f : NULL, now_ns, prev_seq);
		return;
	}
	if (v->cfg->timestamps)
		pk_out_stamp(v->out);
	hb_clock_str(v->wall_offset_ns, now_ns, t, sizeof t);
	if (ev == HB_EV_EVICTED || p == NULL) {
		fprintf(v->out, "%s table full: oldest silent client evicted (%" PRIu64 " so far)\n",
		       t, v->tot->evicted);
		fflush(v->out);
		return;
	}
	pk_addr_str(&f.addr, a, sizeof a);
	switch (ev) {
	case HB_EV_SEEN:
		fprintf(v->out, "%s client %s seen (seq %" PRIu64 ")\n", t, a, f.last_seq);
		break;
	case HB_EV_STOPPED:
		fprintf(v->out, "%s client %s stopped: no heartbeat for %.3f s (last seq %" PRIu64
		       ", %" PRIu64 " received, %" PRIu64 " lost)\n", t, a,
		       f.silent_s, f.last_seq, f.received, f.lost);
		break;
	case HB_EV_RESUMED:
		fprintf(v->out, "%s client %s resumed (seq %" PRIu64 " after %" PRIu64 ")\n",
		       t, a, f.last_seq, prev_seq);
		break;
	default:
		fprintf(v->out, "%s client %s restarted (seq %" PRIu64 " after %" PRIu64 ")\n",
		       t, a, f.last_seq, prev_seq);
		break;
	}
	fflush(v->out);
}

static void totals_json(const struct hb_server_view *v, cJSON *o)
{
	const struct hb_server_totals *t = v->tot;
	cJSON *bad;

	char sd[24];

	snprintf(sd, sizeof sd, "%" PRIu64, v->seed);
	cJSON_AddNumberToObject(o, "loss", v->cfg->loss);
	cJSON_AddStringToObject(o, "seed", sd);
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
	cJSON_AddNumberToObject(o, "refused_source", (double)t->refused_source);
	cJSON_AddNumberToObject(o, "reply_shaped", (double)t->reply_shaped);
	cJSON_AddNumberToObject(o, "too_short", (double)t->too_short);
	cJSON_AddNumberToObject(o, "out_of_window", (double)t->out_of_window);
	cJSON_AddNumberToObject(o, "clients_seen", (double)t->clients_seen);
	cJSON_AddNumberToObject(o, "client_count", (double)v->tab->used);
	cJSON_AddNumberToObject(o, "evicted", (double)t->evicted);
	cJSON_AddNumberToObject(o, "stopped_events", (double)t->ev_stopped);
	cJSON_AddNumberToObject(o, "resumed_events", (double)t->ev_resumed);
	cJSON_AddNumberToObject(o, "restarted_events", (double)t->ev_restarted);
	cJSON_AddNumberToObject(o, "client_slot_bytes", (double)hb_table_bytes_per_client(v->tab));
	cJSON_AddBoolToObject(o, "kernel_timestamps", v->kernel_ts);
}

static void table_json(const struct hb_server_view *v, int64_t now_ns, int final)
{
	const struct hb_table *tab = v->tab;
	cJSON *o = cJSON_CreateObject(), *arr;
	const struct hb_list *lists[] = { &tab->active, &tab->stopped };
	char iso[48];

	if (o == NULL)
		return;
	cJSON_AddStringToObject(o, "time", pk_wall_iso(now_ns + v->wall_offset_ns, iso, sizeof iso));
	totals_json(v, o);
	if (final && v->events_dropped != NULL)
		cJSON_AddNumberToObject(o, "events_dropped", (double)*v->events_dropped);
	arr = cJSON_AddArrayToObject(o, "clients");
	for (int l = 0; l < 2; l++)
		for (const struct hb_peer *p = hb_table_first(tab, lists[l]); p;
		     p = hb_table_next(tab, p)) {
			struct hb_peer_figures f;
			cJSON *x = cJSON_CreateObject();

			if (x == NULL)
				break;
			hb_peer_figures(p, now_ns, &f);
			peer_json(x, &f);
			cJSON_AddItemToArray(arr, x);
		}
	if (!final) {
		if (v->cfg->stream)
			stream(v, "table", o);
		else
			cJSON_Delete(o);   /* -J: only the final table, in the document */
		return;
	}
	/* the final table is the document's summary */
	{
		cJSON *doc = envelope(v->cfg, v->local, v->start_wall_ns);
		if (doc == NULL) {
			cJSON_Delete(o);
			return;
		}
		cJSON_AddItemToObject(doc, "summary", o);
		if (!v->cfg->stream && v->events != NULL)
			cJSON_AddItemReferenceToObject(doc, "events", v->events);
		if (v->cfg->stream) {
			stream(v, "end", doc);
			return;
		}
		pk_json_print(v->out, doc, 0);
		cJSON_Delete(doc);
		fflush(v->out);
	}
}

static void table_row(FILE *out, const struct hb_peer *p, int64_t now_ns)
{
	struct hb_peer_figures f;
	char buf[80];

	hb_peer_figures(p, now_ns, &f);
	fprintf(out, "%-24s %-7s %9" PRIu64 " %7" PRIu64 " %6.1f%% %5u %5u %4u ",
	       pk_addr_str(&f.addr, buf, sizeof buf), state_name[f.state], f.received,
	       f.lost, f.loss_percent, f.dups, f.reordered, f.restarts);
	if (f.diff_valid)
		fprintf(out, "%9.3f/%.3f/%.3f", f.diff_min_ms, f.diff_avg_ms, f.diff_max_ms);
	else
		fprintf(out, "%9s", "-");
	fprintf(out, " %8.3f\n", f.silent_s);
}

void hb_report_server_table(const struct hb_server_view *v, int64_t now_ns, int final)
{
	const struct hb_table *tab = v->tab;
	const struct hb_server_totals *t = v->tot;
	const struct hb_list *lists[] = { &tab->active, &tab->stopped };
	char tm[32];

	if (v->json) {
		table_json(v, now_ns, final);
		return;
	}
	fprintf(v->out, "--- %s heartbeat clients at %s: %" PRIu32 " (%" PRIu32 " active) ---\n",
	       final ? "final" : "report",
	       hb_clock_str(v->wall_offset_ns, now_ns, tm, sizeof tm), tab->used,
	       tab->active.len);
	if (tab->used > 0)
		fprintf(v->out, "%-24s %-7s %9s %7s %7s %5s %5s %4s %s %s\n", "client", "state",
		       "received", "lost", "loss", "dups", "reord", "rest",
		       "time_diff min/avg/max ms", "silent_s");
	for (int l = 0; l < 2; l++)
		for (const struct hb_peer *p = hb_table_first(tab, lists[l]); p;
		     p = hb_table_next(tab, p))
			table_row(v->out, p, now_ns);
	fprintf(v->out, "datagrams %" PRIu64 ", accepted %" PRIu64 ", replies %" PRIu64
	       ", malformed %" PRIu64 ", rate-limited %" PRIu64 ", dropped (simulated) %"
	       PRIu64 ", send errors %" PRIu64 "\n", t->datagrams, t->accepted,
	       t->replies, t->malformed, t->rate_limited, t->sim_dropped, t->send_errors);
	fprintf(v->out, "not answered: refused by source %" PRIu64 ", reply-shaped %" PRIu64
	        ", too short to answer %" PRIu64 ", sequence out of window %" PRIu64 "\n",
	        t->refused_source, t->reply_shaped, t->too_short, t->out_of_window);
	fprintf(v->out, "clients seen %" PRIu64 ", evicted %" PRIu64 ", stopped %" PRIu64
	       ", resumed %" PRIu64 ", restarted %" PRIu64 ", %zu bytes per client slot\n",
	       t->clients_seen, t->evicted, t->ev_stopped, t->ev_resumed,
	       t->ev_restarted, hb_table_bytes_per_client(v->tab));
	if (t->malformed) {
		fprintf(v->out, "malformed:");
		for (int i = 0; i < HB_BAD_KINDS; i++)
			if (t->bad[i])
				fprintf(v->out, " %s %" PRIu64, hb_bad_str(-i - 1), t->bad[i]);
		fputc('\n', v->out);
	}
	fflush(v->out);
}
