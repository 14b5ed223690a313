/*
 * breaker.c - fleet-wide circuit breaker and rate cap in memcached (see breaker.h).
 *
 * Keys: vingest:breaker:fails   consecutive failures (incr; deleted on success)
 *       vingest:breaker:open    present while open (ttl = cool-down)
 *       vingest:breaker:probe   the one probe after a cool-down (add = one winner)
 *       vingest:rps:<second>    calls started in that second (incr, ttl 5 s)
 */
#include "breaker.h"
#include "vg_cache.h"
#include "vg_config.h"
#include "vg_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K_FAILS "vingest:breaker:fails"
#define K_OPEN	"vingest:breaker:open"
#define K_PROBE "vingest:breaker:probe"

void breaker_init(struct breaker *b, struct vg_cache *cache, const struct vg_config *cfg)
{
	memset(b, 0, sizeof(*b));
	b->cache = cache;
	b->cfg = cfg;
}

static unsigned cooldown_s(const struct breaker *b)
{
	return (unsigned)b->cfg->processor.breaker_cooldown_seconds;
}

static void log_transition(struct breaker *b, int open)
{
	if (open && !b->was_open)
		vg_warn("msg=\"processing service failing; breaker open, claims paused\" "
			"cooldown_s=%u",
			cooldown_s(b));
	else if (!open && b->was_open)
		vg_info("msg=\"processing service answering again; breaker closed\"");
	b->was_open = open;
}

int breaker_allow(struct breaker *b, int64_t now_ms)
{
	char buf[32];
	int rc = vg_cache_get(b->cache, K_OPEN, buf, sizeof(buf));

	if (rc == 1)
		return 0;
	if (rc == 0) {
		int f = vg_cache_get(b->cache, K_FAILS, buf, sizeof(buf));

		if (f == 1 && atoll(buf) >= b->cfg->processor.breaker_threshold) {
			/* half-open: one probe for the whole fleet per cool-down */
			return vg_cache_add(b->cache, K_PROBE, "1", 1, cooldown_s(b)) == 1 ? 2 : 0;
		}
		if (f >= 0)
			return 1;
	}
	/* memcached unreachable: the same logic, in this process alone */
	if (now_ms < b->open_until_ms)
		return 0;
	if (b->fails >= b->cfg->processor.breaker_threshold) {
		if (now_ms < b->probe_until_ms)
			return 0;
		b->probe_until_ms = now_ms + (int64_t)cooldown_s(b) * 1000;
		return 2;
	}
	return 1;
}

void breaker_success(struct breaker *b)
{
	b->fails = 0;
	b->open_until_ms = 0;
	b->probe_until_ms = 0;
	b->reset_pending = 1; /* the fleet's count: at the end of the turn */
	log_transition(b, 0);
}

void breaker_flush(struct breaker *b)
{
	if (!b->reset_pending)
		return;
	b->reset_pending = 0;
	vg_cache_delete(b->cache, K_FAILS);
	vg_cache_delete(b->cache, K_PROBE);
}

void breaker_probe_release(struct breaker *b)
{
	b->probe_until_ms = 0;
	vg_cache_delete(b->cache, K_PROBE);
}

int breaker_failure(struct breaker *b, int64_t now_ms)
{
	long long n;

	breaker_flush(b); /* a success earlier in this turn clears first, as it came first */
	n = vg_cache_incr(b->cache, K_FAILS, 1, 3600);

	b->fails++;
	if (n < 0)
		n = b->fails;
	if (n >= b->cfg->processor.breaker_threshold) {
		vg_cache_set(b->cache, K_OPEN, "1", 1, cooldown_s(b));
		vg_cache_delete(b->cache, K_PROBE);
		b->open_until_ms = now_ms + (int64_t)cooldown_s(b) * 1000;
		b->probe_until_ms = 0;
		log_transition(b, 1);
		return 1;
	}
	return 0;
}

int breaker_rate_take(struct breaker *b, time_t now)
{
	long long max = b->cfg->processor.max_rps;
	char key[48];
	long long n;

	if (max <= 0)
		return 1;
	snprintf(key, sizeof(key), "vingest:rps:%lld", (long long)now);
	n = vg_cache_incr(b->cache, key, 1, 5);
	if (n < 0) {
		/* memcached down: cap this process alone at the fleet's rate */
		if (b->rate_second != (int64_t)now) {
			b->rate_second = (int64_t)now;
			b->rate_count = 0;
		}
		n = ++b->rate_count;
	}
	return n <= max;
}
