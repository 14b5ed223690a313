/*
 * multipart.h - a streaming, bounded multipart/form-data parser (RFC 7578, RFC 2046).
 *
 * The parser is fed the request body in pieces of any size (one byte at a time
 * works) and calls back for each part: part_begin with the part's parsed
 * headers, part_data with body bytes as they arrive (never buffered whole:
 * a 300 MB file part streams through a fixed window of boundary-length bytes),
 * and part_end. It allocates nothing per part; all state lives in
 * struct multipart, so the caller decides where it lives.
 *
 * Every input is bounded by struct multipart_limits: part count, bytes of a
 * part's header block, header lines per part; the boundary itself is capped at
 * 70 characters by RFC 2046. A breach stops the parser with a status naming it.
 */
#ifndef VG_APP_MULTIPART_H
#define VG_APP_MULTIPART_H

#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX 70   /* RFC 2046 section 5.1.1 */
#define MULTIPART_NAME_MAX     128  /* form field name, bytes */
#define MULTIPART_FILENAME_MAX 1024 /* raw filename parameter, bytes */
#define MULTIPART_CTYPE_MAX    256  /* part Content-Type value, bytes */

enum multipart_status {
	MULTIPART_OK = 0,	 /* need more input */
	MULTIPART_DONE,		 /* final boundary seen; further input is epilogue, ignored */
	MULTIPART_ERR_MALFORMED, /* syntax error: bad delimiter line, header without colon ... */
	MULTIPART_ERR_TRUNCATED, /* multipart_finish() before the final boundary */
	MULTIPART_ERR_TOO_MANY_PARTS,
	MULTIPART_ERR_HEADER_TOO_LARGE, /* a part's header block exceeds max_header_bytes */
	MULTIPART_ERR_TOO_MANY_HEADERS,
	MULTIPART_ERR_NO_DISPOSITION, /* part without Content-Disposition: form-data; name=... */
	MULTIPART_ERR_CALLBACK,	      /* a callback returned non-zero; the caller knows why */
};

struct multipart_limits {
	size_t max_parts;	 /* parts in one body */
	size_t max_header_bytes; /* bytes of one part's header block, CRLFs included */
	size_t max_headers;	 /* header lines in one part */
};

/* One part's headers, valid only during the part_begin callback (borrowed). */
struct multipart_part {
	const char *name;	  /* Content-Disposition name="..." (always set, may be "") */
	const char *filename;	  /* filename="..." as sent, or NULL if absent; untrusted */
	const char *content_type; /* Content-Type value, or NULL if absent; untrusted */
	size_t index;		  /* 0-based position of the part in the body */
};

/* Callbacks return 0 to go on, anything else to stop the parser (MULTIPART_ERR_CALLBACK). */
struct multipart_callbacks {
	int (*part_begin)(void *ud, const struct multipart_part *part);
	int (*part_data)(void *ud, const char *buf, size_t len);
	int (*part_end)(void *ud);
};

/* Internal state; callers allocate it (stack is fine) and touch nothing inside. */
struct multipart {
	const struct multipart_callbacks *cb;
	void *ud;
	struct multipart_limits lim;
	char delim[MULTIPART_BOUNDARY_MAX + 4]; /* "\r\n--" + boundary */
	size_t delim_len;
	int state;
	size_t match; /* bytes of delim matched so far (held back, not yet data) */
	size_t skip;  /* leading bytes of that match that were assumed, not received */
	size_t parts;
	size_t headers;
	size_t hdr_len;	  /* bytes in hdr */
	size_t hdr_total; /* bytes of the current header block */
	char hdr[2048];	  /* the header line being read; fits a full-length filename */
	char name[MULTIPART_NAME_MAX + 1];
	char filename[MULTIPART_FILENAME_MAX + 1];
	char ctype[MULTIPART_CTYPE_MAX + 1];
	int have_disposition; /* 0 none, 1 present but not form-data with a name, 2 usable */
	int have_filename;    /* 0 none, 1 from filename=, 2 from filename*= (preferred) */
	int have_ctype;
	enum multipart_status status; /* sticky once an error or DONE */
};

/*
 * Extracts the boundary parameter from a Content-Type header value such as
 * `multipart/form-data; boundary="abc"` (quoted or token form, any case of
 * the parameter name, other parameters ignored). Writes it NUL-terminated to
 * out (at least MULTIPART_BOUNDARY_MAX + 1 bytes). Returns 0, or -1 if the
 * media type is not multipart/form-data or the boundary is missing, empty,
 * longer than 70 characters or contains characters RFC 2046 does not allow.
 */
int multipart_boundary(const char *content_type, char *out, size_t outsz);

/* Prepares p to parse a body delimited by boundary (as multipart_boundary() gave it). */
void multipart_init(struct multipart *p, const char *boundary, const struct multipart_limits *lim,
		    const struct multipart_callbacks *cb, void *ud);

/*
 * Feeds len bytes. Returns MULTIPART_OK (want more), MULTIPART_DONE (the final
 * boundary was seen; trailing epilogue bytes are ignored), or an error status,
 * which is sticky: later calls return it again without calling back.
 */
enum multipart_status multipart_feed(struct multipart *p, const char *buf, size_t len);

/* Call at end of input: MULTIPART_DONE if the body was complete, else an error. */
enum multipart_status multipart_finish(struct multipart *p);

/* A stable snake_case code for a status, for JSON error bodies ("too_many_parts"). */
const char *multipart_status_code(enum multipart_status st);

#endif
