/*
 * vg_video_cache.h - the status cache: GET /v1/videos/{id} answers from
 * memcached for a few seconds, and every status change invalidates it.
 *
 * Invalidation writes a short-lived tombstone instead of deleting: a reader
 * that fetched the old row from the database just before the change can
 * then no longer `add` its stale copy after the change (add fails while the
 * tombstone lives), so no client ever sees a status go backwards. Readers
 * only ever add; writers only ever set tombstones.
 */
#ifndef VG_VIDEO_CACHE_H
#define VG_VIDEO_CACHE_H

#include <stddef.h>

struct vg_cache;

#define VG_VIDEO_CACHE_TTL 5 /* seconds a cached video (and a tombstone) lives */

/* The cached JSON of video id for user_id into buf: 1 hit, 0 miss (absent,
 * tombstoned, another user's, or the cache is down). */
int vg_video_cache_get(struct vg_cache *c, const char *id, long long user_id, char *buf,
		       size_t bufsz);

/* Caches json (read from the database) unless a tombstone or a copy is there. */
void vg_video_cache_add(struct vg_cache *c, const char *id, long long user_id, const char *json);

/* After a committed status change: the cached copy is gone for the TTL. */
void vg_video_cache_invalidate(struct vg_cache *c, const char *id);

#endif
