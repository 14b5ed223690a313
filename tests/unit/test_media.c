/*
 * test_media.c - unit tests for media inspection (vg_media_inspect_fd).
 *
 * First the real fixtures (tests/fixtures, or the directory in VG_FIXTURES):
 * container and duration of each clip, refusal of the non-videos and of the
 * cut upload. Then every fixture cut short: a cut MP4 or WebM is never OK
 * (their last box or Segment has a known size that runs past the cut), and
 * an empty file is unsupported. Then files built in memory, one rule each:
 * box and element sizes (too small, past the end, 64-bit, "to the end",
 * unknown, 2^56-1), brands, mvhd versions, timescale 0, missing pieces,
 * duplicates, the record budget, vints that are too long, float Durations,
 * a live (unknown-size) WebM cut at every length, and an Info found behind a
 * 200 MiB Cluster in a sparse file without reading it. Last, a few thousand
 * bit flips of the fixtures must never crash or claim an impossible answer.
 *
 * Every file is written to an unlinked temp file of exactly its length, so a
 * read past `size` shows up as VG_MEDIA_IO_ERROR instead of passing silently.
 */
#include "tap.h"
#include "vg_media.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHYSZ 128

static int tmp_fd = -1;
static char why[WHYSZ];
static struct vg_media_info info;

/* ---- files ---- */

static void die(const char *what)
{
	fprintf(stderr, "test_media: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void open_tmp(void)
{
	const char *dir = getenv("TMPDIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/test_media.XXXXXX", dir && *dir ? dir : "/tmp");
	tmp_fd = mkstemp(path);
	if (tmp_fd < 0)
		die("mkstemp");
	unlink(path);
}

/* Makes the temp file exactly data[0..len) and inspects it. */
static enum vg_media_status inspect_buf(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t off = 0;

	if (ftruncate(tmp_fd, 0) != 0)
		die("ftruncate");
	while (off < len) {
		ssize_t n = pwrite(tmp_fd, p + off, len - off, (off_t)off);

		if (n <= 0)
			die("pwrite");
		off += (size_t)n;
	}
	return vg_media_inspect_fd(tmp_fd, len, &info, why, sizeof(why));
}

static char *fixture_path(const char *name)
{
	const char *dir = getenv("VG_FIXTURES");
	static char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/fixtures", name);
	return path;
}

/* Reads a whole fixture into a malloc'd buffer (the test's own copy). */
static unsigned char *load(const char *name, size_t *len)
{
	int fd = open(fixture_path(name), O_RDONLY | O_CLOEXEC);
	unsigned char *buf;
	struct stat st;
	size_t off = 0;

	if (fd < 0 || fstat(fd, &st) != 0)
		die(fixture_path(name));
	*len = (size_t)st.st_size;
	buf = malloc(*len ? *len : 1);
	if (!buf)
		abort();
	while (off < *len) {
		ssize_t n = pread(fd, buf + off, *len - off, (off_t)off);

		if (n <= 0)
			die("pread fixture");
		off += (size_t)n;
	}
	close(fd);
	return buf;
}

/* Inspects a fixture in place (its own fd and size). */
static enum vg_media_status inspect_fixture(const char *name, uint64_t size_delta, int shrink)
{
	int fd = open(fixture_path(name), O_RDONLY | O_CLOEXEC);
	enum vg_media_status st;
	struct stat sb;
	uint64_t size;

	if (fd < 0 || fstat(fd, &sb) != 0)
		die(fixture_path(name));
	size = (uint64_t)sb.st_size;
	size = shrink ? size - size_delta : size + size_delta;
	st = vg_media_inspect_fd(fd, size, &info, why, sizeof(why));
	close(fd);
	return st;
}

/* ---- building files ---- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put_zero(struct buf *b, size_t n)
{
	static const unsigned char z[64];

	while (n > 0) {
		size_t k = n < sizeof(z) ? n : sizeof(z);

		put(b, z, k);
		n -= k;
	}
}

static void put_be(struct buf *b, uint64_t v, size_t n)
{
	unsigned char t[8];

	for (size_t i = 0; i < n; i++)
		t[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	put(b, t, n);
}

static void set_be32(struct buf *b, size_t at, uint32_t v)
{
	b->p[at] = (unsigned char)(v >> 24);
	b->p[at + 1] = (unsigned char)(v >> 16);
	b->p[at + 2] = (unsigned char)(v >> 8);
	b->p[at + 3] = (unsigned char)v;
}

static void reset(struct buf *b)
{
	b->len = 0;
}

/* MP4: a box whose 32-bit size is patched by box_end. */
static size_t box_begin(struct buf *b, const char *type)
{
	size_t at = b->len;

	put_be(b, 0, 4);
	put(b, type, 4);
	return at;
}

static void box_end(struct buf *b, size_t at)
{
	set_be32(b, at, (uint32_t)(b->len - at));
}

/* A box with a raw 32-bit size field and n zero bytes of payload. */
static void box_raw(struct buf *b, uint32_t size, const char *type, size_t n)
{
	put_be(b, size, 4);
	put(b, type, 4);
	put_zero(b, n);
}

static void ftyp(struct buf *b, const char *major, const char *compat)
{
	size_t at = box_begin(b, "ftyp");

	put(b, major, 4);
	put_be(b, 0x200, 4);
	put(b, compat, strlen(compat));
	box_end(b, at);
}

static void mvhd(struct buf *b, int version, uint32_t timescale, uint64_t duration)
{
	size_t at = box_begin(b, "mvhd");

	put_be(b, (uint64_t)version << 24, 4);
	if (version == 1) {
		put_zero(b, 16);
		put_be(b, timescale, 4);
		put_be(b, duration, 8);
	} else {
		put_zero(b, 8);
		put_be(b, timescale, 4);
		put_be(b, duration, 4);
	}
	put_zero(b, 80); /* rate, volume, matrix, next track id */
	box_end(b, at);
}

static void moov(struct buf *b, int version, uint32_t timescale, uint64_t duration)
{
	size_t at = box_begin(b, "moov");

	mvhd(b, version, timescale, duration);
	box_raw(b, 16, "trak", 8);
	box_end(b, at);
}

static void mdat(struct buf *b)
{
	box_raw(b, 24, "mdat", 16);
}

/* ftyp isom, moov (mvhd v0), mdat: a minimal good MP4. */
static void mp4(struct buf *b, uint32_t timescale, uint64_t duration)
{
	reset(b);
	ftyp(b, "isom", "isomiso2avc1mp41");
	moov(b, 0, timescale, duration);
	mdat(b);
}

/* EBML: IDs carry their length marker, so their byte count is their magnitude. */
static void put_id(struct buf *b, uint32_t id)
{
	size_t n = id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1;

	put_be(b, id, n);
}

/* An element with an 8-byte size patched by el_end. */
static size_t el_begin(struct buf *b, uint32_t id)
{
	put_id(b, id);
	put_be(b, 0x0100000000000000ULL, 8);
	return b->len;
}

static void el_end(struct buf *b, size_t data)
{
	uint64_t sz = b->len - data;

	for (int i = 7; i >= 1; i--)
		b->p[data - 8 + (size_t)i] = (unsigned char)(sz >> (8 * (7 - i)));
}

/* An element with a 1-byte size (n < 127). */
static void el_bytes(struct buf *b, uint32_t id, const void *d, size_t n)
{
	put_id(b, id);
	put_be(b, 0x80 | n, 1);
	put(b, d, n);
}

static void el_uint(struct buf *b, uint32_t id, uint64_t v, size_t n)
{
	put_id(b, id);
	put_be(b, 0x80 | n, 1);
	put_be(b, v, n);
}

static void el_f64(struct buf *b, uint32_t id, double d)
{
	uint64_t u;

	memcpy(&u, &d, 8);
	el_uint(b, id, u, 8);
}

static void el_f32(struct buf *b, uint32_t id, float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	el_uint(b, id, u, 4);
}

#define EBML	 0x1A45DFA3u
#define DOCTYPE	 0x4282u
#define SEGMENT	 0x18538067u
#define SEEKHEAD 0x114D9B74u
#define INFO	 0x1549A966u
#define TRACKS	 0x1654AE6Bu
#define CLUSTER	 0x1F43B675u
#define TCSCALE	 0x2AD7B1u
#define DURATION 0x4489u
#define VOID	 0xECu
#define TIMECODE 0xE7u
#define MUXAPP	 0x4D80u

static void ebml_head(struct buf *b, const char *doctype, size_t dtlen)
{
	size_t h = el_begin(b, EBML);

	el_uint(b, 0x4286, 1, 1); /* EBMLVersion */
	el_uint(b, 0x42F7, 1, 1); /* EBMLReadVersion */
	el_bytes(b, DOCTYPE, doctype, dtlen);
	el_uint(b, 0x4287, 4, 1); /* DocTypeVersion */
	el_end(b, h);
}

static void cluster(struct buf *b)
{
	size_t c = el_begin(b, CLUSTER);

	el_uint(b, TIMECODE, 0, 1);
	el_bytes(b, 0xA3, "\x81\x00\x00\x80 frame bytes", 17); /* SimpleBlock */
	el_end(b, c);
}

enum dur_kind { DUR_NONE, DUR_F32, DUR_F64 };

/* EBML header, Segment (known size unless live), SeekHead, Info, Tracks, Cluster. */
static void webm(struct buf *b, const char *doctype, int live, uint64_t scale, enum dur_kind dk,
		 double duration)
{
	size_t s = 0, i;

	reset(b);
	ebml_head(b, doctype, strlen(doctype));
	if (live) {
		put_id(b, SEGMENT);
		put_be(b, 0x01FFFFFFFFFFFFFFULL, 8);
	} else {
		s = el_begin(b, SEGMENT);
	}
	el_bytes(b, SEEKHEAD, "\x4d\xbb\x80", 3);
	i = el_begin(b, INFO);
	if (scale)
		el_uint(b, TCSCALE, scale, 3);
	el_bytes(b, MUXAPP, "test", 4);
	if (dk == DUR_F32)
		el_f32(b, DURATION, (float)duration);
	else if (dk == DUR_F64)
		el_f64(b, DURATION, duration);
	el_end(b, i);
	el_bytes(b, TRACKS, "\xae\x80", 2);
	cluster(b);
	cluster(b);
	if (!live)
		el_end(b, s);
}

/* ---- checks ---- */

static void expect_ok(enum vg_media_status st, const char *container, long long ms,
		      const char *name)
{
	if (!ok(st == VG_MEDIA_OK, "%s: OK", name))
		printf("#   status %s: %s\n", vg_media_status_str(st), why);
	is_str(info.container, container, "%s: container", name);
	is_int(info.duration_ms, ms, "%s: duration %lld ms", name, ms);
}

static void expect_st(enum vg_media_status st, enum vg_media_status want, const char *name)
{
	if (!ok(st == want, "%s: %s (%s)", name, vg_media_status_str(want), why))
		printf("#   got %s\n", vg_media_status_str(st));
	if (st != VG_MEDIA_OK && (info.container[0] || info.duration_ms != -1))
		ok(0, "%s: out is cleared on failure", name);
}

/* The reason contains needle. */
static void expect_why(const char *needle, const char *name)
{
	if (!ok(strstr(why, needle) != NULL, "%s: reason mentions '%s'", name, needle))
		printf("#   reason: '%s'\n", why);
}

/* ---- fixtures ---- */

static const struct {
	const char *name;
	enum vg_media_status st;
	const char *container;
	long long ms;
} fixtures[] = {
	{"clip-2s.mp4", VG_MEDIA_OK, "mp4", 2000},
	{"clip-2s-moov-at-end.mp4", VG_MEDIA_OK, "mp4", 2000},
	{"clip-2s.mov", VG_MEDIA_OK, "mov", 2000},
	{"clip-2s.webm", VG_MEDIA_OK, "webm", 2008},
	{"clip-15s.mp4", VG_MEDIA_OK, "mp4", 15000},
	{"clip-20s.mp4", VG_MEDIA_OK, "mp4", 20000},
	{"clip-20s.webm", VG_MEDIA_OK, "webm", 20000},
	{"not-a-video.bin", VG_MEDIA_UNSUPPORTED, "", -1},
	{"fake.gif", VG_MEDIA_UNSUPPORTED, "", -1},
	{"truncated.mp4", VG_MEDIA_MALFORMED, "", -1},
};

#define NFIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static void test_fixtures(void)
{
	for (size_t i = 0; i < NFIXTURES; i++) {
		enum vg_media_status st = inspect_fixture(fixtures[i].name, 0, 0);

		if (fixtures[i].st == VG_MEDIA_OK)
			expect_ok(st, fixtures[i].container, fixtures[i].ms, fixtures[i].name);
		else
			expect_st(st, fixtures[i].st, fixtures[i].name);
	}
	inspect_fixture("truncated.mp4", 0, 0);
	expect_why("mdat box extends past end of file", "truncated.mp4");

	/* size is the bound, not the file's length */
	expect_st(inspect_fixture("clip-2s.mp4", 17386 - 3000, 1), VG_MEDIA_MALFORMED,
		  "clip-2s.mp4 inspected as its first 3000 bytes");
	expect_why("mdat box extends past end of file", "clip-2s.mp4 as 3000 bytes");
	expect_st(inspect_fixture("clip-2s.mp4", 100, 0), VG_MEDIA_IO_ERROR,
		  "clip-2s.mp4 with a size 100 bytes past its end");
	expect_st(inspect_fixture("clip-2s.webm", 1, 1), VG_MEDIA_MALFORMED,
		  "clip-2s.webm one byte short");
	expect_why("past end of file", "clip-2s.webm one byte short");
}

/* Cuts every fixture at size*k/10 and the small clips at every length. */
static void test_fixture_cuts(void)
{
	for (size_t i = 0; i < NFIXTURES; i++) {
		size_t len, bad = 0;
		unsigned char *data = load(fixtures[i].name, &len);
		int every = len < 40000 && fixtures[i].st == VG_MEDIA_OK;
		size_t step = every ? 1 : len / 10;

		for (size_t cut = 0; cut < len; cut += step) {
			enum vg_media_status st = inspect_buf(data, cut);
			enum vg_media_status want = cut == 0 ? VG_MEDIA_UNSUPPORTED
						    : fixtures[i].st == VG_MEDIA_OK
							    ? VG_MEDIA_MALFORMED
							    : fixtures[i].st;

			/* "....ftyp" needs 8 bytes to be recognised, the EBML ID 4 */
			if (fixtures[i].st == VG_MEDIA_OK &&
			    cut < (strcmp(fixtures[i].container, "webm") == 0 ? 4u : 8u))
				want = VG_MEDIA_UNSUPPORTED;
			if (st != want) {
				if (bad++ < 3)
					printf("#   %s cut at %zu: %s (%s)\n", fixtures[i].name,
					       cut, vg_media_status_str(st), why);
			}
		}
		is_int(bad, 0, "%s cut at %s: never OK, always %s", fixtures[i].name,
		       every ? "every length" : "every tenth",
		       fixtures[i].st == VG_MEDIA_UNSUPPORTED ? "unsupported" : "malformed");
		free(data);
	}
}

/* ---- MP4 ---- */

static void test_mp4_sizes(void)
{
	struct buf b = {0};
	char name[64];
	size_t at;

	mp4(&b, 1000, 2000);
	expect_ok(inspect_buf(b.p, b.len), "mp4", 2000, "minimal mp4");

	for (uint32_t sz = 2; sz < 8; sz++) {
		mp4(&b, 1000, 2000);
		box_raw(&b, sz, "free", 8);
		snprintf(name, sizeof(name), "box size %u", sz);
		expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, name);
	}
	expect_why("smaller than its header", "box size 7");

	mp4(&b, 1000, 2000);
	box_raw(&b, 1000, "free", 8);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "box size past EOF");
	expect_why("free box extends past end of file", "box size past EOF");

	mp4(&b, 1000, 2000);
	box_raw(&b, 0xFFFFFFFF, "free", 8);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "box size 2^32-1");

	mp4(&b, 1000, 2000);
	put(&b, "\0\0\0", 3);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "3 stray bytes after the last box");
	expect_why("truncated box header", "3 stray bytes");

	mp4(&b, 1000, 2000);
	box_raw(&b, 16, "fr\x01\xff", 8);
	box_raw(&b, 100, "x'\n\x1b", 0);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "odd box type past EOF");
	expect_why("x???", "odd box type shown printable");

	/* 64-bit largesize */
	reset(&b);
	ftyp(&b, "isom", "isom");
	moov(&b, 0, 1000, 2000);
	put_be(&b, 1, 4);
	put(&b, "mdat", 4);
	put_be(&b, 16 + 100, 8);
	put_zero(&b, 100);
	expect_ok(inspect_buf(b.p, b.len), "mp4", 2000, "mdat with 64-bit largesize");

	b.p[b.len - 100 - 1] = 15;
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "largesize 15 (< 16)");
	b.p[b.len - 100 - 1] = 8;
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "largesize 8");
	b.p[b.len - 100 - 1] = 0;
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "largesize 0");
	memset(b.p + b.len - 100 - 8, 0xff, 8);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "largesize 2^64-1");
	expect_why("mdat box extends past end of file", "largesize 2^64-1");
	memset(b.p + b.len - 100 - 8, 0x7f, 8);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "largesize 2^63-ish");

	mp4(&b, 1000, 2000);
	put_be(&b, 1, 4);
	put(&b, "free", 4);
	put_be(&b, 0, 4);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "largesize cut in half");

	/* size 0: to the end of the file */
	reset(&b);
	ftyp(&b, "isom", "isom");
	moov(&b, 0, 1000, 2000);
	box_raw(&b, 0, "mdat", 100);
	expect_ok(inspect_buf(b.p, b.len), "mp4", 2000, "last box (mdat) of size 0");

	reset(&b);
	ftyp(&b, "isom", "isom");
	box_raw(&b, 0, "mdat", 100);
	moov(&b, 0, 1000, 2000);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED,
		  "size-0 mdat before moov swallows it");
	expect_why("no moov box", "size-0 mdat before moov");

	/* moov children must lie in moov */
	reset(&b);
	ftyp(&b, "isom", "isom");
	at = box_begin(&b, "moov");
	mvhd(&b, 0, 1000, 2000);
	box_raw(&b, 64, "trak", 8);
	box_end(&b, at);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "trak extends past moov");
	expect_why("trak box extends past end of moov", "trak past moov");

	free(b.p);
}

static void test_mp4_brands(void)
{
	static const struct {
		const char *major, *compat;
		enum vg_media_status st;
		const char *container;
	} cases[] = {
		{"isom", "isomiso2avc1mp41", VG_MEDIA_OK, "mp4"},
		{"mp42", "", VG_MEDIA_OK, "mp4"},
		{"iso5", "iso5dash", VG_MEDIA_OK, "mp4"},
		{"3gp4", "3gp4isom", VG_MEDIA_OK, "mp4"},
		{"3g2a", "", VG_MEDIA_OK, "mp4"},
		{"M4V ", "M4V mp42isom", VG_MEDIA_OK, "mp4"},
		{"qt  ", "qt  ", VG_MEDIA_OK, "mov"},
		{"XAVC", "XAVCmp42iso2", VG_MEDIA_OK, "mp4"},
		{"ABCD", "ABCDmp42", VG_MEDIA_OK, "mp4"},
		{"CAEP", "CAEPqt  ", VG_MEDIA_OK, "mov"},
		{"M4A ", "M4A mp42isom", VG_MEDIA_UNSUPPORTED, ""},
		{"M4B ", "M4B mp42isom", VG_MEDIA_UNSUPPORTED, ""},
		{"heic", "mif1heiciso8", VG_MEDIA_UNSUPPORTED, ""},
		{"avif", "avifmif1miafiso8", VG_MEDIA_UNSUPPORTED, ""},
		{"crx ", "crx isom", VG_MEDIA_UNSUPPORTED, ""},
		{"ABCD", "ABCDEFGH", VG_MEDIA_UNSUPPORTED, ""},
		{"\x01\x02\x03\x04", "", VG_MEDIA_UNSUPPORTED, ""},
	};
	struct buf b = {0};
	char name[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum vg_media_status st;

		reset(&b);
		ftyp(&b, cases[i].major, cases[i].compat);
		moov(&b, 0, 600, 1200);
		mdat(&b);
		st = inspect_buf(b.p, b.len);
		snprintf(name, sizeof(name), "ftyp major '%.4s' compat '%s'",
			 cases[i].major[0] == 1 ? "\\x01" : cases[i].major, cases[i].compat);
		if (cases[i].st == VG_MEDIA_OK)
			expect_ok(st, cases[i].container, 2000, name);
		else
			expect_st(st, cases[i].st, name);
	}

	reset(&b);
	box_raw(&b, 12, "ftyp", 4);
	moov(&b, 0, 1000, 2000);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "ftyp of 12 bytes");

	reset(&b);
	box_raw(&b, 7, "ftyp", 0);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "ftyp of size 7");
	expect_st(inspect_buf("\0\0\0\x08"
			      "ftyp",
			      8),
		  VG_MEDIA_MALFORMED, "ftyp box alone");
	expect_st(inspect_buf("\0\0\0\x08"
			      "fty",
			      7),
		  VG_MEDIA_UNSUPPORTED, "7 bytes of ftyp");

	/* no ftyp first: even a QuickTime-looking file is refused */
	reset(&b);
	moov(&b, 0, 1000, 2000);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_UNSUPPORTED, "moov first, no ftyp");
	free(b.p);
}

static void test_mp4_moov(void)
{
	struct buf b = {0};
	size_t at, at2;

	reset(&b);
	ftyp(&b, "isom", "isom");
	moov(&b, 1, 48000, 96000);
	mdat(&b);
	expect_ok(inspect_buf(b.p, b.len), "mp4", 2000, "mvhd version 1");

	reset(&b);
	ftyp(&b, "isom", "isom");
	moov(&b, 1, 1000, 5000000000ULL);
	mdat(&b);
	expect_ok(inspect_buf(b.p, b.len), "mp4", 5000000000LL, "mvhd v1 duration past 2^32");

	reset(&b);
	ftyp(&b, "isom", "isom");
	moov(&b, 1, 1, UINT64_MAX - 1);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "mvhd v1 duration 2^64-2 s");
	expect_why("out of range", "huge duration");

	reset(&b);
	ftyp(&b, "isom", "isom");
	moov(&b, 1, UINT32_MAX, UINT64_MAX - 1);
	mdat(&b);
	expect_ok(inspect_buf(b.p, b.len), "mp4", 4294967297000LL,
		  "mvhd v1 duration 2^64-2 at timescale 2^32-1");

	reset(&b);
	ftyp(&b, "isom", "isom");
	moov(&b, 1, 1000, UINT64_MAX);
	mdat(&b);
	expect_ok(inspect_buf(b.p, b.len), "mp4", -1, "mvhd v1 duration all ones: unknown");

	mp4(&b, 1000, UINT32_MAX);
	expect_ok(inspect_buf(b.p, b.len), "mp4", -1, "mvhd v0 duration all ones: unknown");

	mp4(&b, 90000, 180045);
	expect_ok(inspect_buf(b.p, b.len), "mp4", 2001, "2000.5 ms rounds up");
	mp4(&b, 90000, 180044);
	expect_ok(inspect_buf(b.p, b.len), "mp4", 2000, "2000.49 ms rounds down");
	mp4(&b, 1000, 0);
	expect_ok(inspect_buf(b.p, b.len), "mp4", 0, "mvhd duration 0 without mvex: 0");

	mp4(&b, 0, 2000);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "timescale 0");
	expect_why("timescale is 0", "timescale 0");

	reset(&b);
	ftyp(&b, "isom", "isom");
	at = box_begin(&b, "moov");
	put_be(&b, 12, 4);
	put(&b, "mvhd", 4);
	put_be(&b, 2u << 24, 4);
	box_end(&b, at);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "mvhd version 2");

	reset(&b);
	ftyp(&b, "isom", "isom");
	at = box_begin(&b, "moov");
	put_be(&b, 24, 4);
	put(&b, "mvhd", 4);
	put_be(&b, 1u << 24, 4);
	put_zero(&b, 12);
	box_end(&b, at);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "mvhd v1 of 24 bytes");

	reset(&b);
	ftyp(&b, "isom", "isom");
	at = box_begin(&b, "moov");
	box_raw(&b, 8, "mvhd", 0);
	box_end(&b, at);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "empty mvhd");

	reset(&b);
	ftyp(&b, "isom", "isom");
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "missing moov");
	expect_why("no moov box", "missing moov");

	reset(&b);
	ftyp(&b, "isom", "isom");
	moov(&b, 0, 1000, 2000);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "missing mdat");
	expect_why("no mdat box", "missing mdat");

	reset(&b);
	ftyp(&b, "isom", "isom");
	at = box_begin(&b, "moov");
	box_raw(&b, 16, "trak", 8);
	box_end(&b, at);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "moov without mvhd");

	reset(&b);
	ftyp(&b, "isom", "isom");
	moov(&b, 0, 1000, 2000);
	mdat(&b);
	moov(&b, 0, 1000, 99000);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "two moov boxes");

	reset(&b);
	ftyp(&b, "isom", "isom");
	at = box_begin(&b, "moov");
	mvhd(&b, 0, 1000, 2000);
	mvhd(&b, 0, 1000, 99000);
	box_end(&b, at);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "two mvhd boxes");

	/* fragmented: mvhd 0, total in mvex/mehd */
	for (int v = 0; v < 2; v++) {
		char name[64];

		reset(&b);
		ftyp(&b, "iso5", "iso5dash");
		at = box_begin(&b, "moov");
		mvhd(&b, 0, 1000, 0);
		at2 = box_begin(&b, "mvex");
		put_be(&b, v ? 20 : 16, 4);
		put(&b, "mehd", 4);
		put_be(&b, (uint64_t)v << 24, 4);
		put_be(&b, 3000, v ? 8 : 4);
		box_raw(&b, 32, "trex", 24);
		box_end(&b, at2);
		box_end(&b, at);
		box_raw(&b, 16, "moof", 8);
		mdat(&b);
		snprintf(name, sizeof(name), "fragmented, mehd version %d", v);
		expect_ok(inspect_buf(b.p, b.len), "mp4", 3000, name);
	}

	reset(&b);
	ftyp(&b, "iso5", "iso5dash");
	at = box_begin(&b, "moov");
	mvhd(&b, 0, 1000, 0);
	at2 = box_begin(&b, "mvex");
	box_raw(&b, 32, "trex", 24);
	box_end(&b, at2);
	box_end(&b, at);
	box_raw(&b, 16, "moof", 8);
	mdat(&b);
	expect_ok(inspect_buf(b.p, b.len), "mp4", -1, "fragmented without mehd: unknown");

	reset(&b);
	ftyp(&b, "iso5", "iso5dash");
	at = box_begin(&b, "moov");
	mvhd(&b, 0, 1000, 0);
	for (int k = 0; k < 2; k++) {
		at2 = box_begin(&b, "mvex");
		box_end(&b, at2);
	}
	box_end(&b, at);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "two mvex boxes");

	reset(&b);
	ftyp(&b, "iso5", "iso5dash");
	at = box_begin(&b, "moov");
	mvhd(&b, 0, 1000, 0);
	at2 = box_begin(&b, "mvex");
	for (int k = 0; k < 2; k++) {
		put_be(&b, 16, 4);
		put(&b, "mehd", 4);
		put_be(&b, 0, 4);
		put_be(&b, k ? 99000 : 1000, 4);
	}
	box_end(&b, at2);
	box_end(&b, at);
	mdat(&b);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "two mehd boxes");

	free(b.p);
}

static void test_mp4_budget(void)
{
	struct buf b = {0};

	/* ftyp, moov, mvhd, trak, mdat: 5 boxes, then free boxes up to the cap */
	mp4(&b, 1000, 2000);
	for (int i = 0; i < VG_MEDIA_MAX_ELEMENTS - 5; i++)
		box_raw(&b, 8, "free", 0);
	expect_ok(inspect_buf(b.p, b.len), "mp4", 2000, "exactly 10000 boxes");

	mp4(&b, 1000, 2000);
	for (int i = 0; i < 10001; i++)
		box_raw(&b, 8, "free", 0);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "10001 tiny boxes");
	expect_why("more than 10000 boxes", "10001 tiny boxes");
	free(b.p);
}

/* A 4.5 GiB mdat with a 64-bit size in a sparse file: nothing of it is read. */
static void test_mp4_sparse(void)
{
	struct buf b = {0};
	uint64_t big = 4608ULL << 20, total;
	enum vg_media_status st;

	reset(&b);
	ftyp(&b, "isom", "isom");
	put_be(&b, 1, 4);
	put(&b, "mdat", 4);
	put_be(&b, big, 8);
	total = b.len + big - 16;
	if (inspect_buf(b.p, b.len) != VG_MEDIA_MALFORMED)
		ok(0, "sparse mdat: header alone is malformed");
	if (ftruncate(tmp_fd, (off_t)total) != 0) {
		printf("# skip 4.5 GiB sparse file: %s\n", strerror(errno));
		free(b.p);
		return;
	}
	reset(&b);
	moov(&b, 0, 1000, 2000);
	if (pwrite(tmp_fd, b.p, b.len, (off_t)total) != (ssize_t)b.len)
		die("pwrite");
	st = vg_media_inspect_fd(tmp_fd, total + b.len, &info, why, sizeof(why));
	expect_ok(st, "mp4", 2000, "moov after a 4.5 GiB largesize mdat (sparse)");
	if (ftruncate(tmp_fd, 0) != 0)
		die("ftruncate");
	free(b.p);
}

/* ---- WebM / Matroska ---- */

static void test_webm_basic(void)
{
	struct buf b = {0};

	webm(&b, "webm", 0, 1000000, DUR_F64, 2008.0);
	expect_ok(inspect_buf(b.p, b.len), "webm", 2008, "webm, Duration float64");
	webm(&b, "webm", 0, 1000000, DUR_F32, 2008.0);
	expect_ok(inspect_buf(b.p, b.len), "webm", 2008, "webm, Duration float32");
	webm(&b, "webm", 0, 0, DUR_F64, 20000.0);
	expect_ok(inspect_buf(b.p, b.len), "webm", 20000, "webm, default TimecodeScale");
	webm(&b, "webm", 0, 1000, DUR_F32, 2008000.0);
	expect_ok(inspect_buf(b.p, b.len), "webm", 2008, "webm, TimecodeScale 1000 (us ticks)");
	webm(&b, "webm", 0, 1000000, DUR_F64, 2007.5);
	expect_ok(inspect_buf(b.p, b.len), "webm", 2008, "Duration 2007.5 rounds up");
	webm(&b, "webm", 0, 1000000, DUR_F64, 2007.49);
	expect_ok(inspect_buf(b.p, b.len), "webm", 2007, "Duration 2007.49 rounds down");
	webm(&b, "matroska", 0, 1000000, DUR_F64, 15000.0);
	expect_ok(inspect_buf(b.p, b.len), "mkv", 15000, "DocType matroska");
	webm(&b, "webm", 0, 1000000, DUR_NONE, 0);
	expect_ok(inspect_buf(b.p, b.len), "webm", -1, "missing Duration: -1");
	webm(&b, "webm", 1, 1000000, DUR_F64, 2008.0);
	expect_ok(inspect_buf(b.p, b.len), "webm", 2008, "Segment of unknown size");

	webm(&b, "foo", 0, 1000000, DUR_F64, 2008.0);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_UNSUPPORTED, "DocType foo");
	expect_why("DocType 'foo'", "DocType foo");
	webm(&b, "webm-but-much-longer", 0, 1000000, DUR_F64, 2008.0);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_UNSUPPORTED, "DocType of 20 bytes");
	webm(&b, "we\x1b[2Jbm", 0, 1000000, DUR_F64, 2008.0);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_UNSUPPORTED, "DocType with an escape");
	expect_why("'we?[2Jbm'", "DocType escape shown as '?'");

	reset(&b);
	ebml_head(&b, "webm\0\0", 6);
	{
		size_t s = el_begin(&b, SEGMENT);

		cluster(&b);
		el_end(&b, s);
	}
	expect_ok(inspect_buf(b.p, b.len), "webm", -1, "DocType 'webm' NUL-padded, no Info");

	reset(&b);
	{
		size_t h = el_begin(&b, EBML), s;

		el_uint(&b, 0x4286, 1, 1);
		el_end(&b, h);
		s = el_begin(&b, SEGMENT);
		cluster(&b);
		el_end(&b, s);
	}
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "EBML header without DocType");

	reset(&b);
	{
		size_t h = el_begin(&b, EBML);

		el_bytes(&b, DOCTYPE, "webm", 4);
		put(&b, "\x42\x87\xff", 3); /* DocTypeVersion of unknown size */
		el_end(&b, h);
	}
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "unknown size in the EBML header");

	reset(&b);
	ebml_head(&b, "webm", 4);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "EBML header alone");
	expect_why("no Segment", "EBML header alone");

	reset(&b);
	ebml_head(&b, "webm", 4);
	el_bytes(&b, VOID, "xx", 2);
	{
		size_t s = el_begin(&b, SEGMENT);

		el_bytes(&b, INFO, "", 0);
		cluster(&b);
		el_end(&b, s);
	}
	expect_ok(inspect_buf(b.p, b.len), "webm", -1, "Void before Segment, empty Info");

	reset(&b);
	ebml_head(&b, "webm", 4);
	{
		size_t s = el_begin(&b, SEGMENT);

		el_bytes(&b, TRACKS, "\xae\x80", 2);
		el_end(&b, s);
	}
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "Segment without Cluster");
	expect_why("no Cluster", "Segment without Cluster");

	expect_st(inspect_buf("\x1a\x45\xdf\xa3", 4), VG_MEDIA_MALFORMED, "EBML ID alone");
	expect_st(inspect_buf("\x1a\x45\xdf", 3), VG_MEDIA_UNSUPPORTED, "3 bytes of EBML ID");
	expect_st(inspect_buf("\x1a\x45\xdf\xa3\xff", 5), VG_MEDIA_MALFORMED,
		  "EBML header of unknown size");
	free(b.p);
}

/* Replaces the Info of a webm() file by the given raw Info payload. */
static void webm_info(struct buf *b, const void *payload, size_t n)
{
	size_t s, i;

	reset(b);
	ebml_head(b, "webm", 4);
	s = el_begin(b, SEGMENT);
	i = el_begin(b, INFO);
	put(b, payload, n);
	el_end(b, i);
	cluster(b);
	el_end(b, s);
}

static void test_webm_info(void)
{
	struct buf b = {0}, in = {0};

	el_f64(&in, DURATION, INFINITY);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "Duration infinite");
	reset(&in);
	el_f64(&in, DURATION, NAN);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "Duration NaN");
	reset(&in);
	el_f32(&in, DURATION, -5.0f);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "Duration negative");
	reset(&in);
	el_f64(&in, DURATION, 1e300);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "Duration 1e300");
	reset(&in);
	el_uint(&in, TCSCALE, UINT64_MAX, 8);
	el_f64(&in, DURATION, 1e9);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "TimecodeScale 2^64-1");
	reset(&in);
	el_uint(&in, DURATION, 0x123456, 3);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "Duration of 3 bytes");
	reset(&in);
	el_uint(&in, TCSCALE, 0, 1);
	el_f64(&in, DURATION, 10.0);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "TimecodeScale 0");
	reset(&in);
	el_bytes(&in, TCSCALE, "\0\0\0\0\0\0\0\0\x01", 9);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "TimecodeScale of 9 bytes");
	reset(&in);
	el_bytes(&in, TCSCALE, "", 0);
	el_f64(&in, DURATION, 1234.0);
	webm_info(&b, in.p, in.len);
	expect_ok(inspect_buf(b.p, b.len), "webm", 1234, "empty TimecodeScale is the default");
	reset(&in);
	el_uint(&in, TCSCALE, 1000000, 3);
	el_uint(&in, TCSCALE, 1000, 2);
	el_f64(&in, DURATION, 1000.0);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "two TimecodeScales");
	reset(&in);
	el_f64(&in, DURATION, 1000.0);
	el_f64(&in, DURATION, 99000.0);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "two Durations");
	reset(&in);
	el_f64(&in, DURATION, 1000.0);
	put_id(&in, MUXAPP);
	put_be(&in, 0xFF, 1);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "unknown-size child of Info");
	reset(&in);
	el_f64(&in, DURATION, 1000.0);
	put_id(&in, MUXAPP);
	put_be(&in, 0x90, 1);
	webm_info(&b, in.p, in.len);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "child runs past Info");
	expect_why("extends past end of Info", "child runs past Info");

	/* two Infos */
	{
		size_t s, i;

		reset(&b);
		ebml_head(&b, "webm", 4);
		s = el_begin(&b, SEGMENT);
		for (int k = 0; k < 2; k++) {
			i = el_begin(&b, INFO);
			el_f64(&b, DURATION, k ? 99000.0 : 1000.0);
			el_end(&b, i);
		}
		cluster(&b);
		el_end(&b, s);
		expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "two Info elements");
	}
	free(in.p);
	free(b.p);
}

static void test_webm_sizes(void)
{
	struct buf b = {0};
	size_t s;

	/* a vint of 9 bytes: first byte 0x00 */
	reset(&b);
	ebml_head(&b, "webm", 4);
	s = el_begin(&b, SEGMENT);
	put_id(&b, VOID);
	put(&b, "\x00\x80\0\0\0\0\0\0\x01", 9);
	el_end(&b, s);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "size vint of 9 bytes");
	expect_why("invalid EBML size", "size vint of 9 bytes");

	reset(&b);
	put(&b, "\x1a\x45\xdf\xa3\x00\x80\0\0\0\0\0\0\x04", 13);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "EBML header size vint of 9 bytes");

	reset(&b);
	ebml_head(&b, "webm", 4);
	s = el_begin(&b, SEGMENT);
	put(&b, "\x08\x11\x22\x33\x44\x80", 6); /* 5-byte ID */
	cluster(&b);
	el_end(&b, s);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "5-byte element ID");
	expect_why("invalid EBML ID", "5-byte element ID");

	reset(&b);
	ebml_head(&b, "webm", 4);
	s = el_begin(&b, SEGMENT);
	put(&b, "\x00\x80", 2);
	el_end(&b, s);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "element ID byte 0x00");

	/* 2^56-1 in 8 bytes is the "unknown" size: only a Cluster may have it */
	reset(&b);
	ebml_head(&b, "webm", 4);
	s = el_begin(&b, SEGMENT);
	put_id(&b, TRACKS);
	put_be(&b, 0x01FFFFFFFFFFFFFFULL, 8);
	cluster(&b);
	el_end(&b, s);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "Tracks of size 2^56-1 (unknown)");
	expect_why("Tracks of unknown size", "Tracks of unknown size");

	reset(&b);
	ebml_head(&b, "webm", 4);
	s = el_begin(&b, SEGMENT);
	el_bytes(&b, INFO, "\x44\x89\x84\x45\xfa\xc0\x00", 7); /* Duration float32 8024 */
	put_id(&b, CLUSTER);
	put_be(&b, 0x01FFFFFFFFFFFFFFULL, 8);
	el_uint(&b, TIMECODE, 0, 1);
	el_bytes(&b, 0xA3, "\x81\x00\x00\x80 frame", 10);
	put(&b, "\x1f\x43\xb6\x75\xff\xe7\x81\x00", 8); /* next Cluster, 1-byte unknown size */
	el_end(&b, s);
	expect_ok(inspect_buf(b.p, b.len), "webm", 8024, "Cluster of size 2^56-1 runs to the end");

	reset(&b);
	ebml_head(&b, "webm", 4);
	s = el_begin(&b, SEGMENT);
	put_id(&b, SEEKHEAD);
	put_be(&b, 0x01FFFFFFFFFFFFFEULL, 8);
	cluster(&b);
	el_end(&b, s);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "SeekHead of size 2^56-2");
	expect_why("SeekHead extends past end of Segment", "SeekHead of size 2^56-2");

	webm(&b, "webm", 0, 1000000, DUR_F64, 2008.0);
	b.len -= 5;
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "Segment longer than the file");
	expect_why("Segment extends past end of file", "Segment longer than the file");

	webm(&b, "webm", 1, 1000000, DUR_F64, 2008.0);
	b.len -= 3;
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "live webm, last Cluster cut");
	expect_why("Cluster extends past end of Segment", "live webm, last Cluster cut");

	reset(&b);
	ebml_head(&b, "webm", 4);
	put_id(&b, VOID);
	put_be(&b, 0xFF, 1);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED,
		  "Void of unknown size before Segment");

	reset(&b);
	ebml_head(&b, "webm", 4);
	put_id(&b, SEGMENT);
	put_be(&b, 0x80, 1);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "empty Segment");

	reset(&b);
	ebml_head(&b, "webm", 4);
	put_id(&b, SEGMENT);
	put(&b, "\x01\x00", 2);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "Segment size vint cut");
	expect_why("truncated element header", "Segment size vint cut");

	/* the budget: 10001 Void elements */
	reset(&b);
	ebml_head(&b, "webm", 4);
	s = el_begin(&b, SEGMENT);
	cluster(&b);
	for (int i = 0; i < 10001; i++)
		put(&b, "\xec\x80", 2);
	el_end(&b, s);
	expect_st(inspect_buf(b.p, b.len), VG_MEDIA_MALFORMED, "10001 Void elements");
	expect_why("more than 10000 elements", "10001 Void elements");
	free(b.p);
}

/* Info behind a 200 MiB Cluster in a sparse file: skipped, not read. */
static void test_webm_sparse(void)
{
	uint64_t big = 200ULL << 20, at;
	struct buf b = {0};
	enum vg_media_status st;
	size_t i;

	reset(&b);
	ebml_head(&b, "webm", 4);
	put_id(&b, SEGMENT);
	put_be(&b, 0x01FFFFFFFFFFFFFFULL, 8);
	el_bytes(&b, SEEKHEAD, "\x4d\xbb\x80", 3);
	put_id(&b, CLUSTER);
	put_be(&b, 0x0100000000000000ULL | big, 8);
	if (inspect_buf(b.p, b.len) != VG_MEDIA_MALFORMED)
		ok(0, "sparse webm: header alone is malformed");
	at = b.len + big;
	reset(&b);
	i = el_begin(&b, INFO);
	el_f64(&b, DURATION, 20000.0);
	el_end(&b, i);
	if (pwrite(tmp_fd, b.p, b.len, (off_t)at) != (ssize_t)b.len)
		die("pwrite");
	st = vg_media_inspect_fd(tmp_fd, at + b.len, &info, why, sizeof(why));
	expect_ok(st, "webm", 20000, "Info after a 200 MiB Cluster (sparse, skipped)");
	if (ftruncate(tmp_fd, 0) != 0)
		die("ftruncate");
	free(b.p);
}

/*
 * A live WebM (unknown-size Segment) has no length to compare with the file,
 * so a cut exactly between elements still parses. The rule: OK only with the
 * full duration (Info already passed) and never another number; a cut inside
 * an element is MALFORMED; a cut before the first Cluster is MALFORMED.
 */
static void test_webm_live_cuts(void)
{
	struct buf b = {0};
	size_t bad = 0, oks = 0;

	webm(&b, "webm", 1, 1000000, DUR_F64, 2008.0);
	for (size_t cut = 0; cut <= b.len; cut++) {
		enum vg_media_status st = inspect_buf(b.p, cut);

		if (st == VG_MEDIA_OK) {
			oks++;
			if (info.duration_ms != 2008 && info.duration_ms != -1)
				bad++;
		} else if (st == VG_MEDIA_IO_ERROR) {
			bad++;
		}
	}
	is_int(bad, 0, "live webm cut at every length: never a wrong duration, never I/O error");
	is_int(oks, 2, "live webm: OK only when cut after the first or second whole Cluster");
	free(b.p);
}

static void test_misc(void)
{
	struct buf b = {0};
	char small[8];
	enum vg_media_status st;

	mp4(&b, 1000, 2000);
	inspect_buf(b.p, b.len);
	st = vg_media_inspect_fd(tmp_fd, b.len, &info, NULL, 0);
	is_int(st, VG_MEDIA_OK, "why NULL is fine");
	b.len -= 1;
	inspect_buf(b.p, b.len);
	memset(small, '#', sizeof(small));
	st = vg_media_inspect_fd(tmp_fd, b.len, &info, small, 4);
	is_int(st, VG_MEDIA_MALFORMED, "short why buffer: still MALFORMED");
	ok(small[3] == '\0' && small[4] == '#', "short why buffer: cut, nothing written past it");
	st = vg_media_inspect_fd(tmp_fd, b.len, &info, NULL, 0);
	is_int(st, VG_MEDIA_MALFORMED, "why NULL on failure is fine");

	expect_st(inspect_buf("", 0), VG_MEDIA_UNSUPPORTED, "empty file");
	expect_st(inspect_buf("GIF89a", 6), VG_MEDIA_UNSUPPORTED, "6-byte GIF");
	expect_st(vg_media_inspect_fd(-1, 100, &info, why, sizeof(why)), VG_MEDIA_IO_ERROR,
		  "bad fd");
	expect_st(vg_media_inspect_fd(tmp_fd, UINT64_MAX, &info, why, sizeof(why)),
		  VG_MEDIA_IO_ERROR, "size 2^64-1");
	is_str(vg_media_status_str(VG_MEDIA_MALFORMED), "malformed", "status_str");
	free(b.p);
}

/* xorshift64*: the same flips on every run */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Flips bytes in the first KiB (where the headers are) and anywhere. */
static void test_mutations(void)
{
	static const char *names[] = {"clip-2s.mp4", "clip-2s-moov-at-end.mp4", "clip-2s.mov",
				      "clip-2s.webm", "clip-20s.webm"};
	size_t bad = 0, runs = 0, oks = 0;

	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t len;
		unsigned char *orig = load(names[f], &len), *data = malloc(len);

		if (!data)
			abort();
		for (int i = 0; i < 600; i++) {
			enum vg_media_status st;
			int flips = 1 + (int)(rng() % 4);

			memcpy(data, orig, len);
			for (int k = 0; k < flips; k++) {
				size_t at = (rng() & 1) ? rng() % (len < 1024 ? len : 1024)
							: rng() % len;

				data[at] ^= (unsigned char)(1u << (rng() % 8));
			}
			st = inspect_buf(data, len);
			runs++;
			if (st == VG_MEDIA_OK) {
				oks++;
				if (!info.container[0] || info.duration_ms < -1)
					bad++;
			} else if (st != VG_MEDIA_UNSUPPORTED && st != VG_MEDIA_MALFORMED) {
				if (bad++ < 3)
					printf("#   %s flip %d: %s (%s)\n", names[f], i,
					       vg_media_status_str(st), why);
			} else if (info.container[0] || info.duration_ms != -1 || !why[0]) {
				bad++;
			}
		}
		free(orig);
		free(data);
	}
	is_int(bad, 0, "%zu bit-flipped fixtures: sane answers (%zu still OK)", runs, oks);
}

int main(void)
{
	open_tmp();
	test_fixtures();
	test_fixture_cuts();
	test_mp4_sizes();
	test_mp4_brands();
	test_mp4_moov();
	test_mp4_budget();
	test_mp4_sparse();
	test_webm_basic();
	test_webm_info();
	test_webm_sizes();
	test_webm_sparse();
	test_webm_live_cuts();
	test_misc();
	test_mutations();
	close(tmp_fd);
	return tap_done();
}
