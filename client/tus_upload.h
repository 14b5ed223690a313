/*
 * tus_upload.h - the upload over tus 1.0.0 (creation, core protocol, checksum),
 * resumable across runs through the state file.
 */
#ifndef VG_CLIENT_TUS_UPLOAD_H
#define VG_CLIENT_TUS_UPLOAD_H

#include "client.h"
#include "http.h"

/*
 * Uploads f to /v1/uploads: resumes the upload the state file names if the
 * server still has it, else creates one; sends the rest in chunks; then
 * checks the video's SHA-256 and forgets the state. On EXIT_OK *id is the
 * video's id (the caller frees it). Returns an exit code.
 */
int tus_upload(struct http *h, const struct options *o, const struct upload_file *f, char **id);

#endif
