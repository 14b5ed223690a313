/*
 * hooks.h - webhook deliveries from the outbox, inside each worker.
 *
 * Every worker delivers webhook events between its jobs: each loop turn it
 * claims due webhook_outbox rows (FOR UPDATE SKIP LOCKED, so workers never
 * take the same row), POSTs them through its own libcurl multi handle
 * without blocking the job loop, and writes each outcome fenced by the
 * claim's token: 2xx delivered; anything else again after back-off, dead
 * after webhooks.max_attempts. A claim moves the row's next_attempt_at past
 * the call's time-out, so the row of a worker that dies mid-delivery comes
 * due again by itself and is delivered again, with the same event id.
 */
#ifndef VG_WORKERS_HOOKS_H
#define VG_WORKERS_HOOKS_H

#include "vg_shards.h"

#include <stdint.h>

struct vg_config;
struct delivery;

struct hooks {
	const struct vg_config *cfg; /* borrowed */
	struct vg_shards *shards;    /* borrowed: the worker's connections */
	void *multi;		     /* CURLM */
	struct delivery *list;	     /* in flight */
	unsigned n;
	int64_t next_claim_ms[VG_SHARDS_MAX];
};

/* Sets h up for cfg and the worker's shards. 0, or -1 (libcurl failed). */
int hooks_init(struct hooks *h, const struct vg_config *cfg, struct vg_shards *shards);

/* One turn: progress the deliveries in flight, write the finished ones'
 * outcomes, and (claim != 0) claim due rows while there is room. Never
 * blocks on the network. */
void hooks_turn(struct hooks *h, int claim);

/* Deliveries in flight. */
unsigned hooks_in_flight(const struct hooks *h);

/* Gives the rows in flight back (due at once, the attempt not counted) and
 * frees h; safe on a zeroed h. */
void hooks_free(struct hooks *h);

#endif
