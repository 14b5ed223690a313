/*
 * vg_store.h - where video bytes live, and how they get there durably.
 *
 * Three backends behind one interface, chosen by store.backend:
 *   fs  files under store.fs_root (the default, one machine or a shared mount)
 *   s3  an S3-compatible object store (AWS S3, MinIO, Ceph RGW), via libcurl
 *   db  the bytes in MariaDB itself (object_chunks rows), for small installs
 * Callers cannot tell which one runs: every upload goes through the same
 * steps, and each backend does at each step what it needs.
 *
 * Bytes always arrive in a local staging file (store.fs_root/staging/<id>.part;
 * the media checks read it back). Then:
 *
 *   vg_store_stage_begin / _write   (multipart) or vg_store_staging_open (tus)
 *   vg_store_stage_publish          make the object durable outside the database:
 *   or vg_store_publish_staged        fs: fsync the file, link it to its key,
 *                                         fsync staging/ and the directory
 *                                     s3: fsync staging/, PUT it (multipart
 *                                         when large), with Content-MD5 so the
 *                                         store refuses bad bytes; retried
 *                                         with back-off
 *                                     db: nothing yet
 *   BEGIN; INSERT videos, jobs;
 *   vg_store_put_rows               db: INSERT the chunks, in that transaction
 *   COMMIT
 *   vg_store_settle                 drop the staging file
 *
 * The staging file is the upload's write-ahead mark: it exists, durably,
 * from before the object does until after COMMIT, and its name is the id the
 * object's key is derived from. If the commit fails, vg_store_remove() undoes
 * the publish and vg_store_remove_staged() drops the staging file; if the
 * process or the machine dies anywhere, the janitor's staging sweep finds the
 * file, asks the id's shard whether its video exists, and if not removes the
 * object too. No database write is needed to mark an upload in progress.
 * Without the fsyncs a crash could leave a linked but empty file behind a
 * committed row, or an object without its mark. Keys are derived from ids
 * only, never from anything a client sent.
 */
#ifndef VG_STORE_H
#define VG_STORE_H

#include "vg_hash.h"

#include <stddef.h>
#include <stdint.h>

struct vg_config;
struct vg_db;
struct vg_store_backend;

enum vg_store_status {
	VG_STORE_OK = 0,
	VG_STORE_ERR = -1,     /* I/O or protocol error (logged) */
	VG_STORE_FULL = -2,    /* ENOSPC or EDQUOT: the client gets 507 */
	VG_STORE_MISSING = -3, /* no such object (reads) */
};

struct vg_store {
	const struct vg_store_backend *be;
	const struct vg_config *cfg; /* borrowed */
	struct vg_db *db;	     /* borrowed; the db backend's connection */
	char *root;		     /* store.fs_root, owned: objects (fs) and staging/ */
	void *priv;		     /* the backend's state */
};

/* How many bytes a writer gathers before one write(2). The multipart parser
 * hands file data over in pieces of a few hundred bytes (it must stop at
 * every CR that could begin a boundary); writing each piece cost one system
 * call per ~300 bytes. One buffer per open writer, and a FastCGI child has
 * at most one open, so memory stays bounded whatever the upload's size. */
#define VG_STORE_WRITE_BUF (256 * 1024)

struct vg_store_writer {
	int fd;		      /* read-write (media checks read it back); -1 when closed.
			       * Holds only what has been flushed: call
			       * vg_store_stage_flush() before reading it. */
	char *staging_path;   /* owned */
	struct vg_sha256 sha; /* running digest of everything flushed */
	uint64_t size;	      /* bytes accepted: flushed plus buffered */
	char *buf;	      /* owned, VG_STORE_WRITE_BUF bytes; NULL until the first write */
	size_t buffered;      /* bytes in buf not yet written */
	char sha256[VG_SHA256_HEX]; /* set by publish */
};

#define VG_STORE_KEY_MAX 64

/* Opens the backend cfg->store.backend names, creating fs_root and staging/.
 * db (borrowed, may be NULL for fs and s3) is the connection the db backend
 * uses outside the upload transaction (reads, removals, checks). 0 or -1
 * (logged). */
int vg_store_open(struct vg_store *s, const struct vg_config *cfg, struct vg_db *db);
void vg_store_close(struct vg_store *s);

/* "fs", "s3" or "db". */
const char *vg_store_backend_name(const struct vg_store *s);

/* The object key of a video id: "videos/XY/ZW/<id>" where XY and ZW are the
 * id's last random characters (1024 x 1024 directories or prefixes). */
void vg_store_key(const char *id, char out[VG_STORE_KEY_MAX]);

/* Absolute path of id's staging file; the caller frees it. */
char *vg_store_staging_path(const struct vg_store *s, const char *id);

/* Starts a staged object for id. Returns VG_STORE_OK or an error (logged). */
enum vg_store_status vg_store_stage_begin(struct vg_store *s, const char *id,
					  struct vg_store_writer *w);
/* Appends len bytes. They may only be buffered: a failure to write them
 * (VG_STORE_FULL on ENOSPC, as for any write) can surface here or at the
 * next flush. */
enum vg_store_status vg_store_stage_write(struct vg_store_writer *w, const void *buf, size_t len);
/* Writes whatever is buffered to w->fd (all of it, retrying short writes), so
 * that the file holds all w->size bytes. Call it before anything reads the
 * staging file back; publish does it itself. */
enum vg_store_status vg_store_stage_flush(struct vg_store_writer *w);
/* Publishes the staged bytes under key (see the top of this file) and fills
 * w->sha256. On failure the staging file is removed. The writer is finished
 * either way (its fd closed, its path freed). */
enum vg_store_status vg_store_stage_publish(struct vg_store *s, struct vg_store_writer *w,
					    const char *id, const char *key);
/* Drops an unpublished staged object; safe on a finished or zeroed writer. */
void vg_store_stage_abort(struct vg_store_writer *w);

/*
 * Resumable (tus) uploads write their staging file across many requests:
 * vg_store_staging_open() opens it read-write (create: make it, O_EXCL, and
 * make its name durable) and returns the fd or -1 with errno (ENOENT: no
 * such upload). The caller pwrite()s and fsync()s each piece itself, then
 * vg_store_publish_staged() publishes the finished file (size bytes, hex
 * SHA-256 sha256) exactly as vg_store_stage_publish() does, except that a
 * failure leaves the staging file for the client's retry.
 * vg_store_remove_staged() drops a staging file; missing is fine.
 */
int vg_store_staging_open(struct vg_store *s, const char *id, int create);
enum vg_store_status vg_store_publish_staged(struct vg_store *s, const char *id, const char *key,
					     uint64_t size, const char *sha256);
void vg_store_remove_staged(struct vg_store *s, const char *id);

/* Calls each(arg, name, age_seconds) for every file in staging/ (name
 * without ".part": an upload id, or another leftover); stops when each
 * returns -1. 0, or -1 if staging/ cannot be read. */
int vg_store_staging_list(struct vg_store *s,
			  int (*each)(void *arg, const char *name, long long age_seconds),
			  void *arg);
/* Removes staging/<name>[.part] as listed above; missing is fine. */
void vg_store_staging_remove(struct vg_store *s, const char *name);

/* Inside the caller's open transaction on db, after the video row: writes
 * what the backend keeps in the database (db: the chunks of id's staging
 * file; fs, s3: nothing). Fails with the transaction's error. */
enum vg_store_status vg_store_put_rows(struct vg_store *s, struct vg_db *db, const char *id,
				       const char *key);
/* After COMMIT: drops the staging file (no fsync: if it comes back after a
 * crash, the sweep finds its video and removes it alone). */
void vg_store_settle(struct vg_store *s, const char *id);

/* A read-only fd on a published object if the backend keeps it in a local
 * file (fs), else -1 (the bytes are elsewhere; the staging file stays until
 * COMMIT, so the caller has that). */
int vg_store_local_fd(struct vg_store *s, const char *key);

/* Removes a published object and makes the removal durable. Missing is fine. */
enum vg_store_status vg_store_remove(struct vg_store *s, const char *key);

/* The size of a published object: 0 and *size, or VG_STORE_MISSING / _ERR. */
enum vg_store_status vg_store_stat(struct vg_store *s, const char *key, long long *size);

/* Reads bytes [from, to] of a published object into sink, in pieces of at most
 * a chunk (never the whole object in memory). sink returns 0, or -1 to stop
 * (the reader went away: the read then returns VG_STORE_ERR without logging). */
typedef int (*vg_store_sink)(void *arg, const void *buf, size_t n);
enum vg_store_status vg_store_read(struct vg_store *s, const char *key, long long from,
				   long long to, vg_store_sink sink, void *arg);

/* Calls each(arg, key, size) for every published object (for vingestctl and
 * the tests); stops early when each returns -1. 0, or -1 on error. */
int vg_store_list(struct vg_store *s, int (*each)(void *arg, const char *key, long long size),
		  void *arg);

/* Copies a local file to key, as a publish would (vingestctl store put). */
enum vg_store_status vg_store_put_file(struct vg_store *s, const char *path, const char *key);

/* Bytes free for staging (and for fs, objects) on store.fs_root's filesystem, or -1. */
long long vg_store_free_bytes(const struct vg_store *s);

/* 0 if the store works: staging writable, and the backend reachable (s3: the
 * bucket answers; db: the chunk table is there). -1 otherwise (logged). */
int vg_store_check(struct vg_store *s);

/* The URL the processing service fetches key from: for s3 a SigV4 presigned
 * GET straight from the store; otherwise vingest-fcgi's own signed URL
 * (vg_sign.h). NULL if none can be made (logged once by the caller). Needs
 * only the configuration. The caller frees it. */
char *vg_store_object_url(const struct vg_config *cfg, const char *key);

#endif
