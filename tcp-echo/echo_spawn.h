/* echo_spawn: the server `tcp-echo experiment` starts when it is given no
 * host: a child process (fork, then echo_server_run) in its own process
 * group, so that a Ctrl-C at the terminal reaches only the experiment, which
 * stops the child by its PID. Bound to 127.0.0.1 (::1 with -6) on port 0;
 * its first stdout line, on a pipe, gives the port. Internal to tcp-echo.
 */
#ifndef ECHO_SPAWN_H
#define ECHO_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#include "echo.h"

struct echo_spawn {
	pid_t pid;                  /* 0: none */
	int fd;                     /* its stdout, -1: none */
	uint16_t port;
};

/* Starts it, with limits that admit every size, probe count and delay of
 * cfg, and waits up to 10 s for its port. 0 or -errno (nothing left
 * running). */
int echo_spawn_server(const struct echo_exp_cfg *cfg, struct echo_spawn *s);
/* SIGTERM, up to 5 s for it to exit, then SIGKILL; reaps it. Safe on a
 * zeroed struct with fd -1, and twice. */
void echo_spawn_stop(struct echo_spawn *s);

#endif
