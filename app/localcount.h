/*
 * localcount.h - fixed-window counters kept on this host, for when
 * memcached cannot count.
 *
 * The rate limits count fleet-wide in memcached. When it does not answer,
 * a limit must not simply stop (a byte budget that fails open is an open
 * door); instead each host counts for itself in memory its children share.
 * That is weaker - a client spreading over N web hosts gets N times the
 * limit - and it is what the limits do until memcached is back (see
 * docs/operations.md, "Abuse and limits").
 *
 * A fixed table in memory the master maps before it forks: a key's counter
 * lives until its window ends, and a full table gives a new key the place
 * of the entry closest to its end, so it never grows and never blocks.
 */
#ifndef VG_APP_LOCALCOUNT_H
#define VG_APP_LOCALCOUNT_H

#include <stdint.h>

/* Maps the table; the master calls it once, before the first fork. */
void localcount_open(void);

/* Adds delta to the counter named key, whose window ends at the unix time
 * window_end. Returns the count after adding, or -1 when there is no table
 * (the caller then cannot count at all). */
long long localcount_add(const char *key, long long delta, int64_t window_end);

#endif
