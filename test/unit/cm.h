/* cmocka needs these before its header; and the helpers several tests share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "pk_sock.h"

/* An IPv4 address and port, host order in. */
static inline struct pk_addr cm_v4(uint32_t host, uint16_t port)
{
	struct pk_addr a;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

	memset(&a, 0, sizeof a);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(host);
	sin->sin_port = htons(port);
	a.len = sizeof *sin;
	return a;
}
