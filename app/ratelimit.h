/*
 * ratelimit.h - rate limits, counted fleet-wide in memcached, or on this
 * host when memcached does not answer (localcount.h).
 *
 * Each check spends from its budget and answers 429 with Retry-After (the
 * end of the window) when the budget is gone. gate.c decides which apply
 * to a request and when.
 */
#ifndef VG_APP_RATELIMIT_H
#define VG_APP_RATELIMIT_H

struct request;

/* Per client address: limits.requests_per_second_per_ip. 0 to go on; -1 if
 * it answered 429 with Retry-After. */
int ratelimit_check_address(struct request *r);

/* Per API key: one more upload of limits.uploads_per_minute. 0 or -1 (429). */
int ratelimit_check_uploads(struct request *r);

/* Per API key: bytes more of limits.bytes_per_hour. 0 or -1 (429). */
int ratelimit_check_bytes(struct request *r, long long bytes);

#endif
