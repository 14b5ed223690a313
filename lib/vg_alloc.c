/*
 * vg_alloc.c - allocation wrappers that abort on out-of-memory (see vg_alloc.h).
 */
#include "vg_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void oom(size_t n)
{
	char msg[96];
	int len = snprintf(msg, sizeof(msg), "vingest: out of memory allocating %zu bytes\n", n);

	/* stdio may need memory; write(2) does not. */
	if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0) {
		/* nothing more we can do */
	}
	abort();
}

void *vg_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *vg_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *vg_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *vg_strdup(const char *s)
{
	return vg_strndup(s, strlen(s));
}

char *vg_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = vg_malloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *vg_asprintf(const char *fmt, ...)
{
	va_list ap;
	int len;
	char *p;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		abort();
	p = vg_malloc((size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return p;
}
