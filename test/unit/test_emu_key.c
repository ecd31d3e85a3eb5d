/* emu_key (env/linkemu/emu_key.c), how linkemu's trace names a frame: the
 * UDP ports, an agent's probe digits, the frame inside a VXLAN tunnel, and
 * nothing for what is not UDP over IPv4 or IPv6. */
#include "cm.h"
#include <string.h>

#include "linkemu.h"

/* Writes an Ethernet + IPv4 (or IPv6) + UDP frame with payload p into f;
 * returns its length. */
static size_t udp_frame(unsigned char *f, int v6, unsigned sport, unsigned dport,
                        const void *p, size_t plen)
{
	size_t off = 14, l3 = v6 ? 40 : 20;

	memset(f, 0, off + l3 + 8);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		f[off] = 0x60;
		f[off + 6] = 17;                 /* next header: UDP */
	} else {
		f[off] = 0x45;
		f[off + 9] = 17;                 /* protocol: UDP */
	}
	off += l3;
	f[off] = (unsigned char)(sport >> 8);
	f[off + 1] = (unsigned char)sport;
	f[off + 2] = (unsigned char)(dport >> 8);
	f[off + 3] = (unsigned char)dport;
	memcpy(f + off + 8, p, plen);
	return off + 8 + plen;
}

/* The key of a UDP frame carrying the text payload. */
static struct emu_key key_of(int v6, unsigned sport, unsigned dport, const char *payload)
{
	unsigned char f[256];
	struct emu_key k;

	emu_frame_key(f, udp_frame(f, v6, sport, dport, payload, strlen(payload)), &k);
	return k;
}

static void probe_digits(void **st)
{
	struct emu_key k = key_of(0, 40000, 1910, "1329751876540000017");
	(void)st;
	assert_int_equal(k.sport, 40000);
	assert_int_equal(k.dport, 1910);
	assert_string_equal(k.text, "1329751876540000017");
	k = key_of(1, 5000, 1910, "17");
	assert_int_equal(k.dport, 1910);
	assert_string_equal(k.text, "17");
}

/* Ports always; digits only when the whole payload is 1 to 31 digits. */
static void not_digits(void **st)
{
	struct emu_key k = key_of(0, 1, 2, "17\n");
	(void)st;
	assert_int_equal(k.sport, 1);
	assert_string_equal(k.text, "");
	k = key_of(0, 1, 2, "");
	assert_int_equal(k.dport, 2);
	assert_string_equal(k.text, "");
	k = key_of(0, 1, 2, "1234567890123456789012345678901");
	assert_string_equal(k.text, "1234567890123456789012345678901");
	k = key_of(0, 1, 2, "12345678901234567890123456789012");
	assert_string_equal(k.text, "");
}

/* A VXLAN frame (UDP 4789) is named by the frame it carries. */
static void vxlan_inner(void **st)
{
	unsigned char inner[128], f[256], vx[8 + sizeof inner];
	struct emu_key k;
	size_t ilen, len;
	(void)st;
	ilen = udp_frame(inner, 0, 41000, 1910, "42", 2);
	memset(vx, 0, 8);
	vx[0] = 0x08;                            /* VNI present */
	memcpy(vx + 8, inner, ilen);
	len = udp_frame(f, 0, 50000, 4789, vx, 8 + ilen);
	emu_frame_key(f, len, &k);
	assert_int_equal(k.sport, 41000);
	assert_int_equal(k.dport, 1910);
	assert_string_equal(k.text, "42");
}

/* Not UDP, a fragment, or too short: ports 0 and no text. */
static void not_udp(void **st)
{
	unsigned char f[256];
	struct emu_key k;
	size_t len;
	(void)st;
	len = udp_frame(f, 0, 1, 2, "17", 2);
	f[14 + 9] = 6;                           /* TCP */
	emu_frame_key(f, len, &k);
	assert_int_equal(k.sport, 0);
	assert_int_equal(k.dport, 0);
	assert_string_equal(k.text, "");
	len = udp_frame(f, 0, 1, 2, "17", 2);
	f[14 + 7] = 8;                           /* fragment offset 8 */
	emu_frame_key(f, len, &k);
	assert_int_equal(k.dport, 0);
	(void)udp_frame(f, 0, 1, 2, "17", 2);
	emu_frame_key(f, 14 + 20 + 4, &k);       /* cut inside the UDP header */
	assert_int_equal(k.dport, 0);
	emu_frame_key(f, 10, &k);
	assert_int_equal(k.dport, 0);
}

CM_MAIN(CM_T(probe_digits), CM_T(not_digits), CM_T(vxlan_inner), CM_T(not_udp))
