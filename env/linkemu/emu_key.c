/* emu_key: names a frame for the trace (pure: no I/O, no allocation). */
#include "linkemu.h"

#include <stdio.h>
#include <string.h>

#define ETH_HLEN_ 14
#define VXLAN_PORT 4789

static unsigned be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The UDP header inside an Ethernet frame, or NULL. */
static const unsigned char *udp_of(const unsigned char *f, size_t len, size_t *left)
{
	size_t off = 12, l3;
	unsigned type;

	if (len < ETH_HLEN_)
		return NULL;
	type = be16(f + off);
	off += 2;
	if (type == 0x8100 && len >= off + 4) {    /* one VLAN tag */
		type = be16(f + off + 2);
		off += 4;
	}
	if (type == 0x0800) {
		if (len < off + 20 || (f[off] >> 4) != 4 || f[off + 9] != 17)
			return NULL;
		if ((be16(f + off + 6) & 0x3fff) != 0)  /* a fragment */
			return NULL;
		l3 = (size_t)(f[off] & 0x0f) * 4;
	} else if (type == 0x86dd) {
		if (len < off + 40 || (f[off] >> 4) != 6 || f[off + 6] != 17)
			return NULL;
		l3 = 40;
	} else {
		return NULL;
	}
	off += l3;
	if (len < off + 8)
		return NULL;
	*left = len - off;
	return f + off;
}

void emu_frame_key(const void *frame, size_t len, struct emu_key *k)
{
	const unsigned char *u = frame;
	size_t left, plen, i;

	memset(k, 0, sizeof *k);
	u = udp_of(u, len, &left);
	if (u != NULL && be16(u + 2) == VXLAN_PORT && left >= 16)
		u = udp_of(u + 16, left - 16, &left);      /* the tunnelled frame */
	if (u == NULL)
		return;
	k->sport = be16(u);
	k->dport = be16(u + 2);
	plen = left - 8;
	if (plen == 0 || plen >= sizeof k->text)
		return;
	for (i = 0; i < plen; i++)
		if (u[8 + i] < '0' || u[8 + i] > '9')
			return;
	memcpy(k->text, u + 8, plen);
	k->text[plen] = '\0';
}
