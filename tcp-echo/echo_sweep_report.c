/* tcp-echo: printing of sweeps (table, JSON, CSV); the plot is echo_plot.c's. */
#include "echo_report.h"
#include "pk_clock.h"
#include "pk_opt.h"
#include "pk_out.h"
#include "pk_report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double ns_s(int64_t ns) { return (double)ns / 1e9; }

void echo_report_sweep_session(const struct echo_report *r, const struct echo_point *p,
                               unsigned session, const struct echo_result *res)
{
	char d[32];
	uint64_t n = res->echoed;
	double sum = 0;

	if (r->quiet || r->json || r->csv)
		return;
	for (uint64_t i = 0; i < n; i++)
		sum += (double)res->rtt_ns[i];
	if (r->stamp)
		pk_out_stamp(r->out);
	fprintf(r->out, "delay %s, %" PRIu64 " bytes, session %u: %" PRIu64
	        " probes, rtt avg %.3f ms\n", pk_fmt_duration(p->delay_ns, d, sizeof d),
	        p->size, session, n, n ? sum / (double)n / 1e6 : 0.0);
	pk_out_flush(r->out);
}

void echo_report_sweep(const struct echo_report *r, const struct echo_sweep_result *sr)
{
	const struct echo_client_cfg *cfg = sr->cfg;
	const struct echo_point *pts = sr->pts;
	const struct echo_fit *fits = sr->fits;
	size_t npts = sr->npts, nfits = sr->nfits;
	FILE *f = r->csv ? stderr : r->out;     /* under --csv the table is on stderr */

	fprintf(f, "\n--- %s tcp-echo %s sweep: %zu points, %u session(s) of %" PRIu64
	        " probes each, window %u ---\n", cfg->host, echo_mtype_name(cfg->type), npts,
	        cfg->repeat, cfg->probes, cfg->window);
	fprintf(f, "%9s %9s %7s %10s %10s %10s %10s %10s %10s %12s %12s\n",
	        "delay_s", "size_B", "probes", "rtt_avg", "rtt_min", "rtt_max", "rtt_mdev",
	        "rtt_p50", "rtt_p99", "tput_Mbps", "goodput_Mbps");
	for (size_t i = 0; i < npts; i++) {
		const struct echo_figures *g = &pts[i].fig;
		if (g->n == 0) {                /* not measured (interrupted or failed) */
			fprintf(f, "%9.3f %9" PRIu64 " %7d %10s %10s %10s %10s %10s %10s %12s %12s\n",
			        ns_s(pts[i].delay_ns), pts[i].size, 0, "-", "-", "-", "-", "-", "-",
			        "-", "-");
			continue;
		}
		fprintf(f, "%9.3f %9" PRIu64 " %7" PRIu64 " %10.3f %10.3f %10.3f %10.3f %10.3f"
		        " %10.3f %12.3f %12.3f\n", ns_s(pts[i].delay_ns), pts[i].size, g->n,
		        g->rtt.avg, g->rtt.min, g->rtt.max, g->rtt.mdev, g->rtt.p50, g->rtt.p99,
		        g->tput_mbps[EF_MEAN], g->goodput_mbps);
	}
	fprintf(f, "(rtt in ms; tput: mean of 8 x size / RTT per probe)\n");
	fprintf(f, "least-squares fit RTT = a + b x size (95%% intervals):\n");
	for (size_t i = 0; i < nfits; i++) {
		char line[512];
		echo_fit_text(&fits[i], line, sizeof line);
		fprintf(f, "%s\n", line);
	}
	pk_out_flush(f);
}

char *echo_fit_text(const struct echo_fit *ft, char *buf, size_t cap)
{
	char d[32];

	pk_fmt_duration(ft->delay_ns, d, sizeof d);
	if (!ft->valid)
		snprintf(buf, cap, "delay %s: no fit (needs two sizes)", d);
	else if (!ft->significant)
		snprintf(buf, cap, "delay %s: base latency a = %.3f ms; size has no measurable effect"
		         " on this path (slope %.3g +- %.2g ms/B, r2 %.3f), %zu samples", d,
		         ft->a_ms, ft->b_ms_per_byte, ft->b_ci_ms_per_byte, ft->r2, ft->n);
	else
		snprintf(buf, cap, "delay %s: base latency a = %.3f +- %.3f ms, bandwidth 1/b = %.4g"
		         " Mbit/s (%.4g..%.4g), r2 %.3f, %zu samples", d, ft->a_ms, ft->a_ci_ms,
		         ft->bandwidth_mbps, ft->bw_lo_mbps, ft->bw_hi_mbps, ft->r2, ft->n);
	return buf;
}

cJSON *echo_json_point(const struct echo_point *p)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "server_delay_s", ns_s(p->delay_ns));
	cJSON_AddNumberToObject(o, "size_bytes", (double)p->size);
	cJSON_AddNumberToObject(o, "sessions", p->sessions);
	cJSON_AddNumberToObject(o, "probes", (double)p->fig.n);
	cJSON_AddItemToObject(o, "rtt_ms", pk_json_rtt(&p->fig.rtt));
	cJSON_AddItemToObject(o, "throughput_mbps", echo_json_tput(p->fig.tput_mbps, p->fig.n > 0));
	pk_json_num(o, "goodput_mbps", p->fig.goodput_mbps, p->fig.n > 0);
	return o;
}

static cJSON *json_fit(const struct echo_fit *f)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "server_delay_s", ns_s(f->delay_ns));
	cJSON_AddNumberToObject(o, "samples", (double)f->n);
	pk_json_num(o, "base_latency_ms", f->a_ms, f->valid);
	pk_json_num(o, "slope_ms_per_byte", f->b_ms_per_byte, f->valid);
	pk_json_num(o, "bandwidth_mbps", f->bandwidth_mbps, f->significant);
	pk_json_num(o, "r2", f->r2, f->valid);
	pk_json_num(o, "base_latency_ci95_ms", f->a_ci_ms, f->valid && isfinite(f->a_ci_ms));
	pk_json_num(o, "slope_ci95_ms_per_byte", f->b_ci_ms_per_byte,
	            f->valid && isfinite(f->b_ci_ms_per_byte));
	pk_json_num(o, "bandwidth_lo_mbps", f->bw_lo_mbps, f->significant);
	pk_json_num(o, "bandwidth_hi_mbps", f->bw_hi_mbps, f->significant);
	cJSON_AddBoolToObject(o, "significant", f->significant);
	return o;
}

cJSON *echo_json_sweep_summary(const struct echo_sweep_result *sr)
{
	const struct echo_client_cfg *cfg = sr->cfg;
	cJSON *sum = cJSON_CreateObject();
	cJSON *ap, *af;

	cJSON_AddStringToObject(sum, "mode", cfg->type == ECHO_RTT ? "rtt" : "ttput");
	cJSON_AddNumberToObject(sum, "probes", (double)cfg->probes);
	cJSON_AddNumberToObject(sum, "repeat", cfg->repeat);
	cJSON_AddNumberToObject(sum, "window", cfg->window);
	ap = cJSON_AddArrayToObject(sum, "points");
	for (size_t i = 0; i < sr->npts; i++)
		cJSON_AddItemToArray(ap, echo_json_point(&sr->pts[i]));
	af = cJSON_AddArrayToObject(sum, "fit");
	for (size_t i = 0; i < sr->nfits; i++)
		cJSON_AddItemToArray(af, json_fit(&sr->fits[i]));
	return sum;
}

void echo_json_sweep_samples(cJSON *arr, const struct echo_sweep_result *sr, const char *mode)
{
	const struct echo_point *pts = sr->pts;
	uint64_t seq = (uint64_t)cJSON_GetArraySize(arr);   /* seq: running over the document */

	for (size_t i = 0; i < sr->npts; i++) {
		for (uint64_t k = 0; k < pts[i].fig.n; k++) {
			int64_t rtt = pts[i].rtt_ns[k];
			cJSON *s = pk_json_sample(seq++, pts[i].wall_ns ? pts[i].wall_ns[k]
			                                                 : sr->start_wall_ns);
			if (mode != NULL)
				cJSON_AddStringToObject(s, "mode", mode);
			cJSON_AddNumberToObject(s, "server_delay_s", ns_s(pts[i].delay_ns));
			cJSON_AddNumberToObject(s, "size_bytes", (double)pts[i].size);
			cJSON_AddNumberToObject(s, "index", (double)k);
			cJSON_AddNumberToObject(s, "rtt_ms", (double)rtt / 1e6);
			cJSON_AddNumberToObject(s, "throughput_mbps",
			                        rtt > 0 ? 8e3 * (double)pts[i].size / (double)rtt : 0.0);
			cJSON_AddItemToArray(arr, s);
		}
	}
}

cJSON *echo_sweep_doc(const struct echo_sweep_result *sr, const char *error)
{
	cJSON *doc = pk_json_envelope("tcp-echo", "client", sr->cfg->host,
	                              sr->peer.len ? &sr->peer : NULL, sr->start_wall_ns);

	cJSON_AddItemToObject(doc, "summary", echo_json_sweep_summary(sr));
	echo_json_sweep_samples(cJSON_AddArrayToObject(doc, "samples"), sr, NULL);
	if (error && error[0])
		cJSON_AddStringToObject(doc, "error", error);
	return doc;
}

static const char *const csv_cols[] = {
	"server_delay_s", "size_bytes", "sessions", "probes",
	"rtt_avg_ms", "rtt_min_ms", "rtt_max_ms", "rtt_mdev_ms", "rtt_p50_ms", "rtt_p99_ms",
	"throughput_avg_mbps", "throughput_min_mbps", "throughput_max_mbps",
	"throughput_mdev_mbps", "throughput_p50_mbps", "throughput_p99_mbps",
	"goodput_mbps",
};

static void csv_row(FILE *f, const struct echo_point *p)
{
	const struct echo_figures *g = &p->fig;
	int ok = g->n > 0;

	pk_csv_num(f, ns_s(p->delay_ns), 1, 0);
	pk_csv_uint(f, p->size, 0);
	pk_csv_uint(f, p->sessions, 0);
	pk_csv_uint(f, g->n, 0);
	pk_csv_num(f, g->rtt.avg, ok, 0);
	pk_csv_num(f, g->rtt.min, ok, 0);
	pk_csv_num(f, g->rtt.max, ok, 0);
	pk_csv_num(f, g->rtt.mdev, ok, 0);
	pk_csv_num(f, g->rtt.p50, ok, 0);
	pk_csv_num(f, g->rtt.p99, ok, 0);
	pk_csv_num(f, g->tput_mbps[EF_MEAN], ok, 0);
	pk_csv_num(f, g->tput_mbps[EF_MIN], ok, 0);
	pk_csv_num(f, g->tput_mbps[EF_MAX], ok, 0);
	pk_csv_num(f, g->tput_mbps[EF_SD], ok, 0);
	pk_csv_num(f, g->tput_mbps[EF_P50], ok, 0);
	pk_csv_num(f, g->tput_mbps[EF_P99], ok, 0);
	pk_csv_num(f, g->goodput_mbps, ok, 1);
}

void echo_report_sweep_csv_header(const struct echo_report *r)
{
	pk_csv_header(r->out, csv_cols, sizeof csv_cols / sizeof csv_cols[0]);
	pk_out_flush(r->out);
}

void echo_report_sweep_point(const struct echo_report *r, const struct echo_point *p,
                             uint64_t index)
{
	if (r->csv) {
		csv_row(r->out, p);
		pk_out_flush(r->out);
	} else if (r->stream) {
		cJSON *o = echo_json_point(p);
		pk_json_time(o, "time", pk_wall_ns());
		cJSON_AddNumberToObject(o, "seq", (double)index);
		pk_json_stream_event(r->out, "sample", o);
		cJSON_Delete(o);
	}
}

int echo_report_sweep_csv(const char *path, const struct echo_point *pts, size_t npts)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");

	if (f == NULL)
		return -errno;
	pk_csv_header(f, csv_cols, sizeof csv_cols / sizeof csv_cols[0]);
	for (size_t i = 0; i < npts; i++)
		csv_row(f, &pts[i]);
	if (f == stdout)
		return pk_out_flush(f);
	return fclose(f) == 0 ? 0 : -EIO;
}
