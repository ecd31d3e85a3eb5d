/* tcp-echo: all printing (server log, client lines, summaries, JSON, CSV). */
#include "echo_report.h"
#include "pk_clock.h"
#include "pk_opt.h"
#include "pk_out.h"
#include "pk_report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static double ns_s(int64_t ns) { return (double)ns / 1e9; }

const char *echo_end_name(enum echo_end e)
{
	static const char *const names[] = {
		"terminated", "invalid setup", "invalid measurement", "invalid termination",
		"peer closed", "idle timeout", "connection error", "server shutdown",
		"memory budget",
	};
	return (unsigned)e < ECHO_END_COUNT ? names[e] : "?";
}

/* ---- server ----------------------------------------------------------- */

#define ECHO_EVENTS_MAX 100000     /* events a -J document keeps (memory bound) */
static uint64_t events_kept, events_dropped;

int64_t echo_wall_of(int64_t mono_ns)
{
	return mono_ns + (pk_wall_ns() - pk_now_ns());
}

/* The start of a text line: the -D prefix. */
static void tl_begin(const struct echo_report *r)
{
	if (r->stamp)
		pk_out_stamp(r->out);
}

void echo_report_listening(const struct echo_report *r, const struct pk_addr *a, int plain)
{
	char b[80];
	FILE *f = r->json ? stderr : r->out;

	if (!r->json)
		tl_begin(r);
	fprintf(f, "tcp-echo server listening on %s (%s)\n", pk_addr_str(a, b, sizeof b),
	        plain ? "plain echo" : "measurement protocol");
	pk_out_flush(f);
	if (r->stream) {
		cJSON *d = cJSON_CreateObject();
		pk_json_time(d, "time", pk_wall_ns());
		cJSON_AddStringToObject(d, "address", pk_addr_host(a, b, sizeof b));
		cJSON_AddNumberToObject(d, "port", pk_addr_port(a));
		cJSON_AddStringToObject(d, "mode", plain ? "plain" : "protocol");
		pk_json_stream_event(r->out, "listening", d);
		cJSON_Delete(d);
	}
}

/* A server event: a `name` record (--json-stream), or kept for the -J
 * document ({"event": name, "time", ...}); takes o (its members but "event"). */
static void srv_event(const struct echo_report *r, const char *name, cJSON *o)
{
	if (r->stream) {
		pk_json_stream_event(r->out, name, o);
		cJSON_Delete(o);
		return;
	}
	if (r->events != NULL && events_kept < ECHO_EVENTS_MAX) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "event", name);
		cJSON *it = o->child;
		o->child = NULL;
		while (it != NULL) {
			cJSON *next = it->next;
			it->next = it->prev = NULL;
			cJSON_AddItemToObject(e, it->string, it);  /* copies the key */
			it = next;
		}
		cJSON_AddItemToArray(r->events, e);
		events_kept++;
	} else if (r->events != NULL) {
		events_dropped++;
	}
	cJSON_Delete(o);
}

static cJSON *json_event(const struct pk_addr *peer)
{
	cJSON *o = cJSON_CreateObject();
	char b[80];

	pk_json_time(o, "time", pk_wall_ns());
	if (peer != NULL)
		cJSON_AddStringToObject(o, "peer", pk_addr_str(peer, b, sizeof b));
	return o;
}

static void json_setup(cJSON *o, const struct echo_setup *s)
{
	cJSON_AddStringToObject(o, "type", echo_mtype_name(s->type));
	cJSON_AddNumberToObject(o, "size_bytes", (double)s->size);
	cJSON_AddNumberToObject(o, "probes", (double)s->probes);
	cJSON_AddNumberToObject(o, "server_delay_s", ns_s(s->delay_ns));
}

void echo_report_setup(const struct echo_report *r, const struct pk_addr *peer,
                       const struct echo_setup *s)
{
	char b[80], d[32];

	if (r->quiet)
		return;
	if (r->json) {
		cJSON *o = json_event(peer);
		json_setup(o, s);
		srv_event(r, "setup", o);
		return;
	}
	tl_begin(r);
	fprintf(r->out, "%s setup: %s, msg_size %" PRIu64 " bytes, %" PRIu64
	        " probes, server delay %s\n", pk_addr_str(peer, b, sizeof b),
	        echo_mtype_name(s->type), s->size, s->probes,
	        pk_fmt_duration(s->delay_ns, d, sizeof d));
	pk_out_flush(r->out);
}

void echo_report_plain_data(const struct echo_report *r, const struct pk_addr *peer,
                            const void *buf, size_t len)
{
	char b[80], e[300];

	if (r->quiet || r->json)
		return;
	tl_begin(r);
	fprintf(r->out, "%s data (%zu bytes): %s\n", pk_addr_str(peer, b, sizeof b), len,
	        pk_escape(buf, len, 64, e, sizeof e));
	pk_out_flush(r->out);
}

void echo_report_session_end(const struct echo_report *r, const struct echo_session_log *l)
{
	char b[80];

	if (r->quiet)
		return;
	if (r->json) {
		cJSON *o = json_event(l->peer);
		cJSON_AddStringToObject(o, "mode", l->plain ? "plain" : "protocol");
		if (l->have_setup)
			json_setup(o, &l->setup);
		cJSON_AddNumberToObject(o, l->plain ? "echoed_bytes" : "probes_echoed",
		                        (double)l->echoed);
		cJSON_AddNumberToObject(o, "received_bytes", (double)l->bytes_in);
		cJSON_AddStringToObject(o, "end", echo_end_name(l->end));
		cJSON_AddNumberToObject(o, "duration_ms", (double)l->duration_ns / 1e6);
		srv_event(r, "session", o);
		return;
	}
	tl_begin(r);
	fprintf(r->out, "%s closed: %s, ", pk_addr_str(l->peer, b, sizeof b),
	        echo_end_name(l->end));
	if (l->plain)
		fprintf(r->out, "%" PRIu64 " bytes echoed", l->echoed);
	else if (l->have_setup)
		fprintf(r->out, "%" PRIu64 "/%" PRIu64 " probes echoed", l->echoed, l->setup.probes);
	else
		fprintf(r->out, "no session");
	fprintf(r->out, ", %" PRIu64 " bytes received, %.3f s\n", l->bytes_in,
	        ns_s(l->duration_ns));
	pk_out_flush(r->out);
}

void echo_report_refused(const struct echo_report *r, const struct pk_addr *peer,
                         const char *why)
{
	char b[80];

	if (r->quiet)
		return;
	if (r->json) {
		cJSON *o = json_event(peer);
		cJSON_AddStringToObject(o, "reason", why);
		srv_event(r, "refused", o);
		return;
	}
	tl_begin(r);
	fprintf(r->out, "%s refused: %s\n", peer ? pk_addr_str(peer, b, sizeof b) : "accept",
	        why);
	pk_out_flush(r->out);
}

static cJSON *server_summary(const struct echo_server_stats *s)
{
	cJSON *o = cJSON_CreateObject(), *ends = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "accepted", (double)s->accepted);
	cJSON_AddNumberToObject(o, "refused", (double)s->refused);
	cJSON_AddNumberToObject(o, "active", (double)s->active);
	cJSON_AddNumberToObject(o, "peak_connections", (double)s->peak);
	cJSON_AddNumberToObject(o, "probes_echoed", (double)s->probes);
	cJSON_AddNumberToObject(o, "received_bytes", (double)s->bytes_in);
	for (int e = 0; e < ECHO_END_COUNT; e++)
		cJSON_AddNumberToObject(ends, echo_end_name((enum echo_end)e), (double)s->ends[e]);
	cJSON_AddItemToObject(o, "ends", ends);
	cJSON_AddNumberToObject(o, "events_dropped", (double)events_dropped);
	return o;
}

cJSON *echo_server_doc(const struct echo_report *r, const struct pk_addr *bound,
                       int64_t start_wall_ns, const struct echo_server_stats *s)
{
	cJSON *doc = pk_json_envelope("tcp-echo", "server", NULL, bound, start_wall_ns);

	cJSON_AddItemToObject(doc, "summary", server_summary(s));
	cJSON_AddItemToObject(doc, "events", r->events ? r->events : cJSON_CreateArray());
	return doc;
}

void echo_report_server_interim(const struct echo_report *r, const struct echo_server_stats *s)
{
	fprintf(stderr, "--- interim: %" PRIu64 " accepted, %" PRIu64 " refused, %" PRIu64
	        " active, %" PRIu64 " probes echoed, %" PRIu64 " bytes received\n",
	        s->accepted, s->refused, s->active, s->probes, s->bytes_in);
	fflush(stderr);
	if (r->stream) {
		cJSON *d = server_summary(s);
		pk_json_time(d, "time", pk_wall_ns());
		pk_json_stream_event(r->out, "interim", d);
		cJSON_Delete(d);
	}
}

void echo_report_server_stats(const struct echo_report *r, const struct echo_server_stats *s)
{
	if (r->json)
		return;         /* the document (echo_server_doc) says it */
	fprintf(r->out, "\n--- tcp-echo server statistics ---\n");
	fprintf(r->out, "%" PRIu64 " connections accepted, %" PRIu64 " refused, peak %" PRIu64
	        " at once\n", s->accepted, s->refused, s->peak);
	fprintf(r->out, "%" PRIu64 " probes echoed, %" PRIu64 " bytes received\n",
	        s->probes, s->bytes_in);
	for (int e = 0; e < ECHO_END_COUNT; e++)
		fprintf(r->out, "%s%s %" PRIu64, e ? ", " : "", echo_end_name((enum echo_end)e),
		        s->ends[e]);
	fputc('\n', r->out);
	pk_out_flush(r->out);
}

/* ---- client: one session ---------------------------------------------- */

void echo_report_connecting(const struct echo_report *r, const char *host,
                            const struct pk_addr *a)
{
	char b[64];

	if (r->quiet || r->json)
		return;
	FILE *f = r->csv ? stderr : r->out;     /* the banner: stderr under --csv */
	if (!r->csv)
		tl_begin(r);
	fprintf(f, "Connecting to %s (%s) port %u\n", host, pk_addr_host(a, b, sizeof b),
	        (unsigned)pk_addr_port(a));
	pk_out_flush(f);
}

void echo_report_server_line(const struct echo_report *r, const char *line, size_t len)
{
	char e[300];

	if (r->quiet || r->json || r->csv)
		return;
	tl_begin(r);
	fprintf(r->out, "%s\n", pk_escape(line, len, 200, e, sizeof e));
	pk_out_flush(r->out);
}

void echo_report_404(const struct echo_report *r, const char *line)
{
	FILE *f = r->quiet || r->json || r->csv ? stderr : r->out;

	pk_out_flush(r->out);
	fprintf(f, "%s\n", line);
	pk_out_flush(f);
}

static double tput_of(uint64_t size, int64_t rtt_ns)
{
	return rtt_ns > 0 ? 8e3 * (double)size / (double)rtt_ns : 0.0;
}

static cJSON *probe_sample(uint64_t seq, int64_t wall_ns, uint64_t size, int64_t rtt_ns)
{
	cJSON *o = pk_json_sample(seq, wall_ns);

	cJSON_AddNumberToObject(o, "rtt_ms", (double)rtt_ns / 1e6);
	cJSON_AddNumberToObject(o, "throughput_mbps", tput_of(size, rtt_ns));
	return o;
}

void echo_report_probe_csv_header(const struct echo_report *r)
{
	static const char *const cols[] = { "seq", "time", "rtt_ms", "size_bytes",
	                                    "throughput_mbps" };

	pk_csv_header(r->out, cols, sizeof cols / sizeof cols[0]);
	pk_out_flush(r->out);
}

void echo_report_probe(const struct echo_report *r, const struct pk_addr *a,
                       uint64_t size, uint64_t seq, int64_t rtt_ns, int64_t t0_ns)
{
	char b[64], line[256], extra[64], t[40];

	if (r->stream) {
		cJSON *o = probe_sample(seq, echo_wall_of(t0_ns), size, rtt_ns);
		pk_json_stream_event(r->out, "sample", o);
		cJSON_Delete(o);
		return;
	}
	if (r->csv) {
		pk_csv_uint(r->out, seq, 0);
		pk_csv_str(r->out, pk_wall_iso(echo_wall_of(t0_ns), t, sizeof t), 0);
		pk_csv_num(r->out, (double)rtt_ns / 1e6, 1, 0);
		pk_csv_uint(r->out, size, 0);
		pk_csv_num(r->out, tput_of(size, rtt_ns), 1, 1);
		pk_out_flush(r->out);
		return;
	}
	if (r->quiet || r->json)
		return;
	snprintf(extra, sizeof extra, "throughput=%.3f Mbit/s", tput_of(size, rtt_ns));
	pk_fmt_reply(line, sizeof line, echo_probe_len(size, seq), pk_addr_host(a, b, sizeof b),
	             seq, -1, (double)rtt_ns / 1e6, extra);
	tl_begin(r);
	fprintf(r->out, "%s\n", line);
	pk_out_flush(r->out);
}

void echo_report_client_interim(const struct echo_report *r, const struct echo_result *res)
{
	struct echo_figures fig;
	struct pk_ping_totals t = { .transmitted = res->sent, .received = res->echoed };

	echo_figures_of(res->rtt_ns, res->echoed, res->setup.size,
	                res->echoed ? res->last_echo_ns - res->first_send_ns : 0, &fig);
	pk_report_interim(stderr, &t, &fig.rtt);
	if (r->stream) {
		cJSON *d = cJSON_CreateObject();
		pk_json_time(d, "time", pk_wall_ns());
		pk_json_ping_summary(d, &t, &fig.rtt);
		pk_json_stream_event(r->out, "interim", d);
		cJSON_Delete(d);
	}
}

static void print_figures(FILE *f, const struct echo_figures *g)
{
	const double *t = g->tput_mbps;

	fprintf(f, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n",
	        g->rtt.min, g->rtt.avg, g->rtt.max, g->rtt.mdev);
	fprintf(f, "rtt p50/p90/p99 = %.3f/%.3f/%.3f ms\n", g->rtt.p50, g->rtt.p90, g->rtt.p99);
	fprintf(f, "throughput min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f Mbit/s\n",
	        t[EF_MIN], t[EF_MEAN], t[EF_MAX], t[EF_SD]);
	fprintf(f, "throughput p50/p99 = %.3f/%.3f Mbit/s, goodput %.3f Mbit/s\n",
	        t[EF_P50], t[EF_P99], g->goodput_mbps);
}

void echo_report_session(const struct echo_report *r, const char *host,
                         const struct echo_result *res, const struct echo_figures *fig)
{
	char d[32];
	FILE *f = r->csv ? stderr : r->out;     /* under --csv the summary is on stderr */

	fprintf(f, "\n--- %s tcp-echo %s statistics ---\n", host,
	        echo_mtype_name(res->setup.type));
	fprintf(f, "%" PRIu64 " probes of %" PRIu64 " bytes sent, %" PRIu64
	        " echoed, server delay %s, window %u, time %" PRId64 "ms\n",
	        res->sent, res->setup.size, res->echoed,
	        pk_fmt_duration(res->setup.delay_ns, d, sizeof d), res->window ? res->window : 1,
	        (int64_t)((res->end_ns - res->start_ns) / PK_NS_PER_MS));
	if (fig->n > 0)
		print_figures(f, fig);
	pk_out_flush(f);
}

cJSON *echo_json_tput(const double *t, int ok)
{
	cJSON *o = cJSON_CreateObject();

	pk_json_num(o, "min", t[EF_MIN], ok);
	pk_json_num(o, "avg", t[EF_MEAN], ok);
	pk_json_num(o, "max", t[EF_MAX], ok);
	pk_json_num(o, "mdev", t[EF_SD], ok);
	pk_json_num(o, "p50", t[EF_P50], ok);
	pk_json_num(o, "p99", t[EF_P99], ok);
	return o;
}

static void json_figures(cJSON *o, const struct echo_figures *g)
{
	cJSON_AddItemToObject(o, "rtt_ms", pk_json_rtt(&g->rtt));
	cJSON_AddItemToObject(o, "throughput_mbps", echo_json_tput(g->tput_mbps, g->n > 0));
	pk_json_num(o, "goodput_mbps", g->goodput_mbps, g->n > 0);
}

cJSON *echo_session_doc(const char *host, const struct pk_addr *a, int64_t wall,
                        const struct echo_result *res, const struct echo_figures *fig,
                        const char *error)
{
	cJSON *doc = pk_json_envelope("tcp-echo", "client", host, a, wall);
	cJSON *sum = cJSON_AddObjectToObject(doc, "summary");
	cJSON *smp = cJSON_AddArrayToObject(doc, "samples");
	int64_t off = pk_wall_ns() - pk_now_ns();

	cJSON_AddStringToObject(sum, "mode", res->setup.type == ECHO_RTT ? "rtt" : "ttput");
	cJSON_AddNumberToObject(sum, "size_bytes", (double)res->setup.size);
	cJSON_AddNumberToObject(sum, "probes", (double)res->setup.probes);
	cJSON_AddNumberToObject(sum, "server_delay_s", ns_s(res->setup.delay_ns));
	cJSON_AddNumberToObject(sum, "window", res->window ? res->window : 1);
	cJSON_AddNumberToObject(sum, "transmitted", (double)res->sent);
	cJSON_AddNumberToObject(sum, "received", (double)res->echoed);
	cJSON_AddNumberToObject(sum, "elapsed_ms", (double)(res->end_ns - res->start_ns) / 1e6);
	json_figures(sum, fig);
	for (uint64_t i = 0; i < res->echoed; i++)
		cJSON_AddItemToArray(smp, probe_sample(i + 1, res->t0_ns[i] + off, res->setup.size,
		                                       res->rtt_ns[i]));
	if (error && error[0])
		cJSON_AddStringToObject(doc, "error", error);
	return doc;
}

void echo_report_doc(const struct echo_report *r, cJSON *doc)
{
	if (doc == NULL)
		return;
	if (r->stream) {
		pk_json_stream_event(r->out, "end", doc);
	} else {
		pk_json_print(r->out, doc, 0);
		pk_out_flush(r->out);
	}
	cJSON_Delete(doc);
}

void echo_report_stream_start(const struct echo_report *r, const char *role, const char *host,
                              const struct pk_addr *a, int64_t wall)
{
	if (!r->stream)
		return;
	cJSON *d = pk_json_envelope("tcp-echo", role, host, a, wall);
	pk_json_stream_event(r->out, "start", d);
	cJSON_Delete(d);
}

/* ---- client: plain echo ----------------------------------------------- */

/* Bytes from the server as a JSON string: valid UTF-8 kept, every NUL and
 * every byte of an invalid sequence (overlong, surrogate, past U+10FFFF,
 * cut off) replaced by U+FFFD, so the string is valid UTF-8 and never cut
 * short at a NUL. Caller frees; NULL when out of memory. */
static char *utf8_text(const char *p, size_t n)
{
	char *out = malloc(3 * n + 1), *o = out;
	const unsigned char *u = (const unsigned char *)p;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
		           : (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = k == 2 ? c & 0x1f : k == 3 ? c & 0x0f : c & 0x07;
		int ok = k > 0 && c != 0 && i + k <= n;

		for (size_t j = 1; ok && j < k; j++) {
			ok = (u[i + j] & 0xc0) == 0x80;
			cp = (cp << 6) | (u[i + j] & 0x3f);
		}
		if (ok && k > 1)
			ok = cp >= (k == 2 ? 0x80u : k == 3 ? 0x800u : 0x10000u) && cp <= 0x10ffff &&
			     !(cp >= 0xd800 && cp <= 0xdfff);
		if (!ok) {
			memcpy(o, "\xef\xbf\xbd", 3);         /* U+FFFD */
			o += 3;
			i++;
			continue;
		}
		memcpy(o, p + i, k);
		o += k;
		i += k;
	}
	*o = '\0';
	return out;
}

/* 1 when every byte is printable ASCII (what a terminal shows as is). */
static int printable(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return 0;
	return 1;
}

void echo_report_plain_sending(const struct echo_report *r, const char *host,
                               const struct pk_addr *a, const char *msg)
{
	(void)a;
	if (r->quiet || r->json)
		return;
	tl_begin(r);
	fprintf(r->out, "Connecting to %s port %u\n", host, (unsigned)pk_addr_port(a));
	tl_begin(r);
	fprintf(r->out, "Sending %s\n", msg);
	pk_out_flush(r->out);
}

void echo_report_plain_result(const struct echo_report *r, const char *host,
                              const struct pk_addr *a, const char *msg, const char *echo,
                              size_t len, int64_t rtt_ns, const char *error)
{
	if (r->json) {
		cJSON *doc = pk_json_envelope("tcp-echo", "client", host, a, pk_wall_ns());
		cJSON *sum = cJSON_AddObjectToObject(doc, "summary");
		cJSON_AddStringToObject(sum, "mode", "plain");
		cJSON_AddNumberToObject(sum, "sent_bytes", (double)strlen(msg));
		cJSON_AddNumberToObject(sum, "received_bytes", (double)len);
		cJSON_AddBoolToObject(sum, "match", len == strlen(msg) && !memcmp(echo, msg, len));
		pk_json_num(sum, "rtt_ms", (double)rtt_ns / 1e6, len == strlen(msg));
		char *text = utf8_text(echo, len);
		cJSON_AddStringToObject(sum, "echo", text ? text : "");
		free(text);
		if (error && error[0])
			cJSON_AddStringToObject(doc, "error", error);
		echo_report_doc(r, doc);
		return;
	}
	if (r->quiet)
		return;
	if (len > 0 && printable(echo, len)) {
		tl_begin(r);
		fprintf(r->out, "Received: %.*s\n", (int)len, echo);
	} else if (len > 0) {           /* the server's bytes, rendered safe */
		char *e = malloc(4 * len + 8);
		if (e != NULL) {
			tl_begin(r);
			fprintf(r->out, "Received: %s\n", pk_escape(echo, len, len, e, 4 * len + 8));
		}
		free(e);
	}
	tl_begin(r);
	fprintf(r->out, "Closing connection to the server\n");
	pk_out_flush(r->out);
}
