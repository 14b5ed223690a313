/*
 * call.h - HTTP calls to the processing service through one libcurl multi handle.
 *
 * The service takes about a minute a video, so a worker process is a
 * multiplexer, not a thread pool: one curl multi handle drives up to
 * workers.concurrency calls at once from a single thread. This file only
 * moves bytes; what an answer means is decided in worker.c.
 */
#ifndef VG_WORKERS_CALL_H
#define VG_WORKERS_CALL_H

struct job;
struct vg_config;

struct caller {
	void *multi; /* CURLM * */
	const struct vg_config *cfg;
	unsigned active; /* transfers in the multi handle */
};

/* A finished transfer: curl_code is the CURLcode (0: an HTTP answer came
 * whole), http_status the answer's status, 0 if none came (an answer cut
 * off, say over ANSWER_BODY_MAX, has both). */
typedef void (*call_done_fn)(void *ud, struct job *j, int curl_code, long http_status);

int call_init(struct caller *c, const struct vg_config *cfg);
void call_free(struct caller *c);

/* POSTs the contract's JSON for j to processor.url with Idempotency-Key: <job id>. */
int call_start_post(struct caller *c, struct job *j, const char *object_url);
/* GETs j->status_url (202 polling), which on_accepted took only after
 * status_url_check() (status_url.h) found it on processor.url's origin. */
int call_start_poll(struct caller *c, struct job *j);
/* Removes j's transfer, if any (lease lost, drain). */
void call_abort(struct caller *c, struct job *j);

/* Runs transfers, waiting at most timeout_ms for activity, and calls done for
 * each transfer that ended (the job's transfer is detached first). */
void call_perform(struct caller *c, int timeout_ms, call_done_fn done, void *ud);

#endif
