/*
 * vg_id.c - time-ordered random ids in Crockford base32 (see vg_id.h).
 */
#include "vg_id.h"
#include "vg_log.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int vg_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			vg_error("msg=\"getrandom failed\" error=\"%s\"", strerror(errno));
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Encodes 16 bytes (128 bits) as 26 base32 digits, most significant first;
 * the first digit carries only 3 bits. */
static void encode128(const unsigned char b[16], char out[VG_ID_LEN + 1])
{
	for (int i = 0; i < VG_ID_LEN; i++) {
		/* digit i covers bits [130 - 5(i+1), 130 - 5i) of a 130-bit number */
		int hi = 130 - 5 * i - 1;
		unsigned v = 0;

		for (int bit = hi; bit > hi - 5; bit--) {
			unsigned x = 0;

			if (bit < 128)
				x = (b[15 - bit / 8] >> (bit % 8)) & 1u;
			v = (v << 1) | x;
		}
		out[i] = alphabet[v];
	}
	out[VG_ID_LEN] = '\0';
}

static int decode_digit(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

static void decode128(const char *id, unsigned char b[16])
{
	memset(b, 0, 16);
	for (int i = 0; i < VG_ID_LEN; i++) {
		int v = decode_digit(id[i]);
		int hi = 130 - 5 * i - 1;

		for (int k = 0; k < 5; k++) {
			int bit = hi - k;

			if (bit < 128 && ((v >> (4 - k)) & 1))
				b[15 - bit / 8] |= (unsigned char)(1u << (bit % 8));
		}
	}
}

int vg_id_new(char out[VG_ID_LEN + 1], unsigned shard)
{
	unsigned char b[16];
	struct timespec ts;
	uint64_t ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (8 * (5 - i)));
	b[6] = (unsigned char)shard;
	if (vg_random_bytes(b + 7, 9) < 0)
		return -1;
	encode128(b, out);
	return 0;
}

int vg_id_valid(const char *s)
{
	if (!s || strlen(s) != VG_ID_LEN)
		return 0;
	if (s[0] > '7') /* the top digit holds 3 bits */
		return 0;
	for (int i = 0; i < VG_ID_LEN; i++)
		if (decode_digit(s[i]) < 0)
			return 0;
	return 1;
}

unsigned vg_id_shard(const char *id)
{
	unsigned char b[16];

	decode128(id, b);
	return b[6];
}

int64_t vg_id_time_ms(const char *id)
{
	unsigned char b[16];
	uint64_t ms = 0;

	decode128(id, b);
	for (int i = 0; i < 6; i++)
		ms = (ms << 8) | b[i];
	return (int64_t)ms;
}
