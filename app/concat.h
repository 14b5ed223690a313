/*
 * concat.h - the tus Upload-Concat header (the concatenation extension).
 *
 * "partial" makes an upload that is only ever a piece of another one;
 * "final;URL URL ..." makes the upload that is those pieces, in that order.
 * The header is untrusted input: it is parsed here, bounded (its length, the
 * number of parts), and every URL must be this API's upload URL - a path
 * "/v1/uploads/{id}" or an absolute "http(s)://host/v1/uploads/{id}" (what
 * tus-js-client sends: the Location it got, resolved against its endpoint)
 * with a valid id, no query, no fragment, no duplicate. The host is not
 * compared with the request's: a proxy may rewrite Host, and the id alone
 * names the upload, which is looked up among the caller's own.
 */
#ifndef VG_APP_CONCAT_H
#define VG_APP_CONCAT_H

#include "vg_id.h"

#include <stddef.h>

#define CONCAT_MAX_PARTS  16   /* partial uploads one final upload may name */
#define CONCAT_HEADER_MAX 4096 /* bytes of the Upload-Concat header */

enum concat_kind {
	CONCAT_NONE,	/* no header: an ordinary upload */
	CONCAT_PARTIAL, /* "partial" */
	CONCAT_FINAL,	/* "final;..." with 1..CONCAT_MAX_PARTS ids */
	CONCAT_INVALID, /* refused: why says what (static) */
};

struct concat {
	enum concat_kind kind;
	size_t n; /* CONCAT_FINAL: ids[0..n) in the header's order */
	char ids[CONCAT_MAX_PARTS][VG_ID_LEN + 1];
	const char *why; /* CONCAT_INVALID: a static message for the client */
};

/* Parses header h (NULL: absent) into c and returns c->kind. */
enum concat_kind concat_parse(const char *h, struct concat *c);

#endif
