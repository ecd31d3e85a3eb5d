/* Server scale for tcp-echo: N concurrent measurement sessions, each
 * probing once a second for SECS seconds (spread evenly over the second),
 * against 127.0.0.1 only; bounded in count and time.
 *
 *   tcp_echo_load PORT N SECS SERVER_PID
 *
 * Measures the server's resident memory (VmRSS) and the kernel's TCP memory
 * (/proc/net/sockstat) before the sessions and with all of them set up and
 * idle, then every probe's RTT. Prints one line of key=value figures. */
#include <errno.h>
#include <netinet/in.h>
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

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
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

static int open_all(struct sess *ss, int n, int port, int secs)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char setup[64];
	int one = 1, len = snprintf(setup, sizeof setup, "s RTT 1 %d 0\n", secs + 2);
	int ep = epoll_create1(0);

	for (int i = 0; i < n; i++) {
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

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	int port = atoi(argv[1]), n = atoi(argv[2]), secs = atoi(argv[3]), pid = atoi(argv[4]);
	struct sess *ss = calloc((size_t)n, sizeof *ss);
	int64_t *rtt = calloc((size_t)n * (size_t)(secs + 1), sizeof *rtt);
	long rss0 = rss_kb(pid), mem0 = tcp_mem_pages();
	int64_t t_open = now_ns();
	int ep = open_all(ss, n, port, secs);
	if (ep < 0)
		return 1;
	double open_s = (double)(now_ns() - t_open) / 1e9;
	usleep(500000);                               /* all sessions idle */
	long rss1 = rss_kb(pid), mem1 = tcp_mem_pages();

	int64_t start = now_ns() + 100000000LL, stop = start + (int64_t)secs * 1000000000LL;
	long sent = 0, got = 0, late1 = 0, late10 = 0, late100 = 0;
	for (int i = 0; i < n; i++)
		ss[i].next_due = start + (int64_t)i * 1000000000LL / n;
	int next = 0;                                 /* sessions are due in index order */
	while (now_ns() < stop + 1000000000LL && (now_ns() < stop || got < sent)) {
		int64_t now = now_ns();
		while (now < stop && ss[next].next_due <= now) {
			struct sess *s = &ss[next];
			char msg[32];
			int len = snprintf(msg, sizeof msg, "m x %u\n", ++s->seq);
			if (s->sent_at == 0) {            /* previous echo came back */
				s->sent_at = now_ns();
				if (send(s->fd, msg, (size_t)len, 0) == len)
					sent++;
			}
			s->next_due += 1000000000LL;
			next = (next + 1) % n;
		}
		int64_t wait = (ss[next].next_due - now_ns()) / 1000000;
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, wait < 0 ? 0 : wait > 10 ? 10 : (int)wait);
		for (int e = 0; e < k; e++) {
			struct sess *s = &ss[evs[e].data.u32];
			ssize_t r = recv(s->fd, s->buf + s->len, sizeof s->buf - s->len, MSG_DONTWAIT);
			if (r <= 0)
				continue;
			s->len += (size_t)r;
			if (memchr(s->buf, '\n', s->len) && s->sent_at) {
				int64_t d = now_ns() - s->sent_at;
				rtt[got++] = d;
				late1 += d > 1000000;
				late10 += d > 10000000;
				late100 += d > 100000000;
				s->sent_at = 0;
				s->len = 0;
			}
		}
	}
	qsort(rtt, (size_t)got, sizeof *rtt, cmp);
	printf("sessions=%d open_s=%.2f rss_before_kb=%ld rss_idle_kb=%ld user_bytes_per_session=%.0f "
	       "kernel_bytes_per_session=%.0f probes=%ld answered=%ld late_1ms=%ld late_10ms=%ld "
	       "late_100ms=%ld p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
	       n, open_s, rss0, rss1, (double)(rss1 - rss0) * 1024 / n,
	       (double)(mem1 - mem0) * 4096 / n, sent, got, late1, late10, late100,
	       got ? rtt[got / 2] / 1e3 : 0, got ? rtt[(long)(got * 0.99)] / 1e3 : 0,
	       got ? rtt[got - 1] / 1e3 : 0);
	for (int i = 0; i < n; i++)
		close(ss[i].fd);
	return got == sent ? 0 : 1;
}
