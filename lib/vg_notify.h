/*
 * vg_notify.h - tell systemd how a daemon is doing (sd_notify(3), by hand).
 *
 * Under a unit with Type=notify, systemd passes the address of a datagram
 * socket in $NOTIFY_SOCKET; "READY=1" sent there ends `systemctl start` (so
 * units ordered after this one start once the socket listens), "RELOADING=1"
 * and "STOPPING=1" show in `systemctl status`. Writing the datagram is a
 * dozen lines, which is cheaper than a dependency on libsystemd.
 */
#ifndef VG_NOTIFY_H
#define VG_NOTIFY_H

/* Sends state (e.g. "READY=1", several assignments separated by newlines)
 * to $NOTIFY_SOCKET. Without the variable (not under systemd) it does
 * nothing. Returns 1 if sent, 0 if there is no socket, -1 on error (logged
 * at debug level only: a daemon never fails because systemd did not hear). */
int vg_notify(const char *state);

#endif
