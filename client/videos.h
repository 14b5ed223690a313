/*
 * videos.h - vingest-upload's use of /v1/videos: checking a stored video
 * against the file, waiting for its processing, and the plain multipart
 * upload for when tus is not wanted.
 */
#ifndef VG_CLIENT_VIDEOS_H
#define VG_CLIENT_VIDEOS_H

#include "client.h"
#include "http.h"

/* GET /v1/videos/{id}: EXIT_OK when its sha256 is sha256_hex (its status is
 * reported on stderr), EXIT_CHECKSUM when it is another. */
int video_verify(struct http *h, const char *id, const char *sha256_hex);

/* Polls the video every 2 s: EXIT_OK once processed, EXIT_FAILED once failed
 * (or deleted). Returns an exit code. */
int video_wait(struct http *h, const char *id);

/* POST /v1/videos as multipart/form-data (file, title, metadata), retried
 * under one Idempotency-Key; checks the answer's sha256. On EXIT_OK *id is
 * the video's id (the caller frees it). */
int multipart_upload(struct http *h, const struct options *o, const struct upload_file *f,
		     char **id);

#endif
