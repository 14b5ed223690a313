/*
 * localcount.c - the host's fallback counters (see localcount.h).
 */
#include "localcount.h"
#include "vg_log.h"
#include "vg_shm.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#define ENTRIES 8192 /* live keys held at once: addresses and users within a window */
#define PROBES	16   /* entries looked at for one key */

struct entry {
	uint64_t hash; /* 0: free */
	int64_t window_end;
	long long count;
};

struct table {
	pthread_mutex_t lock;
	struct entry e[ENTRIES];
};

static struct table *table;

void localcount_open(void)
{
	if (table)
		return;
	table = vg_shm_map(sizeof(*table));
	if (!table || vg_shm_mutex_init(&table->lock) < 0) {
		vg_warn("msg=\"cannot map the local rate-limit table; with memcached down the "
			"limits cannot be counted\" error=\"%s\"",
			strerror(errno));
		table = NULL;
	}
}

/* FNV-1a, 64 bits; never 0 (0 marks a free entry). */
static uint64_t hash_key(const char *key, int64_t window_end)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ (uint64_t)window_end) * 1099511628211ULL;
	return h ? h : 1;
}

/* How good a place e is for a new key: a free or expired entry is best,
 * else the one whose window ends first. */
static int better_place(const struct entry *e, const struct entry *than, int64_t now)
{
	int e_free = e->hash == 0 || e->window_end < now;
	int than_free = than->hash == 0 || than->window_end < now;

	if (e_free != than_free)
		return e_free;
	return !e_free && e->window_end < than->window_end;
}

long long localcount_add(const char *key, long long delta, int64_t window_end)
{
	uint64_t h;
	int64_t now = (int64_t)time(NULL);
	struct entry *place = NULL;
	long long n;

	if (!table)
		return -1;
	h = hash_key(key, window_end);
	vg_shm_lock(&table->lock);
	/* The whole probe run is searched for the key before a place is
	 * taken: an entry freed earlier in the run must not hide it. */
	for (unsigned i = 0; i < PROBES; i++) {
		struct entry *e = &table->e[(h + i) % ENTRIES];

		if (e->hash == h) {
			place = e;
			goto found;
		}
		if (!place || better_place(e, place, now))
			place = e;
	}
	place->hash = h;
	place->window_end = window_end;
	place->count = 0;
found:
	if (delta > 0 && place->count > LLONG_MAX - delta)
		place->count = LLONG_MAX; /* saturates: over any limit */
	else
		place->count += delta;
	n = place->count;
	vg_shm_unlock(&table->lock);
	return n;
}
