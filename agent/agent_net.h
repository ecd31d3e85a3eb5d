/* agent_net: sockets of the agent. Functions return 0 or -errno. */
#ifndef AGENT_NET_H
#define AGENT_NET_H

#include <net/if.h>

#include "agent.h"
#include "agent_proto.h"

/* The agent's two sockets and what they are bound to; agent_net_open fills
 * it, agent_net_close closes it. */
struct agent_net {
	const struct agent_cfg *cfg;
	int rx_fd;                 /* bound to the group port: probes to echo */
	int tx_fd;                 /* unbound: our probes out, replies in */
	unsigned ifindex;
	struct pk_addr group;
	struct pk_addr own[AGENT_MAX_OWN];
	size_t n_own;
	int use_pktinfo;           /* echo from cfg->own (several agents on one host) */
	char what[IF_NAMESIZE + 64]; /* "-I ARG" when an option failed */
	const char *why;           /* then: why (pk_sockopt_apply's words), else NULL */
};

/* Resolves the group, the interface and the own addresses, opens both
 * sockets. On failure *what names the step (close with agent_net_close). */
int agent_net_open(struct agent_net *n, const struct agent_cfg *cfg, const char **what);
void agent_net_close(struct agent_net *n);
/* Fills n->own: cfg->own, or every address of every local interface. */
int agent_own_addrs(struct agent_net *n);
int agent_is_own(const struct agent_net *n, const struct pk_addr *from);
/* Sends buf back to `to` from the group socket (from OWN_ADDR when given). */
int agent_echo(struct agent_net *n, const void *buf, size_t len, const struct pk_addr *to);
/* Sends probe `num` to `to` (the group, or a peer's group port). */
int agent_send_probe(const struct agent_net *n, uint64_t num, const struct pk_addr *to);

#endif
