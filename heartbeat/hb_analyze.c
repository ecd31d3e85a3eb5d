/* `heartbeat analyze P,K,N`: the false alarms of the k-miss rule for a
 * loss, K and run length given (hb_detect's arithmetic); sends nothing. */
#include "hb.h"
#include "hb_report.h"

int hb_analyze_run(const struct hb_analyze_cfg *cfg)
{
	struct hb_analysis a;

	a.cfg = cfg;
	hb_false_alarm(cfg->loss, cfg->misses, cfg->interval_ns, cfg->timeout_ns, &a.fa);
	hb_fa_over_run(cfg->loss, cfg->misses, a.fa.extra, cfg->count, cfg->budget, &a.run);
	if (!a.fa.valid || !a.run.valid) {
		hb_report_error("analyze: out of memory");
		return 2;
	}
	hb_report_analyze(&a);
	return 0;
}
