#include "linkemu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int emu_queue_init(struct emu_queue *q, size_t cap)
{
	memset(q, 0, sizeof *q);
	q->ring = calloc(cap, sizeof *q->ring);
	if (q->ring == NULL)
		return -ENOMEM;
	q->cap = cap;
	return 0;
}

void emu_queue_free(struct emu_queue *q)
{
	while (q->n > 0)
		emu_queue_pop(q);
	free(q->ring);
	q->ring = NULL;
}

int64_t emu_due(struct emu_queue *q, const struct emu_dir_cfg *d, struct pk_sim *r,
                int64_t rx_ns, size_t len)
{
	int64_t due = rx_ns + pk_sim_delay_ns(r, d->delay_ns, d->jitter_ns);

	if (d->rate_bps > 0) {
		/* serialisation: a frame starts when the previous one has left */
		int64_t start = due > q->last_due_ns ? due : q->last_due_ns;
		due = start + (int64_t)((double)len * 8e9 / (double)d->rate_bps);
	}
	if (due < q->last_due_ns)
		due = q->last_due_ns;
	q->last_due_ns = due;
	return due;
}

int emu_queue_push(struct emu_queue *q, const void *buf, size_t len, int64_t due_ns)
{
	struct emu_frame *f;

	if (len > EMU_FRAME_MAX)
		return -EMSGSIZE;
	if (q->n == q->cap)
		return -ENOBUFS;
	f = &q->ring[(q->head + q->n) % q->cap];
	f->data = malloc(len > 0 ? len : 1);
	if (f->data == NULL)
		return -ENOMEM;
	f->due_ns = due_ns;
	f->len = (uint32_t)len;
	memcpy(f->data, buf, len);
	q->n++;
	return 0;
}

struct emu_frame *emu_queue_tail(struct emu_queue *q)
{
	return q->n == 0 ? NULL : &q->ring[(q->head + q->n - 1) % q->cap];
}

struct emu_frame *emu_queue_head(struct emu_queue *q)
{
	return q->n == 0 ? NULL : &q->ring[q->head];
}

void emu_queue_pop(struct emu_queue *q)
{
	if (q->n == 0)
		return;
	free(q->ring[q->head].data);
	q->ring[q->head].data = NULL;
	q->head = (q->head + 1) % q->cap;
	q->n--;
}
