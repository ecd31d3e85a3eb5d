/* pk_sock: addresses and sockets for every tool.
 *
 * Functions return a file descriptor or 0 on success and -errno on failure
 * (pk_resolve returns PK_ERESOLVE-range codes described below). Nothing here
 * prints or exits. Every socket is created non-blocking and close-on-exec.
 */
#ifndef PK_SOCK_H
#define PK_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/types.h>

struct pk_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Error from pk_resolve when getaddrinfo fails: -(PK_ERESOLVE_BASE + gai
 * error's absolute value); pk_sock_strerror() turns it into text. */
#define PK_ERESOLVE_BASE 10000

/* Resolves host (NULL for the wildcard when passive) and numeric port.
 * family: AF_UNSPEC, AF_INET or AF_INET6. socktype: SOCK_DGRAM/SOCK_STREAM.
 * The first result is written to *out. Returns 0 or a negative code. */
int pk_resolve(const char *host, uint16_t port, int family, int socktype,
               int passive, struct pk_addr *out);

/* Text for a negative code of this module (errno or resolver). Static. */
const char *pk_sock_strerror(int code);

/* "1.2.3.4:80" or "[::1]:80" into buf (cap >= 64 is enough). Returns buf. */
char *pk_addr_str(const struct pk_addr *a, char *buf, size_t cap);
/* The address alone, no port. Returns buf. */
char *pk_addr_host(const struct pk_addr *a, char *buf, size_t cap);
uint16_t pk_addr_port(const struct pk_addr *a);
void pk_addr_set_port(struct pk_addr *a, uint16_t port);
int pk_addr_family(const struct pk_addr *a);
/* 1 when both hold the same address and port. */
int pk_addr_equal(const struct pk_addr *a, const struct pk_addr *b);
/* 1 when both hold the same address (ports ignored). */
int pk_addr_same_host(const struct pk_addr *a, const struct pk_addr *b);
/* 64-bit hash of address and port (for tables keyed by peer). */
uint64_t pk_addr_hash(const struct pk_addr *a);

/* 64-bit hash of the source a datagram came from, for per-source limits:
 * the IPv4 address, or the first 64 bits (the /64) of an IPv6 address (an
 * IPv4-mapped IPv6 address counts as its IPv4 address); the port is
 * ignored, so a sender cannot escape a limit by using many ports or many
 * addresses of its /64. */
uint64_t pk_addr_source_hash(const struct pk_addr *a);
/* 1 for a loopback address (127.0.0.0/8, ::1, IPv4-mapped 127/8). */
int pk_addr_is_loopback(const struct pk_addr *a);

/* The IPv4 and IPv6 addresses of this host's interfaces (getifaddrs; ports
 * 0), at most max of them, into out. Returns how many, or -errno. */
int pk_local_addrs(struct pk_addr *out, size_t max);

/* Which sources a server must never answer (a reflection guard): port 0
 * (no one can receive there: a spoofed source), ports below 1024 unless
 * allowed (other services: echo, chargen, DNS), and the server's own
 * endpoints (a datagram spoofed with the server's own address and port
 * would make it answer itself). Built once at start from the bound
 * address: a wildcard bind takes every address of the host's interfaces
 * (getifaddrs) and loopback. */
#define PK_SELF_MAX 64
struct pk_self {
	uint16_t port;
	int allow_low_ports;
	size_t n;
	struct pk_addr addr[PK_SELF_MAX];   /* ports not used */
};
/* 0, or -errno from getifaddrs (the set then holds the bound address and
 * loopback only). */
int pk_self_init(struct pk_self *s, const struct pk_addr *local, int allow_low_ports);
/* NULL when a reply to `from` may be sent, else why not ("source port 0",
 * "source port below 1024", "our own address"): a static string. */
const char *pk_self_refuse(const struct pk_self *s, const struct pk_addr *from);

/* Socket of type for the family, non-blocking, CLOEXEC. fd or -errno. */
int pk_socket(int family, int type);
/* UDP socket bound to addr (SO_REUSEADDR, for ports that are shared, such
 * as a multicast group's; IPV6_V6ONLY off for "::"). */
int pk_udp_bind(const struct pk_addr *addr);
/* UDP socket connected to peer (replies from elsewhere are filtered, ICMP
 * errors are reported on receive). fd or -errno. */
int pk_udp_connect(const struct pk_addr *peer);
/* TCP listener on addr with backlog. */
int pk_tcp_listen(const struct pk_addr *addr, int backlog);
/* A server's socket: UDP bound, or TCP listening (backlog
 * PK_LISTEN_BACKLOG), on host (NULL: the wildcard) and port, for family
 * AF_UNSPEC, AF_INET (-4) or AF_INET6 (-6). The wildcard with AF_UNSPEC is
 * "::" taking IPv4 too, or 0.0.0.0 on a host without IPv6; with AF_INET6
 * the socket takes IPv6 only. A UDP port another socket holds is
 * -EADDRINUSE (no SO_REUSEADDR: two servers never share one).
 * *local (may be NULL) gets the bound address
 * (the port the kernel chose for port 0). fd, or a negative code for
 * pk_sock_strerror. */
#define PK_LISTEN_BACKLOG 1024
int pk_server_socket(const char *host, uint16_t port, int family, int type,
                     struct pk_addr *local);
/* Starts a non-blocking TCP connect: fd (connect may still be in progress:
 * wait for writability and check pk_sock_error). */
int pk_tcp_connect(const struct pk_addr *addr);
/* SO_ERROR of fd as -errno, or 0. */
int pk_sock_error(int fd);
/* Local address of fd. 0 or -errno. */
int pk_sock_local(int fd, struct pk_addr *out);
int pk_set_nonblock(int fd, int on);
/* Grows SO_RCVBUF/SO_SNDBUF to at least bytes (best effort). */
void pk_sock_buffers(int fd, int bytes);

/* Asks the kernel for software receive timestamps (SO_TIMESTAMPING, falling
 * back to SO_TIMESTAMPNS). 0 or -errno. */
int pk_sock_rx_timestamps(int fd);

/* How a receive time was taken. */
enum pk_rxclock { PK_RXCLOCK_MONOTONIC = 0, PK_RXCLOCK_KERNEL = 1 };

/* One received datagram: payload bytes in buf, and the receive time as
 * CLOCK_MONOTONIC ns. When the kernel gave a timestamp, it is carried from
 * the realtime clock onto the monotonic one by the age of the datagram
 * (time now minus kernel stamp, both realtime), so RTTs stay monotonic. */
struct pk_rx {
	ssize_t len;          /* bytes received (truncated to the buffer) */
	int truncated;        /* datagram was larger than the buffer */
	struct pk_addr from;
	int64_t rx_ns;        /* monotonic receive time */
	int64_t rx_wall_ns;   /* the same instant on the wall clock (the kernel's
	                         stamp itself, or the wall clock read with rx_ns) */
	enum pk_rxclock clock;
	int64_t rxq_drops;    /* the kernel's count of datagrams this socket's
	                         receive buffer had dropped when this one was
	                         queued (SO_RXQ_OVFL, see pk_sock_count_drops);
	                         -1 when not told: not asked, or no drop yet */
	int ttl;              /* the datagram's IPv4 TTL / IPv6 hop limit as it
	                         arrived, or -1 when not known (not asked with
	                         pk_sock_rx_ttl_tos) */
	int tos;              /* its ToS byte / traffic class (DSCP << 2 | ECN),
	                         or -1 when not known */
};

/* Room for the control messages of a receive timestamp and a drop count
 * (msg_control). */
#define PK_RX_CTL_SIZE (CMSG_SPACE(3 * sizeof(struct timespec)) + CMSG_SPACE(4) + \
                        2 * CMSG_SPACE(sizeof(int)) + 64)

/* Asks the kernel to tell, with each datagram, its TTL / hop limit and its
 * ToS / traffic class (IP_RECVTTL + IP_RECVTOS, or IPV6_RECVHOPLIMIT +
 * IPV6_RECVTCLASS, and on an AF_INET6 socket the IPv4 ones too, best
 * effort, for IPv4-mapped peers): pk_rx.ttl and pk_rx.tos. 0 or -errno. */
int pk_sock_rx_ttl_tos(int fd, int family);

/* Asks the kernel to tell, with each datagram, how many this socket's
 * receive buffer has dropped (SO_RXQ_OVFL: pk_rx.rxq_drops), so that our
 * own overflow is never taken for loss on the path. 0 or -errno. */
int pk_sock_count_drops(int fd);
/* The receive buffer's drop count now (SO_MEMINFO), for drops after the
 * last datagram read. 0 or -errno. */
int pk_sock_drops(int fd, uint64_t *drops);

/* The receive time of one datagram from its msghdr's control messages, for
 * callers that receive themselves (recvmmsg batches): mono_ns and real_ns
 * are the two clocks read just after the receive. Sets rx->rx_ns and
 * rx->clock (PK_RXCLOCK_MONOTONIC = mono_ns when the kernel gave no stamp),
 * rx->rxq_drops, rx->ttl and rx->tos (-1 when the kernel did not say). */
void pk_rx_stamp(struct pk_rx *rx, struct msghdr *m, int64_t mono_ns, int64_t real_ns);

/* recvmsg() one datagram with its timestamp. Returns bytes (>= 0) or -errno
 * (-EAGAIN when nothing is queued). */
ssize_t pk_recv_ts(int fd, void *buf, size_t cap, struct pk_rx *rx);

/* Asks for software transmit timestamps too (SO_TIMESTAMPING with
 * OPT_ID: the kernel numbers the datagrams sent on fd from 0 and reports
 * each stamp with its number on the error queue), as well as the receive
 * timestamps of pk_sock_rx_timestamps. 0 or -errno. An fd with transmit
 * timestamps signals readable/error while stamps are queued: drain them
 * with pk_recv_tx_stamp. */
int pk_sock_tx_timestamps(int fd);

/* Reads one message from fd's error queue. Returns 1 with *key (the
 * datagram's number) and *mono_ns (when the kernel handed it to the
 * device, carried onto the monotonic clock as pk_rx_stamp does) when it is
 * a transmit timestamp; 0 for another message (read and dropped); -EAGAIN
 * when the queue is empty; -errno. */
int pk_recv_tx_stamp(int fd, uint32_t *key, int64_t *mono_ns);

/* Multicast helpers. ifindex 0 lets the kernel choose. 0 or -errno. */
int pk_mcast_join(int fd, const struct pk_addr *group, unsigned ifindex);
int pk_mcast_ttl(int fd, int family, int ttl);
int pk_mcast_loop(int fd, int family, int on);
int pk_mcast_iface(int fd, int family, unsigned ifindex);

#endif
