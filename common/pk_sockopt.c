#include "pk_sockopt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

void pk_sockopt_init(struct pk_sockopt *o)
{
	memset(o, 0, sizeof *o);
	o->ttl = -1;
	o->tos = -1;
}

static int fail(const char **why, const char *w, int code)
{
	if (why != NULL)
		*why = w;
	return code;
}

/* Decimal digits only, at most 0..max; "too large" past it. */
static int parse_dec(const char *s, long max, long *out, const char **why)
{
	long v = 0;

	if (s == NULL || *s == '\0')
		return fail(why, "invalid", -EINVAL);
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return fail(why, "invalid", -EINVAL);
		v = v * 10 + (*s - '0');
		if (v > max)
			return fail(why, "too large", -ERANGE);
	}
	*out = v;
	return 0;
}

int pk_sockopt_parse_ttl(const char *s, int *ttl, const char **why)
{
	long v;
	int rc = parse_dec(s, 255, &v, why);

	if (rc != 0)
		return rc;
	if (v < 1)
		return fail(why, "too small", -ERANGE);
	*ttl = (int)v;
	return 0;
}

static const struct { const char *name; int dscp; } dscp_names[] = {
	{ "cs0", 0 }, { "cs1", 8 }, { "cs2", 16 }, { "cs3", 24 },
	{ "cs4", 32 }, { "cs5", 40 }, { "cs6", 48 }, { "cs7", 56 },
	{ "af11", 10 }, { "af12", 12 }, { "af13", 14 },
	{ "af21", 18 }, { "af22", 20 }, { "af23", 22 },
	{ "af31", 26 }, { "af32", 28 }, { "af33", 30 },
	{ "af41", 34 }, { "af42", 36 }, { "af43", 38 },
	{ "ef", 46 }, { "va", 44 }, { "le", 1 },
};

int pk_dscp_by_name(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof dscp_names / sizeof dscp_names[0]; i++)
		if (strcasecmp(name, dscp_names[i].name) == 0)
			return dscp_names[i].dscp;
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pk_sockopt_parse_tos(const char *s, int *tos, const char **why)
{
	long v;
	int d, rc;

	if (s == NULL || *s == '\0')
		return fail(why, "invalid", -EINVAL);
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		const char *p = s + 2;

		if (*p == '\0')
			return fail(why, "invalid", -EINVAL);
		for (v = 0; *p; p++) {
			int h = hexval(*p);

			if (h < 0)
				return fail(why, "invalid", -EINVAL);
			v = v * 16 + h;
			if (v > 255)
				return fail(why, "too large", -ERANGE);
		}
		*tos = (int)v;
		return 0;
	}
	if (s[0] >= '0' && s[0] <= '9') {
		rc = parse_dec(s, 255, &v, why);
		if (rc != 0)
			return rc;
		*tos = (int)v;
		return 0;
	}
	d = pk_dscp_by_name(s);
	if (d < 0)
		return fail(why, "not a number or a DSCP name (ef, csN, afNN, le, va)", -EINVAL);
	*tos = d << 2;
	return 0;
}

static int ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IF_NAMESIZE || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || c == '/' || c == ':')
			return 0;
	}
	return 1;
}

int pk_sockopt_parse_iface(const char *s, struct pk_sockopt *o, const char **why)
{
	struct pk_addr a;

	if (s == NULL || *s == '\0')
		return fail(why, "invalid", -EINVAL);
	memset(&a, 0, sizeof a);
	{
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

		if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			a.len = sizeof *sin;
		} else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			a.len = sizeof *sin6;
		}
	}
	if (a.len != 0) {
		o->src = a;
		o->have_src = 1;
		o->ifname[0] = '\0';
		return 0;
	}
	if (strchr(s, ':') != NULL || strspn(s, "0123456789.") == strlen(s))
		return fail(why, "not an IPv4 or IPv6 address", -EINVAL);
	if (!ifname_ok(s))
		return fail(why, "not an address or an interface name", -EINVAL);
	memset(&o->src, 0, sizeof o->src);
	o->have_src = 0;
	strcpy(o->ifname, s);          /* length checked by ifname_ok */
	return 0;
}

int pk_sockopt_set(struct pk_sockopt *o, int letter, const char *arg, const char **why)
{
	switch (letter) {
	case 'I': return pk_sockopt_parse_iface(arg, o, why);
	case 't': return pk_sockopt_parse_ttl(arg, &o->ttl, why);
	case 'Q': return pk_sockopt_parse_tos(arg, &o->tos, why);
	default: return fail(why, "not a socket option", -EINVAL);
	}
}

static int setint(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof v) == 0 ? 0 : -errno;
}

int pk_sockopt_apply(int fd, int family, const struct pk_sockopt *o, const char **why)
{
	int rc;

	if (o->ttl >= 0) {
		/* the multicast TTL only where there can be multicast: Linux
		 * refuses it on a TCP socket */
		int type = 0;
		socklen_t tl = sizeof type;
		int mc = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM;

		if (family == AF_INET6) {
			if ((rc = setint(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, o->ttl)) != 0 ||
			    (mc && (rc = setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, o->ttl)) != 0))
				return fail(why, "cannot set the hop limit", rc);
			(void)setint(fd, IPPROTO_IP, IP_TTL, o->ttl);   /* mapped IPv4 */
			if (mc)
				(void)setint(fd, IPPROTO_IP, IP_MULTICAST_TTL, o->ttl);
		} else if ((rc = setint(fd, IPPROTO_IP, IP_TTL, o->ttl)) != 0 ||
		           (mc && (rc = setint(fd, IPPROTO_IP, IP_MULTICAST_TTL, o->ttl)) != 0)) {
			return fail(why, "cannot set the TTL", rc);
		}
	}
	if (o->tos >= 0) {
		if (family == AF_INET6) {
			if ((rc = setint(fd, IPPROTO_IPV6, IPV6_TCLASS, o->tos)) != 0)
				return fail(why, "cannot set the traffic class", rc);
			(void)setint(fd, IPPROTO_IP, IP_TOS, o->tos);
		} else if ((rc = setint(fd, IPPROTO_IP, IP_TOS, o->tos)) != 0) {
			return fail(why, "cannot set the ToS", rc);
		}
	}
	if (o->ifname[0] != '\0') {
		if (if_nametoindex(o->ifname) == 0)
			return fail(why, "no such interface", -ENODEV);
		if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->ifname,
		               (socklen_t)strlen(o->ifname)) != 0) {
			rc = -errno;
			return fail(why, rc == -EPERM ? "binding to an interface needs CAP_NET_RAW"
			                              : "cannot bind to the interface", rc);
		}
	}
	if (o->have_src) {
		struct pk_addr a = o->src;
		int sf = pk_addr_family(&a);

		if (sf != family)
			return fail(why, sf == AF_INET ? "source address is IPv4, the target IPv6"
			                               : "source address is IPv6, the target IPv4",
			            -EAFNOSUPPORT);
		pk_addr_set_port(&a, 0);
		if (bind(fd, (const struct sockaddr *)&a.ss, a.len) != 0) {
			rc = -errno;
			return fail(why, rc == -EADDRNOTAVAIL ? "not an address of this host"
			                                      : "cannot bind the source address", rc);
		}
	}
	return 0;
}
