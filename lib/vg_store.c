/*
 * vg_store.c - the store interface (see vg_store.h): staging, which is the
 * same for every backend, and the calls into the backend store.backend names.
 *
 * Staging lives under store.fs_root/staging/ whatever the backend: the bytes
 * must be on a local disk while the media checks read them and, for s3 and
 * db, until they have been copied where they belong.
 */
#include "vg_store.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_log.h"
#include "vg_sign.h"
#include "vg_store_backend.h"
#include "vg_failpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

enum vg_store_status vg_store_io_status(int err)
{
	return (err == ENOSPC || err == EDQUOT) ? VG_STORE_FULL : VG_STORE_ERR;
}

int vg_store_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc, err;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

static const struct vg_store_backend *backend_named(const char *name)
{
	if (strcmp(name, "fs") == 0)
		return &vg_store_backend_fs;
	if (strcmp(name, "s3") == 0)
		return &vg_store_backend_s3;
	if (strcmp(name, "db") == 0)
		return &vg_store_backend_db;
	return NULL;
}

int vg_store_open(struct vg_store *s, const struct vg_config *cfg, struct vg_db *db)
{
	char *staging;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->db = db;
	s->be = backend_named(cfg->store.backend);
	if (!s->be) {
		vg_error("msg=\"unknown store backend\" backend=\"%s\"", cfg->store.backend);
		return -1;
	}
	s->root = vg_strdup(cfg->store.fs_root);
	if (mkdir(s->root, 0750) < 0 && errno != EEXIST) {
		vg_error("msg=\"cannot create store root\" path=\"%s\" error=\"%s\"", s->root,
			 strerror(errno));
		goto fail;
	}
	staging = vg_asprintf("%s/staging", s->root);
	if (mkdir(staging, 0750) < 0 && errno != EEXIST) {
		vg_error("msg=\"cannot create staging directory\" path=\"%s\" error=\"%s\"",
			 staging, strerror(errno));
		free(staging);
		goto fail;
	}
	free(staging);
	if (s->be->open && s->be->open(s) < 0)
		goto fail;
	return 0;
fail:
	vg_store_close(s);
	return -1;
}

void vg_store_close(struct vg_store *s)
{
	if (!s)
		return;
	if (s->be && s->be->close)
		s->be->close(s);
	free(s->root);
	s->root = NULL;
	s->be = NULL;
}

const char *vg_store_backend_name(const struct vg_store *s)
{
	return s->be ? s->be->name : "none";
}

void vg_store_key(const char *id, char out[VG_STORE_KEY_MAX])
{
	size_t n = strlen(id);

	snprintf(out, VG_STORE_KEY_MAX, "videos/%.2s/%.2s/%s", id + n - 2, id + n - 4, id);
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
		return vg_store_io_status(err);
	}
	vg_sha256_init(&w->sha);
	return VG_STORE_OK;
}

/* Writes len bytes at the file's end, all of them, and hashes them: the
 * digest then covers exactly what reached the file, in order. */
static enum vg_store_status write_all(struct vg_store_writer *w, const char *p, size_t len)
{
	size_t left = len;

	vg_sha256_update(&w->sha, p, len);
	while (left > 0) {
		ssize_t n = VG_FAILPOINT("store.stage_write") < 0 ? -1 : write(w->fd, p, left);

		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			vg_error("msg=\"staging write failed\" path=\"%s\" error=\"%s\"",
				 w->staging_path, strerror(err));
			return vg_store_io_status(err);
		}
		p += n;
		left -= (size_t)n;
	}
	return VG_STORE_OK;
}

enum vg_store_status vg_store_stage_flush(struct vg_store_writer *w)
{
	enum vg_store_status st;

	if (w->buffered == 0)
		return VG_STORE_OK;
	st = write_all(w, w->buf, w->buffered);
	w->buffered = 0;
	return st;
}

enum vg_store_status vg_store_stage_write(struct vg_store_writer *w, const void *buf, size_t len)
{
	const char *p = buf;
	enum vg_store_status st;

	w->size += len;
	/* A piece at least as large as the buffer goes straight to the file
	 * (after what is buffered, which comes first). */
	if (len >= VG_STORE_WRITE_BUF) {
		st = vg_store_stage_flush(w);
		return st != VG_STORE_OK ? st : write_all(w, p, len);
	}
	if (!w->buf)
		w->buf = vg_malloc(VG_STORE_WRITE_BUF);
	while (len > 0) {
		size_t room = VG_STORE_WRITE_BUF - w->buffered;
		size_t n = len < room ? len : room;

		memcpy(w->buf + w->buffered, p, n);
		w->buffered += n;
		p += n;
		len -= n;
		if (w->buffered < VG_STORE_WRITE_BUF)
			continue;
		st = vg_store_stage_flush(w);
		if (st != VG_STORE_OK)
			return st;
	}
	return VG_STORE_OK;
}

/* Frees the writer's buffer; what it held is written or dropped by then. */
static void drop_buffer(struct vg_store_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->buffered = 0;
}

enum vg_store_status vg_store_stage_publish(struct vg_store *s, struct vg_store_writer *w,
					    const char *id, const char *key)
{
	enum vg_store_status st;

	(void)id;
	/* Nothing may read the file (fsync, PUT, chunk rows) before it is whole. */
	st = vg_store_stage_flush(w);
	drop_buffer(w);
	if (st != VG_STORE_OK) {
		vg_store_stage_abort(w);
		return st;
	}
	vg_sha256_final_hex(&w->sha, w->sha256);
	st = s->be->publish(s, w->staging_path, w->fd, key, w->size, w->sha256);
	if (w->fd >= 0 && close(w->fd) < 0 && st == VG_STORE_OK) {
		int err = errno;

		vg_error("msg=\"close of staged object failed\" path=\"%s\" error=\"%s\"",
			 w->staging_path, strerror(err));
		w->fd = -1;
		vg_store_remove(s, key);
		st = vg_store_io_status(err);
	}
	w->fd = -1;
	if (st != VG_STORE_OK) {
		vg_store_stage_abort(w);
		return st;
	}
	/* The staged file stays, the upload's mark, until vg_store_settle(). */
	free(w->staging_path);
	w->staging_path = NULL;
	return VG_STORE_OK;
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
	drop_buffer(w);
	vg_sha256_free(&w->sha);
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

		vg_store_fsync_dir(dir);
		free(dir);
	}
	free(path);
	errno = err;
	return fd;
}

enum vg_store_status vg_store_publish_staged(struct vg_store *s, const char *id, const char *key,
					     uint64_t size, const char *sha256)
{
	char *staged = vg_store_staging_path(s, id);
	enum vg_store_status st = s->be->publish(s, staged, -1, key, size, sha256);

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

int vg_store_staging_list(struct vg_store *s,
			  int (*each)(void *arg, const char *name, long long age_seconds),
			  void *arg)
{
	char *dir = vg_asprintf("%s/staging", s->root);
	DIR *d = opendir(dir);
	struct dirent *e;
	time_t now = time(NULL);

	if (!d) {
		vg_error("msg=\"cannot read the staging directory\" path=\"%s\" error=\"%s\"", dir,
			 strerror(errno));
		free(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *path, name[256];
		struct stat st;
		size_t n = strlen(e->d_name);

		if (e->d_name[0] == '.' || n >= sizeof(name))
			continue;
		path = vg_asprintf("%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			memcpy(name, e->d_name, n + 1);
			if (n > 5 && strcmp(name + n - 5, ".part") == 0)
				name[n - 5] = '\0';
			if (each(arg, name, (long long)(now - st.st_mtime)) < 0) {
				free(path);
				break;
			}
		}
		free(path);
	}
	closedir(d);
	free(dir);
	return 0;
}

void vg_store_staging_remove(struct vg_store *s, const char *name)
{
	char *a = vg_asprintf("%s/staging/%s.part", s->root, name);
	char *b = vg_asprintf("%s/staging/%s", s->root, name);

	if (strchr(name, '/') == NULL) {
		unlink(a);
		unlink(b);
	}
	free(a);
	free(b);
}

enum vg_store_status vg_store_put_rows(struct vg_store *s, struct vg_db *db, const char *id,
				       const char *key)
{
	char *staged;
	enum vg_store_status st;

	if (!s->be->put_rows)
		return VG_STORE_OK;
	staged = vg_store_staging_path(s, id);
	st = s->be->put_rows(s, db, staged, key);
	free(staged);
	return st;
}

void vg_store_settle(struct vg_store *s, const char *id)
{
	/* no fsync: a name that comes back after a crash is swept (committed) */
	vg_store_remove_staged(s, id);
}

int vg_store_sync_staging(struct vg_store *s)
{
	char *dir = vg_asprintf("%s/staging", s->root);
	int rc = vg_store_fsync_dir(dir);

	free(dir);
	return rc;
}

int vg_store_local_fd(struct vg_store *s, const char *key)
{
	return s->be->local_fd ? s->be->local_fd(s, key) : -1;
}

enum vg_store_status vg_store_remove(struct vg_store *s, const char *key)
{
	return s->be->remove(s, key);
}

enum vg_store_status vg_store_stat(struct vg_store *s, const char *key, long long *size)
{
	return s->be->stat(s, key, size);
}

enum vg_store_status vg_store_read(struct vg_store *s, const char *key, long long from,
				   long long to, vg_store_sink sink, void *arg)
{
	if (from < 0 || to < from)
		return VG_STORE_OK;
	return s->be->read(s, key, from, to, sink, arg);
}

int vg_store_list(struct vg_store *s, int (*each)(void *arg, const char *key, long long size),
		  void *arg)
{
	return s->be->list(s, each, arg);
}

enum vg_store_status vg_store_put_file(struct vg_store *s, const char *path, const char *key)
{
	const char *base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
	struct vg_store_writer w;
	char id[VG_STORE_KEY_MAX + 32];
	enum vg_store_status st;
	char buf[65536];
	ssize_t n;
	int in = open(path, O_RDONLY | O_CLOEXEC);

	if (in < 0) {
		vg_error("msg=\"cannot open file to store\" path=\"%s\" error=\"%s\"", path,
			 strerror(errno));
		return VG_STORE_ERR;
	}
	/* A staging name of its own: an upload of this id may be staged now. */
	snprintf(id, sizeof(id), "%s.put%ld", base, (long)getpid());
	st = vg_store_stage_begin(s, id, &w);
	while (st == VG_STORE_OK && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			st = VG_STORE_ERR;
			break;
		}
		st = vg_store_stage_write(&w, buf, (size_t)n);
	}
	close(in);
	if (st != VG_STORE_OK) {
		vg_store_stage_abort(&w);
		return st;
	}
	st = vg_store_stage_publish(s, &w, id, key);
	if (st == VG_STORE_OK && s->be->put_rows) {
		/* Replacing an object: its old rows go in the same transaction,
		 * or the new chunks would collide with them (the key's primary key). */
		if (!s->db || vg_db_begin(s->db) < 0)
			st = VG_STORE_ERR;
		else if ((st = s->be->remove(s, key)) != VG_STORE_OK ||
			 (st = vg_store_put_rows(s, s->db, id, key)) != VG_STORE_OK ||
			 vg_db_commit(s->db) < 0) {
			vg_db_rollback(s->db);
			st = VG_STORE_ERR;
		}
	}
	vg_store_remove_staged(s, id);
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
	if (rc == 0 && s->be->check)
		rc = s->be->check(s);
	return rc;
}

char *vg_store_object_url(const struct vg_config *cfg, const char *key)
{
	if (strcmp(cfg->store.backend, "s3") == 0)
		return vg_store_s3_presign(cfg, key);
	return vg_sign_object_url(cfg, key);
}
