#include "linkemu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5     /* Linux 5.18; older headers lack it */
#endif

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

static unsigned le16_at(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* Offset of the L4 header in an Ethernet frame (one VLAN tag, IPv4 options,
 * IPv6 without extension headers), or 0. */
static size_t l4_offset(const unsigned char *f, size_t len)
{
	size_t off = 14;
	unsigned type;

	if (len < off)
		return 0;
	type = (unsigned)f[12] << 8 | f[13];
	if (type == 0x8100 && len >= off + 4) {
		type = (unsigned)f[16] << 8 | f[17];
		off += 4;
	}
	if (type == 0x0800 && len >= off + 20)
		return off + (size_t)(f[off] & 0x0f) * 4;
	if (type == 0x86dd && len >= off + 40)
		return off + 40;
	return 0;
}

size_t emu_wire_len(const void *buf, size_t len)
{
	const unsigned char *v = buf, *f = v + sizeof(struct virtio_net_hdr);
	size_t flen, l4 = 0, hdr, seg, nsegs;
	unsigned type;

	if (len <= sizeof(struct virtio_net_hdr))
		return 0;
	flen = len - sizeof(struct virtio_net_hdr);
	type = v[1] & (unsigned)~VIRTIO_NET_HDR_GSO_ECN;
	seg = le16_at(v + 4);                        /* gso_size */
	if ((type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6 &&
	     type != VIRTIO_NET_HDR_GSO_UDP_L4) || seg == 0)
		return flen;
	if (v[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		l4 = le16_at(v + 6);                 /* csum_start: the L4 header */
	if (l4 < 14 || l4 + 20 > flen)
		l4 = l4_offset(f, flen);
	if (type == VIRTIO_NET_HDR_GSO_UDP_L4)
		hdr = l4 + 8;
	else if (l4 >= 14 && l4 + 20 <= flen)
		hdr = l4 + (size_t)(f[l4 + 12] >> 4) * 4;  /* TCP data offset */
	else
		return flen;
	if (hdr >= flen)
		return flen;
	nsegs = (flen - hdr + seg - 1) / seg;
	return flen + (nsegs - 1) * hdr;
}
