/*
 * test_notify.c - the sd_notify datagram reaches a socket like systemd's,
 * at a path and at an abstract address, and nothing happens without one.
 */
#include "tap.h"
#include "vg_notify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A datagram socket bound at name (a path, or "@abstract"); -1 on error. */
static int listener(const char *name)
{
	struct sockaddr_un sa;
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	if (fd < 0 ||
	    bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/'))) < 0)
		return -1;
	return fd;
}

static void check(const char *name, const char *what)
{
	char buf[64];
	ssize_t n;
	int fd = listener(name);

	ok(fd >= 0, "%s: a listener binds", what);
	setenv("NOTIFY_SOCKET", name, 1);
	is_int(vg_notify("READY=1\nSTATUS=up"), 1, "%s: vg_notify says it sent", what);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "READY=1\nSTATUS=up", "%s: the datagram is the state, exactly", what);
	close(fd);
}

int main(void)
{
	char path[64], abstract[64];

	unsetenv("NOTIFY_SOCKET");
	is_int(vg_notify("READY=1"), 0, "without NOTIFY_SOCKET: nothing to do, no error");
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	is_int(vg_notify("READY=1"), -1, "a NOTIFY_SOCKET that is no address is refused");

	snprintf(path, sizeof(path), "/tmp/vg-test-notify-%d.sock", (int)getpid());
	unlink(path);
	check(path, "path socket");
	unlink(path);
	snprintf(abstract, sizeof(abstract), "@vg-test-notify-%d", (int)getpid());
	check(abstract, "abstract socket");
	return tap_done();
}
