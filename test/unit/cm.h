/* cmocka needs these before its header; and the helpers several tests share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "pk_sock.h"

/* A test program's main: `CM_MAIN(CM_T(a), CM_T(b), ...)` runs the listed
 * tests as one group. */
#define CM_T(fn) cmocka_unit_test(fn)
#define CM_MAIN(...)                                               \
	int main(void)                                             \
	{                                                          \
		const struct CMUnitTest tests[] = { __VA_ARGS__ }; \
		return cmocka_run_group_tests(tests, NULL, NULL);  \
	}

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
