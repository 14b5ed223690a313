/*
 * tus.h - resumable uploads: tus 1.0.0 at /v1/uploads.
 *
 * Core (HEAD, PATCH, OPTIONS) and the extensions creation,
 * creation-with-upload, creation-defer-length, termination, checksum (sha1,
 * sha256) and expiration. The upload id is the video id: when the last byte
 * lands, the upload goes through the same inspect / publish / commit as a
 * multipart upload (finish.c) and /v1/videos/{id} exists.
 */
#ifndef VG_APP_TUS_H
#define VG_APP_TUS_H

struct request;

/* Routes a request under /v1/uploads; id is NULL for the collection. */
void tus_dispatch(struct request *r, const char *id);

#endif
