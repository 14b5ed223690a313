/*
 * vg_text.h - making untrusted text safe to keep and show.
 */
#ifndef VG_TEXT_H
#define VG_TEXT_H

#include <stddef.h>

/*
 * Copies in[0..len) to out as valid UTF-8 without control characters:
 * invalid or overlong sequences, surrogates, C0/C1 controls and DEL are
 * dropped. At most max_chars characters and outsz-1 bytes are written, never
 * splitting a character; out is NUL-terminated. Returns the number of
 * characters the whole cleaned input has (so > max_chars means it was cut).
 */
size_t vg_text_clean(const char *in, size_t len, char *out, size_t outsz, size_t max_chars);

/* 1 if s is 1..max bytes of visible ASCII (0x21-0x7e): header tokens such
 * as Idempotency-Key. */
int vg_text_token(const char *s, size_t max);

/*
 * Copies in to out for a log line: printable ASCII other than '"', '\\' and
 * space is kept, every other byte is written %XX (a URL's own escape), so
 * a client's path can neither end a quoted log field nor forge another.
 * At most outsz-1 bytes, never half an escape; out is NUL-terminated.
 * Returns out.
 */
char *vg_text_log_escape(const char *in, char *out, size_t outsz);

#endif
