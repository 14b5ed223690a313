/*
 * upload.h - POST /v1/videos: a multipart upload becomes a durable video and its job.
 */
#ifndef VG_APP_UPLOAD_H
#define VG_APP_UPLOAD_H

struct request;

/* Handles an authenticated POST /v1/videos and answers it. */
void upload_post(struct request *r);

#endif
