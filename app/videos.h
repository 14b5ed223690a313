/*
 * videos.h - GET /v1/videos/{id}, GET /v1/videos and DELETE /v1/videos/{id}.
 */
#ifndef VG_APP_VIDEOS_H
#define VG_APP_VIDEOS_H

struct request;

/* GET /v1/videos/{id}: id is valid; another user's video answers 404. */
void videos_get(struct request *r, const char *id);

/* DELETE /v1/videos/{id}: 204, or 404 (unknown, deleted, another user's). */
void videos_delete(struct request *r, const char *id);

/* GET /v1/videos?status=&limit=&cursor=: the caller's videos, newest first. */
void videos_list(struct request *r);

#endif
