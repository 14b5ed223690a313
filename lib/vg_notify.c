/*
 * vg_notify.c - the sd_notify(3) datagram (see vg_notify.h).
 *
 * $NOTIFY_SOCKET is a filesystem path ("/run/systemd/notify") or an abstract
 * socket name ("@..."; the '@' stands for the leading NUL byte). Only the
 * main process sends: with the default NotifyAccess=main, systemd ignores
 * messages from the children, which inherit the variable.
 */
#include "vg_notify.h"
#include "vg_log.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int vg_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t len;
	socklen_t salen;
	int fd, rc = -1;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
		vg_debug("msg=\"NOTIFY_SOCKET is not a usable address\"");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	/* An abstract name has no terminating NUL: its length is exact. */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
		goto out;
	rc = 1;
out:
	if (rc < 0)
		vg_debug("msg=\"cannot notify systemd\" error=\"%s\"", strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}
