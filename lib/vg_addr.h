/*
 * vg_addr.h - "is this client address in that list?" for access rules.
 *
 * A list is comma-separated IPv4 or IPv6 addresses or CIDR blocks
 * ("127.0.0.1, ::1, 10.0.0.0/8, fd00::/8"). An IPv4 client reached over an
 * IPv6 socket (::ffff:10.1.2.3) matches the IPv4 entries too. Parsing is
 * bounded: an entry longer than an address plus "/128" is invalid.
 */
#ifndef VG_ADDR_H
#define VG_ADDR_H

#include <stddef.h>

/* 0 if every entry of list parses; -1 with the bad entry named in why. */
int vg_addr_list_check(const char *list, char *why, size_t whysz);

/* 1 if addr (a textual address, e.g. REMOTE_ADDR) is in list, 0 if not or if
 * addr is not an address. Invalid entries never match. */
int vg_addr_allowed(const char *list, const char *addr);

#endif
