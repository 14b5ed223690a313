/*
 * metrics.c - shared counters of the prefork children and GET /metrics (see metrics.h).
 *
 * Counting happens once per request, after the answer, from what the request
 * struct says (status, path, bytes read): no handler counts anything itself,
 * so a new error path cannot forget to. The one exception is a committed
 * video, counted where the commit succeeds (finish.c), because multipart and
 * tus both end there.
 *
 * The SQL part of a scrape reads only what the indexes answer without
 * scanning history: ready (due and scheduled), running and dead jobs, the
 * oldest due job's age, live workers. Done and cancelled jobs grow forever
 * and are not counted here; their rate is vingest_job_outcomes_total.
 */
#include "metrics.h"
#include "child.h"
#include "request.h"
#include "vg_addr.h"
#include "vg_cache.h"
#include "vg_config.h"
#include "vg_db.h"
#include "vg_log.h"
#include "vg_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATUS_MAX	 600
#define WORKERS_FILE_MAX (256 * 1024) /* the supervisor writes a few KiB */
#define WORKERS_STALE_S	 15	      /* it rewrites the file every second */

static const double upload_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
#define UPLOAD_NB (sizeof(upload_bounds) / sizeof(upload_bounds[0]))

struct fcgi_metrics {
	atomic_llong requests[STATUS_MAX];  /* every answer, by status */
	atomic_llong multipart[STATUS_MAX]; /* POST /v1/videos, by status */
	atomic_llong tus_patch[STATUS_MAX]; /* PATCH /v1/uploads/{id}, by status */
	atomic_llong upload_bytes;	    /* body bytes of both */
	atomic_llong videos_stored;
	struct vg_hist upload_seconds; /* POST /v1/videos, every outcome */
};

static struct fcgi_metrics *shared;

void metrics_open(void)
{
	if (shared)
		return;
	shared = vg_metrics_map(sizeof(*shared));
	if (!shared)
		vg_warn("msg=\"cannot map shared metrics; /metrics counts nothing\" error=\"%s\"",
			strerror(errno));
}

static void add(atomic_llong *c, long long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void metrics_request(const struct request *r, int64_t duration_ms)
{
	int st = r->status;

	if (!shared || st < 100 || st >= STATUS_MAX)
		return;
	add(&shared->requests[st], 1);
	if (strcmp(r->path, "/v1/videos") == 0 && strcmp(r->method, "POST") == 0) {
		add(&shared->multipart[st], 1);
		add(&shared->upload_bytes, r->body_read);
		vg_hist_observe(&shared->upload_seconds, upload_bounds, UPLOAD_NB,
				(double)duration_ms / 1000.0);
	} else if (strncmp(r->path, "/v1/uploads/", 12) == 0 && strcmp(r->method, "PATCH") == 0) {
		add(&shared->tus_patch[st], 1);
		add(&shared->upload_bytes, r->body_read);
	}
}

void metrics_stored(void)
{
	if (shared)
		add(&shared->videos_stored, 1);
}

/* by-status counters; 201 (or 204 for tus) always appears so the series exists */
static void by_status(struct vg_prom *p, const char *name, const char *kind, atomic_llong *c,
		      int always)
{
	char labels[64];

	for (int st = 100; st < STATUS_MAX; st++) {
		long long v = shared ? atomic_load(&c[st]) : 0;

		if (!v && st != always)
			continue;
		if (kind)
			snprintf(labels, sizeof(labels), "kind=\"%s\",code=\"%d\"", kind, st);
		else
			snprintf(labels, sizeof(labels), "code=\"%d\"", st);
		vg_prom_sample(p, name, labels, v);
	}
}

static void own_counters(struct vg_prom *p)
{
	vg_prom_family(p, "vingest_http_requests_total", "counter",
		       "Requests answered by vingest-fcgi, by HTTP status.");
	by_status(p, "vingest_http_requests_total", NULL, shared ? shared->requests : NULL, 200);
	vg_prom_family(p, "vingest_uploads_total", "counter",
		       "Upload requests by kind (multipart POST /v1/videos, tus PATCH) and HTTP "
		       "status.");
	by_status(p, "vingest_uploads_total", "multipart", shared ? shared->multipart : NULL, 201);
	by_status(p, "vingest_uploads_total", "tus", shared ? shared->tus_patch : NULL, 204);
	vg_prom_family(p, "vingest_upload_received_bytes_total", "counter",
		       "Request body bytes read by upload requests (multipart and tus).");
	vg_prom_sample(p, "vingest_upload_received_bytes_total", NULL,
		       shared ? atomic_load(&shared->upload_bytes) : 0);
	vg_prom_family(p, "vingest_videos_stored_total", "counter",
		       "Videos committed (object, row and job in one transaction).");
	vg_prom_sample(p, "vingest_videos_stored_total", NULL,
		       shared ? atomic_load(&shared->videos_stored) : 0);
	vg_prom_hist(p, "vingest_upload_duration_seconds",
		     "Time to answer POST /v1/videos, whatever the outcome.",
		     shared ? &shared->upload_seconds : NULL, upload_bounds, UPLOAD_NB);
}

static const char queue_sql[] =
	"SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'ready' AND run_after <= UTC_TIMESTAMP(6)), "
	"(SELECT COUNT(*) FROM jobs WHERE state = 'ready' AND run_after > UTC_TIMESTAMP(6)), "
	"(SELECT COUNT(*) FROM jobs WHERE state = 'running'), "
	"(SELECT COUNT(*) FROM jobs WHERE state = 'dead'), "
	"(SELECT COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(run_after), UTC_TIMESTAMP(6)), 0) "
	"FROM jobs WHERE state = 'ready' AND run_after <= UTC_TIMESTAMP(6)), "
	"(SELECT COUNT(*) FROM workers WHERE role = 'worker' "
	"AND heartbeat_at > UTC_TIMESTAMP(6) - INTERVAL 30 SECOND)";

/* The queue and the fleet from SQL; returns 1 if the database answered. */
/* Sums over the shards that answer (the oldest age and the workers alive:
 * the largest, as every shard's workers table shows the whole fleet).
 * Returns 1 if every shard answered. With several shards each one's
 * reachability is a vingest_shard_up sample. */
static int queue_gauges(struct vg_prom *p, struct vg_shards *s)
{
	static const char *labels[] = {"state=\"ready\",due=\"yes\"", "state=\"ready\",due=\"no\"",
				       "state=\"running\"", "state=\"dead\""};
	long long sum[4] = {0, 0, 0, 0}, alive = 0;
	double oldest = 0;
	int answered = 0, up[VG_SHARDS_MAX];

	for (unsigned k = 0; k < s->n; k++) {
		struct vg_db_result res;

		up[k] = vg_db_query(s->db[k], queue_sql, NULL, 0, &res) == 1;
		if (up[k]) {
			double age = strtod(vg_db_cell(&res, 0, 4), NULL) / 1e6;
			long long a = strtoll(vg_db_cell(&res, 0, 5), NULL, 10);

			for (int i = 0; i < 4; i++)
				sum[i] += strtoll(vg_db_cell(&res, 0, (unsigned)i), NULL, 10);
			if (age > oldest)
				oldest = age;
			if (a > alive)
				alive = a;
			answered++;
		}
		vg_db_result_free(&res);
	}
	if (s->n > 1) {
		vg_prom_family(p, "vingest_shard_up", "gauge",
			       "1 if the metadata shard answered this scrape.");
		for (unsigned k = 0; k < s->n; k++) {
			char label[32];

			snprintf(label, sizeof(label), "shard=\"%u\"", k);
			vg_prom_sample(p, "vingest_shard_up", label, up[k]);
		}
	}
	if (answered) {
		vg_prom_family(
			p, "vingest_jobs", "gauge",
			"Jobs by state (ready split into due now and scheduled for later; done "
			"and cancelled are not counted: see vingest_job_outcomes_total).");
		for (int i = 0; i < 4; i++)
			vg_prom_sample(p, "vingest_jobs", labels[i], sum[i]);
		vg_prom_family(
			p, "vingest_oldest_ready_job_age_seconds", "gauge",
			"Seconds since the oldest due ready job became due (0: none waiting).");
		vg_prom_sample_f(p, "vingest_oldest_ready_job_age_seconds", NULL, oldest);
		vg_prom_family(
			p, "vingest_workers_alive", "gauge",
			"Worker processes of the whole fleet with a heartbeat in the last 30 s "
			"(the workers table).");
		vg_prom_sample(p, "vingest_workers_alive", NULL, alive);
	}
	return answered == (int)s->n;
}

/* 0 closed, 1 open, 2 half-open (threshold reached, cool-down over, a probe
 * may run); -1 if memcached does not answer. The keys are breaker.c's. */
static int breaker_state(struct vg_cache *cache, long long threshold)
{
	char buf[32];
	int rc = vg_cache_get(cache, "vingest:breaker:open", buf, sizeof(buf));

	if (rc == 1)
		return 1;
	if (rc < 0)
		return -1;
	rc = vg_cache_get(cache, "vingest:breaker:fails", buf, sizeof(buf));
	if (rc < 0)
		return -1;
	return rc == 1 && atoll(buf) >= threshold ? 2 : 0;
}

/* Appends the supervisor's file if it is fresh; returns its age in seconds, or -1. */
static long long workers_file(struct vg_prom *p, const char *path)
{
	struct stat st;
	char *buf = NULL;
	long long age = -1;
	ssize_t n;
	int fd;

	if (!path || !*path)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WORKERS_FILE_MAX)
		goto out;
	age = (long long)(time(NULL) - st.st_mtime);
	if (age > WORKERS_STALE_S)
		goto out; /* the supervisor is gone: its counters would lie about now */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	n = read(fd, buf, (size_t)st.st_size);
	if (n > 0) {
		buf[n] = '\0';
		vg_prom_printf(p, "%s%s", buf, buf[n - 1] == '\n' ? "" : "\n");
	}
out:
	free(buf);
	close(fd);
	return age;
}

void metrics_serve(struct request *r)
{
	const struct vg_config *cfg = r->child->cfg;
	const char *addr = request_param(r, "REMOTE_ADDR");
	struct vg_prom p;
	long long age;
	int db_ok, breaker;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		request_error_headers(r, 405, "method_not_allowed",
				      "this method is not allowed on this path",
				      "Allow: GET, HEAD\r\n");
		return;
	}
	if (!vg_addr_allowed(cfg->http.metrics_allow, addr)) {
		request_error(r, 403, "forbidden", "metrics are not served to this address");
		return;
	}
	vg_prom_init(&p);
	own_counters(&p);
	db_ok = queue_gauges(&p, &r->child->shards);
	breaker = breaker_state(&r->child->cache, cfg->processor.breaker_threshold);
	vg_prom_family(&p, "vingest_dependency_up", "gauge",
		       "1 if the dependency answered this scrape (memcached: the cache).");
	vg_prom_sample(&p, "vingest_dependency_up", "dependency=\"database\"", db_ok);
	vg_prom_sample(&p, "vingest_dependency_up", "dependency=\"cache\"", breaker >= 0);
	if (breaker >= 0) {
		vg_prom_family(
			&p, "vingest_breaker_state", "gauge",
			"The fleet's processing-service breaker: 0 closed, 1 open, 2 half-open.");
		vg_prom_sample(&p, "vingest_breaker_state", NULL, breaker);
	}
	age = workers_file(&p, cfg->workers.metrics_file);
	vg_prom_family(
		&p, "vingest_workers_metrics_age_seconds", "gauge",
		"Age of the local supervisor's counters file (-1: none, or older than 15 s).");
	vg_prom_sample(&p, "vingest_workers_metrics_age_seconds", NULL,
		       age > WORKERS_STALE_S ? -1 : age);
	request_head(r, 200, "text/plain; version=0.0.4; charset=utf-8",
		     "Cache-Control: no-store\r\n");
	if (strcmp(r->method, "HEAD") != 0)
		request_write(r, p.buf, p.len);
	vg_prom_free(&p);
}
