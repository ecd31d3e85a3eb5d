/* linkemu: a userspace link emulator, for kernels without sch_netem.
 *
 * Bridges two interfaces with AF_PACKET sockets: every frame received on A
 * is sent out of B after the A->B delay (plus jitter), unless dropped by
 * the A->B loss, and paced by the A->B rate; the same from B to A with
 * the B->A figures. Frames leave in the order they came (jitter never
 * reorders), so the added delay is max(previous departure, arrival + delay).
 *
 * Arrival times are the kernel's receive timestamps; departures are timed
 * on the loop's precise timer, which fires `spin` early and busy-waits the
 * rest, so the delay added is the delay asked within a few microseconds.
 */
#ifndef LINKEMU_H
#define LINKEMU_H

#include <stddef.h>
#include <stdint.h>

#include "pk_sim.h"

struct emu_dir_cfg {
	int64_t delay_ns;
	int64_t jitter_ns;   /* normal, standard deviation */
	double loss;         /* probability, 0..1 */
	uint64_t rate_bps;   /* bits per second, 0 = unlimited */
};

struct emu_cfg {
	const char *if_a, *if_b;
	struct emu_dir_cfg ab, ba;
	size_t limit;        /* frames queued per direction at most */
	int64_t spin_ns;     /* busy-wait this long before each departure */
	uint64_t seed;
	const char *pidfile; /* written when ready, removed on exit */
	int realtime;        /* SCHED_FIFO (best effort, reported) */
	int quiet;
	const char *trace;   /* NULL, or a file: one line per frame (see linkemu.1) */
};

/* A frame as the packet socket gives it: a struct virtio_net_hdr (so a
 * checksum left to the hardware, or a GSO frame, is completed by the kernel
 * when the frame is sent on) and the Ethernet frame. */
#define EMU_FRAME_MAX (65536 + 64)

struct emu_frame {
	int64_t due_ns;
	int64_t rx_ns;            /* kernel receive time (monotonic) */
	int64_t read_ns;          /* when the emulator read it */
	uint32_t len;
	unsigned char *data;      /* malloc'd, owned by the queue */
};

/* A FIFO of frames in flight one way. */
struct emu_queue {
	struct emu_frame *ring;   /* cap frames, owned */
	size_t cap, head, n;
	int64_t last_due_ns;      /* departures never go backwards */
};

struct emu_counts {
	uint64_t rx, tx, lost, overflow, oversize, tx_errors;
};

int emu_queue_init(struct emu_queue *q, size_t cap);
void emu_queue_free(struct emu_queue *q);
/* Departure time of a frame of len bytes arriving at rx_ns through d
 * (jitter drawn from r); never before the previous departure. */
int64_t emu_due(struct emu_queue *q, const struct emu_dir_cfg *d, struct pk_sim *r,
                int64_t rx_ns, size_t len);
/* Appends a copy of a frame; -ENOBUFS when full, -EMSGSIZE when too large,
 * -ENOMEM. */
int emu_queue_push(struct emu_queue *q, const void *buf, size_t len, int64_t due_ns);
/* The newest frame, or NULL. */
struct emu_frame *emu_queue_tail(struct emu_queue *q);
/* The oldest frame, or NULL. */
struct emu_frame *emu_queue_head(struct emu_queue *q);
void emu_queue_pop(struct emu_queue *q);
/* The bytes a wire carries for a frame as the packet socket gives it (the
 * virtio_net_hdr, then the Ethernet frame): the Ethernet frame; a GSO frame
 * (TCP or UDP segments the kernel has not cut yet) counts as the frames it
 * stands for, each with its own copy of the headers. 0 when len holds no
 * frame. */
size_t emu_wire_len(const void *buf, size_t len);

int emu_run(const struct emu_cfg *cfg);

/* What the trace names a frame by: the UDP ports and, when the UDP payload
 * is 1 to 31 ASCII digits (an agent's probe), the digits. A VXLAN frame
 * (UDP port 4789) is named by the frame it carries. Ports 0 and text ""
 * when the frame is not UDP over IPv4/IPv6. */
struct emu_key {
	unsigned sport, dport;
	char text[32];
};

void emu_frame_key(const void *frame, size_t len, struct emu_key *k);

#endif
