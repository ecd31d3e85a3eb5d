/* pk_out: the -D prefix, and a closed stdout pipe ending the program with
 * SIGPIPE (141 in the shell) even though SIGPIPE is ignored. */
#include "cm.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pk_out.h"

static void stamp_format(void **st)
{
	char buf[48];
	(void)st;
	assert_string_equal(pk_out_stamp_fmt(1700000000123456789LL, buf, sizeof buf),
	                    "[1700000000.123456] ");
	assert_string_equal(pk_out_stamp_fmt(5000, buf, sizeof buf), "[0.000005] ");
	assert_string_equal(pk_out_stamp_fmt(-1, buf, sizeof buf), "[0.000000] ");
}

/* A child writes lines to a pipe whose reader is gone, SIGPIPE ignored (as
 * pk_loop leaves it), stdout fully buffered (not a terminal). */
static void closed_pipe_is_sigpipe(void **st)
{
	int p[2], status;
	pid_t pid;
	(void)st;
	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		close(p[0]);
		dup2(p[1], 1);
		close(p[1]);
		setvbuf(stdout, NULL, _IOFBF, 4096);
		for (int i = 0; i < 100000; i++)
			pk_out_line(stdout, 0, "line %d", i);
		_exit(0);      /* not reached */
	}
	close(p[1]);
	close(p[0]);       /* the reader goes away at once */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGPIPE);
}

/* One line read, then the reader goes (`| head -1`). */
static void head_one(void **st)
{
	int p[2], status;
	char buf[64];
	ssize_t n;
	pid_t pid;
	(void)st;
	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		close(p[0]);
		dup2(p[1], 1);
		close(p[1]);
		for (int i = 0; i < 1000; i++) {
			pk_out_line(stdout, 1, "reply %d", i);
			usleep(2000);
		}
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof buf - 1);   /* the first line came at once */
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true(buf[0] == '[');
	assert_non_null(strstr(buf, "] reply 0\n"));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGPIPE);
}

/* A server (pk_out_keep_serving): the reader goes, the child goes on, says
 * it once on stderr, and its later lines fail no more. The child writes
 * only after the reader is gone (`go` reaches EOF then): 1000 short lines
 * fit in a pipe, so a child that ran first would see no failure at all. */
static void server_keeps_serving(void **st)
{
	int p[2], e[2], go[2], status;
	char buf[256], c;
	ssize_t n, got = 0;
	pid_t pid;
	(void)st;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(e), 0);
	assert_int_equal(pipe(go), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fails = 0;

		signal(SIGPIPE, SIG_IGN);
		close(p[0]);
		close(e[0]);
		close(go[1]);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;               /* EOF: the parent closed the reader */
		close(go[0]);
		dup2(p[1], 1);
		dup2(e[1], 2);
		close(p[1]);
		close(e[1]);
		pk_out_keep_serving("srv");
		for (int i = 0; i < 1000; i++)
			fails += pk_out_line(stdout, 0, "line %d", i) != 0;
		/* exactly one failure reported, then /dev/null */
		_exit(fails == 1 && pk_out_closed() ? 7 : 1);
	}
	close(p[1]);
	close(e[1]);
	close(go[0]);
	close(p[0]);       /* the reader goes away before the first line */
	close(go[1]);      /* the child may write now */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	while ((n = read(e[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	close(e[0]);
	assert_string_equal(buf, "srv: stdout: Broken pipe; no more output, still serving\n");
}

static void flush_ok(void **st)
{
	FILE *f = tmpfile();
	(void)st;
	assert_non_null(f);
	assert_int_equal(pk_out_line(f, 0, "a %d", 1), 0);
	assert_int_equal(pk_out_flush(f), 0);
	fclose(f);
}

CM_MAIN(CM_T(stamp_format), CM_T(closed_pipe_is_sigpipe), CM_T(head_one), CM_T(server_keeps_serving),
        CM_T(flush_ok))
