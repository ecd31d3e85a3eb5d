/* agent_proto: the multicast agent's one message, a probe number.
 *
 * Wire format (docs/PROTOCOLS.md section 4), one UDP datagram either way:
 *
 *     probe  agent -> group:1910        "17"   1 to 20 ASCII digits, nothing else
 *     reply  echoer -> probe's source   "17"   the probe's bytes, unchanged
 *
 * The probe number is the sender's counter in decimal, starting at 1. No
 * sign, no space, no newline, no terminating NUL. Twenty digits can hold
 * more than 2^64 - 1: such a probe is still a valid probe (an echoer sends it
 * back unchanged) but its number does not fit, so it never matches a probe of
 * ours. Pure functions: no I/O, no allocation, no printing.
 *
 * Stamped probes. Our agents number their probes so that the receiver can
 * tell the one-way delay and the one-way loss of each direction, while a
 * seed-style agent still sees a probe number, echoes it unchanged and
 * measures its RTT/2 against us. A stamped probe is 19 digits:
 *
 *     1 TTTTTTTTTTT SSSSSSS     e.g. "1" "32975187654" "0000017"
 *
 *  - '1': the marker (a number in [10^18, 2 * 10^18));
 *  - T: the sender's wall-clock (CLOCK_REALTIME) send time in microseconds
 *    modulo 10^11 (about 27.8 hours), zero-padded to 11 digits;
 *  - S: the sender's probe sequence number (from 1) modulo 10^7, 7 digits.
 *
 * A plain probe (`--seq-probes`, or a seed agent's) is the sequence number
 * itself. A counter never reaches 10^18, so the two cannot be confused.
 */
#ifndef AGENT_PROTO_H
#define AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_PROBE_MAX_DIGITS 20

enum agent_probe_rc {
	AGENT_PROBE_BAD = -1,     /* not a probe: never echoed, counted */
	AGENT_PROBE_OK = 0,       /* a probe whose number fits in *num */
	AGENT_PROBE_OVERFLOW = 1, /* a probe (digits) whose number does not fit */
};

/* Parses buf[0..len) as a probe. *num gets the number when AGENT_PROBE_OK
 * (else 0). Returns one of agent_probe_rc. */
enum agent_probe_rc agent_probe_parse(const void *buf, size_t len, uint64_t *num);

/* Writes probe number n in decimal into buf (no NUL is counted in the
 * length, but one is written when room allows). Returns the length, or 0
 * when cap is too small (cap >= 21 is always enough). */
size_t agent_probe_format(uint64_t n, char *buf, size_t cap);

#define AGENT_STAMP_MARK   1000000000000000000ULL   /* 10^18 */
#define AGENT_STAMP_T_MOD  100000000000ULL           /* 10^11 us */
#define AGENT_STAMP_S_MOD  10000000ULL               /* 10^7 */

struct agent_stamp {
	uint64_t time_us;   /* send time, wall-clock us modulo AGENT_STAMP_T_MOD */
	uint64_t seq;       /* sequence modulo AGENT_STAMP_S_MOD */
};

/* The stamped probe number of sequence `seq` sent at wall-clock wall_ns. */
uint64_t agent_stamp_make(int64_t wall_ns, uint64_t seq);
/* 1 and *s filled when num is a stamped probe, else 0. */
int agent_stamp_parse(uint64_t num, struct agent_stamp *s);
/* One-way delay of a stamped probe received at wall-clock rx_wall_ns:
 * rx - send, taking the send time as the middle of its microsecond, with
 * the modulo resolved to the value nearest zero (|delay| < 13.9 hours). */
int64_t agent_stamp_delay_ns(const struct agent_stamp *s, int64_t rx_wall_ns);
/* The full sequence number congruent to s_mod (mod AGENT_STAMP_S_MOD)
 * nearest to ref (ref >= 1); never below 1. */
uint64_t agent_stamp_unwrap(uint64_t s_mod, uint64_t ref);

#endif
