/*
 * webhook.h - the caller's webhook endpoint: PUT, GET, DELETE /v1/webhook
 * and POST /v1/webhook/rotate.
 */
#ifndef VG_APP_WEBHOOK_H
#define VG_APP_WEBHOOK_H

struct request;

/* Routes /v1/webhook and /v1/webhook/rotate (authenticates first). */
void webhook_dispatch(struct request *r);

/* The longest body PUT /v1/webhook takes (the gate lets it through). */
#define WEBHOOK_BODY_MAX 8192

#endif
