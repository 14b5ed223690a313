/*
 * vg_cache.h - memcached (libmemcached) for counters and short-lived values.
 *
 * The cache is never the only copy of anything: rate-limit counters, the
 * processing service's breaker state and cached video status can all be
 * lost without losing an upload. So every call here fails fast (timeouts in
 * the low hundreds of milliseconds) and reports failure instead of blocking,
 * and each caller decides whether to fail open or closed.
 *
 * Servers come from cache.servers ("host:port,host:port"), spread with
 * ketama consistent hashing so losing one server moves only its keys.
 */
#ifndef VG_CACHE_H
#define VG_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct vg_config;

struct vg_cache {
	void *mc;	     /* memcached_st, or NULL if no servers are configured */
	unsigned status_ttl; /* cache.status_ttl_seconds, for vg_video_cache.h */
};

/* Configures the client for the [cache] section of cfg: cache.servers (no
 * connection is made yet) and the status cache's TTL. Returns 0, or -1 if
 * the server list does not parse (logged). An empty list is allowed: every
 * call then fails, as if the cache were down. */
int vg_cache_open(struct vg_cache *c, const struct vg_config *cfg);
void vg_cache_close(struct vg_cache *c);

/* Atomically adds delta to key, creating it at delta with ttl seconds to
 * live. Returns the new value, or -1 if the cache is unreachable. */
long long vg_cache_incr(struct vg_cache *c, const char *key, uint64_t delta, unsigned ttl);

/* Copies key's value into buf (NUL-terminated). 1 found, 0 absent, -1 error. */
int vg_cache_get(struct vg_cache *c, const char *key, char *buf, size_t bufsz);
/* Stores val for ttl seconds. 0 or -1. */
int vg_cache_set(struct vg_cache *c, const char *key, const char *val, size_t len, unsigned ttl);
/* Stores val only if key is absent: 1 stored, 0 it existed, -1 error.
 * The one-winner primitive (a single breaker probe across the fleet). */
int vg_cache_add(struct vg_cache *c, const char *key, const char *val, size_t len, unsigned ttl);
/* Deletes key; absent is success. 0 or -1. */
int vg_cache_delete(struct vg_cache *c, const char *key);

#endif
