#include "pk_report.h"
#include "pk_clock.h"
#include "pk_out.h"
#include "pk_sock.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void pk_report_error(const char *tool, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", tool);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void pk_ping_totals_of(struct pk_ping_totals *out, const struct pk_seqtrack *t,
                       int64_t elapsed_ns)
{
	memset(out, 0, sizeof *out);
	out->transmitted = t->sent;
	out->received = t->ok;
	out->late = t->late;
	out->dups = t->dups;
	out->reordered = t->reordered;
	out->longest_loss_run = t->longest_run;
	out->elapsed_ns = elapsed_ns;
}

double pk_loss_percent(const struct pk_ping_totals *t)
{
	if (t->transmitted == 0)
		return 0.0;
	return 100.0 * (double)(t->transmitted - t->received) / (double)t->transmitted;
}

void pk_report_ping_summary(FILE *f, const char *target, const char *what,
                            const struct pk_ping_totals *t,
                            const struct pk_rtt_ms *r)
{
	double lo, hi;

	fprintf(f, "\n--- %s %s statistics ---\n", target, what);
	fprintf(f, "%" PRIu64 " packets transmitted, %" PRIu64 " received, ",
	        t->transmitted, t->received);
	if (t->dups)
		fprintf(f, "+%" PRIu64 " duplicates, ", t->dups);
	fprintf(f, "%g%% packet loss, time %" PRId64 "ms\n", pk_loss_percent(t),
	        (int64_t)(t->elapsed_ns / PK_NS_PER_MS));
	if (r->n > 0) {
		fprintf(f, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n",
		        r->min, r->avg, r->max, r->mdev);
		fprintf(f, "rtt p50/p90/p99/p99.9 = %.3f/%.3f/%.3f/%.3f ms\n",
		        r->p50, r->p90, r->p99, r->p999);
		fprintf(f, "jitter %.3f ms, ", r->jitter);
	}
	fprintf(f, "longest loss run %" PRIu64 ", late %" PRIu64
	        ", duplicates %" PRIu64 ", reordered %" PRIu64 "\n",
	        t->longest_loss_run, t->late, t->dups, t->reordered);
	pk_wilson(t->transmitted - t->received, t->transmitted, &lo, &hi);
	if (t->transmitted > 0)
		fprintf(f, "loss 95%% CI (Wilson) = %.1f%%..%.1f%% (%" PRIu64 " packets)\n",
		        100.0 * lo, 100.0 * hi, t->transmitted);
}

char *pk_escape(const void *buf, size_t len, size_t max, char *out, size_t cap)
{
	const unsigned char *p = buf;
	size_t o = 0, i;

	if (cap == 0)
		return out;
	for (i = 0; i < len && i < max; i++) {
		char tmp[5];
		size_t n;

		if (p[i] == '\\' || p[i] == '"') {
			tmp[0] = '\\';
			tmp[1] = (char)p[i];
			n = 2;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			tmp[0] = (char)p[i];
			n = 1;
		} else {
			snprintf(tmp, sizeof tmp, "\\x%02x", p[i]);
			n = 4;
		}
		if (o + n + 4 > cap)   /* room for "..." and NUL */
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (i < len && o + 4 <= cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

cJSON *pk_json_doc(const char *tool, const char *host,
                   const struct pk_addr *addr, int64_t start_wall_ns)
{
	cJSON *doc = cJSON_CreateObject(), *target;
	char buf[64];

	if (doc == NULL)
		return NULL;
	cJSON_AddStringToObject(doc, "tool", tool);
	cJSON_AddStringToObject(doc, "version", PK_VERSION);
	target = cJSON_AddObjectToObject(doc, "target");
	if (target != NULL) {
		if (host != NULL)
			cJSON_AddStringToObject(target, "host", host);
		if (addr != NULL) {
			cJSON_AddStringToObject(target, "address", pk_addr_host(addr, buf, sizeof buf));
			cJSON_AddNumberToObject(target, "port", pk_addr_port(addr));
		}
	}
	cJSON_AddStringToObject(doc, "start", pk_wall_iso(start_wall_ns, buf, sizeof buf));
	return doc;
}

cJSON *pk_json_num(cJSON *obj, const char *name, double v, int valid)
{
	if (!valid)
		return cJSON_AddNullToObject(obj, name);
	return cJSON_AddNumberToObject(obj, name, v);
}

cJSON *pk_json_rtt(const struct pk_rtt_ms *r)
{
	cJSON *o = cJSON_CreateObject();
	int ok = r->n > 0;

	if (o == NULL)
		return NULL;
	pk_json_num(o, "min", r->min, ok);
	pk_json_num(o, "avg", r->avg, ok);
	pk_json_num(o, "max", r->max, ok);
	pk_json_num(o, "mdev", r->mdev, ok);
	pk_json_num(o, "p50", r->p50, ok);
	pk_json_num(o, "p90", r->p90, ok);
	pk_json_num(o, "p99", r->p99, ok);
	pk_json_num(o, "p999", r->p999, ok);
	pk_json_num(o, "jitter", r->jitter, r->n > 1);
	return o;
}

void pk_json_ping_summary(cJSON *obj, const struct pk_ping_totals *t,
                          const struct pk_rtt_ms *r)
{
	double lo, hi;
	uint64_t lost = t->transmitted - t->received - t->late;
	cJSON *ci;

	cJSON_AddNumberToObject(obj, "transmitted", (double)t->transmitted);
	cJSON_AddNumberToObject(obj, "received", (double)t->received);
	cJSON_AddNumberToObject(obj, "lost", (double)lost);
	cJSON_AddNumberToObject(obj, "late", (double)t->late);
	cJSON_AddNumberToObject(obj, "duplicates", (double)t->dups);
	cJSON_AddNumberToObject(obj, "reordered", (double)t->reordered);
	cJSON_AddNumberToObject(obj, "loss_percent", pk_loss_percent(t));
	pk_wilson(t->transmitted - t->received, t->transmitted, &lo, &hi);
	ci = cJSON_AddArrayToObject(obj, "loss_ci95");
	if (ci != NULL) {
		cJSON_AddItemToArray(ci, cJSON_CreateNumber(100.0 * lo));
		cJSON_AddItemToArray(ci, cJSON_CreateNumber(100.0 * hi));
	}
	cJSON_AddNumberToObject(obj, "longest_loss_run", (double)t->longest_loss_run);
	cJSON_AddItemToObject(obj, "rtt_ms", pk_json_rtt(r));
}

int pk_json_print(FILE *f, const cJSON *doc, int oneline)
{
	char *s = oneline ? cJSON_PrintUnformatted(doc) : cJSON_Print(doc);

	if (s == NULL)
		return -ENOMEM;
	fputs(s, f);
	fputc('\n', f);
	free(s);
	return fflush(f) == 0 ? 0 : -EIO;
}

cJSON *pk_json_envelope(const char *tool, const char *role, const char *host,
                        const struct pk_addr *addr, int64_t start_wall_ns)
{
	cJSON *doc = cJSON_CreateObject();
	char buf[64];

	if (doc == NULL)
		return NULL;
	cJSON_AddNumberToObject(doc, "schema_version", PK_SCHEMA_VERSION);
	cJSON_AddStringToObject(doc, "tool", tool);
	cJSON_AddStringToObject(doc, "version", PK_VERSION);
	if (role != NULL)
		cJSON_AddStringToObject(doc, "role", role);
	if (host != NULL || addr != NULL) {
		cJSON *target = cJSON_AddObjectToObject(doc, "target");

		if (target != NULL && host != NULL)
			cJSON_AddStringToObject(target, "host", host);
		if (target != NULL && addr != NULL) {
			cJSON_AddStringToObject(target, "address", pk_addr_host(addr, buf, sizeof buf));
			cJSON_AddNumberToObject(target, "port", pk_addr_port(addr));
		}
	}
	pk_json_time(doc, "start", start_wall_ns);
	return doc;
}

cJSON *pk_json_time(cJSON *obj, const char *name, int64_t wall_ns)
{
	char buf[64];

	return cJSON_AddStringToObject(obj, name, pk_wall_iso(wall_ns, buf, sizeof buf));
}

cJSON *pk_json_sample(uint64_t seq, int64_t wall_ns)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddNumberToObject(o, "seq", (double)seq);
	pk_json_time(o, "time", wall_ns);
	return o;
}

int pk_json_stream_event(FILE *f, const char *event, const cJSON *data)
{
	char *s = data != NULL ? cJSON_PrintUnformatted(data) : NULL;

	if (data != NULL && s == NULL)
		return -ENOMEM;
	fprintf(f, "{\"event\":\"%s\",\"data\":%s}\n", event, s != NULL ? s : "null");
	free(s);
	return pk_out_flush(f) == 0 ? 0 : -EIO;
}

char *pk_fmt_reply(char *buf, size_t cap, size_t bytes, const char *addr, uint64_t seq,
                   int ttl, double rtt_ms, const char *extra)
{
	char t[24] = "";

	if (cap == 0)
		return buf;
	if (ttl >= 0)
		snprintf(t, sizeof t, " ttl=%d", ttl);
	snprintf(buf, cap, "%zu bytes from %s: seq=%" PRIu64 "%s time=%.3f ms%s%s", bytes, addr,
	         seq, t, rtt_ms, extra != NULL && *extra ? " " : "", extra != NULL ? extra : "");
	return buf;
}

char *pk_fmt_interim(char *buf, size_t cap, const struct pk_ping_totals *t,
                     const struct pk_rtt_ms *r)
{
	int n;

	if (cap == 0)
		return buf;
	n = snprintf(buf, cap, "--- interim: %" PRIu64 " sent, %" PRIu64 " received, %g%% loss",
	             t->transmitted, t->received, pk_loss_percent(t));
	if (r != NULL && r->n > 0 && n >= 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, ", rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms",
		         r->min, r->avg, r->max, r->mdev);
	return buf;
}

void pk_report_interim(FILE *f, const struct pk_ping_totals *t, const struct pk_rtt_ms *r)
{
	char buf[256];

	fprintf(f, "%s\n", pk_fmt_interim(buf, sizeof buf, t, r));
	fflush(f);
}

void pk_csv_str(FILE *f, const char *s, int last)
{
	if (strpbrk(s, ",\"\r\n") != NULL) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputc(last ? '\n' : ',', f);
}

void pk_csv_num(FILE *f, double v, int valid, int last)
{
	if (valid)
		fprintf(f, "%.6g", v);
	fputc(last ? '\n' : ',', f);
}

void pk_csv_uint(FILE *f, uint64_t v, int last)
{
	fprintf(f, "%" PRIu64, v);
	fputc(last ? '\n' : ',', f);
}

void pk_csv_header(FILE *f, const char *const *cols, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pk_csv_str(f, cols[i], i + 1 == n);
}
