/* emu_run: the emulator's loop: two packet sockets, two queues. */
#include "linkemu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include <event2/event.h>

#include "pk_clock.h"
#include "pk_loop.h"
#include "pk_sock.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

struct emu_dir {
	struct emu *emu;
	const struct emu_dir_cfg *cfg;
	int in_fd, out_fd;
	struct emu_queue q;
	struct emu_counts c;
	struct event *ev_rx, *ev_tx;
	const char *name;
};

struct emu {
	const struct emu_cfg *cfg;
	struct event_base *base;
	struct pk_sim rng;
	struct emu_dir ab, ba;
	int fd_a, fd_b;
	struct pk_stop stop;        /* SIGINT, SIGTERM end the loop */
	FILE *trace;
};

static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	int fd, one = 1;
	unsigned idx = if_nametoindex(ifname);

	if (idx == 0)
		return -ENODEV;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	memset(&sll, 0, sizeof sll);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)idx;
	memset(&mr, 0, sizeof mr);
	mr.mr_ifindex = (int)idx;
	mr.mr_type = PACKET_MR_PROMISC;
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	(void)pk_sock_rx_timestamps(fd);
	pk_sock_buffers(fd, 4 << 20);
	return fd;
}

static void arm(struct emu_dir *d)
{
	struct emu_frame *f = emu_queue_head(&d->q);

	if (f != NULL)
		pk_timer_at(d->ev_tx, f->due_ns - d->emu->cfg->spin_ns);
}

/* One trace line per frame sent: direction, kernel receive time, read
 * time, due time, the time send() was called (monotonic ns), length, UDP
 * ports, digits. */
static void trace_frame(const struct emu_dir *d, const struct emu_frame *f, int64_t sent_ns)
{
	const size_t vh = sizeof(struct virtio_net_hdr);
	struct emu_key k;

	emu_frame_key(f->len > vh ? f->data + vh : f->data, f->len > vh ? f->len - vh : 0, &k);
	fprintf(d->emu->trace, "%s %lld %lld %lld %lld %u %u %u %s\n", d->name,
	        (long long)f->rx_ns, (long long)f->read_ns, (long long)f->due_ns,
	        (long long)sent_ns, f->len, k.sport, k.dport, k.text[0] ? k.text : "-");
}

/* Sends d's frames that are due at now. */
static void send_due(struct emu_dir *d, int64_t now)
{
	struct emu_frame *f;

	while ((f = emu_queue_head(&d->q)) != NULL && f->due_ns <= now) {
		if (send(d->out_fd, f->data, f->len, 0) < 0) {
			d->c.tx_errors++;
		} else {
			d->c.tx++;
			if (d->emu->trace != NULL)
				trace_frame(d, f, now);
		}
		emu_queue_pop(&d->q);
	}
}

/* Sends every frame of d that is due, busy-waiting the last spin_ns of
 * each; the other direction's frames that fall due meanwhile leave on time
 * too (one direction's spin never holds back the other's departures). */
static void on_tx(evutil_socket_t fd, short what, void *arg)
{
	struct emu_dir *d = arg;
	struct emu_dir *o = d == &d->emu->ab ? &d->emu->ba : &d->emu->ab;
	size_t o_before = o->q.n;
	struct emu_frame *f;

	(void)fd, (void)what;
	for (;;) {
		int64_t now = pk_now_ns();
		send_due(d, now);
		send_due(o, now);
		f = emu_queue_head(&d->q);
		if (f == NULL || f->due_ns - now > d->emu->cfg->spin_ns)
			break;
	}
	arm(d);
	if (o->q.n != o_before)
		arm(o);
}

static void on_rx(evutil_socket_t fd, short what, void *arg)
{
	struct emu_dir *d = arg;
	static unsigned char buf[EMU_FRAME_MAX + 1];
	struct pk_rx rx;
	int i, was_empty = d->q.n == 0;

	(void)what;
	for (i = 0; i < 64; i++) {
		int64_t due;
		if (pk_recv_ts(fd, buf, sizeof buf, &rx) < 0)
			break;
		d->c.rx++;
		if (rx.truncated || rx.len > EMU_FRAME_MAX) {
			d->c.oversize++;
			continue;
		}
		if (pk_sim_drop(&d->emu->rng, d->cfg->loss)) {
			d->c.lost++;
			continue;
		}
		/* the rate paces the Ethernet frames the wire would carry: not the
		 * virtio_net_hdr before them; a GSO frame as its segments */
		due = emu_due(&d->q, d->cfg, &d->emu->rng, rx.rx_ns,
		              emu_wire_len(buf, (size_t)rx.len));
		if (emu_queue_push(&d->q, buf, (size_t)rx.len, due) != 0) {
			d->c.overflow++;
			continue;
		}
		emu_queue_tail(&d->q)->rx_ns = rx.rx_ns;
		emu_queue_tail(&d->q)->read_ns = pk_now_ns();
	}
	if (was_empty)
		arm(d);
}

static void print_counts(const struct emu_dir *d)
{
	fprintf(stderr, "linkemu: %s: %llu received, %llu sent, %llu lost, %llu overflow, "
	        "%llu oversize, %llu send errors\n", d->name,
	        (unsigned long long)d->c.rx, (unsigned long long)d->c.tx,
	        (unsigned long long)d->c.lost, (unsigned long long)d->c.overflow,
	        (unsigned long long)d->c.oversize, (unsigned long long)d->c.tx_errors);
}

static int dir_init(struct emu *e, struct emu_dir *d, const struct emu_dir_cfg *c,
                    int in, int out, const char *name)
{
	d->emu = e;
	d->cfg = c;
	d->in_fd = in;
	d->out_fd = out;
	d->name = name;
	if (emu_queue_init(&d->q, e->cfg->limit) != 0)
		return -ENOMEM;
	d->ev_rx = event_new(e->base, in, EV_READ | EV_PERSIST, on_rx, d);
	d->ev_tx = evtimer_new(e->base, on_tx, d);
	if (d->ev_rx == NULL || d->ev_tx == NULL || event_add(d->ev_rx, NULL) != 0)
		return -ENOMEM;
	return 0;
}

static void dir_free(struct emu_dir *d)
{
	if (d->ev_rx)
		event_free(d->ev_rx);
	if (d->ev_tx)
		event_free(d->ev_tx);
	emu_queue_free(&d->q);
}

/* Real-time scheduling so a busy machine does not delay departures (the
 * spin is at most spin_ns per frame, and the kernel's RT throttling stays),
 * and a PM QoS request that keeps every CPU out of idle states while the
 * emulator runs, as cyclictest does: a halted virtual CPU can take from
 * 0.1 to several ms to run a timer (the host must schedule it again), far
 * more than the spin covers, and each departure waits for one. The request
 * holds while the returned descriptor is open (-1: none). */
static int go_realtime(void)
{
	struct sched_param sp = { .sched_priority = 50 };
	int32_t zero = 0;
	int fd;

	if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0)
		fprintf(stderr, "linkemu: SCHED_FIFO: %s (running without)\n", strerror(errno));
	fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, &zero, sizeof zero) != (ssize_t)sizeof zero) {
		fprintf(stderr, "linkemu: /dev/cpu_dma_latency: %s (idle states stay on)\n",
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int setup(struct emu *e, const char **what)
{
	*what = e->cfg->if_a;
	if ((e->fd_a = packet_socket(e->cfg->if_a)) < 0)
		return e->fd_a;
	*what = e->cfg->if_b;
	if ((e->fd_b = packet_socket(e->cfg->if_b)) < 0)
		return e->fd_b;
	if (e->cfg->trace != NULL) {
		*what = e->cfg->trace;
		if ((e->trace = fopen(e->cfg->trace, "we")) == NULL)
			return -errno;
		fprintf(e->trace, "# dir rx_ns read_ns due_ns sent_ns len sport dport payload\n");
	}
	*what = "event loop";
	if ((e->base = pk_base_new()) == NULL)
		return -ENOMEM;
	if (dir_init(e, &e->ab, &e->cfg->ab, e->fd_a, e->fd_b, "a->b") != 0 ||
	    dir_init(e, &e->ba, &e->cfg->ba, e->fd_b, e->fd_a, "b->a") != 0)
		return -ENOMEM;
	if (pk_stop_on_signals(e->base, &e->stop, NULL, NULL) != 0)
		return -ENOMEM;
	return 0;
}

int emu_run(const struct emu_cfg *cfg)
{
	struct emu e;
	const char *what = "";
	int rc, qos = -1;

	memset(&e, 0, sizeof e);
	e.cfg = cfg;
	e.fd_a = e.fd_b = -1;
	pk_sim_seed(&e.rng, cfg->seed);
	(void)pk_timer_slack_min();
	if (cfg->realtime)
		qos = go_realtime();
	rc = setup(&e, &what);
	if (rc != 0) {
		fprintf(stderr, "linkemu: %s: %s\n", what, strerror(-rc));
	} else {
		if (cfg->pidfile != NULL) {
			FILE *pf = fopen(cfg->pidfile, "w");
			if (pf != NULL) {
				fprintf(pf, "%ld\n", (long)getpid());
				fclose(pf);
			}
		}
		printf("linkemu: forwarding %s <-> %s\n", cfg->if_a, cfg->if_b);
		fflush(stdout);
		event_base_dispatch(e.base);
		if (!cfg->quiet) {
			print_counts(&e.ab);
			print_counts(&e.ba);
		}
		if (cfg->pidfile != NULL)
			unlink(cfg->pidfile);
	}
	dir_free(&e.ab);
	dir_free(&e.ba);
	pk_loop_free(e.base, &e.stop, NULL, 0);
	if (e.trace != NULL)
		fclose(e.trace);
	if (qos >= 0)
		close(qos);
	if (e.fd_a >= 0)
		close(e.fd_a);
	if (e.fd_b >= 0)
		close(e.fd_b);
	return rc == 0 ? 0 : 2;
}
