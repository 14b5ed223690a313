/*
 * auth.h - who is calling: API keys from Bearer or Basic authorization.
 */
#ifndef VG_APP_AUTH_H
#define VG_APP_AUTH_H

struct request;

/*
 * Authenticates r. On success sets r->user_id and returns 0. Otherwise it has
 * answered (401 no or bad key, 403 cross-site browser post, 503 database
 * down) and returns -1.
 */
int auth_request(struct request *r);

#endif
