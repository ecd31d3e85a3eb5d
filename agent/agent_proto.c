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
