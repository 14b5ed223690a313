/*
 * vg_store_backend.h - what a store backend implements (vg_store.c calls it).
 *
 * Not for callers outside lib/vg_store*.c: they use vg_store.h, which does the
 * staging, the bookkeeping and the logging common to every backend.
 */
#ifndef VG_STORE_BACKEND_H
#define VG_STORE_BACKEND_H

#include "vg_store.h"

struct vg_store_backend {
	const char *name;
	int (*open)(struct vg_store *s);
	void (*close)(struct vg_store *s);
	/* staged: the staging file's path; fd: an open fd on it, or -1. The
	 * staged file stays until vg_store_settle() (after COMMIT): its name
	 * must be durable (vg_store_sync_staging) before the object exists. */
	enum vg_store_status (*publish)(struct vg_store *s, const char *staged, int fd,
					const char *key, uint64_t size, const char *sha256);
	/* NULL when the backend keeps nothing in the database */
	enum vg_store_status (*put_rows)(struct vg_store *s, struct vg_db *db, const char *staged,
					 const char *key);
	int (*local_fd)(struct vg_store *s, const char *key); /* NULL: never local */
	enum vg_store_status (*remove)(struct vg_store *s, const char *key);
	enum vg_store_status (*stat)(struct vg_store *s, const char *key, long long *size);
	enum vg_store_status (*read)(struct vg_store *s, const char *key, long long from,
				     long long to, vg_store_sink sink, void *arg);
	int (*list)(struct vg_store *s, int (*each)(void *arg, const char *key, long long size),
		    void *arg);
	int (*check)(struct vg_store *s); /* the part beyond staging */
};

extern const struct vg_store_backend vg_store_backend_fs;
extern const struct vg_store_backend vg_store_backend_s3;
extern const struct vg_store_backend vg_store_backend_db;

/* ENOSPC and EDQUOT are "full"; anything else an error. */
enum vg_store_status vg_store_io_status(int err);
/* fsyncs a directory; 0 or -1 with errno. */
int vg_store_fsync_dir(const char *path);
/* fsyncs staging/: the staged names (the uploads' marks) are durable. */
int vg_store_sync_staging(struct vg_store *s);

/* The s3 backend's presigned GET for key (vg_store_object_url). */
char *vg_store_s3_presign(const struct vg_config *cfg, const char *key);

#endif
