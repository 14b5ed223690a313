/*
 * vg_video_cache.h - the status cache: GET /v1/videos/{id} answers from
 * memcached for a few seconds, and every status change invalidates it.
 *
 * Invalidation writes a short-lived tombstone instead of deleting: a reader
 * that fetched the old row from the database just before the change can
 * then no longer `add` its stale copy after the change (add fails while the
 * tombstone lives), so no client ever sees a status go backwards. Readers
 * only ever add; writers only ever set tombstones.
 *
 * A cached copy and a tombstone both live cache.status_ttl_seconds (c's
 * status_ttl, from vg_cache_open): how stale a change made behind
 * vingest's back (in SQL) may be seen, and how long after a status change
 * GETs go to the database.
 */
#ifndef VG_VIDEO_CACHE_H
#define VG_VIDEO_CACHE_H

#include <stddef.h>

struct vg_cache;

/* The cached JSON of video id for user_id into buf: 1 hit, 0 miss (absent,
 * tombstoned, another user's, or the cache is down). */
int vg_video_cache_get(struct vg_cache *c, const char *id, long long user_id, char *buf,
		       size_t bufsz);

/* Caches json (read from the database) unless a tombstone or a copy is there. */
void vg_video_cache_add(struct vg_cache *c, const char *id, long long user_id, const char *json);

/* After a committed status change: the cached copy is gone for the TTL. */
void vg_video_cache_invalidate(struct vg_cache *c, const char *id);

#endif
