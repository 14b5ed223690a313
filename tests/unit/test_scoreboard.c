/*
 * test_scoreboard.c - unit tests for the children's upload slots
 * (app/scoreboard.c): the cap per user, counting, leaving, and the master
 * clearing the slot of a child that died. One process plays the children
 * by attaching to one slot after another (the slots are what is shared).
 */
#include "tap.h"
#include "scoreboard.h"

int main(void)
{
	is_int(scoreboard_enter(7, 1), 0, "before the map: nothing is capped");
	scoreboard_open();
	for (unsigned s = 0; s < 3; s++) {
		scoreboard_attach(s);
		is_int(scoreboard_enter(7, 3), 0, "child %u takes its slot for user 7 (cap 3)", s);
	}
	is_int(scoreboard_count(7), 3, "user 7 has 3 uploads in children");
	scoreboard_attach(3);
	is_int(scoreboard_enter(7, 3), -1, "a fourth child is refused at the cap");
	is_int(scoreboard_count(7), 3, "the refusal took no slot");
	is_int(scoreboard_enter(8, 3), 0, "another user is not held back");
	is_int(scoreboard_count(8), 1, "user 8 has 1");
	scoreboard_leave();
	is_int(scoreboard_count(8), 0, "leaving frees the slot");
	scoreboard_leave();
	is_int(scoreboard_count(8), 0, "leaving twice is harmless");
	scoreboard_clear(1);
	is_int(scoreboard_count(7), 2, "the master clears a dead child's slot");
	scoreboard_attach(4);
	is_int(scoreboard_enter(7, 3), 0, "which makes room under the cap");
	scoreboard_attach(5);
	is_int(scoreboard_enter(7, 0), 0, "cap 0: no cap");
	is_int(scoreboard_count(7), 4, "user 7 now has 4");
	is_int(scoreboard_count(0), 0, "user 0 (no user) is never counted");
	return tap_done();
}
