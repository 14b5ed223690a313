/*
 * test_breaker.c - unit tests for the processing service's circuit breaker
 * and call-rate cap (workers/breaker.c), with the clock passed in.
 *
 * memcached is replaced by a few lines of key/value table below, whose
 * expiry follows the same test clock, so the fleet's shared state (two
 * breakers are two workers) and the local fallback (the table "down") are
 * both walked through closed -> open -> half-open -> closed or open again
 * without sleeping through a cool-down. The vg_cache_* functions defined
 * here take the place of lib/vg_cache.c, which the linker then leaves out
 * of libvg.a.
 */
#include "tap.h"
#include "breaker.h"
#include "vg_cache.h"
#include "vg_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- memcached as the breaker sees it: get, set, add, incr, delete, TTLs */

#define SLOTS 16

static struct {
	char key[64];
	char val[32];
	int64_t expires_ms; /* 0: the slot is free */
} table[SLOTS];
static int64_t clock_ms; /* the test's clock: the table's expiries follow it */
static int cache_down;	 /* 1: every call fails, as with memcached unreachable */

static int find(const char *key)
{
	for (int i = 0; i < SLOTS; i++)
		if (table[i].expires_ms > clock_ms && strcmp(table[i].key, key) == 0)
			return i;
	return -1;
}

static void put(const char *key, const char *val, unsigned ttl)
{
	int i = find(key);

	for (int k = 0; i < 0 && k < SLOTS; k++)
		if (table[k].expires_ms <= clock_ms)
			i = k;
	if (i < 0) {
		fprintf(stderr, "test_breaker: the fake cache is full\n");
		exit(2);
	}
	snprintf(table[i].key, sizeof(table[i].key), "%s", key);
	snprintf(table[i].val, sizeof(table[i].val), "%s", val);
	table[i].expires_ms = clock_ms + (int64_t)ttl * 1000;
}

int vg_cache_get(struct vg_cache *c, const char *key, char *buf, size_t bufsz)
{
	int i = find(key);

	if (cache_down)
		return -1;
	if (i < 0)
		return 0;
	snprintf(buf, bufsz, "%s", table[i].val);
	return 1;
}

int vg_cache_set(struct vg_cache *c, const char *key, const char *val, size_t len, unsigned ttl)
{
	if (cache_down)
		return -1;
	put(key, val, ttl);
	return 0;
}

int vg_cache_add(struct vg_cache *c, const char *key, const char *val, size_t len, unsigned ttl)
{
	if (cache_down)
		return -1;
	if (find(key) >= 0)
		return 0;
	put(key, val, ttl);
	return 1;
}

long long vg_cache_incr(struct vg_cache *c, const char *key, uint64_t delta, unsigned ttl)
{
	int i = find(key);
	long long v;
	char buf[32];

	if (cache_down)
		return -1;
	if (i < 0) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)delta);
		put(key, buf, ttl);
		return (long long)delta;
	}
	/* memcached keeps the expiry set at creation */
	v = atoll(table[i].val) + (long long)delta;
	snprintf(table[i].val, sizeof(table[i].val), "%lld", v);
	return v;
}

int vg_cache_delete(struct vg_cache *c, const char *key)
{
	int i = find(key);

	if (cache_down)
		return -1;
	if (i >= 0)
		table[i].expires_ms = 0;
	return 0;
}

/* ---- helpers */

#define THRESHOLD  3
#define COOLDOWN_S 10

static struct vg_config cfg;
static struct vg_cache cache;

static void reset(int down)
{
	memset(table, 0, sizeof(table));
	clock_ms = 1000000;
	cache_down = down;
	memset(&cfg, 0, sizeof(cfg));
	cfg.processor.breaker_threshold = THRESHOLD;
	cfg.processor.breaker_cooldown_seconds = COOLDOWN_S;
	cfg.processor.max_rps = 3;
}

/* Moves the clock (and with it the table's expiries) on by ms. */
static void pass(int64_t ms)
{
	clock_ms += ms;
}

/* ---- this process alone (memcached down) */

static void test_local(void)
{
	struct breaker b;
	int64_t opened;

	reset(1);
	breaker_init(&b, &cache, &cfg);
	is_int(breaker_allow(&b, clock_ms), 1, "local: a new breaker is closed: claims go on");
	for (int i = 1; i < THRESHOLD; i++)
		is_int(breaker_failure(&b, clock_ms), 0, "local: failure %d of %d leaves it closed",
		       i, THRESHOLD);
	is_int(breaker_allow(&b, clock_ms), 1, "local: still closed below the threshold");
	is_int(breaker_failure(&b, clock_ms), 1,
	       "local: the threshold-th failure in a row opens it (the failure is not the job's)");
	opened = clock_ms;
	is_int(breaker_allow(&b, clock_ms), 0, "local: open: no claims");
	is_int(breaker_allow(&b, opened + COOLDOWN_S * 1000 - 1), 0,
	       "local: still open 1 ms before the cool-down ends");

	pass(COOLDOWN_S * 1000);
	is_int(breaker_allow(&b, clock_ms), 2, "local: after the cool-down: half-open, one probe");
	is_int(breaker_allow(&b, clock_ms), 0, "local: a second look gets no second probe");
	is_int(breaker_allow(&b, clock_ms + COOLDOWN_S * 1000 - 1), 0,
	       "local: nor does one within the cool-down of the probe");

	is_int(breaker_failure(&b, clock_ms), 1, "local: the probe fails: open again");
	opened = clock_ms;
	is_int(breaker_allow(&b, opened + COOLDOWN_S * 1000 - 1), 0,
	       "local: open for a whole cool-down from the probe's failure");
	pass(COOLDOWN_S * 1000);
	is_int(breaker_allow(&b, clock_ms), 2, "local: then half-open again");

	breaker_probe_release(&b);
	is_int(breaker_allow(&b, clock_ms), 2,
	       "local: a probe given back (nothing to claim) is offered again at once");

	breaker_success(&b);
	breaker_flush(&b);
	is_int(breaker_allow(&b, clock_ms), 1, "local: the probe succeeds: closed");
	for (int i = 1; i < THRESHOLD; i++)
		breaker_failure(&b, clock_ms);
	is_int(breaker_allow(&b, clock_ms), 1,
	       "local: a success starts the count again (threshold - 1 failures: still closed)");

	breaker_success(&b);
	for (int i = 1; i <= THRESHOLD; i++) {
		pass(1);
		breaker_failure(&b, clock_ms);
	}
	opened = clock_ms;
	pass(COOLDOWN_S * 1000 / 2);
	is_int(breaker_failure(&b, clock_ms), 1, "local: a failure while open keeps it open");
	is_int(breaker_allow(&b, opened + COOLDOWN_S * 1000), 0,
	       "local: and the cool-down runs from the last failure, not the first");
	is_int(breaker_allow(&b, clock_ms + COOLDOWN_S * 1000), 2,
	       "local: half-open a cool-down after the last failure");
}

/* ---- the fleet: two workers sharing memcached */

static void test_fleet(void)
{
	struct breaker a, b;

	reset(0);
	breaker_init(&a, &cache, &cfg);
	breaker_init(&b, &cache, &cfg);
	for (int i = 1; i < THRESHOLD; i++)
		is_int(breaker_failure(&a, clock_ms), 0, "fleet: worker a's failure %d: closed", i);
	is_int(breaker_allow(&b, clock_ms), 1, "fleet: worker b still claims");
	is_int(breaker_failure(&b, clock_ms), 1,
	       "fleet: worker b's one failure makes %d in a row across the fleet: open", THRESHOLD);
	is_int(breaker_allow(&a, clock_ms), 0, "fleet: worker a stops claiming too");
	is_int(breaker_allow(&b, clock_ms), 0, "fleet: and worker b");

	pass(COOLDOWN_S * 1000);
	is_int(breaker_allow(&a, clock_ms), 2,
	       "fleet: after the cool-down worker a wins the probe");
	is_int(breaker_allow(&b, clock_ms), 0, "fleet: worker b does not: one probe for the fleet");
	is_int(breaker_allow(&a, clock_ms), 0, "fleet: nor does worker a get a second one");

	breaker_probe_release(&a);
	is_int(breaker_allow(&b, clock_ms), 2,
	       "fleet: a probe given back is taken by the next worker at once");

	is_int(breaker_failure(&b, clock_ms), 1, "fleet: the probe fails: open again");
	is_int(breaker_allow(&a, clock_ms), 0, "fleet: open for worker a");
	pass(COOLDOWN_S * 1000 - 1000);
	is_int(breaker_allow(&a, clock_ms), 0, "fleet: still open 1 s before the cool-down ends");
	pass(1000);
	is_int(breaker_allow(&a, clock_ms), 2, "fleet: half-open after it");

	breaker_success(&a);
	is_int(breaker_allow(&b, clock_ms), 0,
	       "fleet: a success is not the fleet's until the turn ends (breaker_flush)");
	breaker_flush(&a);
	is_int(breaker_allow(&b, clock_ms), 1, "fleet: after the flush: closed for worker b");
	is_int(breaker_allow(&a, clock_ms), 1, "fleet: and for worker a");

	/* A success and then a failure in one turn: the success came first, so
	 * the count starts again before the failure is added. */
	breaker_failure(&a, clock_ms);
	breaker_failure(&a, clock_ms);
	breaker_success(&b);
	is_int(breaker_failure(&b, clock_ms), 0,
	       "fleet: success then failure in one turn counts 1, not %d", THRESHOLD);
	is_int(breaker_allow(&a, clock_ms), 1, "fleet: closed");

	/* memcached goes away while the fleet's breaker is closed: each
	 * worker goes on counting for itself. */
	cache_down = 1;
	breaker_init(&a, &cache, &cfg);
	for (int i = 1; i < THRESHOLD; i++)
		breaker_failure(&a, clock_ms);
	is_int(breaker_failure(&a, clock_ms), 1,
	       "fleet: memcached down: a worker's own %d failures open its breaker", THRESHOLD);
	is_int(breaker_allow(&a, clock_ms), 0, "fleet: memcached down: and it stops claiming");
}

/* ---- processor.max_rps */

static void test_rate(void)
{
	struct breaker a, b;
	time_t s = 1700000000;

	reset(0);
	breaker_init(&a, &cache, &cfg);
	breaker_init(&b, &cache, &cfg);
	is_int(breaker_rate_take(&a, s), 1, "rate: call 1 of 3 this second");
	is_int(breaker_rate_take(&b, s), 1, "rate: call 2, another worker");
	is_int(breaker_rate_take(&a, s), 1, "rate: call 3");
	is_int(breaker_rate_take(&b, s), 0, "rate: call 4 in the same second waits (fleet-wide)");
	is_int(breaker_rate_take(&b, s + 1), 1, "rate: the next second has its own budget");

	cache_down = 1;
	for (int i = 1; i <= 3; i++)
		is_int(breaker_rate_take(&a, s + 2), 1, "rate: memcached down: call %d of 3", i);
	is_int(breaker_rate_take(&a, s + 2), 0,
	       "rate: memcached down: this process alone keeps the cap");
	is_int(breaker_rate_take(&a, s + 3), 1, "rate: memcached down: the next second");

	cfg.processor.max_rps = 0;
	for (int i = 0; i < 10; i++)
		breaker_rate_take(&a, s + 3);
	is_int(breaker_rate_take(&a, s + 3), 1, "rate: max_rps 0 turns the cap off");
}

int main(void)
{
	test_local();
	test_fleet();
	test_rate();
	return tap_done();
}
