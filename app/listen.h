/*
 * listen.h - the FastCGI listening socket.
 */
#ifndef VG_APP_LISTEN_H
#define VG_APP_LISTEN_H

/*
 * Opens spec ("unix:/path" or "host:port") for listening with backlog.
 * A stale unix socket file is replaced only if nothing answers on it, so a
 * second master cannot steal a running one's socket. Returns the fd or -1
 * (logged).
 */
int listen_open(const char *spec, int backlog);

/* 1 if fd 0 is a listening socket: a web server spawned us (lighttpd's
 * bin-path, mod_fcgid, spawn-fcgi) and handed us its socket. */
int listen_inherited(void);

/* Removes the unix socket file of spec, if it is one (at shutdown). */
void listen_unlink(const char *spec);

#endif
