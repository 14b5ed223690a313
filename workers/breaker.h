/*
 * breaker.h - the fleet's circuit breaker and call-rate cap for the processing service.
 *
 * When the service fails breaker_threshold calls in a row (counted across
 * the whole fleet in memcached), every worker stops claiming for
 * breaker_cooldown_seconds: jobs wait in the queue with their attempts intact
 * instead of being burnt against a dependency that is down. After the
 * cool-down exactly one worker in the fleet wins the right to probe with one
 * job; its success closes the breaker, its failure opens it again.
 *
 * If memcached is unreachable each process keeps the same state on its own
 * (fail-safe: the breaker still protects, only less widely).
 *
 * The clock is passed in (now_ms: vg_mono_ms(); now: time(NULL)) rather
 * than read here, so tests/unit/test_breaker.c can walk the breaker through
 * open, half-open and closed without sleeping through cool-downs.
 */
#ifndef VG_WORKERS_BREAKER_H
#define VG_WORKERS_BREAKER_H

#include <stdint.h>
#include <time.h>

struct vg_cache;
struct vg_config;

struct breaker {
	struct vg_cache *cache; /* borrowed */
	const struct vg_config *cfg;
	/* the local fallback */
	long long fails;
	int64_t open_until_ms;
	int64_t probe_until_ms;
	/* call-rate window (local fallback) */
	int64_t rate_second;
	long long rate_count;
	int was_open;	   /* for logging transitions once */
	int reset_pending; /* a success this turn: the fleet's count to clear (breaker_flush) */
};

void breaker_init(struct breaker *b, struct vg_cache *cache, const struct vg_config *cfg);

/*
 * May this worker claim? 0: no (open). 1: yes. 2: yes, but only one job: it is
 * the fleet's probe after a cool-down.
 */
int breaker_allow(struct breaker *b, int64_t now_ms);

/* Once a loop turn: a success in the turn clears the fleet's failure count
 * and probe in memcached - two deletes a turn, not two a call. */
void breaker_flush(struct breaker *b);

/* The probe's holder has no call to make after all (its claim found no job
 * or failed): give the probe back so another worker may take it at once,
 * instead of the whole fleet waiting a cool-down for a call never made. */
void breaker_probe_release(struct breaker *b);

/* A call succeeded: close the breaker. */
void breaker_success(struct breaker *b);

/* A call failed in a way that says the service is unwell. Returns 1 if the
 * breaker is open now (the failure should not count against the job). */
int breaker_failure(struct breaker *b, int64_t now_ms);

/* Takes one call from the fleet-wide processor.max_rps budget of the second
 * now (wall-clock: the fleet's hosts share the counter of each second).
 * 1: go ahead; 0: over the cap, try again next second. */
int breaker_rate_take(struct breaker *b, time_t now);

#endif
