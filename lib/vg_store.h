/*
 * vg_store.h - where video bytes live, and how they get there durably.
 *
 * An object is written in two steps so that a crash at any point leaves
 * either nothing or something the orphan collector can find by id:
 *
 *   vg_store_stage_begin   open staging/<id>.part (same filesystem as the objects)
 *   vg_store_stage_write   append, hashing SHA-256 as the bytes pass
 *   vg_store_stage_publish fsync the file, rename it to its key, fsync the
 *                          directory: after this the object survives power loss
 *   (the caller commits the database rows, then forgets the writer)
 *   vg_store_remove        undo a publish when the commit failed
 *
 * Without the file fsync a crash could leave a renamed but empty file behind a
 * committed row; without the directory fsync the rename itself could vanish.
 * Keys are derived from ids only, never from anything a client sent.
 */
#ifndef VG_STORE_H
#define VG_STORE_H

#include "vg_hash.h"

#include <stddef.h>
#include <stdint.h>

struct vg_config;

enum vg_store_status {
	VG_STORE_OK = 0,
	VG_STORE_ERR = -1,  /* I/O error (logged) */
	VG_STORE_FULL = -2, /* ENOSPC or EDQUOT: the client gets 507 */
};

struct vg_store {
	char *root; /* store.fs_root, owned */
};

struct vg_store_writer {
	int fd;                /* read-write (media checks read it back); -1 when closed */
	char *staging_path;    /* owned */
	struct vg_sha256 sha;  /* running digest of everything written */
	uint64_t size;         /* bytes written */
	char sha256[VG_SHA256_HEX]; /* set by publish */
};

#define VG_STORE_KEY_MAX 64

/* Opens the fs store under cfg->store.fs_root, creating root and staging/. */
int vg_store_open(struct vg_store *s, const struct vg_config *cfg);
void vg_store_close(struct vg_store *s);

/* The object key of a video id: "videos/XY/ZW/<id>" where XY and ZW are the
 * id's last random characters (1024 x 1024 directories). */
void vg_store_key(const char *id, char out[VG_STORE_KEY_MAX]);

/* Absolute path of a key; the caller frees it. */
char *vg_store_path(const struct vg_store *s, const char *key);

/* Absolute path of id's staging file; the caller frees it. */
char *vg_store_staging_path(const struct vg_store *s, const char *id);

/* Starts a staged object for id. Returns VG_STORE_OK or an error (logged). */
enum vg_store_status vg_store_stage_begin(struct vg_store *s, const char *id,
					  struct vg_store_writer *w);
/* Appends len bytes (all of them, retrying short writes). */
enum vg_store_status vg_store_stage_write(struct vg_store_writer *w, const void *buf, size_t len);
/* fsync, rename to key, fsync the directory; fills w->sha256. On failure the
 * staged file is removed. The writer is finished either way. */
enum vg_store_status vg_store_stage_publish(struct vg_store *s, struct vg_store_writer *w,
					    const char *key);
/* Drops an unpublished staged object; safe on a finished or zeroed writer. */
void vg_store_stage_abort(struct vg_store_writer *w);

/*
 * Resumable (tus) uploads write their staging file across many requests:
 * vg_store_staging_open() opens it read-write (create: make it, O_EXCL, and
 * make its name durable) and returns the fd or -1 with errno (ENOENT: no
 * such upload). The caller pwrite()s and fsync()s each piece itself, then
 * vg_store_publish_staged() renames the finished file to key and fsyncs the
 * directories, exactly as vg_store_stage_publish() does.
 * vg_store_remove_staged() drops an unfinished one.
 */
int vg_store_staging_open(struct vg_store *s, const char *id, int create);
enum vg_store_status vg_store_publish_staged(struct vg_store *s, const char *id, const char *key);
void vg_store_remove_staged(struct vg_store *s, const char *id);

/* Removes a published object and makes the removal durable. Missing is fine. */
enum vg_store_status vg_store_remove(struct vg_store *s, const char *key);

/* Bytes free for vingest on the store's filesystem, or -1. */
long long vg_store_free_bytes(const struct vg_store *s);

/* Creates, fsyncs and removes a probe file: 0 if the store is writable. */
int vg_store_check(struct vg_store *s);

#endif
