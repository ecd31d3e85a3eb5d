/* agent_net: sockets of the agent. Functions return 0 or -errno. */
#ifndef AGENT_NET_H
#define AGENT_NET_H

#include "agent.h"
#include "agent_proto.h"

/* Resolves the group, the interface and the own addresses, opens both
 * sockets. On failure *what names the step. */
int agent_net_open(struct agent *a, const char **what);
/* Fills a->own: cfg->own, or every address of every local interface. */
int agent_own_addrs(struct agent *a);
int agent_is_own(const struct agent *a, const struct pk_addr *from);
/* Sends buf back to `to` from the group socket (from OWN_ADDR when given). */
int agent_echo(struct agent *a, const void *buf, size_t len, const struct pk_addr *to);
/* Sends probe `num` to the group. */
int agent_send_probe(struct agent *a, uint64_t num);

#endif
