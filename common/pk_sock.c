#include "pk_sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Numeric addresses need no resolver (and no netlink round trip for
 * AI_ADDRCONFIG): 1 when host was one and *out is filled. */
static int resolve_numeric(const char *host, uint16_t port, int family,
                           struct pk_addr *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

	memset(out, 0, sizeof *out);
	if (family != AF_INET6 && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		out->len = sizeof *sin;
		return 1;
	}
	if (family != AF_INET && strchr(host, '%') == NULL &&
	    inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		out->len = sizeof *sin6;
		return 1;
	}
	return 0;
}

int pk_resolve(const char *host, uint16_t port, int family, int socktype,
               int passive, struct pk_addr *out)
{
	struct addrinfo hints, *res = NULL;
	char portstr[8];
	int rc;

	if (host != NULL && resolve_numeric(host, port, family, out))
		return 0;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	if (family == AF_UNSPEC && !passive)
		hints.ai_flags |= AI_ADDRCONFIG;
	snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc == EAI_ADDRFAMILY || (rc == EAI_NONAME && (hints.ai_flags & AI_ADDRCONFIG))) {
		/* loopback-only hosts: AI_ADDRCONFIG may hide ::1 / 127.0.0.1 */
		hints.ai_flags &= ~AI_ADDRCONFIG;
		rc = getaddrinfo(host, portstr, &hints, &res);
	}
	if (rc != 0) {
		if (rc == EAI_SYSTEM)
			return -errno;
		return -(PK_ERESOLVE_BASE + (rc < 0 ? -rc : rc));
	}
	if (res->ai_addrlen > sizeof out->ss) {
		freeaddrinfo(res);
		return -EAFNOSUPPORT;
	}
	memset(out, 0, sizeof *out);
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

const char *pk_sock_strerror(int code)
{
	if (code <= -PK_ERESOLVE_BASE) {
		int gai = -code - PK_ERESOLVE_BASE;
		/* gai codes are negative in glibc */
		return gai_strerror(-gai);
	}
	return strerror(-code);
}

char *pk_addr_host(const struct pk_addr *a, char *buf, size_t cap)
{
	const void *src = NULL;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	int family = a->ss.ss_family;

	if (family == AF_INET) {
		src = &((const struct sockaddr_in *)&a->ss)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
		src = in6;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			/* a dual-stack socket's IPv4 peer: show it as IPv4 */
			src = &in6->s6_addr[12];
			family = AF_INET;
		}
	}
	if (src == NULL || inet_ntop(family, src, buf, (socklen_t)cap) == NULL)
		snprintf(buf, cap, "?");
	return buf;
}

char *pk_addr_str(const struct pk_addr *a, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	pk_addr_host(a, host, sizeof host);
	if (strchr(host, ':') != NULL)
		snprintf(buf, cap, "[%s]:%u", host, (unsigned)pk_addr_port(a));
	else
		snprintf(buf, cap, "%s:%u", host, (unsigned)pk_addr_port(a));
	return buf;
}

uint16_t pk_addr_port(const struct pk_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return 0;
}

void pk_addr_set_port(struct pk_addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
	else if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

int pk_addr_family(const struct pk_addr *a)
{
	return a->ss.ss_family;
}

int pk_addr_same_host(const struct pk_addr *a, const struct pk_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return 0;
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
	if (a->ss.ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
		              &((const struct sockaddr_in6 *)&b->ss)->sin6_addr, 16) == 0;
	return 0;
}

int pk_addr_equal(const struct pk_addr *a, const struct pk_addr *b)
{
	return pk_addr_same_host(a, b) && pk_addr_port(a) == pk_addr_port(b);
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	while (n--) {
		h ^= *c++;
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t pk_addr_hash(const struct pk_addr *a)
{
	uint64_t h = 14695981039346656037ULL;
	uint16_t port = pk_addr_port(a);

	if (a->ss.ss_family == AF_INET)
		h = fnv1a(h, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
	else if (a->ss.ss_family == AF_INET6)
		h = fnv1a(h, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
	h = fnv1a(h, &port, sizeof port);
	/* final mix (splitmix64 finaliser) so low bits are usable as an index */
	h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27; h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/* The address of a as IPv4 (mapped IPv6 unwrapped): 1 and *v4 set, or 0. */
static int as_v4(const struct pk_addr *a, struct in_addr *v4)
{
	if (a->ss.ss_family == AF_INET) {
		*v4 = ((const struct sockaddr_in *)&a->ss)->sin_addr;
		return 1;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(v6)) {
			memcpy(v4, &v6->s6_addr[12], 4);
			return 1;
		}
	}
	return 0;
}

uint64_t pk_addr_source_hash(const struct pk_addr *a)
{
	uint64_t h = 14695981039346656037ULL;
	struct in_addr v4;

	if (as_v4(a, &v4))
		h = fnv1a(h, &v4, 4);
	else if (a->ss.ss_family == AF_INET6)
		h = fnv1a(fnv1a(h, "6", 1), &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 8);
	h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27; h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

int pk_addr_is_loopback(const struct pk_addr *a)
{
	struct in_addr v4;

	if (as_v4(a, &v4))
		return (ntohl(v4.s_addr) >> 24) == 127;
	return a->ss.ss_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

static int is_wildcard(const struct pk_addr *a)
{
	struct in_addr v4;

	if (as_v4(a, &v4))
		return v4.s_addr == htonl(INADDR_ANY);
	return a->ss.ss_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

/* Same address, an IPv4-mapped IPv6 address being its IPv4 address. */
static int same_address(const struct pk_addr *a, const struct pk_addr *b)
{
	struct in_addr x, y;

	if (as_v4(a, &x) && as_v4(b, &y))
		return x.s_addr == y.s_addr;
	return pk_addr_same_host(a, b);
}

int pk_local_addrs(struct pk_addr *out, size_t max)
{
	struct ifaddrs *ifs = NULL, *i;
	size_t n = 0;

	if (getifaddrs(&ifs) != 0)
		return -errno;
	for (i = ifs; i != NULL && n < max; i = i->ifa_next) {
		int fam = i->ifa_addr ? i->ifa_addr->sa_family : AF_UNSPEC;

		if (fam != AF_INET && fam != AF_INET6)
			continue;
		memset(&out[n], 0, sizeof out[n]);
		out[n].len = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		memcpy(&out[n].ss, i->ifa_addr, out[n].len);
		n++;
	}
	freeifaddrs(ifs);
	return (int)n;
}

int pk_self_init(struct pk_self *s, const struct pk_addr *local, int allow_low_ports)
{
	int n;

	memset(s, 0, sizeof *s);
	s->port = pk_addr_port(local);
	s->allow_low_ports = allow_low_ports;
	if (!is_wildcard(local)) {
		s->addr[s->n++] = *local;
		return 0;
	}
	n = pk_local_addrs(s->addr, PK_SELF_MAX);
	if (n < 0)
		return n;
	s->n = (size_t)n;
	return 0;
}

const char *pk_self_refuse(const struct pk_self *s, const struct pk_addr *from)
{
	uint16_t port = pk_addr_port(from);

	if (port == 0)
		return "source port 0";
	if (port < 1024 && !s->allow_low_ports)
		return "source port below 1024";
	if (port != s->port)
		return NULL;
	if (pk_addr_is_loopback(from) || is_wildcard(from))
		return "our own address";
	for (size_t i = 0; i < s->n; i++)
		if (same_address(&s->addr[i], from))
			return "our own address";
	return NULL;
}

int pk_socket(int family, int type)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static int bind_common(int fd, const struct pk_addr *addr, int v6only, int reuse)
{
	if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse) != 0)
		return -errno;
	if (addr->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0)
		return -errno;
	return 0;
}

/* A bound socket of type on addr; a listener for SOCK_STREAM. SO_REUSEADDR
 * when reuse: TCP's listeners (restart past TIME_WAIT) and shared UDP
 * ports (multicast groups); on a UDP server it would let a second server
 * take the port silently. */
static int bound_socket(const struct pk_addr *addr, int type, int v6only, int reuse,
                        int backlog)
{
	int fd = pk_socket(addr->ss.ss_family, type);
	int rc;

	if (fd < 0)
		return fd;
	rc = bind_common(fd, addr, v6only, reuse);
	if (rc == 0 && type == SOCK_STREAM && listen(fd, backlog) != 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int pk_udp_bind(const struct pk_addr *addr)
{
	return bound_socket(addr, SOCK_DGRAM, 0, 1, 0);
}

int pk_udp_connect(const struct pk_addr *peer)
{
	int fd = pk_socket(peer->ss.ss_family, SOCK_DGRAM);

	if (fd < 0)
		return fd;
	if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int pk_tcp_listen(const struct pk_addr *addr, int backlog)
{
	return bound_socket(addr, SOCK_STREAM, 0, 1, backlog);
}

int pk_server_socket(const char *host, uint16_t port, int family, int type,
                     struct pk_addr *local)
{
	struct pk_addr a;
	int rc, fd;

	if (host == NULL && family == AF_INET)
		host = "0.0.0.0";
	if (host == NULL)
		host = "::";
	rc = pk_resolve(host, port, family, type, 1, &a);
	if (rc < 0)
		return rc;
	/* -6 means IPv6 only; otherwise "::" takes IPv4 too */
	fd = bound_socket(&a, type, family == AF_INET6, type == SOCK_STREAM, PK_LISTEN_BACKLOG);
	if (fd < 0 && family == AF_UNSPEC && strcmp(host, "::") == 0 &&
	    (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)) {
		/* no IPv6 on this host: serve IPv4 */
		rc = pk_resolve("0.0.0.0", port, AF_INET, type, 1, &a);
		fd = rc < 0 ? rc : bound_socket(&a, type, 0, type == SOCK_STREAM, PK_LISTEN_BACKLOG);
	}
	if (fd >= 0 && local != NULL && (rc = pk_sock_local(fd, local)) < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int pk_tcp_connect(const struct pk_addr *addr)
{
	int fd = pk_socket(addr->ss.ss_family, SOCK_STREAM);

	if (fd < 0)
		return fd;
	if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0 &&
	    errno != EINPROGRESS) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int pk_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return -errno;
	return -err;
}

int pk_sock_local(int fd, struct pk_addr *out)
{
	memset(out, 0, sizeof *out);
	out->len = sizeof out->ss;
	if (getsockname(fd, (struct sockaddr *)&out->ss, &out->len) != 0)
		return -errno;
	return 0;
}

int pk_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	if (fcntl(fd, F_SETFL, fl) != 0)
		return -errno;
	return 0;
}

void pk_sock_buffers(int fd, int bytes)
{
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

int pk_mcast_join(int fd, const struct pk_addr *group, unsigned ifindex)
{
	if (group->ss.ss_family == AF_INET) {
		struct ip_mreqn mr;
		memset(&mr, 0, sizeof mr);
		mr.imr_multiaddr = ((const struct sockaddr_in *)&group->ss)->sin_addr;
		mr.imr_ifindex = (int)ifindex;
		if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) != 0)
			return -errno;
		return 0;
	}
	if (group->ss.ss_family == AF_INET6) {
		struct ipv6_mreq mr;
		memset(&mr, 0, sizeof mr);
		mr.ipv6mr_multiaddr = ((const struct sockaddr_in6 *)&group->ss)->sin6_addr;
		mr.ipv6mr_interface = ifindex;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof mr) != 0)
			return -errno;
		return 0;
	}
	return -EAFNOSUPPORT;
}

int pk_mcast_ttl(int fd, int family, int ttl)
{
	int rc = family == AF_INET6
		? setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl)
		: setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
	return rc == 0 ? 0 : -errno;
}

int pk_mcast_loop(int fd, int family, int on)
{
	int rc = family == AF_INET6
		? setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &on, sizeof on)
		: setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &on, sizeof on);
	return rc == 0 ? 0 : -errno;
}

int pk_mcast_iface(int fd, int family, unsigned ifindex)
{
	if (family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) != 0)
			return -errno;
		return 0;
	} else {
		struct ip_mreqn mr;
		memset(&mr, 0, sizeof mr);
		mr.imr_ifindex = (int)ifindex;
		if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) != 0)
			return -errno;
		return 0;
	}
}
