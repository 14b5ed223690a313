/*
 * test_procctl.c - respawn back-off and the self-pipe of the process masters.
 */
#include "tap.h"
#include "vg_procctl.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

int main(void)
{
	int sigs[8], fd;
	size_t n;
	struct pollfd pfd;

	is_int(vg_respawn_delay_ms(0), 0, "no crash: respawn at once");
	is_int(vg_respawn_delay_ms(1), 0, "one early death is an accident: at once");
	is_int(vg_respawn_delay_ms(2), 100, "second: 100 ms");
	is_int(vg_respawn_delay_ms(3), 200, "third: 200 ms");
	is_int(vg_respawn_delay_ms(6), 1600, "sixth: 1.6 s");
	is_int(vg_respawn_delay_ms(10), 25600, "tenth: 25.6 s");
	is_int(vg_respawn_delay_ms(11), 30000, "capped at 30 s");
	is_int(vg_respawn_delay_ms(1000), 30000, "still capped, no overflow");

	fd = vg_sigpipe_open();
	ok(fd >= 0, "self-pipe opens");
	n = vg_sigpipe_read(sigs, 8);
	is_int(n, 0, "nothing to read before a signal (and no blocking)");
	raise(SIGHUP);
	raise(SIGTERM);
	pfd.fd = fd;
	pfd.events = POLLIN;
	ok(poll(&pfd, 1, 1000) == 1, "a signal makes the pipe readable");
	n = vg_sigpipe_read(sigs, 8);
	is_int(n, 2, "two signals, two bytes");
	ok(n == 2 && sigs[0] == SIGHUP && sigs[1] == SIGTERM, "in the order they came");
	raise(SIGPIPE);
	ok(1, "SIGPIPE is ignored (the process is still here)");
	vg_sigpipe_close();
	return tap_done();
}
