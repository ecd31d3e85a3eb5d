/* All printing of `heartbeat client`: per-heartbeat lines, verdicts, the
 * summary, JSON and CSV. (The server's printing is in hb_report_srv.c.)
 */
#include "hb.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "pk_opt.h"
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

static int64_t offset(const struct hb_client *c)
{
	return c->start_wall_ns - c->start_ns;
}

/* Human lines go to stdout, unless stdout carries JSON or CSV. */
static FILE *human(const struct hb_client *c)
{
	return c->cfg->csv ? stderr : stdout;
}

static int lines_on(const struct hb_client *c)
{
	return !c->cfg->json && !c->cfg->csv;
}

static void stamp(const struct hb_client *c, FILE *f, int64_t mono)
{
	if (c->cfg->timestamps) {
		int64_t w = mono + offset(c);
		fprintf(f, "[%" PRId64 ".%06" PRId64 "] ", (int64_t)(w / PK_NS_PER_S),
		        (int64_t)((w % PK_NS_PER_S) / 1000));
	}
}

void hb_report_client_start(const struct hb_client *c)
{
	char addr[80], iv[32], to[32];

	if (!lines_on(c))
		return;
	printf("HEARTBEAT %s (%s): every %s, timeout %s, down after %u misses "
	       "(detector %s; phi threshold %g)\n", c->cfg->host,
	       pk_addr_str(&c->peer, addr, sizeof addr),
	       pk_fmt_duration(c->cfg->interval_ns, iv, sizeof iv),
	       pk_fmt_duration(c->cfg->timeout_ns, to, sizeof to), c->cfg->misses,
	       det_name[c->cfg->detector], c->cfg->phi_threshold);
	fflush(stdout);
}

void hb_report_reply(struct hb_client *c, uint64_t seq, int64_t rtt_ns,
                     double diff_s, int late, int dup)
{
	char addr[80];

	if (!lines_on(c) || c->cfg->quiet)
		return;
	stamp(c, stdout, pk_now_ns());
	printf("%sreply from %s: seq=%" PRIu64 " time=%.3f ms diff=%.3f ms%s\n",
	       dup ? "duplicate " : late ? "late " : "",
	       pk_addr_str(&c->peer, addr, sizeof addr), seq, pk_ns_to_ms(rtt_ns),
	       diff_s * 1e3, late && !dup ? " (after its timeout)" : "");
	fflush(stdout);
}

void hb_report_decided(struct hb_client *c, const struct pk_seq_slot *s)
{
	if (s->status == PK_SEQ_OK || !lines_on(c) || c->cfg->quiet)
		return;
	stamp(c, stdout, s->sent_ns + c->track.timeout_ns);
	printf("seq=%" PRIu64 " timed out\n", s->seq);
	fflush(stdout);
}

static void verdict_detail(const struct hb_client *c, enum hb_detector d,
                           int64_t now, char *buf, size_t cap)
{
	char last[32];
	const struct hb_kmiss *k = &c->kmiss;
	const struct hb_phi *p = &c->phi;

	if (d == HB_DET_KMISS)
		snprintf(buf, cap, "no reply to %u consecutive heartbeats (seq %" PRIu64
		         "..%" PRIu64 ")", k->run, k->first_miss, k->first_miss + k->run - 1);
	else
		snprintf(buf, cap, "phi %.2f >= %g (gap mean %.3f s, sd %.3f s)",
		         hb_phi_value(p, now), p->threshold, p->mean_ns / 1e9, p->sd_ns / 1e9);
	if (k->last_ok_ns >= 0) {
		size_t n = strlen(buf);
		snprintf(buf + n, cap - n, ", last reply %s (%.3f s ago)",
		         hb_clock_str(offset(c), k->last_ok_ns, last, sizeof last),
		         pk_ns_to_s(now - k->last_ok_ns));
	} else {
		size_t n = strlen(buf);
		snprintf(buf + n, cap - n, ", no reply ever");
	}
}

void hb_report_verdict(struct hb_client *c, enum hb_detector d,
                       enum hb_change ch, int64_t now)
{
	FILE *f = human(c);
	char detail[256] = "";

	if (c->cfg->json)
		return;
	if (ch == HB_WENT_DOWN)
		verdict_detail(c, d, now, detail, sizeof detail);
	else if (c->v[d].n > 0) {
		const struct hb_outage *o = &c->v[d].list[c->v[d].n - 1];
		snprintf(detail, sizeof detail, "down for %.3f s, silent for %.3f s",
		         pk_ns_to_s(now - o->down_ns),
		         o->last_reply_ns >= 0 ? pk_ns_to_s(now - o->last_reply_ns)
		                               : pk_ns_to_s(now - c->start_ns));
	}
	stamp(c, f, now);
	if (c->cfg->detector == d)
		fprintf(f, "server %s: %s\n", ch == HB_WENT_DOWN ? "down" : "up", detail);
	else
		fprintf(f, "%s verdict: %s: %s\n", det_name[d],
		        ch == HB_WENT_DOWN ? "down" : "up", detail);
	fflush(f);
}

/* ---- summary ------------------------------------------------------------ */

static double observed_loss(const struct hb_client *c, uint64_t *decided)
{
	const struct pk_seqtrack *t = &c->track;
	uint64_t missed = t->lost + t->late;

	*decided = t->ok + missed;
	return *decided ? (double)missed / (double)*decided : 0.0;
}

static void totals(const struct hb_client *c, struct pk_ping_totals *t)
{
	pk_ping_totals_of(t, &c->track, c->end_ns - c->start_ns);
	if (c->cur_run > t->longest_loss_run)
		t->longest_loss_run = c->cur_run;
}

static void print_detector(FILE *f, const struct hb_client *c, enum hb_detector d)
{
	const struct hb_verdicts *v = &c->v[d];
	char a[32], b[32];

	if (d == HB_DET_KMISS)
		fprintf(f, "detector kmiss (K=%u)", c->cfg->misses);
	else
		fprintf(f, "detector phi (threshold %g)", c->phi.threshold);
	fprintf(f, "%s: %" PRIu64 " down, %" PRIu64 " up, ended %s\n",
	        c->cfg->detector == d ? " [acting]" : "", v->downs, v->ups,
	        v->down ? "down" : "up");
	for (uint32_t i = 0; i < v->n; i++) {
		const struct hb_outage *o = &v->list[i];
		int64_t from = o->last_reply_ns >= 0 ? o->last_reply_ns : c->start_ns;
		fprintf(f, "  outage %u: down %s (%.3f s after the last reply)", i + 1,
		        hb_clock_str(offset(c), o->down_ns, a, sizeof a),
		        pk_ns_to_s(o->down_ns - from));
		if (o->up_ns >= 0)
			fprintf(f, ", up %s, %.3f s without replies\n",
			        hb_clock_str(offset(c), o->up_ns, b, sizeof b),
			        pk_ns_to_s(o->up_ns - from));
		else
			fprintf(f, ", still down at the end\n");
	}
}

static void print_false_alarm(FILE *f, const struct hb_client *c)
{
	struct hb_false_alarm fa;
	uint64_t n;
	double p = observed_loss(c, &n);
	char iv[32];

	if (n == 0)
		return;
	hb_false_alarm(p, c->cfg->misses, c->cfg->interval_ns, c->cfg->timeout_ns, &fa);
	if (!fa.valid) {
		fprintf(f, "false alarms: no estimate (no reply at all)\n");
		return;
	}
	fprintf(f, "false alarms at %.1f%% loss, K=%u, every %s", 100.0 * p, fa.k,
	        pk_fmt_duration(c->cfg->interval_ns, iv, sizeof iv));
	if (fa.extra)
		fprintf(f, " (timeout spans %u more heartbeats)", fa.extra);
	fprintf(f, ": %.3g%% per heartbeat, %.3g spurious 'server down' per hour;",
	        100.0 * fa.per_beat, fa.per_hour);
	if (fa.k_day)
		fprintf(f, " K=%u gives %.3g per day\n", fa.k_day, fa.k_day_per_day);
	else
		fprintf(f, " no K up to %d gives less than one per day\n", HB_K_SEARCH_MAX);
}

static void print_summary(FILE *f, const struct hb_client *c)
{
	struct pk_ping_totals t;
	struct pk_rtt_ms r;

	totals(c, &t);
	pk_rtt_ms(&c->rtt, &r);
	pk_report_ping_summary(f, c->cfg->host, "heartbeat", &t, &r);
	if (c->diff.n > 0)
		fprintf(f, "server time_diff min/avg/max = %.3f/%.3f/%.3f ms\n",
		        c->diff.min, c->diff.mean, c->diff.max);
	fprintf(f, "loss runs: longest %" PRIu64 ";", t.longest_loss_run);
	for (int i = 1; i <= HB_RUNHIST; i++)
		if (c->runhist[i])
			fprintf(f, " %d%s:%" PRIu64, i, i == HB_RUNHIST ? "+" : "", c->runhist[i]);
	fputc('\n', f);
	if (c->bad_replies || c->track.unknown)
		fprintf(f, "malformed replies %" PRIu64 ", unknown replies %" PRIu64 "\n",
		        c->bad_replies, c->track.unknown);
	print_detector(f, c, HB_DET_KMISS);
	print_detector(f, c, HB_DET_PHI);
	print_false_alarm(f, c);
}

/* ---- JSON and CSV ----------------------------------------------------- */

static const char *status_str(uint8_t st)
{
	return st == PK_SEQ_OK ? "ok" : st == PK_SEQ_LATE ? "late" : "lost";
}

static void print_csv(const struct hb_client *c)
{
	static const char *const cols[] = { "seq", "sent_s", "status", "rtt_ms",
		"time_diff_ms" };

	pk_csv_header(stdout, cols, sizeof cols / sizeof cols[0]);
	for (uint64_t i = 0; i < c->samples.n; i++) {
		const struct hb_sample *x = pk_samples_at(&c->samples, i);
		pk_csv_uint(stdout, i, 0);
		pk_csv_num(stdout, pk_ns_to_s(x->sent_ns - c->start_ns), 1, 0);
		pk_csv_str(stdout, status_str(x->status), 0);
		pk_csv_num(stdout, pk_ns_to_ms(x->rtt_ns), x->rtt_ns >= 0, 0);
		pk_csv_num(stdout, x->diff_s * 1e3, !isnan(x->diff_s), 1);
	}
}

static cJSON *json_samples(const struct hb_client *c)
{
	cJSON *a = cJSON_CreateArray();

	for (uint64_t i = 0; a && i < c->samples.n; i++) {
		const struct hb_sample *x = pk_samples_at(&c->samples, i);
		cJSON *o = cJSON_CreateObject();
		if (o == NULL)
			break;
		cJSON_AddNumberToObject(o, "seq", (double)i);
		cJSON_AddNumberToObject(o, "sent_s", pk_ns_to_s(x->sent_ns - c->start_ns));
		cJSON_AddStringToObject(o, "status", status_str(x->status));
		pk_json_num(o, "rtt_ms", pk_ns_to_ms(x->rtt_ns), x->rtt_ns >= 0);
		pk_json_num(o, "time_diff_ms", x->diff_s * 1e3, !isnan(x->diff_s));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *json_outages(const struct hb_client *c, enum hb_detector d)
{
	cJSON *a = cJSON_CreateArray();
	const struct hb_verdicts *v = &c->v[d];

	for (uint32_t i = 0; a && i < v->n; i++) {
		const struct hb_outage *o = &v->list[i];
		int64_t from = o->last_reply_ns >= 0 ? o->last_reply_ns : c->start_ns;
		cJSON *x = cJSON_CreateObject();
		if (x == NULL)
			break;
		pk_json_num(x, "last_reply_s", pk_ns_to_s(o->last_reply_ns - c->start_ns),
		            o->last_reply_ns >= 0);
		cJSON_AddNumberToObject(x, "down_s", pk_ns_to_s(o->down_ns - c->start_ns));
		pk_json_num(x, "up_s", pk_ns_to_s(o->up_ns - c->start_ns), o->up_ns >= 0);
		cJSON_AddNumberToObject(x, "detect_s", pk_ns_to_s(o->down_ns - from));
		pk_json_num(x, "duration_s", pk_ns_to_s(o->up_ns - from), o->up_ns >= 0);
		cJSON_AddItemToArray(a, x);
	}
	return a;
}

static cJSON *json_detector(const struct hb_client *c, enum hb_detector d)
{
	const struct hb_verdicts *v = &c->v[d];
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddBoolToObject(o, "acting", c->cfg->detector == d);
	if (d == HB_DET_KMISS) {
		cJSON_AddNumberToObject(o, "misses", c->cfg->misses);
	} else {
		cJSON_AddNumberToObject(o, "threshold", c->phi.threshold);
		cJSON_AddNumberToObject(o, "gap_mean_ms", c->phi.mean_ns / 1e6);
		cJSON_AddNumberToObject(o, "gap_sd_ms", c->phi.sd_ns / 1e6);
	}
	cJSON_AddNumberToObject(o, "downs", (double)v->downs);
	cJSON_AddNumberToObject(o, "ups", (double)v->ups);
	cJSON_AddStringToObject(o, "final_state", v->down ? "down" : "up");
	cJSON_AddItemToObject(o, "outages", json_outages(c, d));
	return o;
}

static cJSON *json_false_alarm(const struct hb_client *c)
{
	struct hb_false_alarm fa;
	uint64_t n;
	double p = observed_loss(c, &n);
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	hb_false_alarm(p, c->cfg->misses, c->cfg->interval_ns, c->cfg->timeout_ns, &fa);
	fa.valid = fa.valid && n > 0;
	pk_json_num(o, "loss_percent", 100.0 * p, n > 0);
	cJSON_AddNumberToObject(o, "misses", fa.k);
	cJSON_AddNumberToObject(o, "extra_misses", fa.extra);
	cJSON_AddNumberToObject(o, "interval_ms", pk_ns_to_ms(c->cfg->interval_ns));
	cJSON_AddNumberToObject(o, "timeout_ms", pk_ns_to_ms(c->cfg->timeout_ns));
	pk_json_num(o, "per_heartbeat", fa.per_beat, fa.valid);
	pk_json_num(o, "per_hour", fa.per_hour, fa.valid);
	pk_json_num(o, "per_day", fa.per_day, fa.valid);
	pk_json_num(o, "misses_for_less_than_one_per_day", fa.k_day,
	            fa.valid && fa.k_day > 0);
	return o;
}

static void json_summary(cJSON *s, const struct hb_client *c)
{
	struct pk_ping_totals t;
	struct pk_rtt_ms r;
	cJSON *o, *h;

	totals(c, &t);
	pk_rtt_ms(&c->rtt, &r);
	pk_json_ping_summary(s, &t, &r);
	o = cJSON_AddObjectToObject(s, "time_diff_ms");
	pk_json_num(o, "min", c->diff.min, c->diff.n > 0);
	pk_json_num(o, "avg", c->diff.mean, c->diff.n > 0);
	pk_json_num(o, "max", c->diff.max, c->diff.n > 0);
	o = cJSON_AddObjectToObject(s, "loss_runs");
	cJSON_AddNumberToObject(o, "longest", (double)t.longest_loss_run);
	h = cJSON_AddObjectToObject(o, "histogram");
	for (int i = 1; i <= HB_RUNHIST; i++) {
		char k[16];
		snprintf(k, sizeof k, "%d%s", i, i == HB_RUNHIST ? "+" : "");
		if (c->runhist[i])
			cJSON_AddNumberToObject(h, k, (double)c->runhist[i]);
	}
	cJSON_AddNumberToObject(s, "elapsed_ms", pk_ns_to_ms(t.elapsed_ns));
	cJSON_AddNumberToObject(s, "malformed_replies", (double)c->bad_replies);
	cJSON_AddNumberToObject(s, "icmp_errors", (double)c->icmp_errors);
	cJSON_AddNumberToObject(s, "send_errors", (double)c->send_errors);
	cJSON_AddNumberToObject(s, "unknown_replies", (double)c->track.unknown);
	cJSON_AddStringToObject(s, "final_state", c->v[c->cfg->detector].down ? "down" : "up");
	cJSON_AddBoolToObject(s, "interrupted", c->stop.signo != 0);
	cJSON_AddItemToObject(s, "false_alarm", json_false_alarm(c));
	o = cJSON_AddObjectToObject(s, "detectors");
	cJSON_AddItemToObject(o, "kmiss", json_detector(c, HB_DET_KMISS));
	cJSON_AddItemToObject(o, "phi", json_detector(c, HB_DET_PHI));
	cJSON_AddItemToObject(s, "outages", json_outages(c, c->cfg->detector));
}

static void print_json(struct hb_client *c)
{
	cJSON *doc = pk_json_doc("heartbeat", c->cfg->host, &c->peer, c->start_wall_ns);
	cJSON *cfg, *sum;

	if (doc == NULL)
		return;
	cJSON_AddNumberToObject(doc, "interval_ms", pk_ns_to_ms(c->cfg->interval_ns));
	cJSON_AddNumberToObject(doc, "timeout_ms", pk_ns_to_ms(c->cfg->timeout_ns));
	cfg = cJSON_AddObjectToObject(doc, "config");
	cJSON_AddNumberToObject(cfg, "count", (double)c->cfg->count);
	cJSON_AddNumberToObject(cfg, "misses", c->cfg->misses);
	cJSON_AddStringToObject(cfg, "detector", det_name[c->cfg->detector]);
	cJSON_AddNumberToObject(cfg, "phi_threshold", c->cfg->phi_threshold);
	cJSON_AddBoolToObject(cfg, "keep_going", c->cfg->keep_going);
	sum = cJSON_AddObjectToObject(doc, "summary");
	json_summary(sum, c);
	cJSON_AddItemToObject(doc, "samples", json_samples(c));
	cJSON_AddNumberToObject(doc, "samples_dropped", (double)c->samples.dropped);
	pk_json_print(stdout, doc, 0);
	cJSON_Delete(doc);
}

void hb_report_client_end(struct hb_client *c)
{
	if (c->cfg->json) {
		print_json(c);
	} else if (c->cfg->csv) {
		print_csv(c);
		if (!c->cfg->quiet)
			print_summary(stderr, c);
	} else {
		print_summary(stdout, c);
	}
	fflush(stdout);
}
