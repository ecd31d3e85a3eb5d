/* hb_metrics: the server's Prometheus exposition over a known table and
 * totals: exact values, families well formed, the per-client cardinality
 * limit and its order, label escaping, IPv6 client labels, and the time a
 * render of 10,000 clients takes (printed). */
#include "cm.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hb_metrics.h"

#define MS 1000000LL

static struct pk_addr v6(const char *ip, uint16_t port)
{
	struct pk_addr a;
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a.ss;

	memset(&a, 0, sizeof a);
	s->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
	s->sin6_port = htons(port);
	a.len = sizeof *s;
	return a;
}

static void beat(struct hb_table *t, struct pk_addr a, uint64_t seq, int64_t diff, int64_t now)
{
	struct hb_beat_result r;

	hb_table_beat(t, &a, seq, diff, now, &r);
	assert_int_not_equal(r.ev, HB_BEAT_JUMP);
}

/* The value of the sample line `series` (name with its labels, exactly),
 * or fails; *found 0 when absent (found NULL: it must be there). */
static double value(const char *text, const char *series, int *found)
{
	size_t n = strlen(series);
	const char *l = text;

	for (; l != NULL && *l != '\0'; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, series, n) == 0 && l[n] == ' ') {
			if (found != NULL)
				*found = 1;
			return strtod(l + n + 1, NULL);
		}
	if (found != NULL)
		*found = 0;
	else
		fail_msg("no sample %s in:\n%s", series, text);
	return 0;
}

static int count_prefix(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *l = text; l != NULL && *l != '\0'; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += strncmp(l, prefix, strlen(prefix)) == 0;
	return n;
}

/* Every sample's family has its HELP and TYPE lines before it, each family
 * once, its samples together: what the text format requires. */
static void well_formed(const char *text)
{
	char fam[128] = "", name[128];
	char seen[64][128];
	int nseen = 0;

	for (const char *l = text; *l != '\0'; l = strchr(l, '\n') + 1) {
		assert_non_null(strchr(l, '\n'));
		if (sscanf(l, "# TYPE %127s", name) == 1) {
			for (int i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], name);
			assert_true(nseen < 64);
			strcpy(seen[nseen++], name);
			strcpy(fam, name);
			continue;
		}
		if (l[0] == '#')
			continue;
		assert_int_equal(sscanf(l, "%127[a-z_]", name), 1);
		assert_string_equal(name, fam);
	}
}

static struct hb_server_totals known_totals(void)
{
	struct hb_server_totals t;

	memset(&t, 0, sizeof t);
	t.datagrams = 40; t.accepted = 4; t.replies = 3; t.send_errors = 1;
	t.malformed = 9; t.bad[0] = 2; t.bad[2] = 3; t.bad[3] = 4;
	t.rate_limited = 5; t.sim_dropped = 6; t.refused_source = 7;
	t.reply_shaped = 1; t.too_short = 2; t.out_of_window = 3;
	t.clients_seen = 2; t.evicted = 11; t.ev_stopped = 1; t.ev_resumed = 12; t.ev_restarted = 13;
	return t;
}

static void exact_values(void **st)
{
	struct hb_table tab;
	struct hb_server_totals tot = known_totals();
	struct pk_http_stats http = { .accepted = 21, .served = 20, .refused = 22, .timed_out = 23, .backoffs = 24 };
	struct pk_addr a = cm_v4(0x7f000001, 5000), b = v6("2001:db8::1", 6000);
	struct hb_metrics_view v = {
		.tab = &tab, .tot = &tot, .http = &http, .max_series = 100, .loss = 0.25,
		.now_ns = 10000 * MS, .wall_offset_ns = 1700000000LL * 1000 * MS,
		.start_wall_ns = 1700000000LL * 1000 * MS + 123 * MS,
	};
	char *text;
	int found;

	(void)st;
	assert_int_equal(hb_table_init(&tab, 16), 0);
	beat(&tab, a, 1, 1 * MS, 1000 * MS);
	beat(&tab, b, 7, -5 * MS, 1500 * MS);
	beat(&tab, a, 2, 3 * MS, 2000 * MS);
	beat(&tab, a, 4, 2 * MS, 4000 * MS);      /* 3 lost */
	hb_table_stop(&tab, hb_table_find(&tab, &b));
	text = hb_metrics_render(&v);
	assert_non_null(text);
	well_formed(text);

	assert_true(strstr(text, "heartbeat_build_info{version=\"" PK_VERSION "\"} 1\n") != NULL);
	assert_true(strstr(text, "\nprocess_start_time_seconds 1700000000.123\n") != NULL);
	assert_true(value(text, "heartbeat_server_clients{state=\"active\"}", NULL) == 1);
	assert_true(value(text, "heartbeat_server_clients{state=\"stopped\"}", NULL) == 1);
	assert_true(value(text, "heartbeat_server_clients_max", NULL) == 16);
	assert_true(value(text, "heartbeat_server_clients_seen_total", NULL) == 2);
	assert_true(value(text, "heartbeat_server_clients_stopped_total", NULL) == 1);
	assert_true(value(text, "heartbeat_server_clients_resumed_total", NULL) == 12);
	assert_true(value(text, "heartbeat_server_clients_restarted_total", NULL) == 13);
	assert_true(value(text, "heartbeat_server_clients_evicted_total", NULL) == 11);
	assert_true(value(text, "heartbeat_server_datagrams_received_total", NULL) == 40);
	assert_true(value(text, "heartbeat_server_heartbeats_accepted_total", NULL) == 4);
	assert_true(value(text, "heartbeat_server_replies_sent_total", NULL) == 3);
	assert_true(value(text, "heartbeat_server_reply_errors_total", NULL) == 1);
	assert_true(value(text, "heartbeat_server_datagrams_refused_total{reason=\"source\"}", NULL) == 7);
	assert_true(value(text, "heartbeat_server_datagrams_refused_total{reason=\"rate_limited\"}", NULL) == 5);
	assert_true(value(text, "heartbeat_server_datagrams_refused_total{reason=\"malformed\"}", NULL) == 9);
	assert_true(value(text, "heartbeat_server_datagrams_refused_total{reason=\"reply_shaped\"}", NULL) == 1);
	assert_true(value(text, "heartbeat_server_datagrams_refused_total{reason=\"too_short\"}", NULL) == 2);
	assert_true(value(text, "heartbeat_server_datagrams_refused_total{reason=\"out_of_window\"}", NULL) == 3);
	assert_true(value(text, "heartbeat_server_malformed_datagrams_total{kind=\"empty\"}", NULL) == 2);
	assert_true(value(text, "heartbeat_server_malformed_datagrams_total{kind=\"oversized\"}", NULL) == 0);
	assert_true(value(text, "heartbeat_server_malformed_datagrams_total{kind=\"not_two_fields\"}", NULL) == 3);
	assert_true(value(text, "heartbeat_server_malformed_datagrams_total{kind=\"not_a_number\"}", NULL) == 4);
	assert_true(value(text, "heartbeat_server_malformed_datagrams_total{kind=\"out_of_range\"}", NULL) == 0);
	assert_true(value(text, "heartbeat_server_simulated_drops_total", NULL) == 6);
	assert_true(value(text, "heartbeat_server_simulated_loss_ratio", NULL) == 0.25);
	assert_true(value(text, "heartbeat_server_metrics_clients_max", NULL) == 100);
	assert_true(value(text, "heartbeat_server_metrics_clients_left_out", NULL) == 0);
	assert_true(value(text, "heartbeat_server_metrics_connections_total{result=\"accepted\"}", NULL) == 21);
	assert_true(value(text, "heartbeat_server_metrics_connections_total{result=\"refused\"}", NULL) == 22);
	assert_true(value(text, "heartbeat_server_metrics_connections_total{result=\"timed_out\"}", NULL) == 23);
	assert_true(value(text, "heartbeat_server_metrics_accept_backoffs_total", NULL) == 24);

#define A "{client=\"127.0.0.1:5000\"}"
#define B "{client=\"[2001:db8::1]:6000\"}"
	assert_true(value(text, "heartbeat_server_client_heartbeats_received_total" A, NULL) == 3);
	assert_true(value(text, "heartbeat_server_client_lost_heartbeats" A, NULL) == 1);
	assert_true(value(text, "heartbeat_server_client_loss_ratio" A, NULL) == 0.25);
	assert_true(value(text, "heartbeat_server_client_time_diff_last_seconds" A, NULL) == 0.002);
	assert_true(value(text, "heartbeat_server_client_time_diff_mean_seconds" A, NULL) == 0.002);
	assert_true(value(text, "heartbeat_server_client_time_diff_min_seconds" A, NULL) == 0.001);
	assert_true(value(text, "heartbeat_server_client_time_diff_max_seconds" A, NULL) == 0.003);
	assert_true(value(text, "heartbeat_server_client_last_heard_timestamp_seconds" A, NULL) == 1700000004.0);
	assert_true(value(text, "heartbeat_server_client_stops_total" A, NULL) == 0);
	assert_true(value(text, "heartbeat_server_client_restarts_total" A, NULL) == 0);
	assert_true(value(text, "heartbeat_server_client_state{client=\"127.0.0.1:5000\",state=\"active\"}", NULL) == 1);
	assert_true(value(text, "heartbeat_server_client_state{client=\"127.0.0.1:5000\",state=\"stopped\"}", NULL) == 0);
	/* the IPv6 client: bracketed in its label, a negative time_diff */
	assert_true(value(text, "heartbeat_server_client_heartbeats_received_total" B, NULL) == 1);
	assert_true(value(text, "heartbeat_server_client_lost_heartbeats" B, NULL) == 0);
	assert_true(value(text, "heartbeat_server_client_loss_ratio" B, NULL) == 0);
	assert_true(value(text, "heartbeat_server_client_time_diff_last_seconds" B, NULL) == -0.005);
	assert_true(value(text, "heartbeat_server_client_time_diff_min_seconds" B, NULL) == -0.005);
	assert_true(value(text, "heartbeat_server_client_last_heard_timestamp_seconds" B, NULL) == 1700000001.5);
	assert_true(value(text, "heartbeat_server_client_stops_total" B, NULL) == 1);
	assert_true(value(text, "heartbeat_server_client_state{client=\"[2001:db8::1]:6000\",state=\"active\"}", NULL) == 0);
	assert_true(value(text, "heartbeat_server_client_state{client=\"[2001:db8::1]:6000\",state=\"stopped\"}", NULL) == 1);
	free(text);

	/* no endpoint: no endpoint families */
	v.http = NULL;
	text = hb_metrics_render(&v);
	assert_non_null(text);
	(void)value(text, "heartbeat_server_metrics_accept_backoffs_total", &found);
	assert_int_equal(found, 0);
	assert_null(strstr(text, "heartbeat_server_metrics_connections_total"));
	free(text);
	hb_table_free(&tab);
}

/* An empty table: every family's HELP and TYPE, no per-client sample. */
static void empty_table(void **st)
{
	struct hb_table tab;
	struct hb_server_totals tot;
	struct hb_metrics_view v = { .tab = &tab, .tot = &tot, .max_series = 100 };
	char *text;

	(void)st;
	memset(&tot, 0, sizeof tot);
	assert_int_equal(hb_table_init(&tab, 4), 0);
	text = hb_metrics_render(&v);
	assert_non_null(text);
	well_formed(text);
	assert_int_equal(count_prefix(text, "heartbeat_server_client_"), 0);
	assert_true(strstr(text, "# TYPE heartbeat_server_client_state gauge\n") != NULL);
	assert_true(value(text, "heartbeat_server_metrics_clients_left_out", NULL) == 0);
	free(text);
	hb_table_free(&tab);
}

/* N + k clients, max_series N: N per-client series, the rest counted; the
 * N are the most recently heard active clients, then the most recently
 * stopped. */
static void cardinality(void **st)
{
	enum { N = 3, K = 4 };
	struct hb_table tab;
	struct hb_server_totals tot;
	struct hb_metrics_view v = { .tab = &tab, .tot = &tot, .max_series = N };
	struct pk_addr newest;
	char *text, series[128];
	int found;

	(void)st;
	memset(&tot, 0, sizeof tot);
	assert_int_equal(hb_table_init(&tab, 100), 0);
	for (int i = 0; i < N + K; i++)       /* port 1000 + i heard at i s */
		beat(&tab, cm_v4(0x0a000001, (uint16_t)(1000 + i)), 1, MS, (i + 1) * 1000 * MS);
	/* 1006, the newest, stops: active by recency 1005, 1004, 1003 ... */
	newest = cm_v4(0x0a000001, 1000 + N + K - 1);
	hb_table_stop(&tab, hb_table_find(&tab, &newest));
	text = hb_metrics_render(&v);
	assert_non_null(text);
	well_formed(text);
	assert_int_equal(count_prefix(text, "heartbeat_server_client_state{"), 2 * N);
	assert_int_equal(count_prefix(text, "heartbeat_server_client_heartbeats_received_total{"), N);
	assert_true(value(text, "heartbeat_server_metrics_clients_left_out", NULL) == K);
	for (int i = 0; i < N + K; i++) {
		snprintf(series, sizeof series,
		         "heartbeat_server_client_heartbeats_received_total{client=\"10.0.0.1:%d\"}", 1000 + i);
		(void)value(text, series, &found);
		assert_int_equal(found, i >= 3 && i <= 5);
	}
	free(text);

	/* room for every active client and one stopped */
	v.max_series = N + K;
	text = hb_metrics_render(&v);
	assert_int_equal(count_prefix(text, "heartbeat_server_client_state{"), 2 * (N + K));
	assert_true(value(text, "heartbeat_server_metrics_clients_left_out", NULL) == 0);
	assert_true(value(text, "heartbeat_server_client_state{client=\"10.0.0.1:1006\",state=\"stopped\"}", NULL) == 1);
	free(text);

	/* none */
	v.max_series = 0;
	text = hb_metrics_render(&v);
	well_formed(text);
	assert_int_equal(count_prefix(text, "heartbeat_server_client_"), 0);
	assert_true(value(text, "heartbeat_server_metrics_clients_left_out", NULL) == N + K);
	free(text);
	hb_table_free(&tab);
}

/* A ratio to 9 decimals; a time_diff exact to the nanosecond. */
static void number_forms(void **st)
{
	struct hb_table tab;
	struct hb_server_totals tot;
	struct hb_metrics_view v = { .tab = &tab, .tot = &tot, .max_series = 100 };
	struct pk_addr c = cm_v4(0x7f000002, 7000);
	char *text;

	(void)st;
	memset(&tot, 0, sizeof tot);
	assert_int_equal(hb_table_init(&tab, 4), 0);
	beat(&tab, c, 1, 1, 1000 * MS);
	beat(&tab, c, 3, -1234567891, 2000 * MS);
	text = hb_metrics_render(&v);
	assert_non_null(text);
	assert_non_null(strstr(text, "\nheartbeat_server_client_loss_ratio{client=\"127.0.0.2:7000\"} 0.333333333\n"));
	assert_non_null(strstr(text, "\nheartbeat_server_client_time_diff_last_seconds{client=\"127.0.0.2:7000\"} -1.234567891\n"));
	assert_non_null(strstr(text, "\nheartbeat_server_client_time_diff_max_seconds{client=\"127.0.0.2:7000\"} 0.000000001\n"));
	assert_non_null(strstr(text, "\nheartbeat_server_client_time_diff_mean_seconds{client=\"127.0.0.2:7000\"} -0.617283945\n"));
	assert_non_null(strstr(text, "\nheartbeat_server_simulated_loss_ratio 0\n"));
	free(text);
	hb_table_free(&tab);
}

static void label_escaping(void **st)
{
	char buf[64];

	(void)st;
	assert_string_equal(hb_metrics_label("[fe80::1%eth0]:5000", buf, sizeof buf),
	                    "[fe80::1%eth0]:5000");
	assert_string_equal(hb_metrics_label("a\"b\\c\nd", buf, sizeof buf), "a\\\"b\\\\c\\nd");
	/* truncated before an escape that does not fit, never inside it */
	assert_string_equal(hb_metrics_label("ab\"", buf, 4), "ab");
	assert_string_equal(hb_metrics_label("ab\"", buf, 5), "ab\\\"");
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 10,000 clients, every one exported, and 1,000,000 with the default 100:
 * the time per render printed (not asserted: a shared machine). */
static void render_time(void **st)
{
	const uint32_t sizes[2] = { 10000, 1000000 }, series[2] = { 10000, HB_METRICS_SERIES_DEFAULT };
	struct hb_server_totals tot;

	(void)st;
	memset(&tot, 0, sizeof tot);
	for (int s = 0; s < 2; s++) {
		struct hb_table tab;
		struct hb_metrics_view v = { .tab = &tab, .tot = &tot, .max_series = series[s],
		                             .now_ns = 5000 * MS };
		double t0, dt, best = 1e9;
		size_t len = 0;

		assert_int_equal(hb_table_init(&tab, sizes[s]), 0);
		for (uint32_t i = 0; i < sizes[s]; i++)
			beat(&tab, cm_v4(0x0a000000 + (i >> 10), (uint16_t)(1024 + (i & 1023))), 1 + i % 7,
			     (int64_t)(i % 1000) * 1000, (int64_t)(i + 1) * 1000);
		for (int r = 0; r < 5; r++) {
			char *text;
			t0 = seconds();
			text = hb_metrics_render(&v);
			dt = seconds() - t0;
			best = dt < best ? dt : best;
			assert_non_null(text);
			len = strlen(text);
			assert_int_equal(count_prefix(text, "heartbeat_server_client_state{"), 2 * (int)series[s]);
			free(text);
		}
		printf("render: %u clients, %u exported: %.2f ms, %zu bytes\n", sizes[s], series[s],
		       best * 1e3, len);
		hb_table_free(&tab);
	}
}

CM_MAIN(CM_T(exact_values), CM_T(empty_table), CM_T(cardinality), CM_T(number_forms),
        CM_T(label_escaping),
        CM_T(render_time))
