/*
 * vg_store_fs.c - the local-filesystem object store (see vg_store.h).
 *
 * Layout under store.fs_root:
 *   staging/<id>.part      bytes being received; never read by anyone else
 *   videos/XY/ZW/<id>      published objects, XY/ZW from the id's random tail
 * staging/ and videos/ are on the same filesystem: publishing is link(2), and
 * the staged name, kept until COMMIT, marks the upload (see fs_publish).
 * (vg_store.c does the staging; this file publishes, reads and removes.)
 */
#include "vg_store.h"
#include "vg_store_backend.h"
#include "vg_alloc.h"
#include "vg_config.h"
#include "vg_log.h"
#include "vg_failpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

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
			if (vg_store_fsync_dir(parent) < 0) {
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

static char *object_path(const struct vg_store *s, const char *key)
{
	return vg_asprintf("%s/%s", s->root, key);
}

/* Gives the staged file its object name too (a hard link). EEXIST is fine
 * when the name is the staged file already: an earlier try linked it and then
 * failed to commit, and this is that upload's retry. */
static int link_object(const char *staged, const char *final)
{
	struct stat a, b;

	if (link(staged, final) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(staged, &a) == 0 && stat(final, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return 0;
	/* a stale object under an id no video has: replace it */
	if (unlink(final) < 0 && errno != ENOENT)
		return -1;
	return link(staged, final);
}

/*
 * Links the object name to the staged file, then fsyncs the file, staging/
 * and the object's directory: bytes and both names are durable before the
 * caller commits.
 *
 * The staged name stays until after COMMIT: it is the upload's write-ahead
 * mark (vg_store.h). A crash between here and COMMIT leaves staging/<id>.part
 * beside an object no video owns, and the janitor's staging sweep, finding no
 * video for the id, removes both; so the object may be named before its
 * bytes are durable (nothing points at it until COMMIT), and the order costs
 * one journal commit instead of two: on a journalling filesystem (ext4, XFS)
 * the file's fsync commits the journal with the link and the staging entry
 * in it, and the directory fsyncs find nothing left to do. Wherever they are
 * not free, staging/ goes first, so the object's name is never durable
 * without its mark.
 */
static enum vg_store_status fs_publish(struct vg_store *s, const char *staged, int fd,
				       const char *key, uint64_t size, const char *sha256)
{
	char *final = object_path(s, key);
	char *dir = NULL;
	enum vg_store_status st = VG_STORE_ERR;
	int err, own = -1, linked = 0;

	(void)size;
	(void)sha256;
	if (fd < 0)
		fd = own = open(staged, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		vg_error("msg=\"cannot open the staged object\" path=\"%s\" error=\"%s\"", staged,
			 strerror(err));
		st = vg_store_io_status(err);
		goto out;
	}
	if (make_dirs(s->root, key) < 0) {
		err = errno;
		vg_error("msg=\"cannot create object directory\" key=\"%s\" error=\"%s\"", key,
			 strerror(err));
		st = vg_store_io_status(err);
		goto out;
	}
	/* (the failpoint keeps the name it had when this step was a rename) */
	if (VG_FAILPOINT("store.rename") < 0 || link_object(staged, final) < 0) {
		err = errno;
		vg_error("msg=\"link into store failed\" from=\"%s\" to=\"%s\" error=\"%s\"",
			 staged, final, strerror(err));
		st = vg_store_io_status(err);
		goto out;
	}
	linked = 1;
	if (VG_FAILPOINT("store.fsync") < 0 || fsync(fd) < 0) {
		err = errno;
		vg_error("msg=\"fsync of staged object failed\" path=\"%s\" error=\"%s\"", staged,
			 strerror(err));
		st = vg_store_io_status(err);
		goto out;
	}
	dir = vg_strdup(final);
	*strrchr(dir, '/') = '\0';
	if (VG_FAILPOINT("store.dir_fsync") < 0 || vg_store_sync_staging(s) < 0 ||
	    vg_store_fsync_dir(dir) < 0) {
		err = errno;
		vg_error("msg=\"fsync of object directory failed\" path=\"%s\" error=\"%s\"", dir,
			 strerror(err));
		st = vg_store_io_status(err);
		goto out;
	}
	st = VG_STORE_OK;
out:
	if (st != VG_STORE_OK && linked)
		unlink(final); /* the staged name stays for the caller's clean-up */
	if (own >= 0)
		close(own);
	free(dir);
	free(final);
	return st;
}

static enum vg_store_status fs_remove(struct vg_store *s, const char *key)
{
	char *path = object_path(s, key);
	enum vg_store_status st = VG_STORE_OK;

	if (unlink(path) < 0) {
		if (errno != ENOENT) {
			vg_error("msg=\"cannot remove object\" path=\"%s\" error=\"%s\"", path,
				 strerror(errno));
			st = VG_STORE_ERR;
		}
	} else {
		*strrchr(path, '/') = '\0';
		vg_store_fsync_dir(path);
	}
	free(path);
	return st;
}

static int fs_local_fd(struct vg_store *s, const char *key)
{
	char *path = object_path(s, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	free(path);
	return fd;
}

static enum vg_store_status fs_stat(struct vg_store *s, const char *key, long long *size)
{
	char *path = object_path(s, key);
	struct stat st;
	int rc = stat(path, &st), err = errno;

	free(path);
	if (rc < 0)
		return err == ENOENT ? VG_STORE_MISSING : VG_STORE_ERR;
	if (!S_ISREG(st.st_mode))
		return VG_STORE_MISSING;
	*size = (long long)st.st_size;
	return VG_STORE_OK;
}

#define READ_CHUNK (64 * 1024)

static enum vg_store_status fs_read(struct vg_store *s, const char *key, long long from,
				    long long to, vg_store_sink sink, void *arg)
{
	int fd = fs_local_fd(s, key);
	enum vg_store_status st = VG_STORE_OK;
	char *buf;

	if (fd < 0)
		return errno == ENOENT ? VG_STORE_MISSING : VG_STORE_ERR;
	buf = vg_malloc(READ_CHUNK);
	while (from <= to) {
		size_t want = (size_t)(to - from + 1 < READ_CHUNK ? to - from + 1 : READ_CHUNK);
		ssize_t n = pread(fd, buf, want, (off_t)from);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			vg_error("msg=\"object read failed\" key=%s error=\"%s\"", key,
				 n < 0 ? strerror(errno) : "short file");
			st = VG_STORE_ERR;
			break;
		}
		if (sink(arg, buf, (size_t)n) < 0) {
			st = VG_STORE_ERR;
			break;
		}
		from += n;
	}
	free(buf);
	close(fd);
	return st;
}

/* Walks videos/XY/ZW/: three levels, so no recursion to bound. */
static int fs_list(struct vg_store *s, int (*each)(void *arg, const char *key, long long size),
		   void *arg)
{
	char *top = vg_asprintf("%s/videos", s->root);
	DIR *d1 = opendir(top), *d2, *d3;
	struct dirent *e1, *e2, *e3;
	int rc = 0;

	free(top);
	if (!d1)
		return errno == ENOENT ? 0 : -1;
	while (rc == 0 && (e1 = readdir(d1)) != NULL) {
		char *p1;

		if (e1->d_name[0] == '.')
			continue;
		p1 = vg_asprintf("%s/videos/%s", s->root, e1->d_name);
		d2 = opendir(p1);
		while (d2 && rc == 0 && (e2 = readdir(d2)) != NULL) {
			char *p2;

			if (e2->d_name[0] == '.')
				continue;
			p2 = vg_asprintf("%s/%s", p1, e2->d_name);
			d3 = opendir(p2);
			while (d3 && rc == 0 && (e3 = readdir(d3)) != NULL) {
				char *key;
				long long size = 0;

				if (e3->d_name[0] == '.')
					continue;
				key = vg_asprintf("videos/%s/%s/%s", e1->d_name, e2->d_name,
						  e3->d_name);
				if (fs_stat(s, key, &size) == VG_STORE_OK &&
				    each(arg, key, size) < 0)
					rc = 1;
				free(key);
			}
			if (d3)
				closedir(d3);
			free(p2);
		}
		if (d2)
			closedir(d2);
		free(p1);
	}
	closedir(d1);
	return rc < 0 ? -1 : 0;
}

const struct vg_store_backend vg_store_backend_fs = {
	.name = "fs",
	.publish = fs_publish,
	.local_fd = fs_local_fd,
	.remove = fs_remove,
	.stat = fs_stat,
	.read = fs_read,
	.list = fs_list,
};
