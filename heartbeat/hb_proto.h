/* hb_proto: the heartbeat wire format (docs/PROTOCOLS.md section 2). No I/O,
 * no allocation, no printing: (buf, len) in, a caller-owned struct out.
 *
 * Heartbeat, client -> server, one UDP datagram of ASCII, no terminator:
 *
 *     <seq> SP <timestamp>           "44 1726820518.391909100"
 *
 *   seq        decimal integer 0 .. 2^63-1 (seed 004 starts at 0)
 *   timestamp  the client's wall clock when sending, epoch seconds with an
 *              optional fraction, never negative
 *
 * Reply, server -> client:
 *
 *     <seq> SP <time_diff>           "44 0.000051234", "19 -2.568024873"
 *
 *   time_diff  server receive time - timestamp, seconds; negative when the
 *              clocks disagree. Python's str(float) may use an exponent
 *              ("4.0531158447265625e-05"): accepted when parsing.
 *
 * Parsing follows what the seed's split() accepts, strictly: the two
 * fields may be separated by a run of spaces or tabs and followed by one
 * "\n" or "\r\n"; nothing else (no leading blanks, no third field, no
 * "inf"/"nan"/hex, no '+'). Datagrams over HB_MSG_MAX bytes are malformed.
 */
#ifndef HB_PROTO_H
#define HB_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define HB_MSG_MAX   128                     /* longest valid datagram */
#define HB_SEQ_MAX   INT64_MAX               /* largest sequence number */
#define HB_TS_MAX_S  9000000000LL            /* timestamps < 9e9 s (fit ns) */
#define HB_DIFF_MAX_S 1e9                    /* |time_diff| bound */

/* Why a datagram was refused (negative returns of the parsers). */
enum hb_bad {
	HB_BAD_EMPTY  = -1,  /* zero bytes */
	HB_BAD_SIZE   = -2,  /* longer than HB_MSG_MAX */
	HB_BAD_FIELDS = -3,  /* not exactly two blank-separated fields */
	HB_BAD_NUMBER = -4,  /* a field is not a number of the right form */
	HB_BAD_RANGE  = -5,  /* a number out of its range */
};
#define HB_BAD_KINDS 5

struct hb_beat {
	uint64_t seq;
	int64_t ts_ns;       /* timestamp, ns since the epoch (exact to 1 ns) */
};

struct hb_reply {
	uint64_t seq;
	double diff_s;       /* time_diff, seconds */
};

/* Parses a heartbeat datagram. Returns len (all bytes consumed) or a
 * negative enum hb_bad; *out is written only on success. */
int hb_parse_beat(const void *buf, size_t len, struct hb_beat *out);
/* Parses a reply datagram, same contract. */
int hb_parse_reply(const void *buf, size_t len, struct hb_reply *out);

/* Formats a heartbeat ("<seq> <sec>.<9 digits>") into buf. Returns the
 * length (no NUL counted) or -1 when cap is too small. */
int hb_format_beat(char *buf, size_t cap, uint64_t seq, int64_t wall_ns);
/* Formats a reply ("<seq> [-]<sec>.<9 digits>") from a difference in ns. */
int hb_format_reply(char *buf, size_t cap, uint64_t seq, int64_t diff_ns);

/* The reply as hb_format_reply writes it, but never longer than `max` bytes (the heartbeat's own length,
 * so that the server never amplifies): time_diff keeps 9 decimals when they
 * fit, else as many as fit (the others cut, not rounded), else none and no
 * '.'. Returns the length (no NUL written when it is exactly max), or -1
 * when not even "<seq> <whole seconds>" fits: such a heartbeat gets no reply. */
int hb_format_reply_max(char *buf, size_t max, uint64_t seq, int64_t diff_ns);

/* Replies are told from heartbeats by their size: a heartbeat's timestamp
 * is the client's wall clock, a reply's time_diff is a difference of two
 * clocks. A heartbeat whose time_diff is beyond HB_ANSWER_DIFF_MAX_S either
 * way is reply-shaped: the server never answers it (every reply it sends
 * has |time_diff| below that bound, which read as a timestamp is at least
 * now - bound away: so two servers can never answer each other twice). */
#define HB_ANSWER_DIFF_MAX_S 100000000LL     /* 10^8 s, about 3.2 years */
int hb_reply_shaped(int64_t diff_ns);

/* Short text for an enum hb_bad ("oversized", ...). Static. */
const char *hb_bad_str(int code);

#endif
