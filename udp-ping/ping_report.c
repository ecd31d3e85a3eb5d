/* udp-ping: all printing. Text follows ping; JSON, the stream and CSV
 * follow docs/OUTPUT.md (details in docs/udp-ping.md). */
#include "ping.h"
#include "pk_clock.h"
#include "pk_opt.h"
#include "pk_out.h"
#include "pk_report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const status_names[] = {
	[PK_SEQ_NONE] = "lost", [PK_SEQ_PENDING] = "lost", [PK_SEQ_OK] = "ok",
	[PK_SEQ_LOST] = "lost", [PK_SEQ_LATE] = "late",
};
static const char *const clock_names[] = { "monotonic", "kernel" };

/* A line of the server: stdout until a write there fails (then the server
 * says so once and goes on serving: ping_server.c's check_output). */
static void server_line(const struct ping_server_cfg *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void server_line(const struct ping_server_cfg *cfg, const char *fmt, ...)
{
	va_list ap;

	if (cfg->stamp)
		pk_out_stamp(stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* A stream record of the server, without pk_out_flush's SIGPIPE death. */
static void server_record(const char *event, const cJSON *data)
{
	char *txt = cJSON_PrintUnformatted(data);

	if (txt == NULL)
		return;
	printf("{\"event\":\"%s\",\"data\":%s}\n", event, txt);
	free(txt);
	fflush(stdout);
}

void ping_report_server_start(const struct ping_server_cfg *cfg, const struct pk_addr *local,
                              uint64_t seed)
{
	/* the banner: stdout in text, stderr under -J and --json-stream */
	FILE *f = cfg->output == PING_OUT_TEXT ? stdout : stderr;
	char addr[80];

	fprintf(f, "udp-ping server listening on %s, loss %.2f, seed %" PRIu64 ", rate limit ",
	        pk_addr_str(local, addr, sizeof addr), cfg->loss, seed);
	if (cfg->rate_limit > 0)
		fprintf(f, "%g/s per source\n", cfg->rate_limit);
	else
		fprintf(f, "off\n");
	fflush(f);
	if (cfg->output == PING_OUT_STREAM) {
		cJSON *d = pk_json_envelope("udp-ping", "server", NULL, local, pk_wall_ns());

		if (d != NULL)
			server_record("start", d);
		cJSON_Delete(d);
		d = cJSON_CreateObject();
		if (d != NULL) {
			pk_json_time(d, "time", pk_wall_ns());
			cJSON_AddStringToObject(d, "address", pk_addr_host(local, addr, sizeof addr));
			cJSON_AddNumberToObject(d, "port", pk_addr_port(local));
			server_record("listening", d);
		}
		cJSON_Delete(d);
	}
}

void ping_report_datagram(const struct ping_server_cfg *cfg, uint64_t n, int64_t wall_ns,
                          const struct pk_addr *from, const void *buf, size_t len,
                          const char *verdict)
{
	char addr[80], text[256];

	if (cfg->output == PING_OUT_TEXT) {
		server_line(cfg, "%s %zu bytes \"%s\" %s", pk_addr_str(from, addr, sizeof addr), len,
		            pk_escape(buf, len, 80, text, sizeof text), verdict);
	} else if (cfg->output == PING_OUT_STREAM) {
		cJSON *d = pk_json_sample(n, wall_ns);

		if (d == NULL)
			return;
		cJSON_AddStringToObject(d, "address", pk_addr_host(from, addr, sizeof addr));
		cJSON_AddNumberToObject(d, "port", pk_addr_port(from));
		cJSON_AddNumberToObject(d, "size_bytes", (double)len);
		cJSON_AddStringToObject(d, "verdict", verdict);
		server_record("sample", d);
		cJSON_Delete(d);
	}
}

void ping_report_client_seen(const struct ping_server_cfg *cfg, cJSON *events, int64_t wall_ns,
                             const struct pk_addr *from, int print)
{
	char addr[80];
	cJSON *e = cJSON_CreateObject();

	if (e == NULL)
		return;
	cJSON_AddStringToObject(e, "event", "client_seen");
	pk_json_time(e, "time", wall_ns);
	cJSON_AddStringToObject(e, "address", pk_addr_host(from, addr, sizeof addr));
	cJSON_AddNumberToObject(e, "port", pk_addr_port(from));
	if (print && cfg->output == PING_OUT_STREAM) {
		cJSON *d = cJSON_Duplicate(e, 1);

		if (d != NULL) {
			cJSON_DeleteItemFromObject(d, "event");
			server_record("client_seen", d);
		}
		cJSON_Delete(d);
	}
	if (events != NULL)
		cJSON_AddItemToArray(events, e);
	else
		cJSON_Delete(e);
}

static void server_counters(char *buf, size_t cap, const struct ping_server_totals *t)
{
	snprintf(buf, cap, "%" PRIu64 " received, %" PRIu64 " replied, %" PRIu64
	         " dropped by simulation, %" PRIu64 " refused by rate limit, %" PRIu64
	         " refused by source, %" PRIu64 " refused as echoes, %" PRIu64
	         " send errors", t->received, t->replied, t->dropped, t->refused,
	         t->refused_source, t->refused_echo, t->errors);
}

void ping_report_server_totals(FILE *f, const struct ping_server_totals *t)
{
	char line[512];

	server_counters(line, sizeof line, t);
	fprintf(f, "\n--- udp-ping server statistics ---\n%s\n", line);
	fflush(f);
}

static cJSON *server_summary(const struct ping_server_cfg *cfg, uint64_t seed,
                             const struct ping_server_totals *t)
{
	cJSON *sum = cJSON_CreateObject();

	if (sum == NULL)
		return NULL;
	cJSON_AddNumberToObject(sum, "received", (double)t->received);
	cJSON_AddNumberToObject(sum, "replied", (double)t->replied);
	cJSON_AddNumberToObject(sum, "dropped", (double)t->dropped);
	cJSON_AddNumberToObject(sum, "refused_rate_limit", (double)t->refused);
	cJSON_AddNumberToObject(sum, "refused_source", (double)t->refused_source);
	cJSON_AddNumberToObject(sum, "refused_echo", (double)t->refused_echo);
	cJSON_AddNumberToObject(sum, "send_errors", (double)t->errors);
	cJSON_AddNumberToObject(sum, "received_bytes", (double)t->bytes);
	cJSON_AddNumberToObject(sum, "clients", (double)t->clients);
	cJSON_AddNumberToObject(sum, "loss", cfg->loss);
	{
		/* exact: a double would round a 64-bit seed */
		char num[32];

		snprintf(num, sizeof num, "%" PRIu64, seed);
		cJSON_AddRawToObject(sum, "seed", num);
	}
	cJSON_AddNumberToObject(sum, "rate_limit_pps", cfg->rate_limit);
	return sum;
}

void ping_report_server_interim(const struct ping_server_cfg *cfg,
                                const struct ping_server_totals *t)
{
	char line[512];

	server_counters(line, sizeof line, t);
	fprintf(stderr, "--- interim: %s\n", line);
	fflush(stderr);
	if (cfg->output == PING_OUT_STREAM) {
		cJSON *d = server_summary(cfg, 0, t);

		if (d != NULL) {
			cJSON_DeleteItemFromObject(d, "seed");
			pk_json_time(d, "time", pk_wall_ns());
			server_record("interim", d);
		}
		cJSON_Delete(d);
	}
}

void ping_report_server_doc(const struct ping_server_cfg *cfg, const struct pk_addr *local,
                            int64_t start_wall_ns, uint64_t seed,
                            const struct ping_server_totals *t, cJSON *events, const char *err)
{
	cJSON *doc = pk_json_envelope("udp-ping", "server", NULL, local, start_wall_ns);
	cJSON *sum = server_summary(cfg, seed, t);

	if (doc == NULL || sum == NULL) {
		cJSON_Delete(doc);
		cJSON_Delete(sum);
		return;
	}
	cJSON_AddItemToObject(doc, "summary", sum);
	cJSON_AddItemToObject(doc, "events", events ? cJSON_Duplicate(events, 1)
	                                             : cJSON_CreateArray());
	if (err != NULL)
		cJSON_AddStringToObject(doc, "error", err);
	if (cfg->output == PING_OUT_STREAM) {
		if (err != NULL) {
			/* failed before its start record: the stream still begins
			 * with one */
			cJSON *st = pk_json_envelope("udp-ping", "server", NULL, local, start_wall_ns);

			if (st != NULL)
				server_record("start", st);
			cJSON_Delete(st);
		}
		server_record("end", doc);
	} else {
		pk_json_print(stdout, doc, 0);
		fflush(stdout);
	}
	cJSON_Delete(doc);
}

static int text_lines(const struct ping_client_cfg *cfg)
{
	return cfg->output == PING_OUT_TEXT && !cfg->quiet;
}

/* The -J document's head: the envelope and the run's settings. */
static cJSON *client_envelope(const struct ping_client_cfg *cfg, const struct pk_addr *peer,
                              int64_t start_wall_ns)
{
	return pk_json_envelope("udp-ping", "client", cfg->host, peer, start_wall_ns);
}

void ping_report_client_start(const struct ping_client_cfg *cfg, const struct pk_addr *peer,
                              int64_t start_wall_ns)
{
	/* the banner: stdout in text, stderr under -J, --json-stream, --csv */
	FILE *f = cfg->output == PING_OUT_TEXT ? stdout : stderr;
	char addr[80], iv[32], to[32];

	fprintf(f, "UDP-PING %s (%s) port %u: ", cfg->host, pk_addr_host(peer, addr, sizeof addr),
	        (unsigned)pk_addr_port(peer));
	if (cfg->count)
		fprintf(f, "%" PRIu64 " pings", cfg->count);
	else
		fprintf(f, "pinging until interrupted");
	if (cfg->adaptive && cfg->min_gap_ns)
		fprintf(f, ", adaptive (next at the reply or timeout, at least %s apart)",
		        pk_fmt_duration(cfg->min_gap_ns, iv, sizeof iv));
	else if (cfg->adaptive)
		fprintf(f, ", adaptive (next at the reply or timeout)");
	else
		fprintf(f, ", interval %s", pk_fmt_duration(cfg->interval_ns, iv, sizeof iv));
	fprintf(f, ", timeout %s\n", pk_fmt_duration(cfg->timeout_ns, to, sizeof to));
	if (f == stdout)
		pk_out_flush(stdout);
	else
		fflush(f);
	if (cfg->output == PING_OUT_STREAM) {
		cJSON *d = client_envelope(cfg, peer, start_wall_ns);

		if (d != NULL)
			pk_json_stream_event(stdout, "start", d);
		cJSON_Delete(d);
	} else if (cfg->output == PING_OUT_CSV) {
		static const char *const cols[] = { "seq", "time", "status", "rtt_ms",
		                                    "size_bytes", "clock", "ttl", "tos" };

		pk_csv_header(stdout, cols, cfg->verbose ? 8 : 6);
		pk_out_flush(stdout);
	}
}

void ping_report_reply(const struct ping_client_cfg *cfg, const struct pk_rx *rx, uint64_t seq,
                       const void *buf, int64_t rtt_ns, int altered, int kind)
{
	char addr[80], text[256], extra[400], line[600];
	int n = 0;

	if (!text_lines(cfg))
		return;
	if (cfg->verbose && rx->tos >= 0)
		n = snprintf(extra, sizeof extra, "tos=0x%02x ", (unsigned)rx->tos);
	snprintf(extra + n, sizeof extra - (size_t)n, "\"%s\"%s%s",
	         pk_escape(buf, (size_t)rx->len, 64, text, sizeof text),
	         altered ? " (echo differs from the upper-cased request)" : "",
	         kind == 1 ? " (late)" : kind == 2 ? " (DUP!)" : "");
	pk_fmt_reply(line, sizeof line, (size_t)rx->len, pk_addr_host(&rx->from, addr, sizeof addr),
	             seq, cfg->verbose ? rx->ttl : -1, pk_ns_to_ms(rtt_ns), extra);
	pk_out_line(stdout, cfg->stamp, "%s", line);
}

void ping_report_timeout(const struct ping_client_cfg *cfg, uint64_t seq)
{
	if (!text_lines(cfg))
		return;
	pk_out_line(stdout, cfg->stamp, "no answer yet for seq=%" PRIu64, seq);
}

void ping_report_bad(const struct ping_client_cfg *cfg, const struct pk_addr *from,
                     const void *buf, size_t len)
{
	char addr[80], text[256];

	if (!text_lines(cfg))
		return;
	pk_out_line(stdout, cfg->stamp, "Unexpected datagram from %s: %zu bytes \"%s\"",
	            pk_addr_str(from, addr, sizeof addr), len,
	            pk_escape(buf, len, 64, text, sizeof text));
}

static cJSON *sample_json(const struct ping_client_cfg *cfg, const struct ping_sample *s)
{
	cJSON *o = pk_json_sample(s->seq, s->wall_ns);

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "status", status_names[s->status]);
	pk_json_num(o, "rtt_ms", pk_ns_to_ms(s->rtt_ns), s->rtt_ns >= 0);
	pk_json_num(o, "size_bytes", s->size, s->size >= 0);
	if (s->rtt_ns >= 0)
		cJSON_AddStringToObject(o, "clock", clock_names[s->clock]);
	if (cfg->verbose) {
		pk_json_num(o, "ttl", s->ttl, s->ttl >= 0);
		pk_json_num(o, "tos", s->tos, s->tos >= 0);
	}
	if (s->dups)
		cJSON_AddNumberToObject(o, "duplicates", s->dups);
	return o;
}

void ping_report_sample(const struct ping_client_cfg *cfg, const struct ping_sample *s)
{
	if (cfg->output == PING_OUT_STREAM) {
		cJSON *o = sample_json(cfg, s);

		if (o != NULL)
			pk_json_stream_event(stdout, "sample", o);
		cJSON_Delete(o);
	} else if (cfg->output == PING_OUT_CSV) {
		char iso[64];

		pk_csv_uint(stdout, s->seq, 0);
		pk_csv_str(stdout, pk_wall_iso(s->wall_ns, iso, sizeof iso), 0);
		pk_csv_str(stdout, status_names[s->status], 0);
		pk_csv_num(stdout, pk_ns_to_ms(s->rtt_ns), s->rtt_ns >= 0, 0);
		pk_csv_num(stdout, s->size, s->size >= 0, 0);
		pk_csv_str(stdout, s->rtt_ns >= 0 ? clock_names[s->clock] : "", !cfg->verbose);
		if (cfg->verbose) {
			pk_csv_num(stdout, s->ttl, s->ttl >= 0, 0);
			pk_csv_num(stdout, s->tos, s->tos >= 0, 1);
		}
		pk_out_flush(stdout);
	}
}

void ping_report_interim(const struct ping_client_cfg *cfg, const struct pk_ping_totals *t,
                         const struct pk_rtt_ms *r)
{
	pk_report_interim(stderr, t, r);
	if (cfg->output == PING_OUT_STREAM) {
		cJSON *d = cJSON_CreateObject();

		if (d != NULL) {
			pk_json_time(d, "time", pk_wall_ns());
			pk_json_ping_summary(d, t, r);
			pk_json_stream_event(stdout, "interim", d);
		}
		cJSON_Delete(d);
	}
}

static void result_text(FILE *f, const struct ping_result *r)
{
	pk_report_ping_summary(f, r->cfg->host, "udp-ping", &r->totals, &r->rtt);
	if (r->rtt.n > 0)
		fprintf(f, "receive times: %" PRIu64 " kernel timestamps, %" PRIu64
		        " monotonic clock\n", r->rx_kernel, r->rx_monotonic);
	if (r->rcvbuf_drops)
		fprintf(f, "%" PRIu64 " dropped by our own receive buffer (%d bytes): not packet loss;"
		        " %" PRIu64 " pings without a reply left out above, %" PRIu64 " sent\n",
		        r->rcvbuf_drops, r->rcvbuf_bytes, r->unmeasured, r->sent);
	if (r->altered || r->unknown || r->icmp_errors || r->send_errors)
		fprintf(f, "%" PRIu64 " altered echoes, %" PRIu64 " unexpected datagrams, %" PRIu64
		        " ICMP errors, %" PRIu64 " send errors\n",
		        r->altered, r->unknown, r->icmp_errors, r->send_errors);
}

static cJSON *json_samples(const struct ping_result *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < r->samples->n; i++) {
		cJSON *o = sample_json(r->cfg, pk_samples_at(r->samples, i));

		if (o != NULL)
			cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *result_doc(const struct ping_result *r)
{
	const struct ping_client_cfg *cfg = r->cfg;
	cJSON *doc = client_envelope(cfg, &r->peer, r->start_wall_ns);
	cJSON *sum, *clk;

	if (doc == NULL)
		return NULL;
	sum = cJSON_AddObjectToObject(doc, "summary");
	pk_json_ping_summary(sum, &r->totals, &r->rtt);
	cJSON_AddNumberToObject(sum, "interval_s",
	                        (double)(cfg->adaptive ? cfg->min_gap_ns : cfg->interval_ns) / 1e9);
	cJSON_AddBoolToObject(sum, "adaptive", cfg->adaptive);
	cJSON_AddNumberToObject(sum, "timeout_s", (double)cfg->timeout_ns / 1e9);
	cJSON_AddNumberToObject(sum, "elapsed_ms", pk_ns_to_ms(r->totals.elapsed_ns));
	cJSON_AddNumberToObject(sum, "altered", (double)r->altered);
	cJSON_AddNumberToObject(sum, "unexpected", (double)r->unknown);
	cJSON_AddNumberToObject(sum, "icmp_errors", (double)r->icmp_errors);
	cJSON_AddNumberToObject(sum, "send_errors", (double)r->send_errors);
	cJSON_AddNumberToObject(sum, "sent", (double)r->sent);
	cJSON_AddNumberToObject(sum, "rcvbuf_dropped", (double)r->rcvbuf_drops);
	cJSON_AddNumberToObject(sum, "unmeasured", (double)r->unmeasured);
	cJSON_AddNumberToObject(sum, "receive_buffer_bytes", r->rcvbuf_bytes);
	clk = cJSON_AddObjectToObject(sum, "rx_clock");
	if (clk) {
		cJSON_AddNumberToObject(clk, "kernel", (double)r->rx_kernel);
		cJSON_AddNumberToObject(clk, "monotonic", (double)r->rx_monotonic);
	}
	cJSON_AddNumberToObject(sum, "samples_dropped", (double)r->samples->dropped);
	cJSON_AddItemToObject(doc, "samples", json_samples(r));
	return doc;
}

void ping_report_result(const struct ping_result *r)
{
	cJSON *doc;

	switch (r->cfg->output) {
	case PING_OUT_TEXT:
		result_text(stdout, r);
		break;
	case PING_OUT_CSV:
		/* the rows were printed as they came; the summary is text */
		result_text(stderr, r);
		fflush(stderr);
		break;
	case PING_OUT_JSON:
	case PING_OUT_STREAM:
		doc = result_doc(r);
		if (doc == NULL) {
			ping_report_error("out of memory");
			break;
		}
		if (r->cfg->output == PING_OUT_JSON)
			pk_json_print(stdout, doc, 0);
		else
			pk_json_stream_event(stdout, "end", doc);
		cJSON_Delete(doc);
		break;
	}
	pk_out_flush(stdout);
}

void ping_report_client_error_doc(const struct ping_client_cfg *cfg, const struct pk_addr *peer,
                                  int64_t start_wall_ns, const char *err)
{
	cJSON *doc;

	if (cfg->output != PING_OUT_JSON && cfg->output != PING_OUT_STREAM)
		return;
	doc = client_envelope(cfg, peer, start_wall_ns);
	if (doc == NULL)
		return;
	cJSON_AddObjectToObject(doc, "summary");
	cJSON_AddArrayToObject(doc, "samples");
	cJSON_AddStringToObject(doc, "error", err);
	if (cfg->output == PING_OUT_JSON) {
		pk_json_print(stdout, doc, 0);
	} else {
		cJSON *start = client_envelope(cfg, peer, start_wall_ns);

		if (start != NULL)
			pk_json_stream_event(stdout, "start", start);
		cJSON_Delete(start);
		pk_json_stream_event(stdout, "end", doc);
	}
	cJSON_Delete(doc);
	pk_out_flush(stdout);
}
