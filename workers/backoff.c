/*
 * backoff.c - exponential back-off with full jitter (see backoff.h).
 */
#include "backoff.h"
#include "vg_id.h"

double backoff_delay_draw(unsigned attempt, double base_s, double max_s, long retry_after_s,
			  uint32_t draw)
{
	double cap = base_s;
	double delay;

	/* Doubling stops at the cap, so a job's 1000th attempt cannot
	 * overflow the delay to infinity. */
	for (unsigned i = 1; i < attempt && cap < max_s; i++)
		cap *= 2;
	if (cap > max_s)
		cap = max_s;
	delay = cap * ((double)draw / (double)UINT32_MAX);
	if (retry_after_s >= 0 && delay < (double)retry_after_s)
		delay = (double)retry_after_s;
	return delay;
}

double backoff_delay(unsigned attempt, double base_s, double max_s, long retry_after_s)
{
	uint32_t r = 0;

	if (vg_random_bytes(&r, sizeof(r)) < 0)
		r = UINT32_MAX / 2;
	return backoff_delay_draw(attempt, base_s, max_s, retry_after_s, r);
}
