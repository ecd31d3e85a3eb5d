/* All printing of `heartbeat client` (per-heartbeat lines, verdicts, the
 * summary, JSON and CSV) and what both roles share: the error line and
 * the clock text. The server's printing is in hb_report_srv.c.
 */
#include "hb_report.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "pk_clock.h"
#include "pk_opt.h"
#include "pk_out.h"
#include "pk_report.h"

static const char *const det_name[HB_DETECTORS] = { "kmiss", "phi" };

char *hb_clock_str(int64_t wall_offset_ns, int64_t mono_ns, char *buf, size_t cap)
{
	struct timespec ts = pk_ns_to_timespec(mono_ns + wall_offset_ns);
	struct tm tm;

	localtime_r(&ts.tv_sec, &tm);
	snprintf(buf, cap, "%02d:%02d:%02d.%06ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (long)(ts.tv_nsec / 1000));
	return buf;
}

static int64_t offset(const struct hb_client_info *in)
{
	return in->start_wall_ns - in->start_ns;
}

/* Human lines go to stdout, unless stdout carries JSON or CSV. */
static FILE *human(const struct hb_client_info *in)
{
	return in->cfg->csv || in->cfg->json ? stderr : stdout;
}

static int lines_on(const struct hb_client_info *in)
{
	return !in->cfg->json && !in->cfg->csv;
}

/* -D: ping's prefix with the event's own time (pk_out_stamp_fmt). */
static void stamp(const struct hb_client_info *in, FILE *f, int64_t mono)
{
	char b[48];

	if (in->cfg->timestamps)
		fputs(pk_out_stamp_fmt(mono + offset(in), b, sizeof b), f);
}

static const char *status_str(uint8_t st)
{
	return st == PK_SEQ_OK ? "ok" : st == PK_SEQ_LATE ? "late" : "lost";
}

static cJSON *envelope(const struct hb_client_info *in)
{
	return pk_json_envelope("heartbeat", "client", in->cfg->host,
	                        in->peer.len ? &in->peer : NULL, in->start_wall_ns);
}

/* A stream record whose data is {"time": now, ...} built by the caller. */
static void stream_event(const char *name, cJSON *data)
{
	if (data != NULL)
		pk_json_stream_event(stdout, name, data);
	cJSON_Delete(data);
}

static cJSON *event_data(int64_t wall_ns)
{
	cJSON *o = cJSON_CreateObject();

	if (o != NULL)
		pk_json_time(o, "time", wall_ns);
	return o;
}

void hb_report_client_start(const struct hb_client_info *in)
{
	static const char *const cols[] = { "seq", "time", "status", "rtt_ms", "diff_ms" };
	char addr[80], iv[32], to[32];
	FILE *f = human(in);

	if (in->cfg->stream)
		stream_event("start", envelope(in));
	if (in->cfg->csv)
		pk_csv_header(stdout, cols, sizeof cols / sizeof cols[0]);
	pk_out_flush(stdout);
	if (in->cfg->quiet && f != stdout)
		return;
	fprintf(f, "HEARTBEAT %s (%s): every %s, timeout %s, down after %u misses "
	        "(detector %s; phi threshold %g)\n", in->cfg->host,
	        pk_addr_str(&in->peer, addr, sizeof addr),
	        pk_fmt_duration(in->cfg->interval_ns, iv, sizeof iv),
	        pk_fmt_duration(in->cfg->timeout_ns, to, sizeof to), in->cfg->misses,
	        det_name[in->cfg->detector], in->cfg->phi_threshold);
	pk_out_flush(f);
}

void hb_report_reply(const struct hb_client_info *in, int64_t now_ns, uint64_t seq,
                     size_t bytes, int ttl, int64_t rtt_ns, double diff_s, int late, int dup)
{
	char addr[80], extra[64], line[256];

	if (!lines_on(in) || in->cfg->quiet)
		return;
	snprintf(extra, sizeof extra, "diff=%.3f ms%s", diff_s * 1e3,
	         dup ? " (DUP!)" : late ? " (late)" : "");
	pk_addr_host(&in->peer, addr, sizeof addr);
	stamp(in, stdout, now_ns);
	fputs(pk_fmt_reply(line, sizeof line, bytes, addr, seq, in->cfg->verbose ? ttl : -1,
	                   pk_ns_to_ms(rtt_ns), extra), stdout);
	fputc('\n', stdout);
	pk_out_flush(stdout);
}

void hb_report_timeout(const struct hb_client_info *in, uint64_t seq, int64_t at_ns)
{
	if (!lines_on(in) || in->cfg->quiet)
		return;
	stamp(in, stdout, at_ns);
	printf("no answer yet for seq=%" PRIu64 "\n", seq);
	pk_out_flush(stdout);
}

void hb_report_sample(const struct hb_client_info *in, uint64_t seq, const struct hb_sample *x)
{
	int64_t wall = x->sent_ns + offset(in);

	if (in->cfg->stream) {
		cJSON *o = pk_json_sample(seq, wall);
		if (o == NULL)
			return;
		cJSON_AddStringToObject(o, "status", status_str(x->status));
		pk_json_num(o, "rtt_ms", pk_ns_to_ms(x->rtt_ns), x->rtt_ns >= 0);
		pk_json_num(o, "diff_ms", x->diff_s * 1e3, !isnan(x->diff_s));
		stream_event("sample", o);
	} else if (in->cfg->csv) {
		char iso[48];
		pk_csv_uint(stdout, seq, 0);
		pk_csv_str(stdout, pk_wall_iso(wall, iso, sizeof iso), 0);
		pk_csv_str(stdout, status_str(x->status), 0);
		pk_csv_num(stdout, pk_ns_to_ms(x->rtt_ns), x->rtt_ns >= 0, 0);
		pk_csv_num(stdout, x->diff_s * 1e3, !isnan(x->diff_s), 1);
		pk_out_flush(stdout);
	}
}

void hb_report_interim(const struct hb_client_info *in, const struct pk_ping_totals *t,
                       const struct pk_rtt_ms *r)
{
	pk_report_interim(stderr, t, r);
	if (in->cfg->stream) {
		cJSON *o = event_data(pk_wall_ns());
		if (o != NULL)
			pk_json_ping_summary(o, t, r);
		stream_event("interim", o);
	}
}

void hb_report_client_fail(const struct hb_client_info *in, const char *msg)
{
	cJSON *doc;

	hb_report_error("%s", msg);
	if (!in->cfg->json)
		return;
	doc = envelope(in);
	if (doc == NULL)
		return;
	cJSON_AddObjectToObject(doc, "summary");
	cJSON_AddStringToObject(doc, "error", msg);
	if (in->cfg->stream) {
		stream_event("start", envelope(in));
		stream_event("end", doc);
		return;
	}
	pk_json_print(stdout, doc, 0);
	cJSON_Delete(doc);
	pk_out_flush(stdout);
}

static void verdict_detail(const struct hb_client_info *in,
                           const struct hb_verdict_change *vc, char *buf, size_t cap)
{
	char last[32];
	size_t n;

	if (vc->det == HB_DET_KMISS)
		snprintf(buf, cap, "no reply to %u consecutive heartbeats (seq %" PRIu64
		         "..%" PRIu64 ")", vc->run, vc->first_miss, vc->first_miss + vc->run - 1);
	else
		snprintf(buf, cap, "phi %.2f >= %g (gap mean %.3f s, sd %.3f s)", vc->phi,
		         vc->phi_threshold, vc->gap_mean_ns / 1e9, vc->gap_sd_ns / 1e9);
	n = strlen(buf);
	if (vc->last_reply_ns >= 0)
		snprintf(buf + n, cap - n, ", last reply %s (%.3f s ago)",
		         hb_clock_str(offset(in), vc->last_reply_ns, last, sizeof last),
		         pk_ns_to_s(vc->now_ns - vc->last_reply_ns));
	else
		snprintf(buf + n, cap - n, ", no reply ever");
}

void hb_report_verdict(const struct hb_client_info *in, const struct hb_verdict_change *vc)
{
	FILE *f = human(in);
	const struct hb_outage *o = vc->outage;
	char detail[256] = "";

	if (in->cfg->stream && in->cfg->detector == vc->det) {
		cJSON *o = event_data(vc->now_ns + offset(in));
		if (o != NULL) {
			cJSON_AddStringToObject(o, "detector", det_name[vc->det]);
			if (vc->ch == HB_WENT_DOWN && vc->det == HB_DET_KMISS)
				cJSON_AddNumberToObject(o, "misses", vc->run);
			if (vc->ch == HB_WENT_DOWN && vc->det == HB_DET_PHI)
				cJSON_AddNumberToObject(o, "phi", vc->phi);
			if (vc->ch == HB_WENT_DOWN && vc->last_reply_ns >= 0)
				pk_json_time(o, "last_reply", vc->last_reply_ns + offset(in));
			if (vc->ch == HB_WENT_UP && o != NULL && vc->outage != NULL)
				cJSON_AddNumberToObject(o, "down_s",
				                        pk_ns_to_s(vc->now_ns - vc->outage->down_ns));
		}
		stream_event(vc->ch == HB_WENT_DOWN ? "server_down" : "server_up", o);
	}
	if (in->cfg->json)
		return;
	if (vc->ch == HB_WENT_DOWN)
		verdict_detail(in, vc, detail, sizeof detail);
	else if (o != NULL)
		snprintf(detail, sizeof detail, "down for %.3f s, silent for %.3f s",
		         pk_ns_to_s(vc->now_ns - o->down_ns),
		         pk_ns_to_s(vc->now_ns - (o->last_reply_ns >= 0 ? o->last_reply_ns
		                                                        : in->start_ns)));
	stamp(in, f, vc->now_ns);
	if (in->cfg->detector == vc->det)
		fprintf(f, "server %s: %s\n", vc->ch == HB_WENT_DOWN ? "down" : "up", detail);
	else
		fprintf(f, "%s verdict: %s: %s\n", det_name[vc->det],
		        vc->ch == HB_WENT_DOWN ? "down" : "up", detail);
	pk_out_flush(f);
}

/* ---- summary ------------------------------------------------------------ */

static void print_detector(FILE *f, const struct hb_client_result *r, enum hb_detector d)
{
	const struct hb_client_info *in = &r->info;
	const struct hb_verdicts *v = &r->det[d];
	char a[32], b[32];

	if (d == HB_DET_KMISS)
		fprintf(f, "detector kmiss (K=%u)", in->cfg->misses);
	else
		fprintf(f, "detector phi (threshold %g)", r->phi_threshold);
	fprintf(f, "%s: %" PRIu64 " down, %" PRIu64 " up, ended %s\n",
	        in->cfg->detector == d ? " [acting]" : "", v->downs, v->ups,
	        v->down ? "down" : "up");
	for (uint32_t i = 0; i < v->n; i++) {
		const struct hb_outage *o = &v->list[i];
		int64_t from = o->last_reply_ns >= 0 ? o->last_reply_ns : in->start_ns;
		fprintf(f, "  outage %u: down %s (%.3f s after the last reply)", i + 1,
		        hb_clock_str(offset(in), o->down_ns, a, sizeof a),
		        pk_ns_to_s(o->down_ns - from));
		if (o->up_ns >= 0)
			fprintf(f, ", up %s, %.3f s without replies\n",
			        hb_clock_str(offset(in), o->up_ns, b, sizeof b),
			        pk_ns_to_s(o->up_ns - from));
		else
			fprintf(f, ", still down at the end\n");
	}
}

/* A probability as text: a percentage, or "1 - x" when too near 1 for
 * four digits to show it. */
static char *prob_str(double x, char *buf, size_t cap)
{
	if (x < 0.9999)
		snprintf(buf, cap, "%.4g%%", 100.0 * x);
	else
		snprintf(buf, cap, "1 - %.3g", 1.0 - x);
	return buf;
}

/* The figures over a run of n heartbeats: one line. */
static void print_run(FILE *f, const struct hb_fa_run *run)
{
	char any[48], none[48], approx[48], kb[48];

	if (!run->valid) {
		fprintf(f, "over %" PRIu64 " heartbeats: not computed (more than %llu)\n", run->n,
		        (unsigned long long)HB_FA_N_MAX);
		return;
	}
	prob_str(run->any, any, sizeof any);
	prob_str(run->any_approx, approx, sizeof approx);
	fprintf(f, "over %" PRIu64 " heartbeats: P(at least one false 'server down') = %s "
	        "exactly (none: %.4g; 1-(1-q)^N would say %s), %.4g expected", run->n, any,
	        run->none, approx, run->expected);
	if (isfinite(run->mean_first))
		fprintf(f, ", the first after %.4g heartbeats on average", run->mean_first);
	if (run->k_budget)
		fprintf(f, "; K=%u keeps P(at least one) under %s (%s)\n", run->k_budget,
		        prob_str(run->budget, none, sizeof none),
		        prob_str(run->k_budget_any, kb, sizeof kb));
	else
		fprintf(f, "; no K up to %d keeps P(at least one) under %s\n", HB_K_SEARCH_MAX,
		        prob_str(run->budget, none, sizeof none));
}

static void print_false_alarm(FILE *f, const struct hb_client_result *r)
{
	const struct hb_false_alarm *fa = &r->fa;
	char iv[32];

	if (r->decided == 0)
		return;
	if (!fa->valid) {
		fprintf(f, "false alarms: no estimate (no reply at all)\n");
		return;
	}
	fprintf(f, "false alarms at %.1f%% loss, K=%u, every %s", 100.0 * r->loss, fa->k,
	        pk_fmt_duration(r->info.cfg->interval_ns, iv, sizeof iv));
	if (fa->extra)
		fprintf(f, " (timeout spans %u more heartbeats)", fa->extra);
	fprintf(f, ": %.3g%% per heartbeat, %.3g spurious 'server down' per hour;",
	        100.0 * fa->per_beat, fa->per_hour);
	if (fa->k_day)
		fprintf(f, " K=%u gives %.3g per day\n", fa->k_day, fa->k_day_per_day);
	else
		fprintf(f, " no K up to %d gives less than one per day\n", HB_K_SEARCH_MAX);
	print_run(f, &r->run);
}

static void print_summary(FILE *f, const struct hb_client_result *r)
{
	pk_report_ping_summary(f, r->info.cfg->host, "heartbeat", &r->totals, &r->rtt);
	if (r->diff.n > 0)
		fprintf(f, "server time_diff min/avg/max = %.3f/%.3f/%.3f ms\n",
		        r->diff.min, r->diff.mean, r->diff.max);
	fprintf(f, "loss runs: longest %" PRIu64 ";", r->totals.longest_loss_run);
	for (int i = 1; i <= HB_RUNHIST; i++)
		if (r->runhist[i])
			fprintf(f, " %d%s:%" PRIu64, i, i == HB_RUNHIST ? "+" : "", r->runhist[i]);
	fputc('\n', f);
	if (r->bad_replies || r->unknown_replies)
		fprintf(f, "malformed replies %" PRIu64 ", unknown replies %" PRIu64 "\n",
		        r->bad_replies, r->unknown_replies);
	print_detector(f, r, HB_DET_KMISS);
	print_detector(f, r, HB_DET_PHI);
	print_false_alarm(f, r);
}

/* ---- JSON ------------------------------------------------------------- */

static cJSON *json_samples(const struct hb_client_result *r)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < r->nsamples; i++) {
		const struct hb_sample *x = &r->samples[i];
		cJSON *o = pk_json_sample(i, x->sent_ns + offset(&r->info));
		if (o == NULL)
			break;
		cJSON_AddStringToObject(o, "status", status_str(x->status));
		pk_json_num(o, "rtt_ms", pk_ns_to_ms(x->rtt_ns), x->rtt_ns >= 0);
		pk_json_num(o, "diff_ms", x->diff_s * 1e3, !isnan(x->diff_s));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* The acting detector's verdicts as events: server_down, server_up. */
static cJSON *json_events(const struct hb_client_result *r)
{
	cJSON *a = cJSON_CreateArray();
	enum hb_detector d = r->info.cfg->detector;
	const struct hb_verdicts *v = &r->det[d];
	int64_t off = offset(&r->info);

	for (uint32_t i = 0; a && i < v->n; i++) {
		const struct hb_outage *o = &v->list[i];
		cJSON *x = cJSON_CreateObject();
		if (x == NULL)
			break;
		cJSON_AddStringToObject(x, "event", "server_down");
		pk_json_time(x, "time", o->down_ns + off);
		cJSON_AddStringToObject(x, "detector", det_name[d]);
		if (o->last_reply_ns >= 0)
			pk_json_time(x, "last_reply", o->last_reply_ns + off);
		cJSON_AddItemToArray(a, x);
		if (o->up_ns < 0 || (x = cJSON_CreateObject()) == NULL)
			continue;
		cJSON_AddStringToObject(x, "event", "server_up");
		pk_json_time(x, "time", o->up_ns + off);
		cJSON_AddStringToObject(x, "detector", det_name[d]);
		cJSON_AddNumberToObject(x, "down_s", pk_ns_to_s(o->up_ns - o->down_ns));
		cJSON_AddItemToArray(a, x);
	}
	return a;
}

static cJSON *json_outages(const struct hb_client_result *r, enum hb_detector d)
{
	cJSON *a = cJSON_CreateArray();
	const struct hb_verdicts *v = &r->det[d];
	int64_t start = r->info.start_ns;

	for (uint32_t i = 0; a && i < v->n; i++) {
		const struct hb_outage *o = &v->list[i];
		int64_t from = o->last_reply_ns >= 0 ? o->last_reply_ns : start;
		cJSON *x = cJSON_CreateObject();
		if (x == NULL)
			break;
		pk_json_num(x, "last_reply_s", pk_ns_to_s(o->last_reply_ns - start),
		            o->last_reply_ns >= 0);
		cJSON_AddNumberToObject(x, "down_s", pk_ns_to_s(o->down_ns - start));
		pk_json_num(x, "up_s", pk_ns_to_s(o->up_ns - start), o->up_ns >= 0);
		cJSON_AddNumberToObject(x, "detect_s", pk_ns_to_s(o->down_ns - from));
		pk_json_num(x, "duration_s", pk_ns_to_s(o->up_ns - from), o->up_ns >= 0);
		cJSON_AddItemToArray(a, x);
	}
	return a;
}

static cJSON *json_detector(const struct hb_client_result *r, enum hb_detector d)
{
	const struct hb_verdicts *v = &r->det[d];
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddBoolToObject(o, "acting", r->info.cfg->detector == d);
	if (d == HB_DET_KMISS) {
		cJSON_AddNumberToObject(o, "misses", r->info.cfg->misses);
	} else {
		cJSON_AddNumberToObject(o, "threshold", r->phi_threshold);
		cJSON_AddNumberToObject(o, "gap_mean_ms", r->phi_gap_mean_ns / 1e6);
		cJSON_AddNumberToObject(o, "gap_sd_ms", r->phi_gap_sd_ns / 1e6);
	}
	cJSON_AddNumberToObject(o, "downs", (double)v->downs);
	cJSON_AddNumberToObject(o, "ups", (double)v->ups);
	cJSON_AddStringToObject(o, "final_state", v->down ? "down" : "up");
	cJSON_AddItemToObject(o, "outages", json_outages(r, d));
	return o;
}

/* The run's figures (null when not computed), into the false_alarm object. */
static void json_run(cJSON *o, const struct hb_fa_run *run, int valid)
{
	valid = valid && run->valid;
	cJSON_AddNumberToObject(o, "heartbeats", (double)run->n);
	pk_json_num(o, "at_least_one", run->any, valid);
	pk_json_num(o, "none", run->none, valid);
	pk_json_num(o, "at_least_one_approx", run->any_approx, valid);
	pk_json_num(o, "expected_downs", run->expected, valid);
	pk_json_num(o, "mean_heartbeats_to_first", run->mean_first,
	            valid && isfinite(run->mean_first));
	cJSON_AddNumberToObject(o, "budget", run->budget);
	pk_json_num(o, "misses_for_at_least_one_below_budget", run->k_budget,
	            valid && run->k_budget > 0);
	pk_json_num(o, "at_least_one_at_that_k", run->k_budget_any, valid && run->k_budget > 0);
}

static cJSON *json_false_alarm_of(double loss, int have_loss, const struct hb_false_alarm *fa,
                                  const struct hb_fa_run *run, int64_t interval_ns,
                                  int64_t timeout_ns)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	pk_json_num(o, "loss_percent", 100.0 * loss, have_loss);
	cJSON_AddNumberToObject(o, "misses", fa->k);
	cJSON_AddNumberToObject(o, "extra_misses", fa->extra);
	cJSON_AddNumberToObject(o, "interval_ms", pk_ns_to_ms(interval_ns));
	cJSON_AddNumberToObject(o, "timeout_ms", pk_ns_to_ms(timeout_ns));
	pk_json_num(o, "per_heartbeat", fa->per_beat, fa->valid);
	pk_json_num(o, "per_hour", fa->per_hour, fa->valid);
	pk_json_num(o, "per_day", fa->per_day, fa->valid);
	pk_json_num(o, "misses_for_less_than_one_per_day", fa->k_day,
	            fa->valid && fa->k_day > 0);
	json_run(o, run, fa->valid);
	return o;
}

static cJSON *json_false_alarm(const struct hb_client_result *r)
{
	const struct hb_client_cfg *cfg = r->info.cfg;

	return json_false_alarm_of(r->loss, r->decided > 0, &r->fa, &r->run, cfg->interval_ns,
	                           cfg->timeout_ns);
}

static void json_summary(cJSON *s, const struct hb_client_result *r)
{
	cJSON *o, *h;

	pk_json_ping_summary(s, &r->totals, &r->rtt);
	o = cJSON_AddObjectToObject(s, "time_diff_ms");
	pk_json_num(o, "min", r->diff.min, r->diff.n > 0);
	pk_json_num(o, "avg", r->diff.mean, r->diff.n > 0);
	pk_json_num(o, "max", r->diff.max, r->diff.n > 0);
	o = cJSON_AddObjectToObject(s, "loss_runs");
	cJSON_AddNumberToObject(o, "longest", (double)r->totals.longest_loss_run);
	h = cJSON_AddObjectToObject(o, "histogram");
	for (int i = 1; i <= HB_RUNHIST; i++) {
		char k[16];
		snprintf(k, sizeof k, "%d%s", i, i == HB_RUNHIST ? "+" : "");
		if (r->runhist[i])
			cJSON_AddNumberToObject(h, k, (double)r->runhist[i]);
	}
	cJSON_AddNumberToObject(s, "elapsed_ms", pk_ns_to_ms(r->totals.elapsed_ns));
	cJSON_AddNumberToObject(s, "malformed_replies", (double)r->bad_replies);
	cJSON_AddNumberToObject(s, "icmp_errors", (double)r->icmp_errors);
	cJSON_AddNumberToObject(s, "send_errors", (double)r->send_errors);
	cJSON_AddNumberToObject(s, "unknown_replies", (double)r->unknown_replies);
	cJSON_AddStringToObject(s, "final_state", r->final_down ? "down" : "up");
	cJSON_AddBoolToObject(s, "interrupted", r->interrupted);
	cJSON_AddItemToObject(s, "false_alarm", json_false_alarm(r));
	o = cJSON_AddObjectToObject(s, "detectors");
	cJSON_AddItemToObject(o, "kmiss", json_detector(r, HB_DET_KMISS));
	cJSON_AddItemToObject(o, "phi", json_detector(r, HB_DET_PHI));
	cJSON_AddItemToObject(s, "outages", json_outages(r, r->info.cfg->detector));
}

static void print_json(const struct hb_client_result *r)
{
	const struct hb_client_cfg *c = r->info.cfg;
	cJSON *doc = envelope(&r->info);
	cJSON *cfg, *sum;

	if (doc == NULL)
		return;
	cfg = cJSON_AddObjectToObject(doc, "config");
	cJSON_AddNumberToObject(cfg, "interval_ms", pk_ns_to_ms(c->interval_ns));
	cJSON_AddNumberToObject(cfg, "timeout_ms", pk_ns_to_ms(c->timeout_ns));
	cJSON_AddNumberToObject(cfg, "count", (double)c->count);
	cJSON_AddNumberToObject(cfg, "misses", c->misses);
	cJSON_AddStringToObject(cfg, "detector", det_name[c->detector]);
	cJSON_AddNumberToObject(cfg, "phi_threshold", c->phi_threshold);
	cJSON_AddBoolToObject(cfg, "keep_going", c->keep_going);
	sum = cJSON_AddObjectToObject(doc, "summary");
	json_summary(sum, r);
	cJSON_AddNumberToObject(sum, "samples_dropped", (double)r->samples_dropped);
	cJSON_AddItemToObject(doc, "samples", json_samples(r));
	cJSON_AddItemToObject(doc, "events", json_events(r));
	if (c->stream) {
		stream_event("end", doc);
		return;
	}
	pk_json_print(stdout, doc, 0);
	cJSON_Delete(doc);
}

void hb_report_client_end(const struct hb_client_result *r)
{
	const struct hb_client_cfg *cfg = r->info.cfg;

	if (cfg->json) {
		print_json(r);
	} else if (cfg->csv) {
		if (!cfg->quiet)
			print_summary(stderr, r);
	} else {
		print_summary(stdout, r);
	}
	pk_out_flush(stdout);
}

/* ---- analyze ------------------------------------------------------------ */

void hb_report_analyze(const struct hb_analysis *a)
{
	const struct hb_analyze_cfg *cfg = a->cfg;
	const struct hb_false_alarm *fa = &a->fa;
	char iv[32], to[32], b[48];

	if (cfg->json) {
		cJSON *doc = pk_json_envelope("heartbeat", "analyze", NULL, NULL, pk_wall_ns());
		cJSON *sum;
		if (doc == NULL)
			return;
		sum = cJSON_AddObjectToObject(doc, "summary");
		cJSON_AddItemToObject(sum, "false_alarm",
		                      json_false_alarm_of(cfg->loss, 1, fa, &a->run,
		                                          cfg->interval_ns, cfg->timeout_ns));
		pk_json_print(stdout, doc, 0);
		cJSON_Delete(doc);
		pk_out_flush(stdout);
		return;
	}
	pk_fmt_duration(cfg->interval_ns, iv, sizeof iv);
	pk_fmt_duration(cfg->timeout_ns, to, sizeof to);
	printf("k-miss false alarms at %.6g%% independent loss, K=%u, every %s, timeout %s",
	       100.0 * cfg->loss, fa->k, iv, to);
	if (fa->extra)
		printf(" (timeout spans %u more heartbeats: K+%u losses needed)", fa->extra,
		       fa->extra);
	printf("\n");
	printf("per heartbeat: %.4g%% = (1-p) p^%u\n", 100.0 * fa->per_beat, fa->k + fa->extra);
	printf("per hour: %.4g, per day: %.4g\n", fa->per_hour, fa->per_day);
	if (fa->k_day)
		printf("less than one per day from K=%u (%.3g per day)\n", fa->k_day,
		       fa->k_day_per_day);
	else
		printf("no K up to %d gives less than one per day\n", HB_K_SEARCH_MAX);
	printf("over %" PRIu64 " heartbeats (a run may start at the first):\n", a->run.n);
	printf("  at least one false down: %s exactly", prob_str(a->run.any, b, sizeof b));
	printf(" (1-(1-q)^N would say %s)\n", prob_str(a->run.any_approx, b, sizeof b));
	printf("  none: %.6g\n", a->run.none);
	printf("  expected false downs: %.6g\n", a->run.expected);
	if (isfinite(a->run.mean_first))
		printf("  mean heartbeats to the first: %.6g\n", a->run.mean_first);
	printf("  smallest K with P(at least one) below %s: ",
	       prob_str(a->run.budget, b, sizeof b));
	if (a->run.k_budget)
		printf("%u (%s)\n", a->run.k_budget, prob_str(a->run.k_budget_any, b, sizeof b));
	else
		printf("none up to %d\n", HB_K_SEARCH_MAX);
	pk_out_flush(stdout);
}
