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

#endif
