/*
 * backoff.c - exponential back-off with full jitter (see backoff.h).
 */
#include "backoff.h"
#include "vg_id.h"

#include <stdint.h>

double backoff_delay(unsigned attempt, double base_s, double max_s, long retry_after_s)
{
	double cap = base_s;
	uint32_t r = 0;
	double delay;

	for (unsigned i = 1; i < attempt && cap < max_s; i++)
		cap *= 2;
	if (cap > max_s)
		cap = max_s;
	if (vg_random_bytes(&r, sizeof(r)) < 0)
		r = UINT32_MAX / 2;
	delay = cap * ((double)r / (double)UINT32_MAX);
	if (retry_after_s >= 0 && delay < (double)retry_after_s)
		delay = (double)retry_after_s;
	return delay;
}
