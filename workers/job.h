/*
 * job.h - one claimed job as a worker process holds it.
 *
 * A job is claimed (claim.c), called (call.c), its lease renewed while the
 * call runs and finished (lease.c) - every write after the claim is fenced by
 * lease_token, so a worker that lost its lease can no longer change the row.
 * A job lives on one shard (vg_shards.h) and every write after its claim goes
 * to that shard's connection: the shard it was claimed from, recorded at the
 * claim rather than derived from the id, so a job is written where it was read.
 */
#ifndef VG_WORKERS_JOB_H
#define VG_WORKERS_JOB_H

#include "vg_buf.h"
#include "vg_id.h"

#include <stdint.h>

#define JOB_TOKEN_LEN 32

/*
 * Set-based writes (claim.c, lease.c): one statement serves up to JOB_SET
 * jobs, `id IN (JOB_SET_IN)` with per-job values picked by
 * `CASE id JOB_SET_WHEN END`. A batch of fewer jobs pads the unused slots
 * with its first job's values: a repeated id in IN () or in a WHEN changes
 * nothing. Fixed text, so each statement is prepared once per connection.
 */
#define JOB_SET	     16
#define JOB_SET_Q4   "?,?,?,?"
#define JOB_SET_IN   JOB_SET_Q4 "," JOB_SET_Q4 "," JOB_SET_Q4 "," JOB_SET_Q4
#define JOB_SET_W1   " WHEN ? THEN ?"
#define JOB_SET_W4   JOB_SET_W1 JOB_SET_W1 JOB_SET_W1 JOB_SET_W1
#define JOB_SET_WHEN JOB_SET_W4 JOB_SET_W4 JOB_SET_W4 JOB_SET_W4

struct job {
	long long id;
	unsigned shard; /* the shard whose jobs table holds it: every write goes there */
	char video_id[VG_ID_LEN + 1];
	unsigned attempt; /* this attempt's number (attempts after the claim) */
	unsigned max_attempts;
	char token[JOB_TOKEN_LEN + 1]; /* lease_token: the fence */

	/* what the processing service is told about the video */
	long long size;
	char sha256[65];
	char *content_type;    /* may be NULL */
	char *container;       /* may be NULL */
	long long duration_ms; /* -1: unknown */
	char object_key[64];

	/* call state (call.c) */
	void *easy;		/* CURL * of the request in flight, or NULL */
	void *headers;		/* struct curl_slist * */
	char *request_body;	/* the JSON sent */
	struct vg_buf response; /* the answer's body, capped at ANSWER_BODY_MAX (answer.h);
				 * overflowed: it was longer and the transfer was stopped */
	long retry_after_s;	/* from a Retry-After header, -1 if none */
	long long call_ms;	/* how long the last transfer ran */
	/* A job the service accepted (202) waits in the database, not here:
	 * jobs.status_url as the claim found it. Set: this claim polls it (a GET,
	 * not an attempt) instead of calling again. */
	char *stored_url;
	long long accepted_age_ms; /* stored_url set: how long ago accepted_at was */
	char *status_url;	   /* the poll's URL: stored_url resolved against processor.url
				    * and found on its origin (status_url.h) when the poll starts */
	int64_t async_deadline_ms; /* stored_url set: accepted_at + processor.async_deadline_seconds
				    * (monotonic) */
	int64_t claimed_ms;

	/* a 2xx answer waiting for its turn's batch write (worker.c, lease_done_batch) */
	int done_status;
	char *done_result; /* owned: the JSON result to store */

	struct job *next;
};

/* Frees j and everything it owns, including a request still attached to it
 * (the caller removed it from the multi handle). */
void job_free(struct job *j);

#endif
