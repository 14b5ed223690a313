/*
 * backoff.h - when a failed job may run again.
 */
#ifndef VG_WORKERS_BACKOFF_H
#define VG_WORKERS_BACKOFF_H

#include <stdint.h>

/*
 * Exponential back-off with full jitter (a uniformly random delay in
 * [0, min(max, base * 2^(attempt-1))]): failed jobs spread out instead of
 * returning together and hammering a recovering service. A Retry-After
 * the service sent (>= 0) is a floor. Seconds, as a double.
 */
double backoff_delay(unsigned attempt, double base_s, double max_s, long retry_after_s);

/*
 * The same with the random draw passed in: draw / UINT32_MAX is the
 * fraction of the cap taken (0: no wait, UINT32_MAX: the whole cap).
 * backoff_delay is this with a draw from vg_random_bytes; the tests call
 * it with chosen draws.
 */
double backoff_delay_draw(unsigned attempt, double base_s, double max_s, long retry_after_s,
			  uint32_t draw);

#endif
