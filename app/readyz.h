/*
 * readyz.h - GET /readyz: may a balancer send this node uploads?
 *
 * Ready means: a shard that takes new videos answers, the store works
 * (staging takes a durable write; an s3 bucket answers; the db store's
 * table is there) and staging has more than store.min_free_bytes free.
 * memcached is reported but never makes it fail (everything it holds has a
 * fallback). Those checks cost a query per shard, an fsynced file and maybe
 * an S3 request, so /readyz must not be an amplifier: each child reuses its
 * last answer for http.readyz_cache_ms, and only the addresses in
 * http.readyz_allow (the balancers) are answered at all.
 */
#ifndef VG_APP_READYZ_H
#define VG_APP_READYZ_H

struct request;

/* Answers GET/HEAD /readyz: 200, 503 (with which part failed), or 403. */
void readyz(struct request *r);

#endif
