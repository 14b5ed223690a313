/*
 * request.h - one FastCGI request as the handlers see it.
 *
 * Wraps libfcgi's FCGX_Request: the CGI parameters a handler needs, a bounded
 * body reader that tells a complete body from one cut short, and the only
 * ways to answer: JSON, a JSON error, or no content. Exactly one answer is
 * sent per request; a second attempt is a bug and is logged, not sent.
 */
#ifndef VG_APP_REQUEST_H
#define VG_APP_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <fcgiapp.h>

struct vg_db;

struct json_object;
struct child;
struct grant;

/* The durable steps of an upload (request.step_us), as the access log names
 * them: the uploads row's COMMIT (mark_ms: its creation, or a tus PATCH's
 * new offset), a tus PATCH's fsync (fsync_ms), the store's publish - fsync,
 * rename, directory fsync, or the object PUT (publish_ms) - and the video
 * and job COMMIT (commit_ms). */
enum request_step { STEP_MARK, STEP_FSYNC, STEP_PUBLISH, STEP_COMMIT, REQUEST_STEPS };

struct request {
	FCGX_Request *fcgi;	    /* borrowed from the accept loop */
	struct child *child;	    /* the process's shards, store and config */
	struct vg_db *db;	    /* the shard this request works on (router); NULL before */
	int db_pinned;		    /* 1: db is the shard a video id names; 0: any live shard */
	const char *method;	    /* borrowed from the FastCGI params */
	char path[1024];	    /* request path without the query string */
	const char *query;	    /* after '?', or "" */
	long long content_length;   /* -1 when absent or unparsable */
	long long body_read;	    /* bytes consumed by request_read() */
	int body_error;		    /* the body ended before content_length */
	int answered;		    /* status already sent */
	int status;		    /* status sent, for the access log */
	long long user_id;	    /* set by auth, 0 before */
	int auth_basic;		    /* authenticated with HTTP Basic (a browser form) */
	const struct grant *grant;  /* the upload URL that stands for a key (grant.h), borrowed;
				     * NULL for any other request */
	int authorizer;		    /* the FastCGI Authorizer role: headers only, no body */
	int gated;		    /* a FastCGI Authorizer admitted it (gate.h): user_id is
				     * its VINGEST_USER and its limits are counted */
	long long counted_bytes;    /* body bytes the authorizer counted against
				     * limits.bytes_per_hour (VINGEST_COUNTED) */
	const char *always_headers; /* "Name: v\r\n" lines every answer carries (tus), or NULL */
	int body_too_slow;	    /* the body fell below http.body_min_rate */
	const char *refusal;	    /* an authorizer's refusal to answer (base64), or NULL */
	int deferred_status;	    /* in an authorizer: the refusal handed on (access log) */
	int capturing;		    /* answers go into capture (request_capture) */
	char *capture;		    /* owned, REQUEST_CAPTURE_MAX bytes */
	size_t capture_len;
	int capture_overflow;
	int64_t started_ms;  /* vg_mono_ms() when the request was accepted */
	int64_t armed_ms;    /* the socket's receive timeout as last set, 0: not set */
	long long bytes_out; /* body bytes answered, for the access log */
	char request_id[40];
	char video_id[32]; /* the video the request is about, once known ("" before) */
	/* Where an upload's time went, for the access log: microseconds spent
	 * in each durable step (request_step), and which steps it reached - a
	 * step can take less than a microsecond (the db store's publish). */
	long long step_us[REQUEST_STEPS];
	unsigned steps_reached; /* bit (1u << step) */
};

/* The largest answer an authorizer keeps to be answered later. */
#define REQUEST_CAPTURE_MAX 4096

/* Fills r from the FastCGI parameters. Returns 0, or -1 if the request line is
 * unusable (the caller answers 400). */
int request_init(struct request *r, FCGX_Request *fcgi, struct child *child);

/* A CGI parameter (HTTP headers are "HTTP_NAME"); borrowed, NULL if absent. */
const char *request_param(const struct request *r, const char *name);

/*
 * Reads up to len body bytes. Returns the count (0 at the end of the body),
 * or -1 if the body stopped short of Content-Length (client gone, web server
 * aborted, or too slow: body_too_slow): the upload must be abandoned. Never
 * reads past Content-Length.
 *
 * A body must average http.body_min_rate bytes a second once
 * http.body_grace_seconds have passed: a web server that spools bodies hands
 * them over at disk speed and never comes near it, one that streams them
 * cannot let a client trickling bytes hold this child for longer.
 */
long request_read(struct request *r, char *buf, size_t len);

/* Answers status with a JSON body; obj is borrowed (the caller still puts it).
 * extra_headers: NULL or "Name: value\r\n" lines. */
void request_json(struct request *r, int status, struct json_object *obj,
		  const char *extra_headers);

/* Answers status with {"error":{"code":code,"message":message}}. */
void request_error(struct request *r, int status, const char *code, const char *message);
/* The same with a Retry-After header (429, 503). */
void request_error_retry(struct request *r, int status, const char *code, const char *message,
			 int retry_after_seconds);

/* The same with extra "Name: value\r\n" header lines (or NULL). */
void request_error_headers(struct request *r, int status, const char *code, const char *message,
			   const char *extra_headers);

/* Sends the status line and headers of an answer whose body the caller
 * then writes with request_write() (file downloads). */
void request_head(struct request *r, int status, const char *ctype, const char *extra_headers);
/* Writes body bytes after request_head(). Returns len, or -1 if the client is gone. */
long request_write(struct request *r, const char *buf, size_t len);

/* Answers a status with no body (204). */
void request_empty(struct request *r, int status);

/*
 * A refusal kept for later. Apache, unlike lighttpd, reads and discards the
 * rest of a request's body before it sends an authorizer's refusal (unless
 * the client waits for "100 Continue"). So the gate, asked by Apache, may
 * instead keep its refusal: request_capture() makes the answers that follow
 * go into r->capture; request_captured() ends that and returns the answer
 * as base64 (owned by the caller; NULL if there was none or it was too
 * long), leaving r unanswered. The gate then admits the request with the
 * refusal in VINGEST_REFUSAL, Apache hands it to a responder without
 * spooling its body, and request_replay() answers it there - at once, with
 * "Connection: close", the body unread.
 */
void request_capture(struct request *r);
char *request_captured(struct request *r);

/* Answers r->refusal exactly as the authorizer wrote it. */
void request_replay(struct request *r);

/* Frees what r owns (the capture buffer). */
void request_free(struct request *r);

/* Records the video this request is about (for the access log): a valid id
 * from the path, or the id of a video just created. */
void request_set_video(struct request *r, const char *id);

/* Records that the request reached a durable step and spent the microseconds
 * since since_us (vg_mono_us) in it; a step reached twice adds up. */
void request_step(struct request *r, enum request_step step, int64_t since_us);

/* The access log's step fields: " mark_ms=1.5 publish_ms=0.0 ..." for each
 * step the request reached, in request_step order ("" when none). Returns out. */
char *request_steps_text(const struct request *r, char *out, size_t outsz);

/* Value of a query parameter copied into out (no percent-decoding: the API's
 * parameters are plain tokens). Returns 1 if present, 0 if absent, -1 if too long. */
int request_query(const struct request *r, const char *name, char *out, size_t outsz);

#endif
