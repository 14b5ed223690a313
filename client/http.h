/*
 * http.h - vingest-upload's requests: one libcurl easy handle (so every
 * request reuses one kept-alive connection), request bodies streamed from a
 * file range, the few response headers the client acts on, retry decisions
 * and the back-off between attempts.
 *
 * Every request carries the API key, so every request goes to the origin
 * (scheme, host, port) of the base URL the user gave, and nowhere else: a
 * URL on another origin is refused before a byte is sent, and redirects are
 * never followed.
 */
#ifndef VG_CLIENT_HTTP_H
#define VG_CLIENT_HTTP_H

#include "vg_buf.h"

#include <curl/curl.h>
#include <stddef.h>

/* Retries of one request (after transient failures) before giving up. */
#define HTTP_RETRIES 10
/* Answers are small JSON: of a longer body, only this much is kept. */
#define HTTP_BODY_MAX (1024 * 1024)

struct http {
	CURL *curl;
	char *base;	      /* the API's base URL, no trailing slash */
	char *origin;	      /* the base URL's origin, as http_origin() spells it */
	char *auth;	      /* "Authorization: Bearer KEY" */
	long long limit_rate; /* bytes per second for request bodies, 0: unlimited */
	/* Called as request body bytes go out (sent: of this request's body). */
	void (*on_send)(void *ud, long long sent);
	void *on_send_ud;
};

/* A request body: length bytes of fd from offset, read as libcurl sends. */
struct http_body {
	int fd;
	long long offset, length;
	long long sent; /* how far libcurl has read it */
	int read_error; /* errno of a failed read, or -1 for a file that shrank */
};

struct http_resp {
	long status;				/* 0: no answer (transport error or stopped) */
	int stopped;				/* a signal stopped the transfer */
	int off_origin;				/* not sent: the URL is on another origin */
	char error[CURL_ERROR_SIZE];		/* the transport error, when status is 0 */
	long long upload_offset, upload_length; /* -1: header absent */
	long retry_after;			/* seconds, -1: absent */
	char *location;				/* the Location header, or NULL */
	struct vg_buf body; /* the answer's first HTTP_BODY_MAX bytes; the rest is dropped */
};

/*
 * The origin of an absolute http:// or https:// URL as "scheme://host:port":
 * scheme and host in lower case, the scheme's default port written out, so
 * two URLs share an origin exactly when these strings are equal. NULL when
 * url is not such a URL (relative, another scheme, malformed). The caller
 * frees it.
 */
char *http_origin(const char *url);

/* base must be an absolute http(s) URL (see http_origin); key is copied
 * into the Authorization header and wiped from memory by http_free. */
int http_init(struct http *h, const char *base, const char *key, long long limit_rate);
/* Closes the connection and frees what http_init made; safe on NULL. */
void http_free(struct http *h);
/* Frees what an answer holds (http_do frees the last one itself before it
 * fills r again) and zeroes r; safe on NULL and on a zeroed r. */
void http_resp_free(struct http_resp *r);

/* True when url is absolute and on the base URL's origin: the only place
 * the API key may go. */
int http_on_origin(const struct http *h, const char *url);

/*
 * One request. method is "GET", "HEAD", "POST", "PATCH" or "DELETE"; url is
 * absolute; headers are added to the Authorization header; body (a file
 * range) or mime (a multipart form) is the request body, or neither. Returns
 * 0 when an answer came (any status, see r->status), -1 when none did. A url
 * off the base URL's origin is not requested at all (r->off_origin): callers
 * check with http_on_origin first and say why; this is the last guard. A
 * redirect is an answer like any other (its status and Location), never
 * followed.
 */
int http_do(struct http *h, const char *method, const char *url, struct curl_slist *headers,
	    struct http_body *body, curl_mime *mime, struct http_resp *r);

/* The base URL with path appended; the caller frees it. */
char *http_url(const struct http *h, const char *path);
/* A Location header resolved against the base URL; NULL if it is not a URL. */
char *http_resolve(const struct http *h, const char *location);

/* True for an answer worth retrying: none at all (unless the request was
 * refused as off the origin), 429, or a 5xx that is not permanent by
 * definition (501, 505). */
int http_transient(const struct http_resp *r);
/* "message (HTTP 404, not_found)" from a JSON error body, or what there is;
 * for a redirect, where it pointed. */
void http_describe(const struct http_resp *r, char *buf, size_t n);
/* Reports why a request failed for good ("what: message") and returns the
 * exit code: EXIT_REFUSED for a refusal (an error status not retried),
 * EXIT_LOCAL when retries ran out or the answer made no sense. */
int http_give_up(const char *what, const struct http_resp *r);
/* Sleeps, unless a signal asks us to stop (then returns -1 at once). */
int http_sleep(long seconds);
/*
 * Sleeps before retry number attempt (1, 2, ...): 1, 2, 4 ... 30 s, or what
 * the answer's Retry-After said. Returns -1 if a signal asked us to stop.
 */
int http_backoff(int attempt, const struct http_resp *r);

#endif
