/* pk_sockopt: the IP-level socket options every client and server offers,
 * parsed once and applied once (docs/OUTPUT.md, "Command line"):
 *
 *   -I ADDR|IFACE  source address (bind, port 0) or interface (SO_BINDTODEVICE)
 *   -t TTL         unicast and multicast TTL / hop limit, 1..255
 *   -Q TOS         ToS / traffic class: 0..255, 0x00..0xff, or a DSCP name
 *                  (ef, cs0..cs7, af11..af43, le, va: the DSCP << 2)
 *
 * The parsers are pure (no I/O: an interface name is checked for its
 * syntax only; its existence is checked by pk_sockopt_apply) and strict:
 * no sign, no blank, no trailing character, no out-of-range value. They
 * return 0, or -EINVAL / -ERANGE with *why a static string ("invalid",
 * "too large", "not 1..255"). Nothing here prints or exits; pk_cli_sockopt
 * (pk_cli.h) is the command line's wrapper.
 *
 * The receive side (IP_RECVTTL / IP_RECVTOS, IPV6_RECVHOPLIMIT /
 * IPV6_RECVTCLASS, read into struct pk_rx's ttl and tos by pk_recv_ts and
 * pk_batch) is pk_sock_rx_ttl_tos in pk_sock.h.
 */
#ifndef PK_SOCKOPT_H
#define PK_SOCKOPT_H

#include <net/if.h>

#include "pk_sock.h"

struct pk_sockopt {
	int ttl;                    /* -1: not set (the kernel's default) */
	int tos;                    /* -1: not set */
	int have_src;               /* -I was an address: src (port 0) */
	struct pk_addr src;
	char ifname[IF_NAMESIZE];   /* -I was an interface name ("" : none) */
};
#define PK_SOCKOPT_INIT { .ttl = -1, .tos = -1 }
void pk_sockopt_init(struct pk_sockopt *o);

/* "64" -> 64. Decimal 1..255 only. */
int pk_sockopt_parse_ttl(const char *s, int *ttl, const char **why);
/* "184", "0xb8", "ef" (case-insensitive names) -> 0..255 (the whole ToS
 * byte: a DSCP name gives DSCP << 2, ECN bits 0). */
int pk_sockopt_parse_tos(const char *s, int *tos, const char **why);
/* The DSCP of a name ("af41" -> 34), or -1. */
int pk_dscp_by_name(const char *name);
/* -I's argument into o: a numeric IPv4 or IPv6 address (no DNS) sets
 * have_src and src (port 0); otherwise a syntactically valid interface
 * name (1..IF_NAMESIZE-1 bytes, no '/', ':', blank or control byte, not
 * "." or "..") sets ifname. Clears the other of the two. */
int pk_sockopt_parse_iface(const char *s, struct pk_sockopt *o, const char **why);
/* One of the three options by its short letter ('I', 't', 'Q'): the
 * parser above; -EINVAL with *why "not a socket option" for another. */
int pk_sockopt_set(struct pk_sockopt *o, int letter, const char *arg, const char **why);

/* Applies o to fd, a socket of family (AF_INET or AF_INET6) not yet
 * connected: TTL (IP_TTL + IP_MULTICAST_TTL, or IPV6_UNICAST_HOPS +
 * IPV6_MULTICAST_HOPS), ToS (IP_TOS or IPV6_TCLASS), and on an AF_INET6
 * socket the IPv4 ones too, best effort (IPv4-mapped peers of a dual-stack
 * socket); then the interface (if_nametoindex first: -ENODEV "no such
 * interface"; then SO_BINDTODEVICE: -EPERM "binding to an interface needs
 * CAP_NET_RAW" on old kernels) and the source address (bind to it, port 0:
 * a family mismatch is -EAFNOSUPPORT "source address is IPv4, the target
 * IPv6" (or the reverse); -EADDRNOTAVAIL "not an address of this host").
 * Apply before connect() (a client) and before bind() of a server's own
 * port only when o has no source (a server's -b is its source). Returns 0
 * or -errno with *why (may be NULL) a static string. */
int pk_sockopt_apply(int fd, int family, const struct pk_sockopt *o, const char **why);

#endif
