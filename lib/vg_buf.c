/*
 * vg_buf.c - a growable byte buffer with a hard cap (see vg_buf.h).
 *
 * The allocation doubles from VG_BUF_MIN up, and is never more than cap + 1
 * (the NUL), so a buffer capped at 1 MiB never asks for 2.
 */
#include "vg_buf.h"
#include "vg_alloc.h"

#include <stdlib.h>
#include <string.h>

#define VG_BUF_MIN 256

void vg_buf_init(struct vg_buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

int vg_buf_append(struct vg_buf *b, const void *p, size_t n)
{
	size_t need;

	if (b->overflowed)
		return -1;
	if (n > b->cap - b->len) {
		size_t cap = b->cap;

		vg_buf_free(b);
		b->cap = cap;
		b->overflowed = 1;
		return -1;
	}
	if (n == 0)
		return 0;
	need = b->len + n + 1;
	if (need > b->alloc) {
		size_t a = b->alloc ? b->alloc : VG_BUF_MIN;

		while (a < need)
			a = a > ((size_t)-1) / 2 ? need : a * 2;
		if (a - 1 > b->cap) /* cap + 1 >= need: checked above */
			a = b->cap + 1;
		b->data = vg_realloc(b->data, a);
		b->alloc = a;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int vg_buf_puts(struct vg_buf *b, const char *s)
{
	return vg_buf_append(b, s, strlen(s));
}

size_t vg_buf_room(const struct vg_buf *b)
{
	return b->overflowed ? 0 : b->cap - b->len;
}

const char *vg_buf_str(const struct vg_buf *b)
{
	return b->data ? b->data : "";
}

size_t vg_buf_len(const struct vg_buf *b)
{
	return b->len;
}

int vg_buf_overflowed(const struct vg_buf *b)
{
	return b->overflowed;
}

void vg_buf_reset(struct vg_buf *b)
{
	b->len = 0;
	b->overflowed = 0;
	if (b->data)
		b->data[0] = '\0';
}

void vg_buf_free(struct vg_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->overflowed = 0;
}
