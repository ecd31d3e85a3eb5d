/* libFuzzer target: the heartbeat parsers must accept or refuse any bytes
 * without crashing, reading out of bounds or producing out-of-range
 * values; whatever they accept must survive a format/parse round trip. */
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hb_proto.h"

/* assert() vanishes under NDEBUG (release builds): check always */
#define CHECK(x) do { if (!(x)) { fprintf(stderr, "check failed: %s\n", #x); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the end */
	uint8_t *buf = malloc(size ? size : 1);
	struct hb_beat b;
	struct hb_reply r;
	char out[HB_MSG_MAX];
	int rc;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	rc = hb_parse_beat(buf, size, &b);
	if (rc >= 0) {
		struct hb_beat b2;
		int n;
		CHECK((size_t)rc == size && size <= HB_MSG_MAX);
		CHECK(b.seq <= (uint64_t)HB_SEQ_MAX);
		CHECK(b.ts_ns >= 0 && b.ts_ns <= HB_TS_MAX_S * 1000000000LL);
		n = hb_format_beat(out, sizeof out, b.seq, b.ts_ns);
		CHECK(n > 0);
		CHECK(hb_parse_beat(out, (size_t)n, &b2) == n);
		CHECK(b2.seq == b.seq && b2.ts_ns == b.ts_ns);
	} else {
		CHECK(rc >= -HB_BAD_KINDS);
	}
	rc = hb_parse_reply(buf, size, &r);
	if (rc >= 0) {
		CHECK(isfinite(r.diff_s) && fabs(r.diff_s) <= HB_DIFF_MAX_S);
		CHECK(r.seq <= (uint64_t)HB_SEQ_MAX);
	} else {
		CHECK(rc >= -HB_BAD_KINDS);
	}
	free(buf);
	return 0;
}
