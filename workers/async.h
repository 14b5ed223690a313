/*
 * async.h - when a job the processing service accepted (202) is polled next,
 * and when it has waited too long.
 *
 * A 202 job is not held by a worker while the service works on it: its
 * status_url and the time of the first 202 (accepted_at) are in the jobs
 * row, the job is ready with run_after at the next poll, and whichever
 * worker claims it then polls. These are the sums that decide run_after and
 * the deadline; they are kept apart from worker.c so that they can be tested
 * alone (tests/unit/test_async.c).
 */
#ifndef VG_WORKERS_ASYNC_H
#define VG_WORKERS_ASYNC_H

/* The poll interval when the service gives no Retry-After. */
#define POLL_DEFAULT_S 2

/*
 * Seconds from now to the next poll: the service's Retry-After when it
 * sent one (retry_after_s >= 0), else POLL_DEFAULT_S - but never past the
 * deadline, which is left_s seconds away: a job whose deadline comes first
 * is claimed at its deadline and failed then, not at some later poll. A
 * left_s <= 0 gives 0 (claim it now: the deadline has passed).
 */
double async_next_poll_s(long retry_after_s, double left_s);

/*
 * Seconds left before the asynchronous deadline of a job first accepted
 * accepted_age_ms ago: deadline_s - age, negative once it has passed.
 */
double async_time_left_s(long long deadline_s, long long accepted_age_ms);

#endif
