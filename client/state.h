/*
 * state.h - the resume state: one small file per (file content, server)
 * naming the tus upload that carries it, so running the same command again
 * continues where the last run stopped.
 */
#ifndef VG_CLIENT_STATE_H
#define VG_CLIENT_STATE_H

/*
 * The state file's path: DIR/<sha256 of "<file's sha256> <base URL>">.upload.
 * Named by content, not by path: a renamed or copied file resumes too, and
 * an edited one starts over. The caller frees it.
 */
char *state_path(const char *dir, const char *sha256_hex, const char *base_url);

/* The upload URL recorded for a file of this size and SHA-256, or NULL if
 * there is no state file or it describes something else. The URL is what
 * the file says: the caller checks it is on the API's origin before sending
 * the key to it (the file may be old, or edited). */
char *state_load(const char *path, long long size, const char *sha256_hex);

/* Records url atomically (temporary file, fsync, rename); creates the
 * directory (mode 0700) if needed. 0, or -1 with a message printed. */
int state_save(const char *path, const char *url, long long size, const char *sha256_hex,
	       const char *file);

/* Forgets the upload; a missing file is not an error. */
void state_remove(const char *path);

#endif
