/*
 * vg_store_fs.c - the local-filesystem object store (see vg_store.h).
 *
 * Layout under store.fs_root:
 *   staging/<id>.part      bytes being received; never read by anyone else
 *   videos/XY/ZW/<id>      published objects, XY/ZW from the id's random tail
 * staging/ and videos/ are on the same filesystem so rename(2) is atomic.
 */
#include "vg_store.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static enum vg_store_status io_status(int err)
{
	return (err == ENOSPC || err == EDQUOT) ? VG_STORE_FULL : VG_STORE_ERR;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* mkdir -p for the directories of a key below root; a directory we create is
 * made durable by fsyncing its parent, or a crash could lose the new entry. */
static int make_dirs(const char *root, const char *key)
{
	char path[4096];
	size_t rootlen = strlen(root);
	const char *p = key;

	if (rootlen + 1 + strlen(key) >= sizeof(path))
		return -1;
	for (;;) {
		const char *slash = strchr(p, '/');

		if (!slash)
			return 0;
		snprintf(path, sizeof(path), "%s/%.*s", root, (int)(slash - key), key);
		if (mkdir(path, 0750) == 0) {
			char *parent = vg_strdup(path);
			char *cut = strrchr(parent, '/');

			*cut = '\0';
			if (fsync_dir(parent) < 0) {
				free(parent);
				return -1;
			}
			free(parent);
		} else if (errno != EEXIST) {
			return -1;
		}
		p = slash + 1;
	}
}

int vg_store_open(struct vg_store *s, const struct vg_config *cfg)
{
	char *staging;

	memset(s, 0, sizeof(*s));
	s->root = vg_strdup(cfg->store.fs_root);
	if (mkdir(s->root, 0750) < 0 && errno != EEXIST) {
		vg_error("msg=\"cannot create store root\" path=\"%s\" error=\"%s\"", s->root,
			 strerror(errno));
		goto fail;
	}
	staging = vg_asprintf("%s/staging", s->root);
	if (mkdir(staging, 0750) < 0 && errno != EEXIST) {
		vg_error("msg=\"cannot create staging directory\" path=\"%s\" error=\"%s\"", staging,
			 strerror(errno));
		free(staging);
		goto fail;
	}
	free(staging);
	return 0;
fail:
	vg_store_close(s);
	return -1;
}

void vg_store_close(struct vg_store *s)
{
	if (!s)
		return;
	free(s->root);
	s->root = NULL;
}

void vg_store_key(const char *id, char out[VG_STORE_KEY_MAX])
{
	size_t n = strlen(id);

	snprintf(out, VG_STORE_KEY_MAX, "videos/%.2s/%.2s/%s", id + n - 2, id + n - 4, id);
}

char *vg_store_path(const struct vg_store *s, const char *key)
{
	return vg_asprintf("%s/%s", s->root, key);
}

char *vg_store_staging_path(const struct vg_store *s, const char *id)
{
	return vg_asprintf("%s/staging/%s.part", s->root, id);
}

enum vg_store_status vg_store_stage_begin(struct vg_store *s, const char *id,
					  struct vg_store_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->staging_path = vg_store_staging_path(s, id);
	w->fd = open(w->staging_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (w->fd < 0) {
		int err = errno;

		vg_error("msg=\"cannot create staging file\" path=\"%s\" error=\"%s\"",
			 w->staging_path, strerror(err));
		free(w->staging_path);
		w->staging_path = NULL;
		return io_status(err);
	}
	vg_sha256_init(&w->sha);
	return VG_STORE_OK;
}

enum vg_store_status vg_store_stage_write(struct vg_store_writer *w, const void *buf, size_t len)
{
	const char *p = buf;
	size_t left = len;

	while (left > 0) {
		ssize_t n = write(w->fd, p, left);

		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			vg_error("msg=\"staging write failed\" path=\"%s\" error=\"%s\"",
				 w->staging_path, strerror(err));
			return io_status(err);
		}
		p += n;
		left -= (size_t)n;
	}
	vg_sha256_update(&w->sha, buf, len);
	w->size += len;
	return VG_STORE_OK;
}

/* rename + directory fsyncs: publishes an fsynced staged file at key. */
static enum vg_store_status publish(struct vg_store *s, const char *staged, const char *key)
{
	char *final = vg_store_path(s, key);
	char *dir = NULL;
	enum vg_store_status st = VG_STORE_ERR;
	int err;

	if (make_dirs(s->root, key) < 0) {
		err = errno;
		vg_error("msg=\"cannot create object directory\" key=\"%s\" error=\"%s\"", key,
			 strerror(err));
		st = io_status(err);
		goto out;
	}
	/* The rename publishes the object atomically ... */
	if (rename(staged, final) < 0) {
		err = errno;
		vg_error("msg=\"rename into store failed\" from=\"%s\" to=\"%s\" error=\"%s\"",
			 staged, final, strerror(err));
		st = io_status(err);
		goto out;
	}
	/* ... and fsyncing both directories makes the rename itself durable. */
	dir = vg_strdup(final);
	*strrchr(dir, '/') = '\0';
	if (fsync_dir(dir) < 0) {
		err = errno;
		vg_error("msg=\"fsync of object directory failed\" path=\"%s\" error=\"%s\"", dir,
			 strerror(err));
		/* put it back where the caller's clean-up (or the collector) looks */
		if (rename(final, staged) < 0)
			unlink(final);
		st = io_status(err);
		goto out;
	}
	free(dir);
	dir = vg_asprintf("%s/staging", s->root);
	fsync_dir(dir); /* only drops the old name: best effort */
	st = VG_STORE_OK;
out:
	free(dir);
	free(final);
	return st;
}

enum vg_store_status vg_store_stage_publish(struct vg_store *s, struct vg_store_writer *w,
					    const char *key)
{
	enum vg_store_status st;
	int err;

	/* The bytes reach the disk before any name points at them. */
	if (fsync(w->fd) < 0) {
		err = errno;
		vg_error("msg=\"fsync of staged object failed\" path=\"%s\" error=\"%s\"",
			 w->staging_path, strerror(err));
		st = io_status(err);
		goto fail;
	}
	if (close(w->fd) < 0) {
		err = errno;
		w->fd = -1;
		vg_error("msg=\"close of staged object failed\" path=\"%s\" error=\"%s\"",
			 w->staging_path, strerror(err));
		st = io_status(err);
		goto fail;
	}
	w->fd = -1;
	st = publish(s, w->staging_path, key);
	if (st != VG_STORE_OK)
		goto fail;
	vg_sha256_final_hex(&w->sha, w->sha256);
	free(w->staging_path);
	w->staging_path = NULL;
	return VG_STORE_OK;
fail:
	vg_store_stage_abort(w);
	return st;
}

int vg_store_staging_open(struct vg_store *s, const char *id, int create)
{
	char *path = vg_store_staging_path(s, id);
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0640);
	int err = errno;

	if (fd < 0 && !(err == ENOENT && !create))
		vg_error("msg=\"cannot open staging file\" path=\"%s\" error=\"%s\"", path,
			 strerror(err));
	if (fd >= 0 && create) {
		/* A new name in staging/ must survive a crash like the bytes will. */
		char *dir = vg_asprintf("%s/staging", s->root);

		fsync_dir(dir);
		free(dir);
	}
	free(path);
	errno = err;
	return fd;
}

enum vg_store_status vg_store_publish_staged(struct vg_store *s, const char *id, const char *key)
{
	char *staged = vg_store_staging_path(s, id);
	enum vg_store_status st = publish(s, staged, key);

	free(staged);
	return st;
}

void vg_store_remove_staged(struct vg_store *s, const char *id)
{
	char *staged = vg_store_staging_path(s, id);

	if (unlink(staged) < 0 && errno != ENOENT)
		vg_warn("msg=\"cannot remove staged object\" path=\"%s\" error=\"%s\"", staged,
			strerror(errno));
	free(staged);
}

void vg_store_stage_abort(struct vg_store_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	if (w->staging_path) {
		if (unlink(w->staging_path) < 0 && errno != ENOENT)
			vg_warn("msg=\"cannot remove staged object\" path=\"%s\" error=\"%s\"",
				w->staging_path, strerror(errno));
		free(w->staging_path);
		w->staging_path = NULL;
	}
	vg_sha256_free(&w->sha);
}

enum vg_store_status vg_store_remove(struct vg_store *s, const char *key)
{
	char *path = vg_store_path(s, key);
	enum vg_store_status st = VG_STORE_OK;

	if (unlink(path) < 0) {
		if (errno != ENOENT) {
			vg_error("msg=\"cannot remove object\" path=\"%s\" error=\"%s\"", path,
				 strerror(errno));
			st = VG_STORE_ERR;
		}
	} else {
		*strrchr(path, '/') = '\0';
		fsync_dir(path);
	}
	free(path);
	return st;
}

long long vg_store_free_bytes(const struct vg_store *s)
{
	struct statvfs sv;

	if (statvfs(s->root, &sv) < 0)
		return -1;
	return (long long)sv.f_bavail * (long long)sv.f_frsize;
}

int vg_store_check(struct vg_store *s)
{
	char *probe = vg_asprintf("%s/staging/.probe-%ld", s->root, (long)getpid());
	int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int rc = -1;

	if (fd >= 0) {
		if (write(fd, "ok", 2) == 2 && fsync(fd) == 0)
			rc = 0;
		close(fd);
		unlink(probe);
	}
	free(probe);
	return rc;
}
