#include "pk_out.h"
#include "pk_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static const char *serving_prog;   /* pk_out_keep_serving */
static int out_closed;

char *pk_out_stamp_fmt(int64_t wall_ns, char *buf, size_t cap)
{
	int64_t us = wall_ns / 1000;

	if (us < 0)
		us = 0;
	snprintf(buf, cap, "[%lld.%06lld] ", (long long)(us / 1000000), (long long)(us % 1000000));
	return buf;
}

void pk_out_stamp(FILE *f)
{
	char buf[48];

	fputs(pk_out_stamp_fmt(pk_wall_ns(), buf, sizeof buf), f);
}

void pk_out_die_sigpipe(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGPIPE);
	_exit(128 + SIGPIPE);
}

int pk_out_flush(FILE *f)
{
	int err;

	errno = 0;
	if (fflush(f) == 0 && !ferror(f))
		return 0;
	err = errno != 0 ? errno : EIO;
	if (err != EPIPE) {
		/* the error of an earlier buffered write is sticky but its errno
		 * is gone: a pipe without a reader polls as POLLERR */
		struct pollfd p = { .fd = fileno(f), .events = POLLOUT };

		if (p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
			err = EPIPE;
	}
	if (serving_prog != NULL && f == stdout) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (!out_closed)
			fprintf(stderr, "%s: stdout: %s; no more output, still serving\n",
			        serving_prog, strerror(err));
		out_closed = 1;
		/* later lines cost nothing and fail no more */
		if (null >= 0) {
			(void)dup2(null, STDOUT_FILENO);
			close(null);
		}
		clearerr(f);
		return -err;
	}
	if (err == EPIPE)
		pk_out_die_sigpipe();
	return -err;
}

void pk_out_keep_serving(const char *prog)
{
	serving_prog = prog;
}

int pk_out_closed(void)
{
	return out_closed;
}

int pk_out_line(FILE *f, int stamp, const char *fmt, ...)
{
	va_list ap;

	if (stamp)
		pk_out_stamp(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	return pk_out_flush(f);
}
