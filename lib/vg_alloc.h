/*
 * vg_alloc.h - allocation that cannot fail.
 *
 * Small allocations (request state, strings, config) abort the process on
 * out-of-memory instead of threading an error path through every caller, as
 * redis' zmalloc and lighttpd's ck_malloc do: a prefork child that cannot get
 * a few hundred bytes is better replaced by its master than limping on.
 * Upload-sized memory is never allocated: bodies stream through fixed buffers.
 */
#ifndef VG_ALLOC_H
#define VG_ALLOC_H

#include <stddef.h>

void *vg_malloc(size_t n);
void *vg_calloc(size_t nmemb, size_t size);
void *vg_realloc(void *p, size_t n);
char *vg_strdup(const char *s);
char *vg_strndup(const char *s, size_t n);
/* printf into a new string; the caller frees it. */
char *vg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
