/* Fuzz target: the probe parser, with a round trip through the formatter,
 * and the stamped probe's fields: a stamp parsed from any probe number is
 * made again from its fields, and its delay and sequence arithmetic stays
 * in range for any receive time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"

static void stamp(uint64_t n, const uint8_t *data, size_t size)
{
	struct agent_stamp s;
	int64_t rx = 0, d;
	uint64_t ref = 1, seq;

	if (!agent_stamp_parse(n, &s))
		return;
	if (s.time_us >= AGENT_STAMP_T_MOD || s.seq >= AGENT_STAMP_S_MOD ||
	    agent_stamp_make((int64_t)s.time_us * 1000, s.seq) != n)
		abort();
	if (size >= 16) {                  /* the first bytes as a receive time and a reference */
		memcpy(&rx, data, sizeof rx);
		memcpy(&ref, data + 8, sizeof ref);
		rx &= INT64_MAX;
		ref = ref % (UINT64_MAX / 2) + 1;
	}
	d = agent_stamp_delay_ns(&s, rx);
	if (d < -(int64_t)(AGENT_STAMP_T_MOD / 2) * 1000 - 1000 ||
	    d > (int64_t)(AGENT_STAMP_T_MOD / 2) * 1000 + 1000)
		abort();
	seq = agent_stamp_unwrap(s.seq, ref);
	if (seq == 0 || seq % AGENT_STAMP_S_MOD != s.seq % AGENT_STAMP_S_MOD)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[32];
	uint64_t n, m;
	size_t len;

	if (agent_probe_parse(data, size, &n) != AGENT_PROBE_OK)
		return 0;
	len = agent_probe_format(n, buf, sizeof buf);
	if (len == 0 || len > size || agent_probe_parse(buf, len, &m) != AGENT_PROBE_OK || m != n)
		abort();
	stamp(n, data, size);
	return 0;
}
