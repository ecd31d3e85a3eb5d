/* echo_spawn: the experiment's own server, a child process (echo_spawn.h). */
#include "echo_spawn.h"
#include "pk_clock.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t max_of(const uint64_t *v, size_t n)
{
	uint64_t m = 0;
	for (size_t i = 0; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* The port of "... listening on ADDR:PORT (...)" read from fd within 10 s. */
static int read_port(int fd, uint16_t *port)
{
	char buf[512];
	size_t len = 0;
	int64_t end = pk_now_ns() + 10 * PK_NS_PER_S;

	while (len < sizeof buf - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = end - pk_now_ns();
		ssize_t n;
		char *nl, *colon;

		if (left <= 0 || poll(&p, 1, (int)(left / PK_NS_PER_MS) + 1) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			return -EPIPE;
		len += (size_t)n;
		buf[len] = '\0';
		if ((nl = strchr(buf, '\n')) == NULL)
			continue;
		*nl = '\0';
		if (strstr(buf, "listening on") == NULL || (colon = strrchr(buf, ':')) == NULL)
			return -EPROTO;
		*port = (uint16_t)strtoul(colon + 1, NULL, 10);
		return *port ? 0 : -EPROTO;
	}
	return -EPROTO;
}

void echo_spawn_stop(struct echo_spawn *s)
{
	int status;

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		for (int i = 0; i < 500 && waitpid(s->pid, &status, WNOHANG) == 0; i++)
			usleep(10000);                    /* up to 5 s */
		if (waitpid(s->pid, &status, WNOHANG) == 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
		}
		s->pid = 0;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int echo_spawn_server(const struct echo_exp_cfg *cfg, struct echo_spawn *s)
{
	uint64_t big = max_of(cfg->sizes_rtt, cfg->nsizes_rtt);
	struct echo_server_cfg sc = {
		.bind_host = cfg->family == AF_INET6 ? "::1" : "127.0.0.1",
		.port = 0, .family = cfg->family, .quiet = 1,
		.lim = { .max_size = 1024 * 1024, .max_probes = cfg->probes,
		         .max_delay_ns = 3600 * PK_NS_PER_S },
		.idle_ns = 30 * PK_NS_PER_S, .max_conns = 1000, .max_per_source = 64,
		.max_buffer = 256 * 1024 * 1024, .so = PK_SOCKOPT_INIT,
	};
	int pfd[2], rc;

	if (max_of(cfg->sizes_ttput, cfg->nsizes_ttput) > big)
		big = max_of(cfg->sizes_ttput, cfg->nsizes_ttput);
	if (big > sc.lim.max_size)
		sc.lim.max_size = big;
	s->pid = 0;
	s->fd = -1;
	if (pipe(pfd) != 0)
		return -errno;
	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0) {
		rc = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return rc;
	}
	if (s->pid == 0) {                          /* the server */
		setpgid(0, 0);
		close(pfd[0]);
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(2);
		close(pfd[1]);
		setvbuf(stdout, NULL, _IOLBF, 0);
		_exit(echo_server_run(&sc));
	}
	close(pfd[1]);
	s->fd = pfd[0];
	if ((rc = read_port(s->fd, &s->port)) != 0)
		echo_spawn_stop(s);
	return rc;
}
