/*
 * tus.h - resumable uploads: tus 1.0.0 at /v1/uploads.
 *
 * Core (HEAD, PATCH, OPTIONS) and the extensions creation,
 * creation-with-upload, creation-defer-length, termination, checksum (sha1,
 * sha256), expiration and concatenation (concat.h). The upload id is the
 * video id: when the last byte
 * lands, the upload goes through the same inspect / publish / commit as a
 * multipart upload (finish.c) and /v1/videos/{id} exists.
 */
#ifndef VG_APP_TUS_H
#define VG_APP_TUS_H

struct request;

/* Routes a request under /v1/uploads; id is NULL for the collection. */
void tus_dispatch(struct request *r, const char *id);

/* The headers every answer under /v1/uploads carries (Tus-Resumable, CORS),
 * as "Name: value\r\n" lines; static. */
const char *tus_headers(void);

/* The header checks of a creation (POST) and of a PATCH to upload id, as
 * the handlers make them before reading a body: version, lengths, content
 * type, offsets, the chunk size, the upload's state. 0 to go on, -1 after
 * answering the refusal. The gate calls them for an authorizer. */
int tus_check_create(struct request *r);
int tus_check_patch(struct request *r, const char *id);

/* 1 if a body of body bytes at offset stays within limit (no overflow,
 * whatever the Content-Length), else 0. */
int tus_body_fits(long long offset, long long body, long long limit);

#endif
