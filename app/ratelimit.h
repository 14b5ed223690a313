/*
 * ratelimit.h - rate limits, counted fleet-wide in memcached.
 */
#ifndef VG_APP_RATELIMIT_H
#define VG_APP_RATELIMIT_H

struct request;

/* Per client address: limits.requests_per_second_per_ip. 0 to go on; -1 if
 * it answered 429 with Retry-After. */
int ratelimit_check_address(struct request *r);

/* Per API key, before an upload's body is read: limits.uploads_per_minute
 * and limits.bytes_per_hour (counted from Content-Length). 0 or -1 (429). */
int ratelimit_check_upload(struct request *r);

/* Per API key: limits.bytes_per_hour only (each tus PATCH). 0 or -1 (429). */
int ratelimit_check_bytes(struct request *r);

#endif
