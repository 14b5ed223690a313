/*
 * finish.h - the shared tail of every upload, multipart or tus:
 * inspect the staged bytes -> (the caller publishes them) -> commit the
 * video and its job in one transaction -> answer with the video.
 */
#ifndef VG_APP_FINISH_H
#define VG_APP_FINISH_H

#include "vg_media.h"

#include <stddef.h>
#include <stdint.h>

struct request;

/* A staged upload on its way to becoming a video. Strings are borrowed. */
struct finish {
	const char *id;	 /* the video id (for tus: the upload id) */
	const char *key; /* its object key */
	unsigned long long size;
	const char *sha256;
	const char *content_type;   /* as the client declared it, or NULL */
	const char *filename;	    /* cleaned, or NULL */
	const char *title;	    /* cleaned, or NULL */
	const char *metadata;	    /* a normalised JSON object, or NULL */
	const char *idem_key;	    /* Idempotency-Key, or NULL */
	const char *fingerprint;    /* with idem_key: what the request asked for */
	int upload_row;		    /* an uploads row (tus) goes in the same commit */
	const char *const *parts;   /* tus concatenation: the partial uploads whose */
	size_t nparts;		    /* rows go in the same commit too (or NULL, 0) */
	struct vg_media_info media; /* filled by finish_inspect() */
	/* set by finish_commit(): the rows' instant (created_at, run_after) */
	int64_t created_us;
	char created[32];
	/* a refusal: status, snake_case code and message for request_error() */
	int status;
	const char *code;
	char message[256];
};

enum finish_result {
	FINISH_OK,
	FINISH_DUPLICATE, /* the Idempotency-Key is taken (a racing twin committed) */
	FINISH_DB_DOWN,	  /* not committed; the database is unreachable */
	FINISH_DB_BUSY,	  /* not committed; deadlocked on every try: the database is
			   * up, the client should simply try again (503 database_busy) */
	FINISH_UNKNOWN,	  /* the connection died around COMMIT and cannot be asked:
			   * leave the bytes and the staging file to the janitor */
	FINISH_FAILED,	  /* not committed, for a reason retrying will not fix */
	FINISH_GONE,	  /* not committed: the upload's row is gone (a tus DELETE won),
			   * or its upload URL was used by another upload (grant.h) */
};

/*
 * Media checks on the first f->size bytes of fd: a complete MP4/MOV/WebM/MKV
 * no longer than limits.max_duration_seconds. 0 and f->media filled, or -1
 * with the refusal (415 unsupported_media, 422 video_too_long, 500) in f.
 */
int finish_inspect(struct request *r, struct finish *f, int fd);

/*
 * BEGIN; INSERT videos; INSERT jobs; (the db store's chunks;) (tus: DELETE
 * uploads, and a final upload's partial uploads;) COMMIT - the moment the
 * upload becomes a video. A row already gone (a DELETE won, or another final
 * used a partial) rolls it back: FINISH_GONE. The caller settles the
 * store (vg_store_settle) after FINISH_OK. Deadlocks are retried (vg_db_txn_retry);
 * one that outlasts the tries is FINISH_DB_BUSY. A connection lost during COMMIT is
 * resolved by looking for the row.
 */
enum finish_result finish_commit(struct request *r, struct finish *f);

/* After FINISH_OK: answers status (201; 204 for tus) with the video JSON
 * (none for 204 or HEAD), built from f as just committed (no SELECT), and
 * Location: /v1/videos/{id} unless extra_headers ("Name: v\r\n" lines, or
 * NULL) carries a Location of its own. */
void finish_answer(struct request *r, const struct finish *f, int status,
		   const char *extra_headers);

/* Answers status (200: an Idempotency-Key repeat) with video id as the
 * database has it now. */
void finish_answer_prior(struct request *r, const char *id, int status);

#endif
