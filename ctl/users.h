/*
 * users.h - vingestctl's user and API key commands.
 */
#ifndef VG_CTL_USERS_H
#define VG_CTL_USERS_H

struct vg_shards;

/*
 * Users and keys are on every shard of [db] shards, the same rows with the
 * same ids (any shard may authenticate a request); see users.c.
 */

/* `user add NAME`: creates a user on every shard, or on none. Returns 0 or
 * -1 (printed). */
int users_add(struct vg_shards *sh, const char *name);

/* `key create NAME`: makes a key for user NAME, stores only its hash and
 * prints the key alone on one line of stdout. The same row goes to every
 * shard, or to none. Returns 0 or -1 (printed). */
int users_key_create(struct vg_shards *sh, const char *name);

/* `user disable NAME` (disabled) / `user enable NAME`: sets or clears
 * users.disabled_at. A disabled user's keys are refused on the next request.
 * Repeating it is not an error. On every shard: one that fails is named,
 * the others are done, and it returns -1 (run it again later). Returns 0
 * or -1 (printed). */
int users_set_disabled(struct vg_shards *sh, const char *name, int disabled);

/* `user list`: id, name, created_at, disabled_at, active_keys (shard 0). */
int users_list(struct vg_shards *sh, int json);

/* `key list [USER]`: id, prefix, user, created_at, revoked_at, active, for
 * every key (or USER's), from shard 0. Never the key or its hash. user may
 * be NULL. */
int keys_list(struct vg_shards *sh, const char *user, int json);

/* `key revoke ID|PREFIX|KEY`: sets api_keys.revoked_at; the key is refused on
 * the next request. A prefix must name exactly one unrevoked key. Revoking a
 * revoked key is not an error. On every shard, as users_set_disabled(). */
int keys_revoke(struct vg_shards *sh, const char *what);

#endif
