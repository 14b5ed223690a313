/*
 * upload.h - POST /v1/videos: a multipart upload becomes a durable video and its job.
 */
#ifndef VG_APP_UPLOAD_H
#define VG_APP_UPLOAD_H

struct request;

/* Handles an admitted POST /v1/videos (gate.h) and answers it. */
void upload_post(struct request *r);

/* The header checks of POST /v1/videos, made before reading a body:
 * multipart type, Content-Length (411, 413), Idempotency-Key. 0 to go on,
 * or -1 after answering. The gate calls them for an authorizer, which may
 * not know the length yet (a chunked body): then only the responder checks
 * it. */
int upload_check_request(struct request *r);

#endif
