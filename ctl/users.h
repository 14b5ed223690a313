/*
 * users.h - vingestctl's user and API key commands.
 */
#ifndef VG_CTL_USERS_H
#define VG_CTL_USERS_H

struct vg_db;

/* `user add NAME`: creates a user. Returns 0 or -1 (printed). */
int users_add(struct vg_db *db, const char *name);

/* `key create NAME`: makes a key for user NAME, stores only its hash and
 * prints the key alone on one line of stdout. Returns 0 or -1 (printed). */
int users_key_create(struct vg_db *db, const char *name);

/* `user disable NAME` (disabled) / `user enable NAME`: sets or clears
 * users.disabled_at. A disabled user's keys are refused on the next request.
 * Repeating it is not an error. Returns 0 or -1 (printed). */
int users_set_disabled(struct vg_db *db, const char *name, int disabled);

/* `user list`: id, name, created_at, disabled_at, active_keys. */
int users_list(struct vg_db *db, int json);

/* `key list [USER]`: id, prefix, user, created_at, revoked_at, active, for
 * every key (or USER's). Never the key or its hash. user may be NULL. */
int keys_list(struct vg_db *db, const char *user, int json);

/* `key revoke ID|PREFIX|KEY`: sets api_keys.revoked_at; the key is refused on
 * the next request. A prefix must name exactly one unrevoked key. Revoking a
 * revoked key is not an error. Returns 0 or -1 (printed). */
int keys_revoke(struct vg_db *db, const char *what);

#endif
