/*
 * metrics.h - vingest-fcgi's counters and GET /metrics.
 *
 * The master maps one shared region before it forks (metrics_open); every
 * child adds to the same atomics, so a scrape that lands on any child sees
 * the sum over all children, past and present. GET /metrics answers in the
 * Prometheus text format (0.0.4): this process' counters, the queue read
 * from SQL (cheap, indexed counts only), the breaker from memcached, and the
 * local vingest-workers supervisor's counters from workers.metrics_file.
 * Only addresses in http.metrics_allow may read it; others get 403.
 */
#ifndef VG_APP_METRICS_H
#define VG_APP_METRICS_H

#include <stdint.h>

struct request;

/* Maps the shared counters; call once in the master, before forking. On
 * failure counting is off (logged) and /metrics still answers. */
void metrics_open(void);

/* Counts one answered request (status, route, bytes, duration). */
void metrics_request(const struct request *r, int64_t duration_ms);

/* Counts one video committed (multipart or tus). */
void metrics_stored(void);

/* GET /metrics. */
void metrics_serve(struct request *r);

#endif
