/* Fuzz target: the probe parser, with a round trip through the formatter. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"

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
	return 0;
}
