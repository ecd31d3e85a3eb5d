/* hb_metrics: the heartbeat server's figures in the Prometheus text
 * exposition format (version 0.0.4), served on HTTP /metrics by pk_http
 * (`heartbeat server --metrics-port`). docs/heartbeat.md "Metrics" lists
 * every family.
 *
 * Pure: a view of the table and the totals in, a text out; no clock, no I/O.
 *
 * Cost: O(1) families of totals, plus per-client series for at most
 * max_series clients, chosen by walking the table's lists from their tails
 * (no walk of the whole table): active clients, most recently heard first,
 * then stopped clients, most recently stopped first. The clients left out
 * are counted (heartbeat_server_metrics_clients_left_out).
 */
#ifndef HB_METRICS_H
#define HB_METRICS_H

#include <stdint.h>

#include "hb_report.h"
#include "hb_table.h"
#include "pk_http.h"

#define HB_METRICS_SERIES_DEFAULT 100    /* --metrics-max-clients */
#define HB_METRICS_SERIES_MAX 10000

struct hb_metrics_view {
	const struct hb_table *tab;
	const struct hb_server_totals *tot;
	const struct pk_http_stats *http;  /* the endpoint's connections; NULL: left out */
	uint32_t max_series;               /* clients with per-client series, at most */
	double loss;                       /* the simulated loss configured, 0..1 */
	int64_t now_ns;                    /* monotonic */
	int64_t wall_offset_ns;            /* wall - monotonic */
	int64_t start_wall_ns;             /* when the process started, wall clock */
};

/* The exposition text: malloc'd, NUL-terminated (the caller frees), or NULL
 * when out of memory. */
char *hb_metrics_render(const struct hb_metrics_view *v);

/* The clients that get per-client series: at most cap of them into out[]
 * in the order above; returns how many. */
uint32_t hb_metrics_pick(const struct hb_table *t, const struct hb_peer **out, uint32_t cap);

/* A label value with \ " and newline escaped as the format wants, into buf
 * (truncated to cap - 1 bytes, never mid-escape); returns buf. */
char *hb_metrics_label(const char *s, char *buf, size_t cap);

#endif
