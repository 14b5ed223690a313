/*
 * wmetrics.c - the worker pool's shared counters and their file (see wmetrics.h).
 *
 * Call outcomes are classes, not raw statuses, so the label set stays small
 * and each class maps to what the worker does with it: ok (2xx), accepted
 * (202: polling follows), throttled (429), server_error (408, 5xx),
 * client_error (other 4xx: the job is dead), timeout, unreachable
 * (connection refused, name not resolved) and transport_error (anything
 * else libcurl reports).
 */
#include "wmetrics.h"
#include "vg_log.h"
#include "vg_metrics.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum call_class {
	CALL_OK,
	CALL_ACCEPTED,
	CALL_THROTTLED,
	CALL_SERVER_ERROR,
	CALL_CLIENT_ERROR,
	CALL_TIMEOUT,
	CALL_UNREACHABLE,
	CALL_TRANSPORT_ERROR,
	CALL_CLASSES
};
static const char *call_names[CALL_CLASSES] = {"ok",	       "accepted",	 "throttled",
					       "server_error", "client_error",	 "timeout",
					       "unreachable",  "transport_error"};

/* lease.c's attempt outcomes; "released": handed back without counting an
 * attempt (429, unreachable service, open breaker, a draining worker);
 * "accepted": back to ready to wait for the service (a 202 to a call or a
 * poll, the next poll scheduled). */
enum job_class {
	JOB_DONE,
	JOB_RETRY,
	JOB_RELEASED,
	JOB_DEAD,
	JOB_ACCEPTED,
	JOB_OTHER,
	JOB_CLASSES
};
static const char *job_names[JOB_CLASSES] = {"done", "retry",	 "released",
					     "dead", "accepted", "other"};

static const double call_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
#define CALL_NB (sizeof(call_bounds) / sizeof(call_bounds[0]))

struct worker_metrics {
	atomic_llong calls[CALL_CLASSES];
	atomic_llong jobs[JOB_CLASSES];
	atomic_llong archived;
	struct vg_hist call_seconds;
};

static struct worker_metrics *shared;
static int publish_failed;

void wmetrics_open(void)
{
	if (shared)
		return;
	shared = vg_metrics_map(sizeof(*shared));
	if (!shared)
		vg_warn("msg=\"cannot map shared metrics; workers count nothing\" error=\"%s\"",
			strerror(errno));
}

static enum call_class classify(int curl_code, long st)
{
	if (curl_code == CURLE_OPERATION_TIMEDOUT)
		return CALL_TIMEOUT;
	if (curl_code == CURLE_COULDNT_CONNECT || curl_code == CURLE_COULDNT_RESOLVE_HOST ||
	    curl_code == CURLE_COULDNT_RESOLVE_PROXY)
		return CALL_UNREACHABLE;
	if (curl_code != CURLE_OK)
		return CALL_TRANSPORT_ERROR;
	if (st == 202)
		return CALL_ACCEPTED;
	if (st >= 200 && st < 300)
		return CALL_OK;
	if (st == 429)
		return CALL_THROTTLED;
	if (st == 408 || st >= 500)
		return CALL_SERVER_ERROR;
	return CALL_CLIENT_ERROR;
}

void wmetrics_call(int curl_code, long http_status, double seconds)
{
	if (!shared)
		return;
	atomic_fetch_add_explicit(&shared->calls[classify(curl_code, http_status)], 1,
				  memory_order_relaxed);
	vg_hist_observe(&shared->call_seconds, call_bounds, CALL_NB, seconds);
}

void wmetrics_job(const char *outcome)
{
	enum job_class c = JOB_OTHER;

	if (!shared)
		return;
	for (int i = 0; i < JOB_OTHER; i++)
		if (outcome && strcmp(outcome, job_names[i]) == 0)
			c = (enum job_class)i;
	atomic_fetch_add_explicit(&shared->jobs[c], 1, memory_order_relaxed);
}

void wmetrics_archived(long long n)
{
	if (shared)
		atomic_fetch_add_explicit(&shared->archived, n, memory_order_relaxed);
}

static void render(struct vg_prom *p, size_t workers_alive, long long in_flight)
{
	char labels[48];

	vg_prom_family(p, "vingest_processing_calls_total", "counter",
		       "HTTP exchanges with the processing service (calls and status polls) by "
		       "outcome, this host's workers.");
	for (int i = 0; i < CALL_CLASSES; i++) {
		snprintf(labels, sizeof(labels), "outcome=\"%s\"", call_names[i]);
		vg_prom_sample(p, "vingest_processing_calls_total", labels,
			       shared ? atomic_load(&shared->calls[i]) : 0);
	}
	vg_prom_hist(p, "vingest_processing_call_duration_seconds",
		     "Duration of one exchange with the processing service, this host's workers.",
		     shared ? &shared->call_seconds : NULL, call_bounds, CALL_NB);
	vg_prom_family(p, "vingest_job_outcomes_total", "counter",
		       "Job outcomes committed by this host's workers: done, retry (back to "
		       "ready, attempt counted), released (back to ready, not counted), dead, "
		       "accepted (202: back to ready until the next status poll).");
	for (int i = 0; i < JOB_CLASSES; i++) {
		snprintf(labels, sizeof(labels), "outcome=\"%s\"", job_names[i]);
		vg_prom_sample(p, "vingest_job_outcomes_total", labels,
			       shared ? atomic_load(&shared->jobs[i]) : 0);
	}
	vg_prom_family(p, "vingest_jobs_archived_total", "counter",
		       "Finished jobs this host's supervisor, as a shard's janitor, moved to "
		       "jobs_archive.");
	vg_prom_sample(p, "vingest_jobs_archived_total", NULL,
		       shared ? atomic_load(&shared->archived) : 0);
	vg_prom_family(p, "vingest_supervisor_workers", "gauge",
		       "Worker processes alive under this host's supervisor.");
	vg_prom_sample(p, "vingest_supervisor_workers", NULL, (long long)workers_alive);
	vg_prom_family(p, "vingest_supervisor_jobs_in_flight", "gauge",
		       "Jobs held by this host's workers.");
	vg_prom_sample(p, "vingest_supervisor_jobs_in_flight", NULL, in_flight);
}

int wmetrics_publish(const char *path, size_t workers_alive, long long in_flight)
{
	char tmp[4200];
	struct vg_prom p;
	FILE *f = NULL;
	int rc = -1;

	if (!path || !*path)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		return -1;
	vg_prom_init(&p);
	render(&p, workers_alive, in_flight);
	f = fopen(tmp, "w");
	if (!f)
		goto out;
	if (fwrite(p.buf, 1, p.len, f) != p.len) {
		fclose(f);
		unlink(tmp);
		goto out;
	}
	/* No fsync: the file is rewritten every second and means nothing after
	 * a crash; rename alone makes it whole for readers. */
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && !publish_failed)
		vg_warn("msg=\"cannot write workers.metrics_file; /metrics lacks the workers' "
			"counters\" path=\"%s\" error=\"%s\"",
			path, strerror(errno));
	publish_failed = rc < 0;
	vg_prom_free(&p);
	return rc;
}
