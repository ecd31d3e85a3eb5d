/* Server scale for tcp-echo: N concurrent measurement sessions, each
 * probing once a second for SECS seconds (spread evenly over the second),
 * against 127.0.0.1 only; bounded in count and time.
 *
 *   tcp_echo_load PORT N SECS SERVER_PID
 *   tcp_echo_load PORT1,PORT2 N SECS PID1,PID2   (paired: two servers side
 *       by side, even sessions to the first, odd ones to the second, each
 *       server's figures on a line of its own that starts "server=1|2"; both
 *       live through the same stalls of the machine, so their difference is
 *       the servers')
 *
 * Measures the server's resident memory (VmRSS) and the kernel's TCP memory
 * (/proc/net/sockstat) before the sessions and with all of them set up and
 * idle, then every probe's RTT. Prints one line of key=value figures:
 * percentiles are nearest rank over the answered probes; send_late_* say
 * how far behind its schedule the generator itself sent (a probe is sent
 * only when the session's previous echo is back, so a session owed an echo
 * skips a second and its seq goes on from the last probe sent).
 *
 * CPU during the probes (ms, from /proc): busy_ms on every CPU (wall
 * time x CPUs - idle), the
 * server's and the generator's own, and other_cpu_ms, the rest (other
 * processes, and interrupts not charged to either): the work that shared
 * the machine with the measurement; steal_ms, the time the hypervisor
 * took our vCPUs for something else.
 *
 * Between sends it sleeps in epoll_pwait2 until the next is due (to the
 * ns); PK_LOAD_SPIN=1 rounds the wait down to ms as it once did, which
 * spins whenever sends are under 1 ms apart.
 *
 * PK_LOAD_CANARY=1 adds a canary on each CPU (see canary_run):
 * canary_late_1ms / _10ms count the stalls it saw, canary_max_us the worst.
 *
 * PK_LOAD_TRACE=FILE writes one line per answered probe: the send time
 * (CLOCK_MONOTONIC ns, the clock of perf record -k CLOCK_MONOTONIC), the
 * RTT (ns) and the session index, for finding when the slow echoes came. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct sess {
	int fd;
	int64_t sent_at;      /* 0: nothing outstanding */
	int64_t next_due;
	unsigned seq;
	char buf[64];
	size_t len;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static long tcp_mem_pages(void)
{
	char line[256];
	long pages = -1;
	FILE *f = fopen("/proc/net/sockstat", "r");
	while (f && fgets(line, sizeof line, f)) {
		char *m = strstr(line, " mem ");
		if (strncmp(line, "TCP:", 4) == 0 && m)
			pages = atol(m + 5);
	}
	if (f)
		fclose(f);
	return pages;
}

/* Idle time of every CPU in ms (/proc/stat: idle + iowait, which the
 * kernel measures exactly on a tickless idle CPU; the busy fields are
 * sampled at the tick and miss short runs), and steal time (the
 * hypervisor ran something else on our vCPUs). */
static double idle_ms(double *steal)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int k = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
	                   &v[3], &v[4], &v[5], &v[6], &v[7]) : 0;
	double tck = (double)sysconf(_SC_CLK_TCK);
	if (f)
		fclose(f);
	*steal = k == 8 ? (double)v[7] * 1000 / tck : 0;
	return k == 8 ? (double)(v[3] + v[4]) * 1000 / tck : 0;
}

/* CPU time of a process in ms (utime + stime). */
static double proc_cpu_ms(int pid)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');    /* the name may hold spaces */
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	                        &ut, &st) != 2)
		return 0;
	return (double)(ut + st) * 1000 / (double)sysconf(_SC_CLK_TCK);
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* PK_LOAD_CANARY=1: a thread on each CPU, SCHED_FIFO above the server and
 * the generator when it may be, wakes every 1 ms during the probes and
 * counts its own late wake-ups: a vCPU that the hypervisor took, or kernel
 * work that nothing preempts, holds it off as it holds off the servers. */
#define CANARY_MAX 8
struct canary {
	pthread_t th;
	int cpu, started;
	long late1, late10;
	int64_t worst;
};
static volatile int canary_on, canary_stop;

static void *canary_run(void *arg)
{
	struct canary *c = arg;
	cpu_set_t set;
	struct sched_param sp = { .sched_priority = 30 };
	struct timespec t;

	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);    /* if we may */
	clock_gettime(CLOCK_MONOTONIC, &t);
	while (!canary_stop) {
		t.tv_nsec += 1000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_nsec -= 1000000000;
			t.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		int64_t late = now_ns() - ((int64_t)t.tv_sec * 1000000000LL + t.tv_nsec);
		if (!canary_on)
			continue;
		c->late1 += late > 1000000;
		c->late10 += late > 10000000;
		c->worst = late > c->worst ? late : c->worst;
		if (late > 1000000) {           /* catch up: one count per stall */
			clock_gettime(CLOCK_MONOTONIC, &t);
		}
	}
	return NULL;
}

/* Nearest rank, in us, of sorted v[0..n). */
static double pct(const int64_t *v, long n, double p)
{
	long r = (long)(p * (double)n + 0.999999);

	return n ? v[(r < 1 ? 1 : r > n ? n : r) - 1] / 1e3 : 0;
}

/* Reads one short line (blocking wait up to 5 s via epoll on one fd). */
static int read_reply(struct sess *s, int ep)
{
	struct epoll_event ev;
	int64_t end = now_ns() + 5000000000LL;
	while (now_ns() < end) {
		ssize_t k = recv(s->fd, s->buf + s->len, sizeof s->buf - s->len, MSG_DONTWAIT);
		if (k > 0) {
			s->len += (size_t)k;
			if (memchr(s->buf, '\n', s->len)) {
				s->len = 0;
				return 0;
			}
		} else if (k == 0 || errno != EAGAIN) {
			return -1;
		} else {
			epoll_wait(ep, &ev, 1, 10);
		}
	}
	return -1;
}

static int open_all(struct sess *ss, int n, const int *port, int nsrv, int secs)
{
	char setup[64];
	int one = 1, len = snprintf(setup, sizeof setup, "s RTT 1 %d 0\n", secs + 2);
	int ep = epoll_create1(0);

	for (int i = 0; i < n; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
		                         .sin_port = htons((uint16_t)port[i % nsrv]),
		                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		ss[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (ss[i].fd < 0 || connect(ss[i].fd, (struct sockaddr *)&a, sizeof a) != 0) {
			fprintf(stderr, "session %d: %s\n", i, strerror(errno));
			return -1;
		}
		setsockopt(ss[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, ss[i].fd, &ev);
		if (send(ss[i].fd, setup, (size_t)len, 0) != len) {
			fprintf(stderr, "session %d: setup not sent\n", i);
			return -1;
		}
		/* wait for "200 OK: Ready" of this session before the next */
		int one_ep = epoll_create1(0);
		struct epoll_event e1 = { .events = EPOLLIN };
		epoll_ctl(one_ep, EPOLL_CTL_ADD, ss[i].fd, &e1);
		int rc = read_reply(&ss[i], one_ep);
		close(one_ep);
		if (rc != 0) {
			fprintf(stderr, "session %d: no 200 OK\n", i);
			return -1;
		}
	}
	return ep;
}

/* One server's figures (k of nsrv). */
struct srv_fig {
	int port, pid;
	long rss0, rss1, sent, got, late1, late10, late100;
	double cpu0, cpu;
	int64_t *rtt;
};

int main(int argc, char **argv)
{
	struct srv_fig f[2] = { { 0 } };
	int nsrv = 0, ports[2];

	if (argc != 5)
		return 2;
	int n = atoi(argv[2]), secs = atoi(argv[3]);
	/* PORT[,PORT2] and SERVER_PID[,PID2]: two servers share the sessions
	 * (even ones to the first, odd ones to the second) */
	for (char *p = argv[1], *q = argv[4]; nsrv < 2 && p && q; nsrv++) {
		f[nsrv].port = ports[nsrv] = atoi(p);
		f[nsrv].pid = atoi(q);
		p = strchr(p, ',');
		q = strchr(q, ',');
		p = p ? p + 1 : NULL;
		q = q ? q + 1 : NULL;
	}
	struct sess *ss = calloc((size_t)n, sizeof *ss);
	for (int k = 0; k < nsrv; k++) {
		f[k].rtt = calloc((size_t)n * (size_t)(secs + 1), sizeof *f[k].rtt);
		f[k].rss0 = rss_kb(f[k].pid);
	}
	long mem0 = tcp_mem_pages();
	int64_t t_open = now_ns();
	int ep = open_all(ss, n, ports, nsrv, secs);
	if (ep < 0)
		return 1;
	double open_s = (double)(now_ns() - t_open) / 1e9;
	usleep(500000);                               /* all sessions idle */
	for (int k = 0; k < nsrv; k++)
		f[k].rss1 = rss_kb(f[k].pid);
	long mem1 = tcp_mem_pages();

	int64_t start = now_ns() + 100000000LL, stop = start + (int64_t)secs * 1000000000LL;
	long sent = 0, got = 0, lag1 = 0;
	int64_t lag_max = 0;
	const char *trace = getenv("PK_LOAD_TRACE"), *spin_env = getenv("PK_LOAD_SPIN");
	int spin = spin_env && *spin_env == '1';
	struct tr { int64_t at, rtt; int sess; } *tr = trace ? calloc((size_t)n * (size_t)(secs + 1), sizeof *tr) : NULL;
	for (int i = 0; i < n; i++)
		ss[i].next_due = start + (int64_t)i * 1000000000LL / n;
	int next = 0;                                 /* sessions are due in index order */
	double steal0, steal1, idle0 = idle_ms(&steal0), gen0 = proc_cpu_ms(getpid());
	for (int k = 0; k < nsrv; k++)
		f[k].cpu0 = proc_cpu_ms(f[k].pid);
	int64_t wall0 = now_ns();
	const char *canary_env = getenv("PK_LOAD_CANARY");
	struct canary can[CANARY_MAX] = { { 0 } };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int ncan = canary_env && *canary_env == '1' ? (int)(ncpu < CANARY_MAX ? ncpu : CANARY_MAX) : 0;
	for (int c = 0; c < ncan; c++) {
		can[c].cpu = c;
		can[c].started = pthread_create(&can[c].th, NULL, canary_run, &can[c]) == 0;
	}
	canary_on = 1;
	/* every probe due before stop is sent, however late the generator
	 * runs (it once dropped those it reached after stop) */
	while (now_ns() < stop + 1000000000LL && (ss[next].next_due < stop || got < sent)) {
		int64_t now = now_ns();
		while (ss[next].next_due < stop && ss[next].next_due <= now) {
			struct sess *s = &ss[next];
			char msg[32];
			if (s->sent_at == 0) {            /* previous echo came back */
				int len = snprintf(msg, sizeof msg, "m x %u\n", ++s->seq);
				s->sent_at = now_ns();
				int64_t lag = s->sent_at - s->next_due;
				lag_max = lag > lag_max ? lag : lag_max;
				lag1 += lag > 1000000;
				if (send(s->fd, msg, (size_t)len, 0) == len) {
					sent++;
					f[next % nsrv].sent++;
				}
			}
			s->next_due += 1000000000LL;
			next = (next + 1) % n;
		}
		/* sleep until the next send is due (at most 10 ms), to the ns:
		 * a wait rounded down to ms is 0 whenever sends are less than
		 * 1 ms apart (N > 1000), and the generator spun on its vCPU
		 * (PK_LOAD_SPIN=1 brings that back, for comparison) */
		int64_t wait = ss[next].next_due - now_ns();
		wait = wait < 0 ? 0 : wait > 10000000 ? 10000000 : wait;
		struct epoll_event evs[256];
		int k;
		if (spin) {
			k = epoll_wait(ep, evs, 256, (int)(wait / 1000000));
		} else {
			struct timespec ts = { 0, (long)wait };
			k = epoll_pwait2(ep, evs, 256, &ts, NULL);
		}
		for (int e = 0; e < k; e++) {
			struct sess *s = &ss[evs[e].data.u32];
			ssize_t r = recv(s->fd, s->buf + s->len, sizeof s->buf - s->len, MSG_DONTWAIT);
			if (r <= 0)
				continue;
			s->len += (size_t)r;
			if (memchr(s->buf, '\n', s->len) && s->sent_at) {
				int64_t d = now_ns() - s->sent_at;
				struct srv_fig *g = &f[evs[e].data.u32 % (uint32_t)nsrv];
				if (tr)
					tr[got] = (struct tr){ s->sent_at, d, (int)evs[e].data.u32 };
				got++;
				g->rtt[g->got++] = d;
				g->late1 += d > 1000000;
				g->late10 += d > 10000000;
				g->late100 += d > 100000000;
				s->sent_at = 0;
				s->len = 0;
			}
		}
	}
	double busy = (double)(now_ns() - wall0) / 1e6 * (double)sysconf(_SC_NPROCESSORS_ONLN) -
	              (idle_ms(&steal1) - idle0), other = busy;
	canary_on = 0;
	canary_stop = 1;
	long can1 = 0, can10 = 0;
	int64_t can_worst = 0;
	for (int c = 0; c < ncan; c++) {
		if (can[c].started)
			pthread_join(can[c].th, NULL);
		can1 += can[c].late1;
		can10 += can[c].late10;
		can_worst = can[c].worst > can_worst ? can[c].worst : can_worst;
	}
	double gen = proc_cpu_ms(getpid()) - gen0;
	for (int k = 0; k < nsrv; k++)
		other -= (f[k].cpu = proc_cpu_ms(f[k].pid) - f[k].cpu0);
	if (tr) {
		FILE *o = fopen(trace, "w");
		for (long i = 0; o && i < got; i++)
			fprintf(o, "%lld %lld %d\n", (long long)tr[i].at, (long long)tr[i].rtt, tr[i].sess);
		if (o)
			fclose(o);
	}
	for (int k = 0; k < nsrv; k++) {
		struct srv_fig *g = &f[k];
		int ns = nsrv == 1 ? n : (n - k + 1) / 2;  /* this server's sessions */
		qsort(g->rtt, (size_t)g->got, sizeof *g->rtt, cmp);
		if (nsrv > 1)
			printf("server=%d ", k + 1);
		printf("sessions=%d open_s=%.2f rss_before_kb=%ld rss_idle_kb=%ld user_bytes_per_session=%.0f "
		       "kernel_bytes_per_session=%.0f probes=%ld answered=%ld late_1ms=%ld late_10ms=%ld "
		       "late_100ms=%ld p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
		       "send_late_1ms=%ld send_late_max_us=%.1f busy_ms=%.0f server_cpu_ms=%.0f "
		       "gen_cpu_ms=%.0f other_cpu_ms=%.0f steal_ms=%.0f",
		       ns, open_s, g->rss0, g->rss1, (double)(g->rss1 - g->rss0) * 1024 / ns,
		       (double)(mem1 - mem0) * 4096 / n, g->sent, g->got, g->late1, g->late10,
		       g->late100, pct(g->rtt, g->got, 0.5), pct(g->rtt, g->got, 0.99),
		       pct(g->rtt, g->got, 0.999), g->got ? g->rtt[g->got - 1] / 1e3 : 0, lag1,
		       lag_max / 1e3, busy, g->cpu, gen, other - gen, steal1 - steal0);
		if (ncan > 0)
			printf(" canary_late_1ms=%ld canary_late_10ms=%ld canary_max_us=%.1f", can1, can10,
			       can_worst / 1e3);
		printf("\n");
	}
	for (int i = 0; i < n; i++)
		close(ss[i].fd);
	return got == sent ? 0 : 1;
}
