/* agent_net: the agent's two sockets, its own addresses, and echoes. */
#include "agent_net.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef IPV6_MULTICAST_ALL
#define AGENT_IPV6_MULTICAST_ALL IPV6_MULTICAST_ALL
#else
#define AGENT_IPV6_MULTICAST_ALL 29   /* Linux 4.20 */
#endif

int agent_own_addrs(struct agent_net *n)
{
	int rc;

	n->n_own = 0;
	if (n->cfg->own != NULL) {
		rc = pk_resolve(n->cfg->own, 0, n->cfg->family, SOCK_DGRAM, 0, &n->own[0]);
		if (rc != 0)
			return rc;
		n->n_own = 1;
		return 0;
	}
	rc = pk_local_addrs(n->own, AGENT_MAX_OWN);
	if (rc < 0)
		return rc;
	n->n_own = (size_t)rc;
	return 0;
}

int agent_is_own(const struct agent_net *n, const struct pk_addr *from)
{
	size_t i;

	for (i = 0; i < n->n_own; i++)
		if (pk_addr_same_host(&n->own[i], from))
			return 1;
	return 0;
}

/* IPv4 multicast source: the interface and, when OWN_ADDR is given, the
 * source address (several agents on one host keep distinct sources). */
static int mcast_if4(int fd, const struct agent_net *n)
{
	struct ip_mreqn mr;

	memset(&mr, 0, sizeof mr);
	mr.imr_ifindex = (int)n->ifindex;
	if (n->cfg->own != NULL)
		mr.imr_address = ((const struct sockaddr_in *)&n->own[0].ss)->sin_addr;
	else if (n->cfg->so.have_src && n->cfg->so.src.ss.ss_family == AF_INET)
		mr.imr_address = ((const struct sockaddr_in *)&n->cfg->so.src.ss)->sin_addr;
	if (mr.imr_ifindex == 0 && mr.imr_address.s_addr == 0)
		return 0;
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) != 0)
		return -errno;
	return 0;
}

/* -t and -Q on fd, and with src the -I address as its source (bound, port
 * 0); never SO_BINDTODEVICE: -I IFACE is the group's interface here. */
static int apply_opts(struct agent_net *n, int fd, int src)
{
	struct pk_sockopt o = n->cfg->so;
	int rc;

	o.ifname[0] = '\0';
	if (!src)
		o.have_src = 0;
	rc = pk_sockopt_apply(fd, n->cfg->family, &o, &n->why);
	if (rc != 0 && o.have_src) {
		char host[64];
		snprintf(n->what, sizeof n->what, "-I %s", pk_addr_host(&o.src, host, sizeof host));
	} else if (rc != 0) {
		snprintf(n->what, sizeof n->what, "%s", o.tos >= 0 ? "-t/-Q" : "-t");
	}
	return rc;
}

static int open_tx(struct agent_net *n)
{
	int fd = pk_socket(n->cfg->family, SOCK_DGRAM);
	int rc;

	if (fd < 0)
		return fd;
	rc = apply_opts(n, fd, 1);
	if (rc == 0)
		rc = pk_mcast_ttl(fd, n->cfg->family, n->cfg->ttl);
	if (rc == 0)
		rc = pk_mcast_loop(fd, n->cfg->family, 1);
	if (rc == 0 && n->cfg->family == AF_INET)
		rc = mcast_if4(fd, n);
	if (rc == 0 && n->cfg->family == AF_INET6 && n->ifindex != 0)
		rc = pk_mcast_iface(fd, AF_INET6, n->ifindex);
	/* --peer: unicast probes leave from OWN_ADDR (IP_MULTICAST_IF names the
	 * source of multicast ones only), unless -I ADDR bound the socket */
	if (rc == 0 && n->cfg->n_peers > 0 && n->cfg->own != NULL && !n->cfg->so.have_src &&
	    bind(fd, (const struct sockaddr *)&n->own[0].ss, n->own[0].len) != 0)
		rc = -errno;
	/* the kernel's send and receive times (receive only where it gives no
	 * transmit stamps: the probes are then timed by the monotonic clock) */
	if (rc == 0 && pk_sock_tx_timestamps(fd) != 0)
		(void)pk_sock_rx_timestamps(fd);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	pk_sock_buffers(fd, 1 << 20);
	return fd;
}

static int open_rx(struct agent_net *n)
{
	struct pk_addr any;
	int fd, rc;

	rc = pk_resolve(NULL, n->cfg->port, n->cfg->family, SOCK_DGRAM, 1, &any);
	if (rc != 0)
		return rc;
	fd = pk_udp_bind(&any);
	if (fd < 0)
		return fd;
	rc = apply_opts(n, fd, 0);      /* the echoes' TTL and ToS */
	/* --peer: unicast only; the socket, bound to the wildcard address and
	 * the group port, gets the peers' probes as it gets the group's */
	if (rc == 0 && n->cfg->n_peers == 0)
		rc = pk_mcast_join(fd, &n->group, n->ifindex);
	if (rc == 0)
		(void)pk_sock_rx_timestamps(fd);   /* one-way delays of peers' probes */
	/* only the group joined here, not every group some socket joined */
	if (rc == 0 && n->cfg->family == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &(int){0}, sizeof(int));
	if (rc == 0 && n->cfg->family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, AGENT_IPV6_MULTICAST_ALL, &(int){0}, sizeof(int));
	if (rc != 0) {
		close(fd);
		return rc;
	}
	pk_sock_buffers(fd, 1 << 20);
	return fd;
}

int agent_net_open(struct agent_net *n, const struct agent_cfg *cfg, const char **what)
{
	const char *g = cfg->group;
	int rc;

	n->cfg = cfg;
	n->rx_fd = n->tx_fd = -1;
	if (g == NULL)
		g = n->cfg->family == AF_INET6 ? AGENT_GROUP6 : AGENT_GROUP4;
	*what = g;
	rc = pk_resolve(g, n->cfg->port, n->cfg->family, SOCK_DGRAM, 0, &n->group);
	if (rc != 0)
		return rc;
	if (n->cfg->iface != NULL && (n->ifindex = if_nametoindex(n->cfg->iface)) == 0) {
		snprintf(n->what, sizeof n->what, "-I %s", n->cfg->iface);
		n->why = "no such interface";
		*what = n->what;
		return -ENODEV;
	}
	*what = "own address";
	rc = agent_own_addrs(n);
	if (rc != 0)
		return rc;
	n->use_pktinfo = n->cfg->own != NULL;
	*what = "group socket";
	n->rx_fd = open_rx(n);
	if (n->rx_fd < 0) {
		if (n->why != NULL)
			*what = n->what;
		return n->rx_fd;
	}
	*what = "probe socket";
	n->tx_fd = open_tx(n);
	if (n->tx_fd < 0) {
		if (n->why != NULL)
			*what = n->what;
		return n->tx_fd;
	}
	return 0;
}

void agent_net_close(struct agent_net *n)
{
	if (n->rx_fd >= 0)
		close(n->rx_fd);
	if (n->tx_fd >= 0)
		close(n->tx_fd);
	n->rx_fd = n->tx_fd = -1;
}

/* sendmsg with the source address set to OWN_ADDR (IP_PKTINFO /
 * IPV6_PKTINFO). -errno on failure. */
static int send_from_own(const struct agent_net *n, const void *buf, size_t len,
                         const struct pk_addr *to)
{
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m;
	struct cmsghdr *c;

	memset(&m, 0, sizeof m);
	memset(&ctl, 0, sizeof ctl);
	m.msg_name = (void *)&to->ss;
	m.msg_namelen = to->len;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl.b;
	c = (struct cmsghdr *)ctl.b;
	if (to->ss.ss_family == AF_INET6) {
		struct in6_pktinfo pi = { 0 };
		pi.ipi6_addr = ((const struct sockaddr_in6 *)&n->own[0].ss)->sin6_addr;
		m.msg_controllen = CMSG_SPACE(sizeof pi);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
	} else {
		struct in_pktinfo pi = { 0 };
		pi.ipi_spec_dst = ((const struct sockaddr_in *)&n->own[0].ss)->sin_addr;
		m.msg_controllen = CMSG_SPACE(sizeof pi);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
	}
	return sendmsg(n->rx_fd, &m, 0) < 0 ? -errno : 0;
}

int agent_echo(struct agent_net *n, const void *buf, size_t len, const struct pk_addr *to)
{
	/* From OWN_ADDR when it is ours to send from. A failure changes nothing
	 * for the next echo: a bad destination (port 0) fails here as it would
	 * below, and an OWN_ADDR the host does not have (yet: a tentative IPv6
	 * address) is tried again each time. */
	if (n->use_pktinfo) {
		int rc = send_from_own(n, buf, len, to);
		if (rc == 0 || (rc != -EINVAL && rc != -EADDRNOTAVAIL))
			return rc;
	}
	if (sendto(n->rx_fd, buf, len, 0, (const struct sockaddr *)&to->ss, to->len) < 0)
		return -errno;
	return 0;
}

int agent_send_probe(const struct agent_net *n, uint64_t num, const struct pk_addr *to)
{
	char buf[32];
	size_t len = agent_probe_format(num, buf, sizeof buf);

	if (sendto(n->tx_fd, buf, len, 0, (const struct sockaddr *)&to->ss, to->len) < 0)
		return -errno;
	return 0;
}
