/*
 * vg_media.h - what container a staged upload is, and how long it claims to be.
 *
 * Before an upload is committed the server looks at the stored bytes once:
 * is this an MP4/MOV (ISO BMFF) or a WebM/Matroska (EBML) file whose
 * top-level structure is complete, and what duration does its header state?
 * The answer decides 415 (unsupported or broken) and 422 (too long) and is
 * kept as the video's `container` and `duration_ms`.
 *
 * Checked:
 *   MP4/MOV   the file starts with an `ftyp` whose brands name a video
 *             format (major brand "qt  " is "mov"; M4A/M4B/M4P audio and
 *             HEIF/AVIF images are refused); every top-level box has a size
 *             of at least its header and lies inside the file, so a cut
 *             upload is refused; exactly one `moov`, before or after the
 *             media, holding exactly one `mvhd` (version 0 or 1, timescale
 *             not 0); at least one `mdat`.
 *   WebM/MKV  an EBML header whose DocType is "webm" or "matroska"; the
 *             first Segment lies inside the file (or has the unknown size
 *             and runs to the end); every Segment child lies inside it; at
 *             most one Info, whose TimecodeScale and Duration give the
 *             duration; at least one Cluster. A Cluster of unknown size
 *             (live recordings) ends the walk: the rest is media.
 * Not checked: codecs, tracks, sample tables, cluster contents, anything
 * after the first Segment. Decoding is the processing service's job, and the
 * duration is what the header claims: a hostile file can lie about it, so
 * the processing service must enforce limits on what it actually decodes.
 *
 * Only headers are read, with pread(2), a few bytes per box or element; the
 * file is never read whole and nothing is allocated. Every step advances,
 * and the walk gives up after VG_MEDIA_MAX_ELEMENTS boxes or elements in all.
 */
#ifndef VG_MEDIA_H
#define VG_MEDIA_H

#include <stddef.h>
#include <stdint.h>

/* Boxes (MP4) or elements (EBML) looked at before a file is refused. */
#define VG_MEDIA_MAX_ELEMENTS 10000

enum vg_media_status {
	VG_MEDIA_OK = 0,
	VG_MEDIA_UNSUPPORTED, /* not a container we take (GIF, audio, random bytes) */
	VG_MEDIA_MALFORMED,   /* looks like one but its structure is broken or cut */
	VG_MEDIA_IO_ERROR,    /* pread failed, or the file is shorter than size */
};

struct vg_media_info {
	char container[8];     /* "mp4", "mov", "webm" or "mkv"; "" unless OK */
	long long duration_ms; /* rounded to the nearest ms; -1 if not stated */
};

/*
 * Inspects the first size bytes of fd (a regular file; the offset is not
 * used or moved). Returns VG_MEDIA_OK and fills *out, or another status with
 * out->container "" and out->duration_ms -1, and a short reason in why
 * (e.g. "mdat box extends past end of file"; why may be NULL or whysz 0).
 * duration_ms is -1 when the file does not state it: WebM without Duration,
 * fragmented MP4 with neither an mvhd nor an mehd duration.
 */
enum vg_media_status vg_media_inspect_fd(int fd, uint64_t size, struct vg_media_info *out,
					 char *why, size_t whysz);

/* "ok", "unsupported", "malformed", "io_error": for logs. */
const char *vg_media_status_str(enum vg_media_status st);

#endif
