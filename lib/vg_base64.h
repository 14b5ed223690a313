/*
 * vg_base64.h - bounded base64 decoding (HTTP Basic credentials, tus metadata).
 */
#ifndef VG_BASE64_H
#define VG_BASE64_H

#include <stddef.h>

/*
 * Decodes standard base64 (RFC 4648, "+/", padding optional) from the
 * NUL-terminated in into out. Never writes more than outsz bytes. Returns the
 * decoded length, or -1 for a character outside the alphabet, data after
 * padding, an impossible length, or output that does not fit.
 */
long vg_base64_decode(const char *in, unsigned char *out, size_t outsz);

#endif
