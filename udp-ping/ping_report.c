/* udp-ping: all printing. Text follows ping; JSON and CSV are documented
 * in the README (the schema other tools follow). */
#include "ping.h"
#include "pk_clock.h"
#include "pk_opt.h"
#include "pk_report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

static const char *const status_names[] = {
	[PK_SEQ_NONE] = "lost", [PK_SEQ_PENDING] = "lost", [PK_SEQ_OK] = "ok",
	[PK_SEQ_LOST] = "lost", [PK_SEQ_LATE] = "late",
};
static const char *const clock_names[] = { "monotonic", "kernel" };

void ping_report_server_start(const struct ping_server_cfg *cfg, const struct pk_addr *local,
                              uint64_t seed)
{
	char addr[80];

	printf("udp-ping server listening on %s, loss %.2f, seed %" PRIu64 ", rate limit ",
	       pk_addr_str(local, addr, sizeof addr), cfg->loss, seed);
	if (cfg->rate_limit > 0)
		printf("%g/s per source\n", cfg->rate_limit);
	else
		printf("off\n");
	fflush(stdout);
}

void ping_report_datagram(const struct pk_addr *from, const void *buf, size_t len,
                          const char *verdict)
{
	char addr[80], text[256];

	printf("%s %zu bytes \"%s\" %s\n", pk_addr_str(from, addr, sizeof addr), len,
	       pk_escape(buf, len, 80, text, sizeof text), verdict);
}

void ping_report_server_totals(FILE *f, const struct ping_server_totals *t)
{
	fprintf(f, "\n--- udp-ping server statistics ---\n");
	fprintf(f, "%" PRIu64 " received, %" PRIu64 " replied, %" PRIu64
	        " dropped by simulation, %" PRIu64 " refused by rate limit, %" PRIu64
	        " refused by source, %" PRIu64 " refused as echoes, %" PRIu64
	        " send errors\n", t->received, t->replied, t->dropped, t->refused,
	        t->refused_source, t->refused_echo, t->errors);
	fflush(f);
}

static int text_lines(const struct ping_client_cfg *cfg)
{
	return cfg->output == PING_OUT_TEXT && !cfg->quiet;
}

void ping_report_client_start(const struct ping_client_cfg *cfg, const struct pk_addr *peer)
{
	char addr[80], iv[32], to[32];

	if (cfg->output != PING_OUT_TEXT)
		return;
	printf("UDP-PING %s (%s) port %u: ", cfg->host, pk_addr_host(peer, addr, sizeof addr),
	       (unsigned)pk_addr_port(peer));
	if (cfg->count)
		printf("%" PRIu64 " pings", cfg->count);
	else
		printf("pinging until interrupted");
	if (cfg->adaptive && cfg->min_gap_ns)
		printf(", adaptive (next at the reply or timeout, at least %s apart)",
		       pk_fmt_duration(cfg->min_gap_ns, iv, sizeof iv));
	else if (cfg->adaptive)
		printf(", adaptive (next at the reply or timeout)");
	else
		printf(", interval %s", pk_fmt_duration(cfg->interval_ns, iv, sizeof iv));
	printf(", timeout %s\n", pk_fmt_duration(cfg->timeout_ns, to, sizeof to));
	fflush(stdout);
}

void ping_report_reply(const struct ping_client_cfg *cfg, const struct pk_addr *from,
                       uint64_t seq, const void *buf, size_t len, int64_t rtt_ns,
                       int altered)
{
	char addr[80], text[256];

	if (!text_lines(cfg))
		return;
	printf("Reply from %s: seq=%" PRIu64 " bytes=%zu rtt=%.3f ms \"%s\"%s\n",
	       pk_addr_host(from, addr, sizeof addr), seq, len, pk_ns_to_ms(rtt_ns),
	       pk_escape(buf, len, 64, text, sizeof text),
	       altered ? " (echo differs from the upper-cased request)" : "");
	fflush(stdout);
}

void ping_report_late(const struct ping_client_cfg *cfg, uint64_t seq, int64_t rtt_ns)
{
	if (!text_lines(cfg))
		return;
	printf("Late reply: seq=%" PRIu64 " rtt=%.3f ms (after its %.3f ms timeout)\n",
	       seq, pk_ns_to_ms(rtt_ns), pk_ns_to_ms(cfg->timeout_ns));
	fflush(stdout);
}

void ping_report_dup(const struct ping_client_cfg *cfg, uint64_t seq, int64_t rtt_ns)
{
	if (!text_lines(cfg))
		return;
	printf("Duplicate reply: seq=%" PRIu64 " rtt=%.3f ms\n", seq, pk_ns_to_ms(rtt_ns));
	fflush(stdout);
}

void ping_report_timeout(const struct ping_client_cfg *cfg, uint64_t seq)
{
	if (!text_lines(cfg))
		return;
	printf("Request timed out: seq=%" PRIu64 "\n", seq);
	fflush(stdout);
}

void ping_report_bad(const struct ping_client_cfg *cfg, const struct pk_addr *from,
                     const void *buf, size_t len)
{
	char addr[80], text[256];

	if (!text_lines(cfg))
		return;
	printf("Unexpected datagram from %s: %zu bytes \"%s\"\n",
	       pk_addr_str(from, addr, sizeof addr), len, pk_escape(buf, len, 64, text, sizeof text));
	fflush(stdout);
}

static void result_text(const struct ping_result *r)
{
	pk_report_ping_summary(stdout, r->cfg->host, "udp-ping", &r->totals, &r->rtt);
	if (r->rtt.n > 0)
		printf("receive times: %" PRIu64 " kernel timestamps, %" PRIu64 " monotonic clock\n",
		       r->rx_kernel, r->rx_monotonic);
	if (r->rcvbuf_drops)
		printf("%" PRIu64 " dropped by our own receive buffer (%d bytes): not packet loss;"
		       " %" PRIu64 " pings without a reply left out above, %" PRIu64 " sent\n",
		       r->rcvbuf_drops, r->rcvbuf_bytes, r->unmeasured, r->sent);
	if (r->altered || r->unknown || r->icmp_errors || r->send_errors)
		printf("%" PRIu64 " altered echoes, %" PRIu64 " unexpected datagrams, %" PRIu64
		       " ICMP errors, %" PRIu64 " send errors\n",
		       r->altered, r->unknown, r->icmp_errors, r->send_errors);
}

static cJSON *json_samples(const struct ping_result *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < r->samples->n; i++) {
		const struct ping_sample *s = pk_samples_at(r->samples, i);
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "seq", (double)s->seq);
		pk_json_num(o, "rtt_ms", pk_ns_to_ms(s->rtt_ns), s->rtt_ns >= 0);
		cJSON_AddStringToObject(o, "status", status_names[s->status]);
		if (s->rtt_ns >= 0)
			cJSON_AddStringToObject(o, "clock", clock_names[s->clock]);
		if (s->dups)
			cJSON_AddNumberToObject(o, "duplicates", s->dups);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static void result_json(const struct ping_result *r)
{
	cJSON *doc = pk_json_doc("udp-ping", r->cfg->host, &r->peer, r->start_wall_ns);
	cJSON *sum, *clk;

	if (doc == NULL)
		return;
	cJSON_AddNumberToObject(doc, "interval_ms",
	                        pk_ns_to_ms(r->cfg->adaptive ? r->cfg->min_gap_ns
	                                                     : r->cfg->interval_ns));
	cJSON_AddBoolToObject(doc, "adaptive", r->cfg->adaptive);
	cJSON_AddNumberToObject(doc, "timeout_ms", pk_ns_to_ms(r->cfg->timeout_ns));
	sum = cJSON_AddObjectToObject(doc, "summary");
	pk_json_ping_summary(sum, &r->totals, &r->rtt);
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
	if (r->samples->dropped)
		cJSON_AddNumberToObject(doc, "samples_dropped", (double)r->samples->dropped);
	cJSON_AddItemToObject(doc, "samples", json_samples(r));
	pk_json_print(stdout, doc, 0);
	cJSON_Delete(doc);
}

static void result_csv(const struct ping_result *r)
{
	static const char *const cols[] = { "seq", "status", "rtt_ms", "clock", "duplicates" };

	pk_csv_header(stdout, cols, sizeof cols / sizeof cols[0]);
	for (size_t i = 0; i < r->samples->n; i++) {
		const struct ping_sample *s = pk_samples_at(r->samples, i);

		pk_csv_uint(stdout, s->seq, 0);
		pk_csv_str(stdout, status_names[s->status], 0);
		pk_csv_num(stdout, pk_ns_to_ms(s->rtt_ns), s->rtt_ns >= 0, 0);
		pk_csv_str(stdout, s->rtt_ns >= 0 ? clock_names[s->clock] : "", 0);
		pk_csv_uint(stdout, s->dups, 1);
	}
	fflush(stdout);
}

void ping_report_result(const struct ping_result *r)
{
	switch (r->cfg->output) {
	case PING_OUT_TEXT:
		result_text(r);
		break;
	case PING_OUT_JSON:
		result_json(r);
		break;
	case PING_OUT_CSV:
		result_csv(r);
		break;
	}
	fflush(stdout);
}
