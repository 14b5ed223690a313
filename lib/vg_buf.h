/*
 * vg_buf.h - a growable byte buffer with a hard cap.
 *
 * Every HTTP answer a vingest process keeps in memory (the S3 store's XML,
 * the processing service's JSON, the API's answers to vingest-upload) is
 * captured through one of these, so that a peer that answers without end
 * fills at most cap bytes, never the process's memory. Modelled on curl's
 * dynbuf: an append that would pass the cap fails, frees what the buffer
 * held and marks it overflowed; the caller decides whether that stops the
 * transfer or whether it appends only vg_buf_room() bytes and truncates.
 * Memory comes from vg_alloc (aborts on out-of-memory).
 *
 * The contents are always NUL-terminated (the NUL is not counted in the
 * length and needs no room under the cap), so text answers can be handed to
 * strstr and json_tokener_parse as they are.
 */
#ifndef VG_BUF_H
#define VG_BUF_H

#include <stddef.h>

/* The fields are the buffer's own; read them through the functions below. */
struct vg_buf {
	char *data;	/* NULL until the first byte is appended */
	size_t len;	/* bytes held, the NUL not counted */
	size_t alloc;	/* bytes allocated at data */
	size_t cap;	/* most bytes it will hold */
	int overflowed; /* an append would have passed cap: data was freed */
};

/* An empty buffer that holds at most cap bytes. Allocates nothing. A zeroed
 * struct is a valid buffer of cap 0 (it takes no byte, and can be freed). */
void vg_buf_init(struct vg_buf *b, size_t cap);

/*
 * Appends p[0..n). Returns 0, or -1 when the buffer would then hold more
 * than its cap: then nothing is appended, what it held is freed, and it is
 * overflowed; every later append fails too, until vg_buf_reset.
 */
int vg_buf_append(struct vg_buf *b, const void *p, size_t n);
/* vg_buf_append of the string s, without its NUL. */
int vg_buf_puts(struct vg_buf *b, const char *s);

/* Bytes that can still be appended (0 once overflowed): a caller that
 * truncates appends at most this much. */
size_t vg_buf_room(const struct vg_buf *b);

/* The contents, NUL-terminated: "" when empty or overflowed, never NULL.
 * Borrowed: valid until the next append, reset or free. */
const char *vg_buf_str(const struct vg_buf *b);
/* Bytes held (0 once overflowed). */
size_t vg_buf_len(const struct vg_buf *b);
/* 1 once an append failed for the cap, until vg_buf_reset. */
int vg_buf_overflowed(const struct vg_buf *b);

/* Empties b and clears the overflow; keeps its memory and its cap (a buffer
 * reused for each try of a request allocates once). */
void vg_buf_reset(struct vg_buf *b);

/* Frees the memory and leaves b empty with its cap. Safe on NULL and on a
 * zeroed struct. */
void vg_buf_free(struct vg_buf *b);

#endif
