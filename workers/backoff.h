/*
 * backoff.h - when a failed job may run again.
 */
#ifndef VG_WORKERS_BACKOFF_H
#define VG_WORKERS_BACKOFF_H

/*
 * Exponential back-off with full jitter (a uniformly random delay in
 * [0, min(max, base * 2^(attempt-1))]): failed jobs spread out instead of
 * returning together and hammering a recovering service. A Retry-After
 * the service sent (>= 0) is a floor. Seconds, as a double.
 */
double backoff_delay(unsigned attempt, double base_s, double max_s, long retry_after_s);

#endif
