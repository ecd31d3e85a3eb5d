#include "agent_proto.h"

#include <string.h>

enum agent_probe_rc agent_probe_parse(const void *buf, size_t len, uint64_t *num)
{
	const unsigned char *p = buf;
	uint64_t v = 0;
	int overflow = 0;
	size_t i;

	*num = 0;
	if (len == 0 || len > AGENT_PROBE_MAX_DIGITS)
		return AGENT_PROBE_BAD;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			return AGENT_PROBE_BAD;
		d = p[i] - '0';
		if (v > (UINT64_MAX - d) / 10)
			overflow = 1;
		else
			v = v * 10 + d;
	}
	if (overflow)
		return AGENT_PROBE_OVERFLOW;
	*num = v;
	return AGENT_PROBE_OK;
}

size_t agent_probe_format(uint64_t n, char *buf, size_t cap)
{
	char tmp[AGENT_PROBE_MAX_DIGITS];
	size_t len = 0, i;

	do {
		tmp[len++] = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0);
	if (cap < len)
		return 0;
	for (i = 0; i < len; i++)
		buf[i] = tmp[len - 1 - i];
	if (cap > len)
		buf[len] = '\0';
	return len;
}

uint64_t agent_stamp_make(int64_t wall_ns, uint64_t seq)
{
	uint64_t us = (uint64_t)(wall_ns / 1000) % AGENT_STAMP_T_MOD;

	return AGENT_STAMP_MARK + us * AGENT_STAMP_S_MOD + seq % AGENT_STAMP_S_MOD;
}

int agent_stamp_parse(uint64_t num, struct agent_stamp *s)
{
	if (num < AGENT_STAMP_MARK || num >= 2 * AGENT_STAMP_MARK)
		return 0;
	num -= AGENT_STAMP_MARK;
	s->time_us = num / AGENT_STAMP_S_MOD;
	s->seq = num % AGENT_STAMP_S_MOD;
	return 1;
}

int64_t agent_stamp_delay_ns(const struct agent_stamp *s, int64_t rx_wall_ns)
{
	const int64_t m = (int64_t)AGENT_STAMP_T_MOD;
	int64_t rx_us = rx_wall_ns / 1000;
	int64_t d = (rx_us % m - (int64_t)s->time_us) % m;

	if (d < 0)
		d += m;
	if (d >= m / 2)
		d -= m;
	return d * 1000 + rx_wall_ns % 1000 - 500;
}

uint64_t agent_stamp_unwrap(uint64_t s_mod, uint64_t ref)
{
	const uint64_t m = AGENT_STAMP_S_MOD;
	uint64_t base = ref - ref % m, best = base + s_mod % m;

	if (best > ref && best - ref > m / 2 && best >= m)
		best -= m;
	else if (best < ref && ref - best > m / 2)
		best += m;
	return best == 0 ? m : best;
}
