/* pk_out: the output discipline of every tool's stdout (docs/OUTPUT.md).
 *
 *  lines as they happen  every line (text, CSV row, JSON Lines record) is
 *                        ended with pk_out_flush(stdout) (or printed with
 *                        pk_out_line), so a pipe sees it at once;
 *  a closed pipe         when stdout's reader is gone (`| head -2`), the
 *                        write fails with EPIPE (SIGPIPE is ignored for the
 *                        sockets' sake, see pk_loop) and pk_out_flush ends
 *                        the program as ping does: SIGPIPE back to SIG_DFL,
 *                        unblocked, raise(SIGPIPE): the shell sees 141.
 *                        Nothing else runs (no summary, no atexit);
 *  -D                    ping's `[<unix seconds>.<microseconds>] ` prefix.
 */
#ifndef PK_OUT_H
#define PK_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "[1700000000.123456] " for a CLOCK_REALTIME time in ns into buf (cap >= 32
 * is enough). Returns buf. Pure. */
char *pk_out_stamp_fmt(int64_t wall_ns, char *buf, size_t cap);
/* Writes the -D prefix for now (CLOCK_REALTIME) to f. */
void pk_out_stamp(FILE *f);

/* Flushes f. When the flush (or an earlier buffered write) failed with
 * EPIPE, dies of SIGPIPE (see above); another error is returned: 0 or
 * -errno. Call it after each line of a stream and after the summary. */
int pk_out_flush(FILE *f);
/* printf(fmt...) on f, a newline, pk_out_flush(f). With stamp, the -D
 * prefix first. */
int pk_out_line(FILE *f, int stamp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Servers: a closed stdout ends the output, not the service (a server's
 * stdout may be a journal or a log pipe that goes away and comes back; its
 * clients must not lose it). After this call pk_out_flush(stdout), on a
 * failed write, says once on stderr "<prog>: stdout: <why>; no more output,
 * still serving", points stdout at /dev/null and returns -errno instead
 * of dying. pk_out_closed() is 1 from then on. */
void pk_out_keep_serving(const char *prog);
int pk_out_closed(void);
/* The death itself: SIGPIPE to SIG_DFL, unblocked, raised; _exit(141) if
 * it somehow returns. */
void pk_out_die_sigpipe(void) __attribute__((noreturn));

#endif
