/*
 * webhooks.h - vingestctl webhook: a user's endpoint and secret, the
 * deliveries, and replaying them.
 */
#ifndef VG_CTL_WEBHOOKS_H
#define VG_CTL_WEBHOOKS_H

struct vg_shards;

/*
 * `webhook set|show|rotate|delete|deliveries|replay ...` (argv after
 * "webhook"). set USER URL: the endpoint (a new one gets a secret, printed
 * alone on stdout; a changed URL keeps the secret). show USER: URL, masked
 * secret, times. rotate USER: a new secret, printed alone on stdout (the
 * old one still signs for webhooks.rotation_grace_seconds). delete USER.
 * deliveries [--state pending|delivered|dead]: v_webhook_deliveries of
 * every shard. replay EVENT_ID|--dead: pending again, due now, attempts
 * from 0 (the same event id). Endpoints are written on every shard.
 * Returns 0, -1 (printed) or 2 (usage).
 */
int webhooks_command(struct vg_shards *sh, int argc, char **argv, int json);

#endif
