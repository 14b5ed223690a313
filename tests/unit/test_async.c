/*
 * test_async.c - unit tests for when a 202 job is polled next and when its
 * asynchronous deadline has passed (workers/async.c).
 */
#include "tap.h"
#include "async.h"

#include <math.h>

static int near(double got, double want)
{
	return fabs(got - want) < 1e-9;
}

static void test_delay(void)
{
	ok(near(async_next_poll_s(-1, 3600), POLL_DEFAULT_S),
	   "no Retry-After: the default interval (%d s)", POLL_DEFAULT_S);
	ok(near(async_next_poll_s(30, 3600), 30), "Retry-After 30: polled again in 30 s");
	ok(near(async_next_poll_s(0, 3600), 0), "Retry-After 0: polled again at once");
	ok(near(async_next_poll_s(600, 10.5), 10.5),
	   "a Retry-After past the deadline is cut to the deadline (10.5 s away)");
	ok(near(async_next_poll_s(-1, 1.25), 1.25),
	   "the default interval past the deadline is cut to it too");
	ok(near(async_next_poll_s(5, 0), 0), "deadline now: claim it now");
	ok(near(async_next_poll_s(5, -20), 0), "deadline passed: never a negative delay");
}

static void test_left(void)
{
	ok(near(async_time_left_s(3600, 0), 3600), "accepted just now: the whole deadline is left");
	ok(near(async_time_left_s(3600, 1500), 3598.5), "accepted 1.5 s ago: 3598.5 s left");
	ok(near(async_time_left_s(5, 5000), 0), "accepted exactly the deadline ago: nothing left");
	ok(async_time_left_s(5, 7000) < 0, "accepted 7 s ago with a 5 s deadline: passed");
	ok(near(async_time_left_s(2592000, 2592000LL * 1000 - 1), 0.001),
	   "the largest deadline (30 days), 1 ms before it: 1 ms left");
}

int main(void)
{
	test_delay();
	test_left();
	return tap_done();
}
