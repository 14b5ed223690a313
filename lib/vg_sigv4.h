/*
 * vg_sigv4.h - AWS Signature Version 4 pieces libcurl does not offer.
 *
 * libcurl signs the requests vingest sends to an S3-compatible store itself
 * (CURLOPT_AWS_SIGV4). What it cannot do is presign: a GET URL carrying its
 * own signature in the query string, which the processing service fetches
 * with no credentials of its own (the s3 store's object_url). This file
 * builds those, and the few encodings both sides need.
 */
#ifndef VG_SIGV4_H
#define VG_SIGV4_H

#include <stddef.h>
#include <time.h>

struct vg_sigv4_presign {
	const char *scheme; /* "http" or "https" */
	const char *host;   /* as sent in Host: name, or name:port */
	const char *path;   /* absolute, unencoded (encoded here): /bucket/key */
	const char *region; /* e.g. us-east-1 */
	const char *access_key;
	const char *secret_key;
	time_t now;	      /* signing time */
	long expires_seconds; /* 1 .. 604800 */
};

/* A presigned GET URL (X-Amz-* query, SignedHeaders=host, UNSIGNED-PAYLOAD),
 * or NULL if an argument is out of range. The caller frees it. */
char *vg_sigv4_presign_get(const struct vg_sigv4_presign *p);

/* RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay,
 * and '/' stays too when keep_slash. The caller frees the result. */
char *vg_sigv4_uri_encode(const char *s, int keep_slash);

#endif
