/*
 * listen.c - opening the FastCGI socket (see listen.h).
 *
 * Done by hand rather than with FCGX_OpenSocket so that errors are reported
 * with their cause, a live socket is never unlinked, and the unix socket's
 * mode is ours to choose (0660: the web server's group connects).
 */
#include "listen.h"
#include "vg_log.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int open_unix(const char *path, int backlog)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		vg_error("msg=\"socket path too long\" path=\"%s\" max=%zu", path,
			 sizeof(sa.sun_path) - 1);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Is someone already serving here? Then refuse instead of unlinking it. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		vg_error("msg=\"another process is already listening\" path=\"%s\"", path);
		close(fd);
		return -1;
	}
	close(fd);
	if (unlink(path) < 0 && errno != ENOENT) {
		vg_error("msg=\"cannot remove stale socket\" path=\"%s\" error=\"%s\"", path,
			 strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 ||
	    listen(fd, backlog) < 0) {
		vg_error("msg=\"cannot listen\" path=\"%s\" error=\"%s\"", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int open_tcp(const char *spec, int backlog)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, one = 1, rc;
	size_t hlen = (size_t)(colon - spec);

	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	/* [::1]:9000 */
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0) {
		vg_error("msg=\"cannot resolve listen address\" listen=\"%s\" error=\"%s\"", spec,
			 gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		vg_error("msg=\"cannot listen\" listen=\"%s\" error=\"%s\"", spec, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

int listen_open(const char *spec, int backlog)
{
	int fd;

	if (strncmp(spec, "unix:", 5) == 0)
		fd = open_unix(spec + 5, backlog);
	else
		fd = open_tcp(spec, backlog);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

int listen_inherited(void)
{
	int accepting = 0;
	socklen_t len = sizeof(accepting);
	struct stat st;

	if (fstat(0, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0)
		return 0;
	return accepting != 0;
}

void listen_unlink(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		unlink(spec + 5);
}
