/*
 * test_localcount.c - unit tests for the host's fallback rate-limit counters
 * (app/localcount.c): counting within a window, a new window starting from
 * zero, saturation instead of overflow, and a full table giving the place of
 * the entry whose window ends first.
 */
#include "tap.h"
#include "localcount.h"

#include <limits.h>
#include <stdio.h>
#include <time.h>

int main(void)
{
	int64_t end = (int64_t)time(NULL) + 60;
	char key[64];
	long long n = 0;
	int i;

	is_int(localcount_add("before-open", 1, end), -1, "no table yet: -1 (nothing counted)");
	localcount_open();
	is_int(localcount_add("vingest:rl:uploads:7:1", 1, end), 1, "a new key starts at delta");
	is_int(localcount_add("vingest:rl:uploads:7:1", 1, end), 2, "the same key adds up");
	is_int(localcount_add("vingest:rl:uploads:7:1", 40, end), 42, "by any delta");
	is_int(localcount_add("vingest:rl:uploads:8:1", 1, end), 1, "another key counts apart");
	is_int(localcount_add("vingest:rl:uploads:7:1", 1, end + 60), 1,
	       "the same name in the next window starts again");
	is_int(localcount_add("big", LLONG_MAX - 5, end), LLONG_MAX - 5, "a huge delta is kept");
	is_int(localcount_add("big", 100, end), LLONG_MAX, "and adding past LLONG_MAX saturates");

	/* Far more live keys than the table holds: every add still answers, and
	 * the newest key is always counted from its own delta. */
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "flood:%d", i);
		n = localcount_add(key, 3, end + (i % 7));
		if (n != 3)
			break;
	}
	is_int(n, 3, "20000 keys into a full table: each new key still counts (3)");
	is_int(localcount_add("vingest:rl:uploads:8:1", 1, (int64_t)time(NULL) - 10), 1,
	       "a key whose window already ended starts at delta");
	return tap_done();
}
