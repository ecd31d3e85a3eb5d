/* agent_proto: the multicast agent's one message, a probe number.
 *
 * Wire format (PROTOCOLS.md section 4), one UDP datagram either way:
 *
 *     probe  agent -> group:1910        "17"   1 to 20 ASCII digits, nothing else
 *     reply  echoer -> probe's source   "17"   the probe's bytes, unchanged
 *
 * The probe number is the sender's counter in decimal, starting at 1. No
 * sign, no space, no newline, no terminating NUL. Twenty digits can hold
 * more than 2^64 - 1: such a probe is still a valid probe (an echoer sends it
 * back unchanged) but its number does not fit, so it never matches a probe of
 * ours. Pure functions: no I/O, no allocation, no printing.
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

#endif
