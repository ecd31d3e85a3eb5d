/* echo_proto: the TCP echo measurement protocol (docs/PROTOCOLS.md
 * section 3).
 *
 * Pure code: (buf, len) in, a struct and a verdict out; no I/O, no
 * allocation, no printing. The server's event loop and the fuzzer drive the
 * same functions.
 *
 * Wire format: every message is one line ending in "\n", fields separated
 * by exactly one space.
 *
 *   client                        server
 *   "s RTT 1000 10 0.5\n"  setup   "200 OK: Ready\n"
 *   "s TTPUT 2048 10 0\n"          "404 ERROR: Invalid Connection Setup Message\n", close
 *   "m <payload> 1\n"      probe   the identical line, after the server delay
 *      (seq 1..probes, payload     "404 ERROR: Invalid Measurement Message\n", close
 *       exactly msg_size bytes,
 *       no space, no newline)
 *   "t\n"                  end     "200 OK: Closing Connection\n", close
 *                                  "404 ERROR: Invalid Connection Termination Message\n", close
 *
 * Numbers: msg_size, probes and seq are positive decimal integers without a
 * sign or leading zeros; server_delay is digits with an optional fraction
 * ("0", "0.5", "1.25"), no sign, no exponent. Anything else in a field, a
 * missing or extra field, a CR before the LF: the message is invalid.
 */
#ifndef ECHO_PROTO_H
#define ECHO_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ECHO_DEFAULT_PORT 9900

enum echo_mtype { ECHO_RTT = 0, ECHO_TTPUT = 1 };

struct echo_setup {
	enum echo_mtype type;
	uint64_t size;       /* payload bytes of each probe */
	uint64_t probes;
	int64_t delay_ns;    /* server delay before each echo */
};

/* The server's bounds; a setup beyond any of them is invalid. */
struct echo_limits {
	uint64_t max_size;
	uint64_t max_probes;
	int64_t max_delay_ns;
};

/* Longest setup line accepted (without the "\n"). */
#define ECHO_SETUP_MAX 128

/* ---- line framer ------------------------------------------------------ */

#define ECHO_PARTIAL 0
#define ECHO_BAD     (-1)

/* Finds the first line in buf. Returns the bytes it takes including the
 * "\n" (> 0) and its length without the "\n" in *line_len; ECHO_PARTIAL when
 * there is no "\n" yet and the line could still be at most max_line bytes;
 * ECHO_BAD when the line is already longer than max_line. */
ssize_t echo_frame(const void *buf, size_t len, size_t max_line, size_t *line_len);

/* ---- messages (line without its "\n") --------------------------------- */

/* 0, -EINVAL (malformed) or -ERANGE (a value beyond lim; lim may be NULL
 * for no bounds beyond the integer range). */
int echo_parse_setup(const char *line, size_t len, const struct echo_limits *lim,
                     struct echo_setup *out);

struct echo_probe {
	const char *payload;  /* points into line */
	size_t payload_len;
	uint64_t seq;
};

/* 0 or -EINVAL. Checks only the shape, not the session's size and seq. */
int echo_parse_probe(const char *line, size_t len, struct echo_probe *out);

/* 1 when the line is exactly "t". */
int echo_is_term(const char *line, size_t len);

/* ---- the server's session state machine ------------------------------- */

enum echo_phase {
	ECHO_PH_SETUP,      /* waiting for "s ..." */
	ECHO_PH_MEASURE,    /* probes 1..probes, or an early "t" */
	ECHO_PH_TERM,       /* every probe echoed: only "t" is valid */
	ECHO_PH_DONE,       /* a closing verdict was given */
};

enum echo_verdict {
	ECHO_V_READY,       /* valid setup: "200 OK: Ready" */
	ECHO_V_ECHO,        /* valid probe: echo the line after the delay */
	ECHO_V_CLOSE,       /* valid termination: "200 OK: Closing Connection", close */
	ECHO_V_BAD_SETUP,   /* the three 404s, then close */
	ECHO_V_BAD_PROBE,
	ECHO_V_BAD_TERM,
};

struct echo_session {
	enum echo_phase phase;
	struct echo_setup setup;
	uint64_t echoed;    /* probes accepted (= last seq) */
};

void echo_session_init(struct echo_session *s);
/* Longest valid line in the current phase, without the "\n"; a longer line
 * is invalid whatever follows. */
size_t echo_session_max_line(const struct echo_session *s);
/* Feeds one complete line (without "\n"). */
enum echo_verdict echo_session_line(struct echo_session *s, const struct echo_limits *lim,
                                    const char *line, size_t len);
/* A line that can never become valid: longer than echo_session_max_line(),
 * or cut off by the end of the stream. Decided by the phase and its first
 * byte (-1 when there is none). */
enum echo_verdict echo_session_broken(struct echo_session *s, int first_byte);

/* The server's reply line for a verdict (with "\n"), NULL for ECHO_V_ECHO. */
const char *echo_verdict_reply(enum echo_verdict v, size_t *len);
/* 1 when the verdict ends the connection. */
static inline int echo_verdict_closes(enum echo_verdict v)
{
	return v != ECHO_V_READY && v != ECHO_V_ECHO;
}
const char *echo_verdict_name(enum echo_verdict v);
const char *echo_mtype_name(enum echo_mtype t);

/* ---- the client's side ------------------------------------------------ */

/* "s RTT 1000 10 0.5\n" into buf. Returns its length or -ENOSPC. */
int echo_fmt_setup(char *buf, size_t cap, const struct echo_setup *s);
/* A delay as the shortest decimal seconds: 0 -> "0", 5e8 -> "0.5". */
int echo_fmt_delay(char *buf, size_t cap, int64_t ns);
/* Decimal seconds text (as in a setup) to ns; 0, -EINVAL or -ERANGE. */
int echo_parse_delay(const char *p, size_t n, int64_t max_ns, int64_t *ns);
/* Fills payload[0..size) with printable non-space bytes (a fixed pattern). */
void echo_fill_payload(char *payload, size_t size);
/* Length of the probe line for size and seq, with the "\n". */
size_t echo_probe_len(uint64_t size, uint64_t seq);
/* Writes "m <payload> <seq>\n"; returns its length, -ENOSPC if cap is short. */
int echo_fmt_probe(char *buf, size_t cap, const char *payload, size_t size, uint64_t seq);
/* Rewrites only the " <seq>\n" of a line echo_fmt_probe() made (the payload
 * stays), so a sender formats each probe in O(digits). Same returns. */
int echo_fmt_probe_seq(char *buf, size_t cap, size_t size, uint64_t seq);

enum echo_reply {
	ECHO_R_READY,       /* 200 OK: Ready */
	ECHO_R_CLOSING,     /* 200 OK: Closing Connection */
	ECHO_R_ERR_SETUP,   /* the three 404s */
	ECHO_R_ERR_PROBE,
	ECHO_R_ERR_TERM,
	ECHO_R_ERR_OTHER,   /* another line starting with "404" */
	ECHO_R_OTHER,
};

/* Classifies a server line (without "\n"). */
enum echo_reply echo_parse_reply(const char *line, size_t len);

#endif
