/*
 * vg_webhook.h - webhook events: the outbox write, the signature, the
 * endpoint URL and the addresses deliveries refuse.
 *
 * An event is one webhook_outbox row, inserted by the transaction of the
 * change it reports (upload commit, job outcome, delete) so that the event
 * and the change commit or roll back together. The insert is an
 * INSERT ... SELECT joined to webhook_endpoints: a user without an endpoint
 * costs one primary-key probe and writes nothing. The workers deliver the
 * rows (workers/hooks.c); the receiver checks
 *   Vingest-Signature: t=UNIX,v1=HEX
 * where HEX is the lower-case HMAC-SHA256 under the user's secret of
 * t + "." + body.
 */
#ifndef VG_WEBHOOK_H
#define VG_WEBHOOK_H

#include <stddef.h>

#include "vg_hash.h"

struct vg_db;
struct vg_shards;

/* Longest endpoint URL accepted. */
#define VG_WEBHOOK_URL_MAX 2048
/* "whsec_" + 64 hex digits + NUL. */
#define VG_WEBHOOK_SECRET_LEN 71

/*
 * The outbox insert without its WHERE: binds the event type first, then
 * what the WHERE binds. The event is written only for videos whose owner has
 * an endpoint (the join); its payload is the video row as the transaction
 * sees it (its own writes included). Callers append
 * "WHERE v.id = ? AND v.status = ?" or a set of ids.
 */
#define VG_WEBHOOK_INSERT_SELECT                                                                   \
	"INSERT INTO webhook_outbox (event_id, user_id, event_type, video_id, payload, "           \
	"next_attempt_at, created_at) "                                                            \
	"SELECT CONCAT('evt_', REPLACE(UUID(), '-', '')), v.user_id, ?, v.id, "                    \
	"JSON_OBJECT('id', v.id, 'status', v.status, 'size', v.size_bytes, 'sha256', v.sha256, "   \
	"'content_type', v.content_type, 'container', v.container, 'duration_ms', v.duration_ms, " \
	"'filename', v.filename, 'title', v.title, "                                               \
	"'created_at', DATE_FORMAT(v.created_at, '%Y-%m-%dT%H:%i:%s.%fZ')), "                      \
	"UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) "                                                      \
	"FROM videos v JOIN webhook_endpoints e ON e.user_id = v.user_id "

/*
 * Inside the caller's transaction: writes event type (e.g. "video.stored")
 * for video_id if its status is status and its owner has an endpoint.
 * Returns rows written (0 or 1), or -1 (the caller's transaction fails).
 */
long long vg_webhook_emit(struct vg_db *db, const char *video_id, const char *type,
			  const char *status);

/* HMAC-SHA256 under secret of t + "." + body, lower-case hex into out.
 * Returns 0, or -1 if the message cannot be signed. */
int vg_webhook_sign(const char *secret, long long t, const char *body, size_t len,
		    char out[VG_SHA256_HEX]);

/* A new secret ("whsec_" + 64 hex digits from getrandom) into out. 0 or -1. */
int vg_webhook_new_secret(char out[VG_WEBHOOK_SECRET_LEN]);

/*
 * Checks an endpoint URL: http:// or https://, at most VG_WEBHOOK_URL_MAX
 * bytes of printable ASCII without spaces, a host (name, IPv4, or [IPv6]),
 * an optional port 1-65535, no user:password@, no #fragment. 0 if fine,
 * -1 with the reason in why.
 */
int vg_webhook_url_check(const char *url, char *why, size_t whysz);

/* 1 if addr (textual IPv4 or IPv6) is loopback, private, link-local,
 * carrier-grade NAT, multicast, reserved or unspecified: no destination
 * for a webhook unless webhooks.allow_private. 0 for a public address. An
 * unparsable addr counts as private. */
int vg_webhook_addr_private(const char *addr);

/* A user's endpoint, as webhook_endpoints holds it (times as SQL text). */
struct vg_webhook_endpoint {
	long long user_id;
	char url[VG_WEBHOOK_URL_MAX + 1];
	char secret[VG_WEBHOOK_SECRET_LEN];
	char previous[VG_WEBHOOK_SECRET_LEN]; /* "" if none */
	char rotated_at[32];		      /* "" if never */
	char created_at[32];
	char updated_at[32];
};

/* Reads user_id's endpoint from db into e: 1 found, 0 none, -1 failed. */
int vg_webhook_endpoint_read(struct vg_db *db, long long user_id, struct vg_webhook_endpoint *e);

/*
 * Endpoints live on every shard (like users and api_keys), so each writer
 * writes each shard, the same row everywhere. These return how many shards
 * failed (0: all done); a failed shard is logged, and writing again (the
 * same command, the same request) repairs it, the write being idempotent.
 * With del set, e's user's row is deleted instead.
 */
unsigned vg_webhook_endpoint_put_all(struct vg_shards *sh, const struct vg_webhook_endpoint *e);
unsigned vg_webhook_endpoint_delete_all(struct vg_shards *sh, long long user_id);

/* A masked form of secret for listings ("whsec_1a2b..."), never the
 * secret itself. */
void vg_webhook_mask(const char *secret, char *out, size_t outsz);

#endif
