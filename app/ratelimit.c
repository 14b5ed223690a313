/*
 * ratelimit.c - fixed-window rate limits (see ratelimit.h).
 *
 * Each limit is one counter per window (the current second, minute or
 * hour), incremented atomically and expiring with its window, so every
 * FastCGI child on every web host counts against the same number. Fixed
 * windows allow a burst of twice the limit across a window edge; that is
 * accepted for one round trip per check.
 *
 * memcached down: the host counts for itself (localcount.h) rather than
 * letting every request through. Uploads go on, and no limit is dropped -
 * a byte budget that failed open would invite exactly the abuse it is for.
 * Counting per host is weaker (a client spread over N web hosts gets N
 * times the limit), and the child says so in a warning at most once a
 * minute, so operators see the degraded mode.
 */
#include "ratelimit.h"
#include "child.h"
#include "localcount.h"
#include "request.h"
#include "vg_cache.h"
#include "vg_config.h"
#include "vg_log.h"
#include "vg_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t last_warning_ms;

static void cache_down(void)
{
	int64_t now = vg_mono_ms();

	if (now - last_warning_ms >= 60000 || last_warning_ms == 0) {
		last_warning_ms = now;
		vg_warn("msg=\"memcached unreachable: rate limits are counted on this host only "
			"until it answers\"");
	}
}

void ratelimit_window(long long now, long long window_s, long long delta, long long limit,
		      struct ratelimit_window *w)
{
	w->index = now / window_s;
	w->end = (w->index + 1) * window_s;
	/* Past the limit the answer is 429 whatever the sum: adding more than
	 * limit + 1 at once only risks overflowing the counter (a declared
	 * Content-Length can be near 2^63). */
	w->delta = delta > limit + 1 ? limit + 1 : delta;
	w->retry_after = (int)(w->end - now);
	if (w->retry_after < 1)
		w->retry_after = 1;
}

/* Adds delta to the window's counter. 1 over the limit, 0 within. */
static int count(struct request *r, const char *what, const char *who, long long window_s,
		 long long delta, long long limit, int *retry_after)
{
	struct ratelimit_window w;
	char key[200];
	long long n;

	ratelimit_window((long long)time(NULL), window_s, delta, limit, &w);
	snprintf(key, sizeof(key), "vingest:rl:%s:%s:%lld", what, who, w.index);
	n = vg_cache_incr(&r->child->cache, key, (uint64_t)w.delta, (unsigned)window_s + 1);
	if (n < 0) {
		cache_down();
		n = localcount_add(key, w.delta, w.end);
	}
	*retry_after = w.retry_after;
	return n > limit;
}

int ratelimit_check_address(struct request *r)
{
	long long limit = r->child->cfg->limits.requests_per_second_per_ip;
	const char *addr = request_param(r, "REMOTE_ADDR");
	int retry = 1;

	if (limit <= 0 || !addr || strlen(addr) > 64)
		return 0;
	if (count(r, "ip", addr, 1, 1, limit, &retry) == 1) {
		request_error_retry(r, 429, "rate_limited",
				    "too many requests from this address; slow down", retry);
		return -1;
	}
	return 0;
}

int ratelimit_check_uploads(struct request *r)
{
	long long limit = r->child->cfg->limits.uploads_per_minute;
	char who[32];
	int retry = 1;

	snprintf(who, sizeof(who), "%lld", r->user_id);
	if (limit > 0 && count(r, "uploads", who, 60, 1, limit, &retry) == 1) {
		request_error_retry(r, 429, "rate_limited",
				    "too many uploads for this key this minute", retry);
		return -1;
	}
	return 0;
}

int ratelimit_check_bytes(struct request *r, long long bytes)
{
	long long limit = r->child->cfg->limits.bytes_per_hour;
	char who[32];
	int retry = 1;

	snprintf(who, sizeof(who), "%lld", r->user_id);
	if (limit > 0 && bytes > 0 && count(r, "bytes", who, 3600, bytes, limit, &retry) == 1) {
		request_error_retry(r, 429, "rate_limited",
				    "this key has uploaded its bytes for this hour", retry);
		return -1;
	}
	return 0;
}
