/*
 * test_scoreboard.c - unit tests for the children's upload slots
 * (app/scoreboard.c): the cap per user, the staging bytes a user's
 * multipart uploads hold on the host, counting, leaving, and the master
 * clearing the slot of a child that died. One process plays the children
 * by attaching to one slot after another (the slots are what is shared).
 */
#include "tap.h"
#include "scoreboard.h"

static unsigned count(long long user)
{
	long long bytes;

	return scoreboard_count(user, &bytes);
}

static long long held(long long user)
{
	long long bytes;

	scoreboard_count(user, &bytes);
	return bytes;
}

int main(void)
{
	is_int(scoreboard_enter(7, 1, 0, 0), 0, "before the map: nothing is capped");
	scoreboard_open();
	for (unsigned s = 0; s < 3; s++) {
		scoreboard_attach(s);
		is_int(scoreboard_enter(7, 3, 100, 0), 0,
		       "child %u takes its slot for user 7 (cap 3), holding 100 bytes", s);
	}
	is_int(count(7), 3, "user 7 has 3 uploads in children");
	is_int(held(7), 300, "... holding 300 bytes of staging");
	scoreboard_attach(3);
	is_int(scoreboard_enter(7, 3, 0, 0), -1, "a fourth child is refused at the cap");
	is_int(count(7), 3, "the refusal took no slot");
	is_int(scoreboard_enter(8, 3, 0, 0), 0, "another user is not held back");
	is_int(count(8), 1, "user 8 has 1");
	scoreboard_leave();
	is_int(count(8), 0, "leaving frees the slot");
	scoreboard_leave();
	is_int(count(8), 0, "leaving twice is harmless");
	scoreboard_clear(1);
	is_int(count(7), 2, "the master clears a dead child's slot");
	is_int(held(7), 200, "... and its bytes");
	scoreboard_attach(4);
	is_int(scoreboard_enter(7, 3, 801, 1000), -2,
	       "200 held + 801 asked over a 1000-byte staging cap: refused");
	is_int(count(7), 2, "that refusal took no slot either");
	is_int(scoreboard_enter(7, 3, 800, 1000), 0, "200 + 800 is within it: taken");
	is_int(held(7), 1000, "user 7 holds 1000 bytes");
	scoreboard_attach(5);
	is_int(scoreboard_enter(7, 0, 0, 1000), 0,
	       "cap 0: no count cap; 0 bytes (a tus PATCH) never meets the bytes cap");
	scoreboard_attach(6);
	is_int(scoreboard_enter(7, 0, 5000, 0), 0, "bytes cap 0: no bytes cap");
	is_int(count(7), 5, "user 7 now has 5");
	is_int(count(0), 0, "user 0 (no user) is never counted");
	scoreboard_leave();
	is_int(held(7), 1000, "leaving gives back the slot's bytes");
	return tap_done();
}
