/*
 * test_backoff.c - unit tests for the retry delay (workers/backoff.c):
 * exponential growth, the cap, full jitter and the Retry-After floor, with
 * the random draw passed in (backoff_delay_draw), then the real
 * backoff_delay's bounds over many draws.
 */
#include "tap.h"
#include "backoff.h"

#include <math.h>
#include <stdint.h>

#define HALF (UINT32_MAX / 2)

static int near(double got, double want)
{
	return fabs(got - want) < 1e-6;
}

static void test_growth(void)
{
	/* the whole cap (draw = UINT32_MAX): base * 2^(attempt-1), up to max */
	double want[] = {5, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600};

	for (unsigned a = 0; a < sizeof(want) / sizeof(want[0]); a++)
		ok(near(backoff_delay_draw(a, 5, 3600, -1, UINT32_MAX), want[a]),
		   "attempt %u, base 5 s, max 3600 s: the cap is %.0f s (got %.3f)", a, want[a],
		   backoff_delay_draw(a, 5, 3600, -1, UINT32_MAX));
	ok(near(backoff_delay_draw(4000000000u, 5, 3600, -1, UINT32_MAX), 3600),
	   "attempt 4e9: still the max, no overflow to infinity");
	ok(near(backoff_delay_draw(3, 1, 4, -1, UINT32_MAX), 4),
	   "the test stack's timings (base 1, max 4): attempt 3 waits at most 4 s");
	ok(near(backoff_delay_draw(9, 10, 7, -1, UINT32_MAX), 7),
	   "a base above the max is cut to the max");
}

static void test_jitter(void)
{
	ok(near(backoff_delay_draw(4, 5, 3600, -1, 0), 0), "draw 0: no wait at all (full jitter)");
	ok(near(backoff_delay_draw(4, 5, 3600, -1, HALF), 20),
	   "draw of one half: half the cap (got %.3f)", backoff_delay_draw(4, 5, 3600, -1, HALF));
	ok(backoff_delay_draw(4, 5, 3600, -1, 1) < backoff_delay_draw(4, 5, 3600, -1, 2),
	   "a larger draw waits longer");
}

static void test_retry_after(void)
{
	ok(near(backoff_delay_draw(2, 5, 3600, 30, 0), 30),
	   "Retry-After 30 is a floor under a short draw");
	ok(near(backoff_delay_draw(6, 5, 3600, 30, UINT32_MAX), 160),
	   "a longer jittered delay (160 s) stands over Retry-After 30");
	ok(near(backoff_delay_draw(2, 5, 60, 7200, UINT32_MAX), 7200),
	   "Retry-After above the max is still honoured (the service said so)");
	ok(near(backoff_delay_draw(2, 5, 3600, 0, 0), 0), "Retry-After 0: no floor");
	ok(near(backoff_delay_draw(2, 5, 3600, -1, 0), 0), "no Retry-After (-1): no floor");
}

static void test_random(void)
{
	int inside = 1, spread = 0;
	double lo = 1e9, hi = -1;

	for (int i = 0; i < 2000; i++) {
		double d = backoff_delay(3, 5, 3600, -1);

		inside &= d >= 0 && d <= 20;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	spread = hi - lo > 10;
	ok(inside, "backoff_delay: 2000 draws for attempt 3 all lie in [0, 20] s");
	ok(spread, "backoff_delay: and they spread over the range (%.2f .. %.2f s)", lo, hi);
	ok(backoff_delay(3, 5, 3600, 25) >= 25, "backoff_delay: Retry-After 25 is a floor");
}

int main(void)
{
	test_growth();
	test_jitter();
	test_retry_after();
	test_random();
	return tap_done();
}
