/*
 * answer.h - what the processing service answers, made safe to keep and show.
 *
 * The service is another team's, and what it says ends up where people
 * read it: a 2xx body becomes videos.result (the video JSON's `result`), an
 * error becomes jobs.last_error (`processing.last_error`, and what a DBA
 * reads in v_dead_jobs). Neither ever holds the service's raw bytes. A
 * result is parsed by json-c (strict, UTF-8, bounded depth) and written out
 * again by json-c; an error is the worker's own words, with at most a
 * short, cleaned excerpt of what the service said about it when it said so
 * in the one shape we recognise. A proxy's HTML page, a control sequence
 * meant for a DBA's terminal or a megabyte of garbage therefore never gets
 * further than the worker's memory.
 */
#ifndef VG_WORKERS_ANSWER_H
#define VG_WORKERS_ANSWER_H

#include <stddef.h>

struct json_object;

/* Bytes of an answer the worker reads at most; call.c stops a longer one.
 * Four times ANSWER_RESULT_MAX: room for the whitespace and escapes a
 * result may carry before json-c writes it out again. */
#define ANSWER_BODY_MAX (256 * 1024)
/* Bytes of a stored result, as json-c writes it (videos.result). */
#define ANSWER_RESULT_MAX (64 * 1024)
/* Nesting levels of objects and arrays in a result ({} is one level). The
 * API reads results back with a limit of 32 (app/video_json.c): a stored
 * result is always readable. */
#define ANSWER_RESULT_DEPTH 16
/* Characters of the service's own words an error keeps at most. */
#define ANSWER_EXCERPT_CHARS 200
/* A buffer that holds every error built here (at most about 300
 * characters; jobs.last_error has room for 1000). */
#define ANSWER_ERROR_SIZE 1024

enum answer_result {
	ANSWER_RESULT_OK,
	ANSWER_RESULT_NOT_JSON,	  /* not one JSON text in UTF-8 (HTML, cut short, NaN, ...) */
	ANSWER_RESULT_NOT_OBJECT, /* JSON, but an array or a scalar */
	ANSWER_RESULT_TOO_DEEP,	  /* nested deeper than ANSWER_RESULT_DEPTH */
	ANSWER_RESULT_TOO_LARGE,  /* over ANSWER_BODY_MAX as sent or ANSWER_RESULT_MAX as written */
};

/*
 * Turns a 2xx body (len bytes, not NUL-terminated) into the result to
 * store: on ANSWER_RESULT_OK *out is a new string the caller frees, the
 * object as json-c writes it (strings re-encoded: control characters
 * escaped). An empty body (a 204) is the empty object "{}". Anything else
 * is refused and *out is NULL.
 */
enum answer_result answer_result(const char *body, size_t len, char **out);

/* What was wrong with a refused result, for an error: "a body that is not
 * JSON", ... (static text). */
const char *answer_result_why(enum answer_result rc);

/*
 * The body as a JSON object: strict JSON in UTF-8, at most depth levels,
 * at most ANSWER_BODY_MAX bytes, nothing after it but whitespace. NULL
 * for anything else. The caller owns the object (json_object_put).
 */
struct json_object *answer_object(const char *body, size_t len, int depth);

/*
 * The last_error of an error answer: what (the worker's own words, such as
 * "processing service answered 500") and, only when body is a JSON object
 * with a string error.code, error.message or message, " (service says:
 * CODE: MESSAGE)": at most ANSWER_EXCERPT_CHARS characters, valid UTF-8,
 * without control characters, markup (< > & " ' `), backslashes or
 * bidirectional overrides, whitespace runs made one space. Writes at most
 * outsz bytes (ANSWER_ERROR_SIZE holds any), NUL-terminated.
 */
void answer_error(char *out, size_t outsz, const char *what, const char *body, size_t len);

/*
 * The worker's own words for a call that got no usable answer: curl_code is
 * the transfer's CURLcode, elapsed_ms how long it ran. "timeout after 10
 * s", "connection refused or host unreachable", ... NUL-terminated in outsz bytes.
 */
void answer_transfer_error(char *out, size_t outsz, int curl_code, long long elapsed_ms);

#endif
