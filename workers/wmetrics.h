/*
 * wmetrics.h - vingest-workers' counters, shared by the supervisor and its
 * workers, and the file that carries them to GET /metrics.
 *
 * The supervisor maps one region before it forks any worker
 * (wmetrics_open); workers add to it from the places where things happen
 * (a call answered in call.c, an outcome committed in lease.c), so a worker
 * that dies or is recycled loses nothing already counted. Every second the
 * supervisor writes the totals as Prometheus text to workers.metrics_file
 * (a temporary file, then rename: a reader sees the old file or the new one,
 * never half of one); vingest-fcgi on the same host appends that file to
 * its /metrics answer, and node_exporter's textfile collector can read it
 * where no web server runs.
 */
#ifndef VG_WORKERS_WMETRICS_H
#define VG_WORKERS_WMETRICS_H

#include <stddef.h>

/* Maps the shared counters; the supervisor calls it once, before forking. */
void wmetrics_open(void);

/* One HTTP exchange with the processing service ended (a call or a status
 * poll): curl's result, the HTTP status (0 without one) and how long it took. */
void wmetrics_call(int curl_code, long http_status, double seconds);

/* A job outcome was committed: "done", "retry", "released" or "dead"
 * (lease.c's attempt outcomes); anything else counts as "other". */
void wmetrics_job(const char *outcome);

/* The janitor moved n finished jobs to the archive (janitor.c). */
void wmetrics_archived(long long n);

/* Writes the totals to path (tmp + rename), with the supervisor's view of
 * its pool: workers alive and jobs in flight. Does nothing for an empty path.
 * Returns 0, or -1 (logged once until it works again). */
int wmetrics_publish(const char *path, size_t workers_alive, long long in_flight);

#endif
