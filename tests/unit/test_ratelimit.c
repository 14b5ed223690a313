/*
 * test_ratelimit.c - unit tests for the fixed-window arithmetic of the rate
 * limits (app/ratelimit.c, ratelimit_window): which window a moment falls
 * in, when it ends (the counter's expiry and the Retry-After a 429 carries)
 * and the clamp that keeps a huge declared length from overflowing the
 * counter. The counting itself (memcached, or this host) is tested through
 * the stack: tests/integration/36_ratelimit.sh.
 */
#include "tap.h"
#include "ratelimit.h"

#include <limits.h>

static void test_windows(void)
{
	struct ratelimit_window w;

	ratelimit_window(120, 60, 1, 5, &w);
	is_int(w.index, 2, "a minute window: 120 s falls in window 2");
	is_int(w.end, 180, "which ends at 180");
	is_int(w.retry_after, 60, "at its first second, Retry-After is the whole minute");

	ratelimit_window(179, 60, 1, 5, &w);
	is_int(w.index, 2, "179 s: still window 2");
	is_int(w.retry_after, 1, "at its last second, Retry-After is 1");

	ratelimit_window(180, 60, 1, 5, &w);
	is_int(w.index, 3, "180 s: a new window, a new counter");
	is_int(w.retry_after, 60, "Retry-After 60 again");

	ratelimit_window(1700000000, 1, 1, 10, &w);
	is_int(w.index, 1700000000, "a second window is named by the second");
	is_int(w.end, 1700000001, "and ends with it");
	is_int(w.retry_after, 1, "Retry-After 1");

	ratelimit_window(3600LL * 472222 + 1234, 3600, 1, 5, &w);
	is_int(w.index, 472222, "an hour window: the hour");
	is_int(w.retry_after, 3600 - 1234, "Retry-After: the rest of the hour (2366 s)");
}

static void test_clamp(void)
{
	struct ratelimit_window w;
	long long limit = 10737418240LL; /* limits.bytes_per_hour's default */

	ratelimit_window(0, 3600, 37000, limit, &w);
	is_int(w.delta, 37000, "a delta within the limit is added as it is");
	ratelimit_window(0, 3600, limit + 1, limit, &w);
	is_int(w.delta, limit + 1, "limit + 1 is added as it is (already over)");
	ratelimit_window(0, 3600, limit + 2, limit, &w);
	is_int(w.delta, limit + 1, "limit + 2 is clamped to limit + 1");
	ratelimit_window(0, 3600, LLONG_MAX, limit, &w);
	is_int(w.delta, limit + 1, "a declared length near 2^63 is clamped to limit + 1");
	ok(w.delta + w.delta > 0 && w.delta + w.delta > limit,
	   "two clamped deltas sum without overflow and are still over the limit");
}

int main(void)
{
	test_windows();
	test_clamp();
	return tap_done();
}
