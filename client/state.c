/*
 * state.c - the resume state file (see state.h).
 *
 * The file is a few "key value" lines:
 *
 *   vingest-upload 1
 *   url http://host/v1/uploads/01J...
 *   size 3145728
 *   sha256 9f86d0...
 *   file /home/me/clip.mp4
 *
 * Only url is needed to resume; size and sha256 guard against a stale or
 * foreign file, and file is for the person who looks inside. It is written
 * to a temporary name, fsynced and renamed over the old one, so a crash or a
 * second ctrl-c leaves either the old state or the new, never half of one.
 */
#include "state.h"
#include "progress.h"
#include "vg_alloc.h"
#include "vg_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAGIC  "vingest-upload 1"
#define LINE_MAX_LEN 8192

char *state_path(const char *dir, const char *sha256_hex, const char *base_url)
{
	char name[VG_SHA256_HEX];
	char *key = vg_asprintf("%s %s", sha256_hex, base_url);
	char *path;
	size_t n = strlen(dir);

	vg_sha256_hex(key, strlen(key), name);
	free(key);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	path = vg_asprintf("%.*s/%s.upload", (int)n, dir, name);
	return path;
}

char *state_load(const char *path, long long size, const char *sha256_hex)
{
	char line[LINE_MAX_LEN], *url = NULL;
	int magic = 0, size_ok = 0, sha_ok = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		if (errno != ENOENT)
			progress_complain("cannot read state file %s: %s (starting a new upload)",
					  path, strerror(errno));
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, STATE_MAGIC) == 0) {
			magic = 1;
		} else if (strncmp(line, "url ", 4) == 0 && line[4]) {
			free(url);
			url = vg_strdup(line + 4);
		} else if (strncmp(line, "size ", 5) == 0) {
			size_ok = strtoll(line + 5, NULL, 10) == size;
		} else if (strncmp(line, "sha256 ", 7) == 0) {
			sha_ok = strcmp(line + 7, sha256_hex) == 0;
		}
	}
	fclose(f);
	if (!magic || !size_ok || !sha_ok || !url) {
		free(url);
		return NULL;
	}
	return url;
}

/* mkdir -p, mode 0700 for the directories we create. A parent that cannot
 * be made shows as the last mkdir's failure. */
static int make_dir(const char *dir)
{
	char *p = vg_strdup(dir);
	int rc = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

int state_save(const char *path, const char *url, long long size, const char *sha256_hex,
	       const char *file)
{
	char *dir = vg_strdup(path), *tmp = vg_asprintf("%s.tmp.%ld", path, (long)getpid());
	char *text = vg_asprintf(STATE_MAGIC "\nurl %s\nsize %lld\nsha256 %s\nfile %s\n", url, size,
				 sha256_hex, file);
	size_t len = strlen(text), done = 0;
	int fd = -1, rc = -1;

	*strrchr(dir, '/') = '\0';
	if (make_dir(dir) < 0) {
		progress_complain("cannot create state directory %s: %s", dir, strerror(errno));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		progress_complain("cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			progress_complain("cannot write %s: %s", tmp, strerror(errno));
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		progress_complain("cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		progress_complain("cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(text);
	free(tmp);
	free(dir);
	return rc;
}

void state_remove(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		progress_complain("cannot remove state file %s: %s", path, strerror(errno));
}
