/*
 * ratelimit.c - fixed-window rate limits in memcached (see ratelimit.h).
 *
 * Each limit is one counter per window (the current second, minute or
 * hour), incremented atomically and expiring with its window, so every
 * FastCGI child on every web host counts against the same number. Fixed
 * windows allow a burst of twice the limit across a window edge; that is
 * accepted for one round trip per check.
 *
 * memcached down: fail open. Uploads are the product and the limits only
 * protect it from abuse; refusing every upload because a cache is down
 * would turn a cache outage into a full outage. The child logs a warning
 * (at most once a minute) so operators see that limits are not enforced.
 */
#include "ratelimit.h"
#include "child.h"
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
		vg_warn("msg=\"memcached unreachable: rate limits are not enforced (fail open)\"");
	}
}

/* Adds delta to the window's counter. 1 over the limit, 0 within, -1 cache down. */
static int count(struct request *r, const char *what, const char *who, long long window_s,
		 unsigned long long delta, long long limit, int *retry_after)
{
	time_t now = time(NULL);
	long long window = (long long)now / window_s;
	char key[200];
	long long n;

	snprintf(key, sizeof(key), "vingest:rl:%s:%s:%lld", what, who, window);
	n = vg_cache_incr(&r->child->cache, key, delta, (unsigned)window_s + 1);
	if (n < 0) {
		cache_down();
		return -1;
	}
	*retry_after = (int)((window + 1) * window_s - (long long)now);
	if (*retry_after < 1)
		*retry_after = 1;
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

int ratelimit_check_upload(struct request *r)
{
	const struct vg_config *cfg = r->child->cfg;
	char who[32];
	int retry = 1;

	snprintf(who, sizeof(who), "%lld", r->user_id);
	if (cfg->limits.uploads_per_minute > 0 &&
	    count(r, "uploads", who, 60, 1, cfg->limits.uploads_per_minute, &retry) == 1) {
		request_error_retry(r, 429, "rate_limited",
				    "too many uploads for this key this minute", retry);
		return -1;
	}
	return ratelimit_check_bytes(r);
}

int ratelimit_check_bytes(struct request *r)
{
	const struct vg_config *cfg = r->child->cfg;
	char who[32];
	int retry = 1;

	snprintf(who, sizeof(who), "%lld", r->user_id);
	if (cfg->limits.bytes_per_hour > 0 && r->content_length > 0 &&
	    count(r, "bytes", who, 3600, (unsigned long long)r->content_length,
		  cfg->limits.bytes_per_hour, &retry) == 1) {
		request_error_retry(r, 429, "rate_limited",
				    "this key has uploaded its bytes for this hour", retry);
		return -1;
	}
	return 0;
}
