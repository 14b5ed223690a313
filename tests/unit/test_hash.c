/*
 * test_hash.c - unit tests for streaming SHA-256 and the hex helper.
 *
 * Known answers come from FIPS 180-2 / NIST (the "", "abc", 448-bit and
 * 896-bit messages and one million 'a'). Streaming must give exactly the
 * one-shot digest however the input is cut: one byte at a time, around the
 * 64-byte block size, at every offset, and in 4096-byte chunks over 1 MB.
 * Every piece is fed from an exact-size heap copy so ASan catches over-reads.
 */
#include "tap.h"
#include "vg_hash.h"

#include <stdlib.h>
#include <string.h>

#define MSG448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define MSG896                                                                                     \
	"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr" \
	"lmnopqrsmnopqrstnopqrstu"

#define SHA_EMPTY     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC	      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_448	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define SHA_896	      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
#define SHA_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
#define SHA_FOX	      "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"

/* Feeds buf[off..off+n) through an exact-size heap copy. */
static void feed(struct vg_sha256 *h, const unsigned char *buf, size_t n)
{
	unsigned char *copy = malloc(n ? n : 1);

	if (!copy)
		abort();
	memcpy(copy, buf, n);
	vg_sha256_update(h, copy, n);
	free(copy);
}

/* Digest of buf fed in pieces of `piece` bytes (the last one shorter). */
static void hash_pieces(const void *buf, size_t len, size_t piece, char out[VG_SHA256_HEX])
{
	const unsigned char *p = buf;
	struct vg_sha256 h;

	vg_sha256_init(&h);
	for (size_t off = 0; off < len; off += piece)
		feed(&h, p + off, len - off < piece ? len - off : piece);
	vg_sha256_final_hex(&h, out);
}

/* Digest of buf split once at `at`. */
static void hash_split(const void *buf, size_t len, size_t at, char out[VG_SHA256_HEX])
{
	const unsigned char *p = buf;
	struct vg_sha256 h;

	vg_sha256_init(&h);
	feed(&h, p, at);
	feed(&h, p + at, len - at);
	vg_sha256_final_hex(&h, out);
}

static void test_vectors(void)
{
	char out[VG_SHA256_HEX];

	is_int(VG_SHA256_HEX, 65, "VG_SHA256_HEX is 65");
	vg_sha256_hex("", 0, out);
	is_str(out, SHA_EMPTY, "sha256('')");
	vg_sha256_hex("abc", 3, out);
	is_str(out, SHA_ABC, "sha256('abc')");
	vg_sha256_hex(MSG448, strlen(MSG448), out);
	is_str(out, SHA_448, "sha256(448-bit NIST message)");
	vg_sha256_hex(MSG896, strlen(MSG896), out);
	is_str(out, SHA_896, "sha256(896-bit NIST message)");
	vg_sha256_hex("The quick brown fox jumps over the lazy dog", 43, out);
	is_str(out, SHA_FOX, "sha256(quick brown fox)");
	is_int(strlen(out), 64, "hex digest is 64 characters");

	/* streaming with no update, and with a zero-length update */
	{
		struct vg_sha256 h;

		vg_sha256_init(&h);
		vg_sha256_final_hex(&h, out);
		is_str(out, SHA_EMPTY, "init + final = sha256('')");
		vg_sha256_init(&h);
		vg_sha256_update(&h, "abc", 0);
		vg_sha256_update(&h, "abc", 3);
		vg_sha256_update(&h, "", 0);
		vg_sha256_final_hex(&h, out);
		is_str(out, SHA_ABC, "zero-length updates change nothing");
	}

	/* binary input with NULs: length, not strlen, counts */
	{
		unsigned char bin[1024];

		for (size_t i = 0; i < sizeof(bin); i++)
			bin[i] = (unsigned char)i;
		vg_sha256_hex(bin, sizeof(bin), out);
		is_str(out, "785b0751fc2c53dc14a4ce3d800e69ef9ce1009eb327ccf458afe09c242c26c9",
		       "sha256 of bytes 0..255 x4 (binary, NULs)");
	}
}

static void test_streaming(void)
{
	char one[VG_SHA256_HEX], got[VG_SHA256_HEX];
	unsigned char buf[200];
	int bad;

	hash_pieces("abc", 3, 1, got);
	is_str(got, SHA_ABC, "'abc' one byte at a time");
	hash_pieces(MSG448, strlen(MSG448), 1, got);
	is_str(got, SHA_448, "448-bit message one byte at a time");
	hash_pieces(MSG896, strlen(MSG896), 1, got);
	is_str(got, SHA_896, "896-bit message one byte at a time");

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	vg_sha256_hex(buf, sizeof(buf), one);

	hash_split(buf, sizeof(buf), 63, got);
	is_str(got, one, "split at 63 equals one-shot");
	hash_split(buf, sizeof(buf), 64, got);
	is_str(got, one, "split at 64 equals one-shot");
	hash_split(buf, sizeof(buf), 65, got);
	is_str(got, one, "split at 65 equals one-shot");
	hash_pieces(buf, sizeof(buf), 63, got);
	is_str(got, one, "63-byte pieces equal one-shot");
	hash_pieces(buf, sizeof(buf), 64, got);
	is_str(got, one, "64-byte pieces equal one-shot");
	hash_pieces(buf, sizeof(buf), 65, got);
	is_str(got, one, "65-byte pieces equal one-shot");
	hash_pieces(buf, sizeof(buf), 1, got);
	is_str(got, one, "1-byte pieces equal one-shot");

	bad = 0;
	for (size_t at = 0; at <= sizeof(buf); at++) {
		hash_split(buf, sizeof(buf), at, got);
		if (strcmp(got, one) != 0)
			bad++;
	}
	is_int(bad, 0, "split at every offset 0..200 equals one-shot");

	/* three-way splits around the block boundary */
	bad = 0;
	for (size_t a = 60; a <= 68; a++) {
		for (size_t b = a; b <= 132; b++) {
			struct vg_sha256 h;

			vg_sha256_init(&h);
			feed(&h, buf, a);
			feed(&h, buf + a, b - a);
			feed(&h, buf + b, sizeof(buf) - b);
			vg_sha256_final_hex(&h, got);
			if (strcmp(got, one) != 0)
				bad++;
		}
	}
	is_int(bad, 0, "three-way splits around 64 and 128 equal one-shot");
}

static void test_million(void)
{
	const size_t len = 1000000;
	char *big = malloc(len);
	char one[VG_SHA256_HEX], got[VG_SHA256_HEX];

	if (!big)
		abort();
	memset(big, 'a', len);
	vg_sha256_hex(big, len, one);
	is_str(one, SHA_MILLION_A, "one million 'a' one-shot (NIST)");
	hash_pieces(big, len, 4096, got);
	is_str(got, one, "one million 'a' in 4096-byte chunks equals one-shot");
	is_str(got, SHA_MILLION_A, "one million 'a' in 4096-byte chunks (NIST)");
	hash_pieces(big, len, 4095, got);
	is_str(got, SHA_MILLION_A, "one million 'a' in 4095-byte chunks");
	free(big);

	/* 1 MiB in 4096-byte chunks, an exact multiple */
	{
		const size_t mib = 1 << 20;
		unsigned char *m = malloc(mib);

		if (!m)
			abort();
		for (size_t i = 0; i < mib; i++)
			m[i] = (unsigned char)(i ^ (i >> 8));
		vg_sha256_hex(m, mib, one);
		hash_pieces(m, mib, 4096, got);
		is_str(got, one, "1 MiB of bytes in 4096-byte chunks equals one-shot");
		free(m);
	}
}

static void test_hex(void)
{
	static const unsigned char in[] = {0x00, 0x01, 0x0f, 0x10, 0x7f,
					   0x80, 0xab, 0xcd, 0xef, 0xff};
	char out[2 * sizeof(in) + 1 + 4];

	memset(out, '#', sizeof(out));
	vg_hex(in, sizeof(in), out);
	is_str(out, "00010f107f80abcdefff", "vg_hex of 10 bytes, lower case");
	ok(out[2 * sizeof(in) + 1] == '#', "vg_hex writes exactly 2n+1 bytes");

	memset(out, '#', sizeof(out));
	vg_hex(in, 0, out);
	is_str(out, "", "vg_hex of 0 bytes is ''");
	ok(out[1] == '#', "vg_hex of 0 bytes writes only the NUL");

	{
		unsigned char all[256];
		char hex[513], want[513];
		int bad = 0;

		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		vg_hex(all, sizeof(all), hex);
		for (int i = 0; i < 256; i++)
			snprintf(want + 2 * i, 3, "%02x", i);
		for (int i = 0; i < 512; i++)
			if (hex[i] != want[i])
				bad++;
		is_int(bad, 0, "vg_hex of every byte value matches %%02x");
		is_int(strlen(hex), 512, "vg_hex of 256 bytes is 512 characters");
	}
}

static void test_free(void)
{
	struct vg_sha256 h;
	char out[VG_SHA256_HEX];

	memset(&h, 0, sizeof(h));
	vg_sha256_free(&h);
	ok(h.ctx == NULL, "vg_sha256_free on a zeroed struct is safe");

	vg_sha256_init(&h);
	vg_sha256_update(&h, "abc", 3);
	vg_sha256_final_hex(&h, out);
	ok(h.ctx == NULL, "final releases the context");
	vg_sha256_free(&h);
	ok(h.ctx == NULL, "vg_sha256_free after final is safe");
	vg_sha256_free(&h);
	ok(1, "vg_sha256_free twice after final is safe");

	/* an abandoned digest is released by free (ASan's leak check proves it) */
	vg_sha256_init(&h);
	vg_sha256_update(&h, "half an upload", 14);
	ok(h.ctx != NULL, "unfinished digest holds a context");
	vg_sha256_free(&h);
	ok(h.ctx == NULL, "vg_sha256_free releases an unfinished digest");

	/* the struct is reusable after free */
	vg_sha256_init(&h);
	vg_sha256_update(&h, "abc", 3);
	vg_sha256_final_hex(&h, out);
	is_str(out, SHA_ABC, "struct reusable after free");
}

int main(void)
{
	test_vectors();
	test_streaming();
	test_million();
	test_hex();
	test_free();
	return tap_done();
}
