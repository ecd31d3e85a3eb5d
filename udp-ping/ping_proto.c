#include "ping_proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int ping_req_format(char *buf, size_t cap, uint64_t seq, int64_t wall_ns, size_t size)
{
	char text[64];
	int64_t sec = wall_ns / 1000000000LL, usec = (wall_ns % 1000000000LL) / 1000;
	int n = snprintf(text, sizeof text, "Ping %llu %lld.%06lld",
	                 (unsigned long long)seq, (long long)sec, (long long)usec);
	size_t len = (size_t)n, i;

	if (size > len)
		len = size;
	if (len > cap)
		return -ENOSPC;
	memcpy(buf, text, (size_t)n);
	if (len > (size_t)n) {
		buf[n] = ' ';
		for (i = (size_t)n + 1; i < len; i++)
			buf[i] = (char)('a' + (i - (size_t)n - 1) % 26);
	}
	return (int)len;
}

int ping_parse_seq(const void *buf, size_t len, uint64_t *seq)
{
	const unsigned char *p = buf;
	uint64_t v = 0;
	size_t i, digits = 0;

	if (len < 6 || (p[0] | 0x20) != 'p' || (p[1] | 0x20) != 'i' ||
	    (p[2] | 0x20) != 'n' || (p[3] | 0x20) != 'g' || p[4] != ' ')
		return -EINVAL;
	for (i = 5; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		unsigned d = p[i] - '0';
		if (++digits > PING_SEQ_MAX_DIGITS || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (digits == 0 || (i < len && p[i] != ' '))
		return -EINVAL;
	*seq = v;
	return 0;
}

void ping_echo(void *buf, size_t len)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] >= 'a' && p[i] <= 'z')
			p[i] = (unsigned char)(p[i] - 'a' + 'A');
}

int ping_is_echo(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] >= 'a' && p[i] <= 'z')
			return 0;
	return 1;
}
