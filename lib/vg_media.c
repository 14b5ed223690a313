/*
 * vg_media.c - container sniffing and header duration (see vg_media.h).
 *
 * Both formats are trees of length-prefixed records: ISO BMFF boxes (32-bit
 * size, or 64-bit "largesize", then a four-character type) and EBML elements
 * (variable-length ID and size). The file is walked one record header at a
 * time: read the header at pos with pread, check that the record lies inside
 * its parent, descend only into the few records that hold the duration
 * (moov/mvhd/mvex/mehd, EBML header, Segment/Info), and jump over the rest.
 *
 * The file is the client's, so every number in it is hostile: sizes are
 * compared against what is left of the parent (never added first, so they
 * cannot wrap), every record is at least its header long so the walk always
 * advances, one budget caps the records looked at, and the depth is fixed by
 * the code (no recursion). Reads never leave [0, size).
 */
#include "vg_media.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Longest duration believed, in ms (2^53: exact in a double, ~285000 years). */
#define MAX_MS 9007199254740992ULL

/* Brands read from an ftyp: the major brand, the minor version and this many. */
#define FTYP_BRANDS 32

/* Longest EBML DocType compared; longer ones are not ours anyway. */
#define DOCTYPE_MAX 16

#define ID_EBML		 0x1A45DFA3u
#define ID_DOCTYPE	 0x4282u
#define ID_SEGMENT	 0x18538067u
#define ID_SEEKHEAD	 0x114D9B74u
#define ID_INFO		 0x1549A966u
#define ID_TRACKS	 0x1654AE6Bu
#define ID_CLUSTER	 0x1F43B675u
#define ID_CUES		 0x1C53BB6Bu
#define ID_TAGS		 0x1254C367u
#define ID_VOID		 0xECu
#define ID_TIMECODESCALE 0x2AD7B1u
#define ID_DURATION	 0x4489u

/* Major or compatible brands of video files, four characters each. */
static const char video_brands[] =
	"isomiso2iso3iso4iso5iso6iso7iso8iso9mp41mp42avc1dashcmfccmf2"
	"M4V M4VHM4VP3gp43gp53gp63gp73gp83gp93g2a3g2b3g2cmmp4MSNVXAVCf4v ";

/* Major brands of ISO BMFF files that are not videos: audio, stills, raw. */
static const char refused_brands[] =
	"M4A M4B M4P F4A F4B heicheixheimheishevchevxmif1msf1avifaviscrx ";

struct probe {
	int fd;
	uint64_t size; /* the file is [0, size) */
	unsigned left; /* boxes or elements we may still look at */
	char *why;
	size_t whysz;
};

/* A box: header at start, payload from data, next box at end. */
struct box {
	char type[4];
	uint64_t start, data, end;
};

/* An EBML element; unknown is set when its size was "unknown" (all ones)
 * and end is then the end of its parent. */
struct elem {
	uint32_t id;
	uint64_t start, data, end;
	int unknown;
};

/* What moov says about the duration. */
struct movie {
	int have_mvhd, have_mvex, have_mehd;
	uint32_t timescale;
	uint64_t duration;	    /* mvhd, in timescale units */
	int unknown;		    /* mvhd duration was all ones */
	uint64_t fragment_duration; /* mehd, in timescale units */
	int mehd_unknown;
};

__attribute__((format(printf, 3, 4))) static enum vg_media_status
fail(struct probe *p, enum vg_media_status st, const char *fmt, ...)
{
	va_list ap;

	if (p->why && p->whysz) {
		va_start(ap, fmt);
		vsnprintf(p->why, p->whysz, fmt, ap);
		va_end(ap);
	}
	return st;
}

static uint32_t be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t be64(const unsigned char *b)
{
	return (uint64_t)be32(b) << 32 | be32(b + 4);
}

/* Big-endian unsigned integer of n (0..8) bytes. */
static uint64_t be_uint(const unsigned char *b, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

/* Reads exactly len bytes at off, which must lie inside the file. */
static enum vg_media_status read_at(struct probe *p, uint64_t off, void *buf, size_t len)
{
	unsigned char *b = buf;
	size_t got = 0;

	if (off > p->size || len > p->size - off)
		return fail(p, VG_MEDIA_IO_ERROR, "read past end of file at offset %llu",
			    (unsigned long long)off);
	while (got < len) {
		ssize_t n = pread(p->fd, b + got, len - got, (off_t)(off + got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(p, VG_MEDIA_IO_ERROR, "read at offset %llu: %s",
				    (unsigned long long)(off + got), strerror(errno));
		}
		if (n == 0)
			return fail(p, VG_MEDIA_IO_ERROR, "file is shorter than %llu bytes",
				    (unsigned long long)p->size);
		got += (size_t)n;
	}
	return VG_MEDIA_OK;
}

/* Counts one more record against the budget. */
static enum vg_media_status take(struct probe *p, const char *what)
{
	if (p->left == 0)
		return fail(p, VG_MEDIA_MALFORMED, "more than %d %s", VG_MEDIA_MAX_ELEMENTS, what);
	p->left--;
	return VG_MEDIA_OK;
}

/* Copies n bytes of file text into out (n+1 bytes) for a message: anything
 * but printable ASCII becomes '?', trailing NULs are dropped. */
static void printable(const char *in, size_t n, char *out)
{
	while (n > 0 && in[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '\'') ? in[i] : '?';
	out[n] = '\0';
}

/* ---- ISO BMFF ---- */

/* Reads the header of the box at pos, which must lie in [pos, end). */
static enum vg_media_status box_at(struct probe *p, uint64_t pos, uint64_t end, const char *parent,
				   struct box *b)
{
	unsigned char h[16];
	uint64_t left = end - pos, sz;
	size_t n = left < sizeof(h) ? (size_t)left : sizeof(h), hl = 8;
	enum vg_media_status st;
	char t[5];

	st = take(p, "boxes");
	if (st != VG_MEDIA_OK)
		return st;
	if (left < 8)
		return fail(p, VG_MEDIA_MALFORMED, "truncated box header at offset %llu",
			    (unsigned long long)pos);
	st = read_at(p, pos, h, n);
	if (st != VG_MEDIA_OK)
		return st;
	memcpy(b->type, h + 4, 4);
	printable(b->type, 4, t);
	sz = be32(h);
	if (sz == 1) {
		if (n < 16)
			return fail(p, VG_MEDIA_MALFORMED, "truncated %s box header", t);
		sz = be64(h + 8);
		hl = 16;
	} else if (sz == 0) {
		sz = left; /* to the end of the parent: the last box */
	}
	if (sz < hl)
		return fail(p, VG_MEDIA_MALFORMED, "%s box size %llu is smaller than its header", t,
			    (unsigned long long)sz);
	if (sz > left)
		return fail(p, VG_MEDIA_MALFORMED, "%s box extends past end of %s", t, parent);
	b->start = pos;
	b->data = pos + hl;
	b->end = pos + sz;
	return VG_MEDIA_OK;
}

static int box_is(const struct box *b, const char *type)
{
	return memcmp(b->type, type, 4) == 0;
}

/* 1 if the four characters at brand are one of list's. */
static int brand_in(const unsigned char *brand, const char *list)
{
	for (; *list; list += 4)
		if (memcmp(brand, list, 4) == 0)
			return 1;
	return 0;
}

/* Decides mp4 or mov from the ftyp brands, or refuses the file. */
static enum vg_media_status ftyp_container(struct probe *p, const struct box *b, char *container)
{
	unsigned char buf[8 + 4 * FTYP_BRANDS];
	uint64_t len = b->end - b->data;
	size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
	enum vg_media_status st;
	int iso = 0, qt = 0;
	char t[5];

	if (len < 8)
		return fail(p, VG_MEDIA_MALFORMED, "ftyp box too small");
	st = read_at(p, b->data, buf, n);
	if (st != VG_MEDIA_OK)
		return st;
	printable((const char *)buf, 4, t);
	if (brand_in(buf, refused_brands))
		return fail(p, VG_MEDIA_UNSUPPORTED, "ftyp brand '%s' is not a video", t);
	if (memcmp(buf, "qt  ", 4) == 0) {
		strcpy(container, "mov");
		return VG_MEDIA_OK;
	}
	if (brand_in(buf, video_brands)) {
		strcpy(container, "mp4");
		return VG_MEDIA_OK;
	}
	/* an unknown major brand (a camera's own) is fine if it claims compatibility */
	for (size_t i = 8; i + 4 <= n; i += 4) {
		iso |= brand_in(buf + i, video_brands);
		qt |= memcmp(buf + i, "qt  ", 4) == 0;
	}
	if (!iso && !qt)
		return fail(p, VG_MEDIA_UNSUPPORTED, "unknown ftyp brand '%s'", t);
	strcpy(container, iso ? "mp4" : "mov");
	return VG_MEDIA_OK;
}

/* Reads the first v0 or v1 bytes of a full box (version, flags, fields), by its version. */
static enum vg_media_status full_box(struct probe *p, const struct box *b, unsigned char *buf,
				     size_t v0, size_t v1, const char *name)
{
	uint64_t len = b->end - b->data;
	enum vg_media_status st;
	size_t want;

	if (len < 1)
		return fail(p, VG_MEDIA_MALFORMED, "empty %s box", name);
	st = read_at(p, b->data, buf, 1);
	if (st != VG_MEDIA_OK)
		return st;
	if (buf[0] > 1)
		return fail(p, VG_MEDIA_MALFORMED, "%s version %u is unknown", name, buf[0]);
	want = buf[0] == 0 ? v0 : v1;
	if (len < want)
		return fail(p, VG_MEDIA_MALFORMED, "%s box too small", name);
	return read_at(p, b->data, buf, want);
}

static enum vg_media_status mvhd_parse(struct probe *p, const struct box *b, struct movie *m)
{
	unsigned char buf[32];
	enum vg_media_status st;

	if (m->have_mvhd)
		return fail(p, VG_MEDIA_MALFORMED, "more than one mvhd box");
	m->have_mvhd = 1;
	/* version, flags, creation and modification time, timescale, duration */
	st = full_box(p, b, buf, 4 + 4 + 4 + 4 + 4, 4 + 8 + 8 + 4 + 8, "mvhd");
	if (st != VG_MEDIA_OK)
		return st;
	if (buf[0] == 0) {
		m->timescale = be32(buf + 12);
		m->duration = be32(buf + 16);
		m->unknown = m->duration == UINT32_MAX;
	} else {
		m->timescale = be32(buf + 20);
		m->duration = be64(buf + 24);
		m->unknown = m->duration == UINT64_MAX;
	}
	if (m->timescale == 0)
		return fail(p, VG_MEDIA_MALFORMED, "mvhd timescale is 0");
	return VG_MEDIA_OK;
}

/* mvex marks a fragmented file; its mehd, if any, has the whole duration. */
static enum vg_media_status mvex_parse(struct probe *p, const struct box *mvex, struct movie *m)
{
	enum vg_media_status st;
	unsigned char buf[12];
	struct box b;

	if (m->have_mvex)
		return fail(p, VG_MEDIA_MALFORMED, "more than one mvex box");
	m->have_mvex = 1;
	for (uint64_t pos = mvex->data; pos < mvex->end; pos = b.end) {
		st = box_at(p, pos, mvex->end, "mvex", &b);
		if (st != VG_MEDIA_OK)
			return st;
		if (!box_is(&b, "mehd"))
			continue;
		if (m->have_mehd)
			return fail(p, VG_MEDIA_MALFORMED, "more than one mehd box");
		m->have_mehd = 1;
		st = full_box(p, &b, buf, 4 + 4, 4 + 8, "mehd");
		if (st != VG_MEDIA_OK)
			return st;
		if (buf[0] == 0) {
			m->fragment_duration = be32(buf + 4);
			m->mehd_unknown = m->fragment_duration == UINT32_MAX;
		} else {
			m->fragment_duration = be64(buf + 4);
			m->mehd_unknown = m->fragment_duration == UINT64_MAX;
		}
	}
	return VG_MEDIA_OK;
}

static enum vg_media_status moov_parse(struct probe *p, const struct box *moov, struct movie *m)
{
	enum vg_media_status st;
	struct box b;

	for (uint64_t pos = moov->data; pos < moov->end; pos = b.end) {
		st = box_at(p, pos, moov->end, "moov", &b);
		if (st != VG_MEDIA_OK)
			return st;
		if (box_is(&b, "mvhd"))
			st = mvhd_parse(p, &b, m);
		else if (box_is(&b, "mvex"))
			st = mvex_parse(p, &b, m);
		if (st != VG_MEDIA_OK)
			return st;
	}
	if (!m->have_mvhd)
		return fail(p, VG_MEDIA_MALFORMED, "moov box has no mvhd");
	return VG_MEDIA_OK;
}

/* dur/timescale seconds in ms, rounded to nearest, without overflowing. */
static enum vg_media_status scale_ms(struct probe *p, uint64_t dur, uint32_t timescale,
				     long long *ms)
{
	uint64_t q = dur / timescale, r = dur % timescale;

	if (q > MAX_MS / 1000)
		return fail(p, VG_MEDIA_MALFORMED, "duration out of range");
	*ms = (long long)(q * 1000 + (r * 1000 + timescale / 2) / timescale);
	return VG_MEDIA_OK;
}

static enum vg_media_status mp4_inspect(struct probe *p, struct vg_media_info *info)
{
	struct movie m = {0};
	int moov = 0, mdat = 0;
	enum vg_media_status st;
	struct box b;

	st = box_at(p, 0, p->size, "file", &b); /* the ftyp we sniffed */
	if (st != VG_MEDIA_OK)
		return st;
	st = ftyp_container(p, &b, info->container);
	if (st != VG_MEDIA_OK)
		return st;
	for (uint64_t pos = b.end; pos < p->size; pos = b.end) {
		st = box_at(p, pos, p->size, "file", &b);
		if (st != VG_MEDIA_OK)
			return st;
		if (box_is(&b, "moov")) {
			if (moov++)
				return fail(p, VG_MEDIA_MALFORMED, "more than one moov box");
			st = moov_parse(p, &b, &m);
			if (st != VG_MEDIA_OK)
				return st;
		} else if (box_is(&b, "mdat")) {
			mdat++;
		}
	}
	if (!moov)
		return fail(p, VG_MEDIA_MALFORMED, "no moov box");
	if (!mdat)
		return fail(p, VG_MEDIA_MALFORMED, "no mdat box");

	/* a fragmented file may leave mvhd at 0 and put the total in mehd */
	if (m.have_mvex && (m.duration == 0 || m.unknown)) {
		if (!m.have_mehd || m.mehd_unknown) {
			info->duration_ms = -1;
			return VG_MEDIA_OK;
		}
		return scale_ms(p, m.fragment_duration, m.timescale, &info->duration_ms);
	}
	if (m.unknown) {
		info->duration_ms = -1;
		return VG_MEDIA_OK;
	}
	return scale_ms(p, m.duration, m.timescale, &info->duration_ms);
}

/* ---- EBML ---- */

/* Length of the vint whose first byte is b (1..8), 0 if longer than 8. */
static size_t vint_len(unsigned char b)
{
	size_t n = 1;

	if (b == 0)
		return 0;
	for (unsigned mask = 0x80; !(b & mask); mask >>= 1)
		n++;
	return n;
}

/* A name for messages: the well-known ones, else the hex ID. */
static const char *ebml_name(uint32_t id, char *buf, size_t bufsz)
{
	switch (id) {
	case ID_EBML:
		return "EBML header";
	case ID_SEGMENT:
		return "Segment";
	case ID_SEEKHEAD:
		return "SeekHead";
	case ID_INFO:
		return "Info";
	case ID_TRACKS:
		return "Tracks";
	case ID_CLUSTER:
		return "Cluster";
	case ID_CUES:
		return "Cues";
	case ID_TAGS:
		return "Tags";
	case ID_VOID:
		return "Void";
	case ID_TIMECODESCALE:
		return "TimecodeScale";
	case ID_DURATION:
		return "Duration";
	case ID_DOCTYPE:
		return "DocType";
	}
	snprintf(buf, bufsz, "element 0x%X", (unsigned)id);
	return buf;
}

/* Reads the header of the element at pos, which must lie in [pos, end). */
static enum vg_media_status elem_at(struct probe *p, uint64_t pos, uint64_t end, const char *parent,
				    struct elem *e)
{
	unsigned char h[12]; /* 4-byte ID, 8-byte size */
	uint64_t left = end - pos, sz;
	size_t n = left < sizeof(h) ? (size_t)left : sizeof(h), il, sl;
	enum vg_media_status st;
	char name[24];

	st = take(p, "elements");
	if (st != VG_MEDIA_OK)
		return st;
	st = read_at(p, pos, h, n);
	if (st != VG_MEDIA_OK)
		return st;
	il = vint_len(h[0]);
	if (il == 0 || il > 4)
		return fail(p, VG_MEDIA_MALFORMED, "invalid EBML ID at offset %llu",
			    (unsigned long long)pos);
	if (il >= n)
		return fail(p, VG_MEDIA_MALFORMED, "truncated element header at offset %llu",
			    (unsigned long long)pos);
	e->id = (uint32_t)be_uint(h, il);
	sl = vint_len(h[il]);
	if (sl == 0)
		return fail(p, VG_MEDIA_MALFORMED, "invalid EBML size at offset %llu",
			    (unsigned long long)pos);
	if (il + sl > n)
		return fail(p, VG_MEDIA_MALFORMED, "truncated element header at offset %llu",
			    (unsigned long long)pos);
	sz = be_uint(h + il, sl) & (~0ULL >> (64 - 7 * sl)); /* drop the length marker */
	e->start = pos;
	e->data = pos + il + sl;
	e->unknown = sz == ~0ULL >> (64 - 7 * sl);
	if (e->unknown) {
		e->end = end;
		return VG_MEDIA_OK;
	}
	if (sz > end - e->data)
		return fail(p, VG_MEDIA_MALFORMED, "%s extends past end of %s",
			    ebml_name(e->id, name, sizeof(name)), parent);
	e->end = e->data + sz;
	return VG_MEDIA_OK;
}

static enum vg_media_status unknown_size(struct probe *p, const struct elem *e)
{
	char name[24];

	return fail(p, VG_MEDIA_MALFORMED, "%s of unknown size",
		    ebml_name(e->id, name, sizeof(name)));
}

/* Checks the DocType in the EBML header and names the container. */
static enum vg_media_status ebml_header(struct probe *p, const struct elem *hdr, char *container)
{
	char doctype[DOCTYPE_MAX + 1] = "", shown[DOCTYPE_MAX + 1];
	int have_doctype = 0, too_long = 0;
	enum vg_media_status st;
	struct elem e;

	for (uint64_t pos = hdr->data; pos < hdr->end; pos = e.end) {
		st = elem_at(p, pos, hdr->end, "EBML header", &e);
		if (st != VG_MEDIA_OK)
			return st;
		if (e.unknown)
			return unknown_size(p, &e);
		if (e.id != ID_DOCTYPE)
			continue;
		if (have_doctype)
			return fail(p, VG_MEDIA_MALFORMED, "more than one DocType");
		have_doctype = 1;
		if (e.end - e.data > DOCTYPE_MAX) {
			too_long = 1;
			continue;
		}
		st = read_at(p, e.data, doctype, (size_t)(e.end - e.data));
		if (st != VG_MEDIA_OK)
			return st;
		doctype[e.end - e.data] = '\0';
	}
	if (!have_doctype)
		return fail(p, VG_MEDIA_MALFORMED, "EBML header has no DocType");
	if (too_long)
		return fail(p, VG_MEDIA_UNSUPPORTED, "unsupported EBML DocType (too long)");
	if (strcmp(doctype, "webm") == 0) {
		strcpy(container, "webm");
		return VG_MEDIA_OK;
	}
	if (strcmp(doctype, "matroska") == 0) {
		strcpy(container, "mkv");
		return VG_MEDIA_OK;
	}
	printable(doctype, strlen(doctype), shown);
	return fail(p, VG_MEDIA_UNSUPPORTED, "unsupported EBML DocType '%s'", shown);
}

/* Reads TimecodeScale and Duration from Info; duration_ms -1 without Duration. */
static enum vg_media_status info_parse(struct probe *p, const struct elem *info,
				       long long *duration_ms)
{
	int have_scale = 0, have_duration = 0;
	uint64_t scale = 1000000, len; /* ns per tick, the default */
	enum vg_media_status st;
	unsigned char buf[8];
	double duration = 0, ms;
	struct elem e;

	for (uint64_t pos = info->data; pos < info->end; pos = e.end) {
		st = elem_at(p, pos, info->end, "Info", &e);
		if (st != VG_MEDIA_OK)
			return st;
		if (e.unknown)
			return unknown_size(p, &e);
		len = e.end - e.data;
		if (e.id == ID_TIMECODESCALE) {
			if (have_scale)
				return fail(p, VG_MEDIA_MALFORMED, "more than one TimecodeScale");
			have_scale = 1;
			if (len > 8)
				return fail(p, VG_MEDIA_MALFORMED, "TimecodeScale of %llu bytes",
					    (unsigned long long)len);
			if (len == 0)
				continue; /* an empty element has its default value */
			st = read_at(p, e.data, buf, (size_t)len);
			if (st != VG_MEDIA_OK)
				return st;
			scale = be_uint(buf, (size_t)len);
			if (scale == 0)
				return fail(p, VG_MEDIA_MALFORMED, "TimecodeScale is 0");
		} else if (e.id == ID_DURATION) {
			if (have_duration)
				return fail(p, VG_MEDIA_MALFORMED, "more than one Duration");
			have_duration = 1;
			if (len != 4 && len != 8)
				return fail(p, VG_MEDIA_MALFORMED, "Duration of %llu bytes",
					    (unsigned long long)len);
			st = read_at(p, e.data, buf, (size_t)len);
			if (st != VG_MEDIA_OK)
				return st;
			if (len == 4) {
				uint32_t u = be32(buf);
				float f;

				memcpy(&f, &u, sizeof(f));
				duration = f;
			} else {
				uint64_t u = be64(buf);

				memcpy(&duration, &u, sizeof(duration));
			}
		}
	}
	if (!have_duration) {
		*duration_ms = -1;
		return VG_MEDIA_OK;
	}
	ms = duration * (double)scale / 1e6;
	if (!(ms >= 0 && ms <= (double)MAX_MS)) /* also NaN and infinities */
		return fail(p, VG_MEDIA_MALFORMED, "Duration out of range");
	*duration_ms = (long long)(ms + 0.5);
	return VG_MEDIA_OK;
}

static enum vg_media_status ebml_inspect(struct probe *p, struct vg_media_info *info)
{
	int have_info = 0, clusters = 0;
	enum vg_media_status st;
	struct elem e, seg;
	uint64_t pos;

	st = elem_at(p, 0, p->size, "file", &e); /* the EBML header we sniffed */
	if (st != VG_MEDIA_OK)
		return st;
	if (e.unknown)
		return unknown_size(p, &e);
	st = ebml_header(p, &e, info->container);
	if (st != VG_MEDIA_OK)
		return st;

	/* the first Segment; Void and the like may come before it */
	for (pos = e.end;; pos = e.end) {
		if (pos >= p->size)
			return fail(p, VG_MEDIA_MALFORMED, "no Segment");
		st = elem_at(p, pos, p->size, "file", &e);
		if (st != VG_MEDIA_OK)
			return st;
		if (e.id == ID_SEGMENT)
			break;
		if (e.unknown)
			return unknown_size(p, &e);
	}
	seg = e;

	info->duration_ms = -1;
	for (pos = seg.data; pos < seg.end; pos = e.end) {
		st = elem_at(p, pos, seg.end, "Segment", &e);
		if (st != VG_MEDIA_OK)
			return st;
		if (e.id == ID_CLUSTER)
			clusters++;
		if (e.unknown) {
			if (e.id != ID_CLUSTER)
				return unknown_size(p, &e);
			break; /* a live recording: the rest is media */
		}
		if (e.id == ID_INFO) {
			if (have_info++)
				return fail(p, VG_MEDIA_MALFORMED, "more than one Info");
			st = info_parse(p, &e, &info->duration_ms);
			if (st != VG_MEDIA_OK)
				return st;
		}
	}
	if (!clusters)
		return fail(p, VG_MEDIA_MALFORMED, "no Cluster");
	return VG_MEDIA_OK;
}

enum vg_media_status vg_media_inspect_fd(int fd, uint64_t size, struct vg_media_info *out,
					 char *why, size_t whysz)
{
	struct probe p = {fd, size, VG_MEDIA_MAX_ELEMENTS, why, whysz};
	struct vg_media_info info = {"", -1};
	enum vg_media_status st;
	unsigned char h[8];
	size_t n = size < sizeof(h) ? (size_t)size : sizeof(h);

	out->container[0] = '\0';
	out->duration_ms = -1;
	if (why && whysz)
		why[0] = '\0';
	if (size > (uint64_t)INT64_MAX)
		return fail(&p, VG_MEDIA_IO_ERROR, "file size out of range");
	if (size == 0)
		return fail(&p, VG_MEDIA_UNSUPPORTED, "empty file");
	st = read_at(&p, 0, h, n);
	if (st != VG_MEDIA_OK)
		return st;
	if (n >= 4 && be32(h) == ID_EBML)
		st = ebml_inspect(&p, &info);
	else if (n >= 8 && memcmp(h + 4, "ftyp", 4) == 0)
		st = mp4_inspect(&p, &info);
	else
		return fail(&p, VG_MEDIA_UNSUPPORTED, "not an MP4, MOV, WebM or Matroska file");
	if (st == VG_MEDIA_OK)
		*out = info;
	return st;
}

const char *vg_media_status_str(enum vg_media_status st)
{
	switch (st) {
	case VG_MEDIA_OK:
		return "ok";
	case VG_MEDIA_UNSUPPORTED:
		return "unsupported";
	case VG_MEDIA_MALFORMED:
		return "malformed";
	case VG_MEDIA_IO_ERROR:
		return "io_error";
	}
	return "unknown";
}
