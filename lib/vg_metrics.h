/*
 * vg_metrics.h - counters shared between forked processes, and the Prometheus
 * text format (version 0.0.4) they are exposed in.
 *
 * vingest-fcgi and vingest-workers are both a parent that forks children. A
 * counter kept in one child's memory would vanish when that child is
 * recycled, and a scrape reaches one child only; so each parent maps one
 * anonymous MAP_SHARED region before it forks, and every child adds to the
 * same C11 atomics in it (one lock-free fetch-add per event, no system
 * call). The parent outlives its children, so the counts survive child
 * restarts; they start again from zero when the parent restarts, which
 * Prometheus' rate() treats as a counter reset.
 *
 * Histograms are fixed arrays of cumulative-at-read buckets: the bucket
 * bounds are a static table next to the histogram, so observing is one
 * search and two atomic adds.
 */
#ifndef VG_METRICS_H
#define VG_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#define VG_HIST_MAX 16 /* buckets at most, +Inf included */

struct vg_hist {
	atomic_llong bucket[VG_HIST_MAX]; /* observations <= bounds[i], not cumulative */
	atomic_llong count;
	atomic_llong sum_us; /* sum of observations in microseconds */
};

/* Maps size zeroed bytes shared with children forked afterwards. Returns
 * NULL on failure (the caller then counts nothing). Never unmapped: it lives
 * as long as the process. */
void *vg_metrics_map(size_t size);

/* Adds one observation of seconds to h, whose buckets are bounds[0..n-1]
 * (ascending; a value above the last goes only into count and sum). */
void vg_hist_observe(struct vg_hist *h, const double *bounds, size_t n, double seconds);

/* Prometheus text output into a growing buffer with a hard cap. */
struct vg_prom {
	char *buf; /* owned; NUL-terminated */
	size_t len;
	size_t cap;
	int truncated; /* the cap was reached; later writes are dropped */
};

void vg_prom_init(struct vg_prom *p);
void vg_prom_free(struct vg_prom *p);

/* Appends printf output (dropped, and truncated set, past 1 MiB). */
void vg_prom_printf(struct vg_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void vg_prom_family(struct vg_prom *p, const char *name, const char *type, const char *help);

/* One sample: name{labels} value. labels: NULL or `key="value",...` (the
 * caller's constants; never client input). */
void vg_prom_sample(struct vg_prom *p, const char *name, const char *labels, long long value);
void vg_prom_sample_f(struct vg_prom *p, const char *name, const char *labels, double value);

/* A whole histogram family: HELP, TYPE, cumulative _bucket lines with
 * le="...", +Inf, _sum (seconds) and _count. */
void vg_prom_hist(struct vg_prom *p, const char *name, const char *help, const struct vg_hist *h,
		  const double *bounds, size_t n);

#endif
