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

/*
 * The arithmetic of one fixed window, apart from the counting so it can be
 * tested without memcached or a clock (tests/unit/test_ratelimit.c).
 */
struct ratelimit_window {
	long long index; /* now / window_s: names the window's counter */
	long long end;	 /* unix time the window ends (the counter's expiry) */
	long long delta; /* what to add: the amount, clamped to limit + 1 */
	int retry_after; /* seconds from now to the window's end, at least 1 */
};

/* Fills w for adding delta at unix time now to a window of window_s
 * seconds (>= 1) whose budget is limit. */
void ratelimit_window(long long now, long long window_s, long long delta, long long limit,
		      struct ratelimit_window *w);

/* Per client address: limits.requests_per_second_per_ip. 0 to go on; -1 if
 * it answered 429 with Retry-After. */
int ratelimit_check_address(struct request *r);

/* Per API key: one more upload of limits.uploads_per_minute. 0 or -1 (429). */
int ratelimit_check_uploads(struct request *r);

/* Per API key: bytes more of limits.bytes_per_hour. 0 or -1 (429). */
int ratelimit_check_bytes(struct request *r, long long bytes);

#endif
