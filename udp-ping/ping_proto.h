/* ping_proto: the UDP pinger's wire format (docs/PROTOCOLS.md section 1).
 *
 * Request, one datagram of ASCII, seq from 1, time = wall-clock send time in
 * epoch seconds with microseconds:
 *
 *     P i n g ' ' <seq: 1-20 digits> ' ' <time: digits '.' 6 digits> [pad]
 *     "Ping 17 1726820518.391909"
 *
 * With a requested size, the text is followed by one space and lower-case
 * filler ("abc...z" repeating) up to exactly that many bytes.
 *
 * Reply: the request's bytes with ASCII letters a-z upper-cased, everything
 * else as it came: "PING 17 1726820518.391909". The client matches replies
 * by the sequence number; the time field is never parsed by the server.
 *
 * Everything here works on caller buffers: no I/O, no allocation.
 */
#ifndef PING_PROTO_H
#define PING_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PING_MAX_PAYLOAD 65507   /* largest UDP payload over IPv4 */
#define PING_SEQ_MAX_DIGITS 20

/* Writes the request for seq sent at wall_ns into buf, padded to `size`
 * bytes when size is larger than the text (size 0: no padding). Returns
 * its length, or -ENOSPC when cap is too small. No NUL is added. */
int ping_req_format(char *buf, size_t cap, uint64_t seq, int64_t wall_ns, size_t size);

/* Parses a reply (or a request: the match is case-insensitive) and gives
 * its sequence number. The datagram must begin "PING <seq>" followed by a
 * space or its end. Returns 0 or -EINVAL. */
int ping_parse_seq(const void *buf, size_t len, uint64_t *seq);

/* The server's transformation: ASCII a-z to A-Z, in place. */
void ping_echo(void *buf, size_t len);

/* 1 when buf is already in its echo's form: no byte a-z, so that the
 * upper-casing would leave it unchanged (the empty datagram included).
 * Every request our protocol sends has lower-case letters ("Ping"), every
 * echo has none: a server never answers such a datagram, or two servers
 * could answer each other forever. */
int ping_is_echo(const void *buf, size_t len);

#endif
