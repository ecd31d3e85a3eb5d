/* pk_report: summary text, escaping, JSON shape, CSV quoting. */
#include "cm.h"
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pk_report.h"
#include "pk_sock.h"

static char *capture(void (*fn)(FILE *, void *), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fn(f, arg);
	fclose(f);
	return buf;
}

struct sum_args { struct pk_ping_totals t; struct pk_rtt_ms r; };

static void write_summary(FILE *f, void *arg)
{
	struct sum_args *a = arg;
	pk_report_ping_summary(f, "127.0.0.1", "udp-ping", &a->t, &a->r);
}

static void summary_lines(void **st)
{
	struct sum_args a;
	(void)st;
	memset(&a, 0, sizeof a);
	a.t.transmitted = 10;
	a.t.received = 7;
	a.t.late = 1;
	a.t.longest_loss_run = 2;
	a.t.elapsed_ns = 9003000000LL;
	a.r.n = 7;
	a.r.min = 0.05; a.r.avg = 0.07; a.r.max = 0.1; a.r.mdev = 0.015;
	a.r.p50 = 0.06; a.r.p90 = 0.09; a.r.p99 = 0.1; a.r.p999 = 0.1; a.r.jitter = 0.01;
	char *out = capture(write_summary, &a);
	assert_non_null(strstr(out, "--- 127.0.0.1 udp-ping statistics ---\n"));
	assert_non_null(strstr(out, "10 packets transmitted, 7 received, 30% packet loss, time 9003ms\n"));
	assert_non_null(strstr(out, "rtt min/avg/max/mdev = 0.050/0.070/0.100/0.015 ms\n"));
	assert_non_null(strstr(out, "rtt p50/p90/p99/p99.9 = 0.060/0.090/0.100/0.100 ms\n"));
	assert_non_null(strstr(out, "longest loss run 2, late 1, duplicates 0"));
	assert_non_null(strstr(out, "loss 95% CI (Wilson) = 10.8%..60.3% (10 packets)\n"));
	free(out);
	/* nothing received: no rtt lines, 100% loss */
	a.t.received = 0;
	a.t.late = 0;
	a.r.n = 0;
	out = capture(write_summary, &a);
	assert_non_null(strstr(out, "10 packets transmitted, 0 received, 100% packet loss"));
	assert_null(strstr(out, "rtt min"));
	free(out);
}

static void totals_from_tracker(void **st)
{
	struct pk_seqtrack tr;
	struct pk_ping_totals t;
	int64_t rtt;
	(void)st;
	assert_int_equal(pk_seqtrack_init(&tr, 16, 1, 100), 0);
	for (int i = 0; i < 4; i++)
		pk_seqtrack_send(&tr, i * 10);
	pk_seqtrack_reply(&tr, 1, 50, &rtt);        /* ok */
	pk_seqtrack_reply(&tr, 1, 60, &rtt);        /* dup */
	pk_seqtrack_reply(&tr, 3, 200, &rtt);       /* late */
	while (pk_seqtrack_expire(&tr, 1000) != NULL)
		;
	pk_ping_totals_of(&t, &tr, 12345);
	assert_int_equal(t.transmitted, 4);
	assert_int_equal(t.received, 1);
	assert_int_equal(t.late, 1);
	assert_int_equal(t.dups, 1);
	assert_int_equal(t.longest_loss_run, tr.longest_run);
	assert_int_equal(t.elapsed_ns, 12345);
	pk_seqtrack_free(&tr);
}

static void error_line(void **st)
{
	FILE *tmp = tmpfile();
	char buf[128] = "";
	int saved = dup(2);
	(void)st;
	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	pk_report_error("udp-ping", "bind %s port %u: %s", "*", 12000u, "in use");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	assert_non_null(fgets(buf, sizeof buf, tmp));
	assert_string_equal(buf, "udp-ping: bind * port 12000: in use\n");
	fclose(tmp);
}

static void escape_untrusted(void **st)
{
	char out[64];
	(void)st;
	assert_string_equal(pk_escape("PING 1", 6, 100, out, sizeof out), "PING 1");
	assert_string_equal(pk_escape("a\nb\x00\"\\", 6, 100, out, sizeof out), "a\\x0ab\\x00\\\"\\\\");
	assert_string_equal(pk_escape("abcdef", 6, 3, out, sizeof out), "abc...");
	char small[8];
	pk_escape("abcdefghijkl", 12, 100, small, sizeof small);
	assert_true(strlen(small) < sizeof small);
}

static void json_shape(void **st)
{
	struct pk_addr a;
	struct pk_ping_totals t;
	struct pk_rtt_ms r;
	(void)st;
	pk_resolve("::1", 12000, AF_INET6, SOCK_DGRAM, 0, &a);
	cJSON *doc = pk_json_doc("udp-ping", "localhost", &a, 0);
	assert_string_equal(cJSON_GetObjectItem(doc, "tool")->valuestring, "udp-ping");
	assert_string_equal(cJSON_GetObjectItem(doc, "start")->valuestring, "1970-01-01T00:00:00.000000Z");
	cJSON *target = cJSON_GetObjectItem(doc, "target");
	assert_string_equal(cJSON_GetObjectItem(target, "address")->valuestring, "::1");
	assert_int_equal(cJSON_GetObjectItem(target, "port")->valueint, 12000);
	memset(&t, 0, sizeof t);
	memset(&r, 0, sizeof r);
	t.transmitted = 4;
	t.received = 0;
	t.late = 1;
	cJSON *sum = cJSON_AddObjectToObject(doc, "summary");
	pk_json_ping_summary(sum, &t, &r);
	assert_int_equal(cJSON_GetObjectItem(sum, "lost")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(sum, "late")->valueint, 1);
	assert_float_equal(cJSON_GetObjectItem(sum, "loss_percent")->valuedouble, 100.0, 1e-9);
	cJSON *rtt = cJSON_GetObjectItem(sum, "rtt_ms");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(rtt, "avg")));
	cJSON *ci = cJSON_GetObjectItem(sum, "loss_ci95");
	assert_int_equal(cJSON_GetArraySize(ci), 2);
	assert_float_equal(cJSON_GetArrayItem(ci, 1)->valuedouble, 100.0, 1e-9);
	cJSON_Delete(doc);
}

static void write_csv(FILE *f, void *arg)
{
	(void)arg;
	const char *cols[] = { "seq", "status", "rtt_ms" };
	pk_csv_header(f, cols, 3);
	pk_csv_uint(f, 1, 0);
	pk_csv_str(f, "a,\"b\"", 0);
	pk_csv_num(f, 0.125, 1, 1);
	pk_csv_uint(f, 2, 0);
	pk_csv_str(f, "lost", 0);
	pk_csv_num(f, 0, 0, 1);
}

static void csv_quoting(void **st)
{
	(void)st;
	char *out = capture(write_csv, NULL);
	assert_string_equal(out, "seq,status,rtt_ms\n1,\"a,\"\"b\"\"\",0.125\n2,lost,\n");
	free(out);
}

/* ---- issue 12: envelope, samples, stream records, reply and interim lines ---- */

static void envelope_shape(void **st)
{
	struct pk_addr a = cm_v4(0x7f000001, 12000);
	cJSON *doc = pk_json_envelope("udp-ping", "client", "localhost", &a, 0);
	char *s;
	(void)st;
	s = cJSON_PrintUnformatted(doc);
	assert_string_equal(s, "{\"schema_version\":1,\"tool\":\"udp-ping\",\"version\":\"0.2.0\","
	                       "\"role\":\"client\",\"target\":{\"host\":\"localhost\","
	                       "\"address\":\"127.0.0.1\",\"port\":12000},"
	                       "\"start\":\"1970-01-01T00:00:00.000000Z\"}");
	free(s);
	cJSON_Delete(doc);
	/* no role, no target */
	doc = pk_json_envelope("vxlan-agent", NULL, NULL, NULL, 1500000);
	s = cJSON_PrintUnformatted(doc);
	assert_string_equal(s, "{\"schema_version\":1,\"tool\":\"vxlan-agent\",\"version\":\"0.2.0\","
	                       "\"start\":\"1970-01-01T00:00:00.001500Z\"}");
	free(s);
	cJSON_Delete(doc);
	doc = pk_json_sample(7, 1700000000123456789LL);
	s = cJSON_PrintUnformatted(doc);
	assert_string_equal(s, "{\"seq\":7,\"time\":\"2023-11-14T22:13:20.123456Z\"}");
	free(s);
	cJSON_Delete(doc);
}

static void write_stream(FILE *f, void *arg)
{
	cJSON *d = cJSON_CreateObject();
	(void)arg;
	cJSON_AddNumberToObject(d, "seq", 1);
	cJSON_AddNumberToObject(d, "rtt_ms", 0.25);
	assert_int_equal(pk_json_stream_event(f, "sample", d), 0);
	assert_int_equal(pk_json_stream_event(f, "server_down", NULL), 0);
	cJSON_Delete(d);   /* not taken */
}

static void stream_records(void **st)
{
	char *out = capture(write_stream, NULL);
	(void)st;
	assert_string_equal(out, "{\"event\":\"sample\",\"data\":{\"seq\":1,\"rtt_ms\":0.25}}\n"
	                         "{\"event\":\"server_down\",\"data\":null}\n");
	free(out);
}

static void reply_and_interim_lines(void **st)
{
	char buf[160];
	struct pk_ping_totals t = { .transmitted = 10, .received = 9 };
	struct pk_rtt_ms r = { .n = 9, .min = 0.041, .avg = 0.052, .max = 0.09, .mdev = 0.012 };
	struct pk_rtt_ms none = { 0 };
	(void)st;
	assert_string_equal(pk_fmt_reply(buf, sizeof buf, 64, "127.0.0.1", 3, -1, 0.1234, NULL),
	                    "64 bytes from 127.0.0.1: seq=3 time=0.123 ms");
	assert_string_equal(pk_fmt_reply(buf, sizeof buf, 64, "::1", 3, 64, 12.5, "diff=0.010 ms"),
	                    "64 bytes from ::1: seq=3 ttl=64 time=12.500 ms diff=0.010 ms");
	assert_string_equal(pk_fmt_reply(buf, 12, 64, "::1", 3, 64, 12.5, "(DUP!)"), "64 bytes fr");
	assert_string_equal(pk_fmt_interim(buf, sizeof buf, &t, &r),
	                    "--- interim: 10 sent, 9 received, 10% loss, "
	                    "rtt min/avg/max/mdev = 0.041/0.052/0.090/0.012 ms");
	t.received = 0;
	assert_string_equal(pk_fmt_interim(buf, sizeof buf, &t, &none),
	                    "--- interim: 10 sent, 0 received, 100% loss");
	assert_string_equal(pk_fmt_interim(buf, 10, &t, &r), "--- inter");
}

CM_MAIN(CM_T(summary_lines), CM_T(totals_from_tracker), CM_T(error_line),
	CM_T(escape_untrusted), CM_T(json_shape), CM_T(csv_quoting), CM_T(envelope_shape),
	CM_T(stream_records), CM_T(reply_and_interim_lines))
