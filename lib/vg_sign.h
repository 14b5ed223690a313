/*
 * vg_sign.h - signed, expiring URLs for stored objects.
 *
 * The processing service fetches each video through a URL vingest-fcgi
 * serves: {http.public_url}/v1/objects/{key}?expires={unix time}&sig={hex}.
 * sig is HMAC-SHA256 under store.url_secret over "{key}\n{expires}", so the
 * URL grants exactly one object until exactly that time, and nothing else;
 * no session, no database lookup to check it.
 */
#ifndef VG_SIGN_H
#define VG_SIGN_H

#include <time.h>

struct vg_config;

/* A new signed URL for key valid for store.url_ttl_seconds, or NULL if
 * store.url_secret is empty. The caller frees it. */
char *vg_sign_object_url(const struct vg_config *cfg, const char *key);

enum vg_sign_check { VG_SIGN_OK, VG_SIGN_BAD, VG_SIGN_EXPIRED };

/* Checks an expires/sig pair for key at time now (constant-time compare). */
enum vg_sign_check vg_sign_verify(const struct vg_config *cfg, const char *key, const char *expires,
				  const char *sig, time_t now);

#endif
