/* Fuzz target: the pinger's reply parser and echo on arbitrary bytes.
 * Invariants: parse never reads past len; a parsed seq re-formats into a
 * request that parses to the same seq; echo keeps the length and is
 * idempotent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ping_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seq, seq2;
	char req[128];
	uint8_t *copy;

	if (ping_parse_seq(data, size, &seq) == 0) {
		int n = ping_req_format(req, sizeof req, seq, 0, 0);
		if (n < 0 || ping_parse_seq(req, (size_t)n, &seq2) != 0 || seq2 != seq)
			abort();
	}
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	ping_echo(copy, size);
	for (size_t i = 0; i < size; i++)
		if (copy[i] >= 'a' && copy[i] <= 'z')
			abort();
	ping_echo(copy, size);
	free(copy);
	return 0;
}
