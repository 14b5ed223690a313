/*
 * async.c - the next status poll and the asynchronous deadline (see async.h).
 */
#include "async.h"

double async_next_poll_s(long retry_after_s, double left_s)
{
	double d = retry_after_s >= 0 ? (double)retry_after_s : (double)POLL_DEFAULT_S;

	if (left_s <= 0)
		return 0;
	return d < left_s ? d : left_s;
}

double async_time_left_s(long long deadline_s, long long accepted_age_ms)
{
	return (double)deadline_s - (double)accepted_age_ms / 1000.0;
}
