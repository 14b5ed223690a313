/*
 * vg_metrics.c - shared counters and Prometheus text output (see vg_metrics.h).
 */
#include "vg_metrics.h"
#include "vg_shm.h"
#include "vg_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_MAX (1024 * 1024) /* an exposition this large is a bug, not a scrape */

void *vg_metrics_map(size_t size)
{
	return vg_shm_map(size);
}

void vg_hist_observe(struct vg_hist *h, const double *bounds, size_t n, double seconds)
{
	size_t i;

	if (!h)
		return;
	if (seconds < 0)
		seconds = 0;
	for (i = 0; i < n && i < VG_HIST_MAX; i++)
		if (seconds <= bounds[i])
			break;
	if (i < n && i < VG_HIST_MAX)
		atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (long long)(seconds * 1e6), memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void vg_prom_init(struct vg_prom *p)
{
	memset(p, 0, sizeof(*p));
	p->cap = 4096;
	p->buf = vg_malloc(p->cap);
	p->buf[0] = '\0';
}

void vg_prom_free(struct vg_prom *p)
{
	if (!p)
		return;
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

void vg_prom_printf(struct vg_prom *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->truncated)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			p->buf[p->len] = '\0';
			return;
		}
		if ((size_t)n < p->cap - p->len) {
			p->len += (size_t)n;
			return;
		}
		if (p->len + (size_t)n + 1 > PROM_MAX) {
			p->buf[p->len] = '\0';
			p->truncated = 1;
			return;
		}
		while (p->cap < p->len + (size_t)n + 1)
			p->cap *= 2;
		p->buf = vg_realloc(p->buf, p->cap);
	}
}

void vg_prom_family(struct vg_prom *p, const char *name, const char *type, const char *help)
{
	vg_prom_printf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void vg_prom_sample(struct vg_prom *p, const char *name, const char *labels, long long value)
{
	if (labels && *labels)
		vg_prom_printf(p, "%s{%s} %lld\n", name, labels, value);
	else
		vg_prom_printf(p, "%s %lld\n", name, value);
}

void vg_prom_sample_f(struct vg_prom *p, const char *name, const char *labels, double value)
{
	if (labels && *labels)
		vg_prom_printf(p, "%s{%s} %.6f\n", name, labels, value);
	else
		vg_prom_printf(p, "%s %.6f\n", name, value);
}

void vg_prom_hist(struct vg_prom *p, const char *name, const char *help, const struct vg_hist *h,
		  const double *bounds, size_t n)
{
	long long cum = 0, count, sum_us;

	vg_prom_family(p, name, "histogram", help);
	/* Read count first: a concurrent observation adds its bucket before its
	 * count, so buckets read later never fall behind the count read here by
	 * more than the observations in flight. */
	count = h ? atomic_load(&h->count) : 0;
	sum_us = h ? atomic_load(&h->sum_us) : 0;
	for (size_t i = 0; i < n && i < VG_HIST_MAX; i++) {
		cum += h ? atomic_load(&h->bucket[i]) : 0;
		vg_prom_printf(p, "%s_bucket{le=\"%g\"} %lld\n", name, bounds[i], cum);
	}
	if (cum > count)
		count = cum; /* +Inf is never below a finite bucket */
	vg_prom_printf(p, "%s_bucket{le=\"+Inf\"} %lld\n", name, count);
	vg_prom_printf(p, "%s_sum %.6f\n", name, (double)sum_us / 1e6);
	vg_prom_printf(p, "%s_count %lld\n", name, count);
}
