/*
 * vg_base64.c - strict, bounded base64 decoding (see vg_base64.h). Pure; fuzzed.
 */
#include "vg_base64.h"

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long vg_base64_decode(const char *in, unsigned char *out, size_t outsz)
{
	size_t o = 0, n = 0, pad = 0;
	unsigned acc = 0;
	int bits = 0;

	for (; *in; in++) {
		int v;

		if (*in == '=') {
			pad++;
			continue;
		}
		if (pad)
			return -1; /* data after padding */
		v = b64val((unsigned char)*in);
		if (v < 0)
			return -1;
		n++;
		acc = ((acc << 6) | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* one leftover sextet cannot make a byte; padding, if any, must complete a quantum */
	if (n % 4 == 1 || pad > 2 || (pad && (n + pad) % 4 != 0))
		return -1;
	return (long)o;
}
