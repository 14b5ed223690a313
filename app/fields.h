/*
 * fields.h - the fields of an upload besides its bytes: title, filename,
 * content type and metadata, with one set of rules for both front doors.
 *
 * POST /v1/videos (upload.c) takes them from multipart form fields, tus
 * (tus.c) from base64 pairs of Upload-Metadata; how each door frames them
 * stays in that door. What a field may hold, how it is cleaned and which
 * refusal a bad one gets is decided here, once, so the two doors cannot
 * drift apart.
 *
 * The rules:
 *   title         cleaned (vg_text_clean: valid UTF-8, no control
 *                 characters); more than UPLOAD_FIELDS_TITLE_MAX_CHARS
 *                 characters, or more than UPLOAD_FIELDS_TITLE_MAX_BYTES raw
 *                 bytes, is refused (title_too_long), never cut.
 *   filename      cleaned and cut to UPLOAD_FIELDS_FILENAME_MAX_CHARS
 *                 characters; never refused (it is only a label).
 *   content type  cleaned and cut to UPLOAD_FIELDS_CONTENT_TYPE_MAX_BYTES
 *                 bytes; never refused (metadata, never trusted).
 *   metadata      a JSON object, at most UPLOAD_FIELDS_METADATA_MAX_DEPTH
 *                 levels deep, and nothing after it (trailing bytes are
 *                 refused, not dropped): invalid_metadata. More bytes than
 *                 limits.max_field_bytes: field_too_large. Kept as json-c
 *                 writes it out again, never the client's bytes.
 * A field that is empty (or empty once cleaned) is the same as no field.
 */
#ifndef VG_APP_FIELDS_H
#define VG_APP_FIELDS_H

#include <stddef.h>

#define UPLOAD_FIELDS_TITLE_MAX_CHARS 500
/* A title's raw bytes before cleaning: 4 per character is the most UTF-8
 * needs, so a longer one cannot clean to a title within the limit unless
 * it is mostly bytes cleaning drops. Also the multipart buffer's cap. */
#define UPLOAD_FIELDS_TITLE_MAX_BYTES	     (4 * UPLOAD_FIELDS_TITLE_MAX_CHARS)
#define UPLOAD_FIELDS_FILENAME_MAX_CHARS     255
#define UPLOAD_FIELDS_CONTENT_TYPE_MAX_BYTES 255
#define UPLOAD_FIELDS_METADATA_MAX_DEPTH     16

/* Why a field was refused; upload_fields_status/_code/_message turn it
 * into the answer, the same for both doors. */
enum upload_fields_error {
	UPLOAD_FIELDS_OK = 0,
	UPLOAD_FIELDS_TITLE_TOO_LONG,	  /* 400 title_too_long */
	UPLOAD_FIELDS_METADATA_INVALID,	  /* 400 invalid_metadata */
	UPLOAD_FIELDS_METADATA_TOO_LARGE, /* 413 field_too_large */
};

/* An upload's fields, cleaned and checked. Read them with the getters. */
struct upload_fields {
	char *title;	/* cleaned; NULL: none */
	char *metadata; /* a JSON object as json-c writes it (plain); NULL: none */
	char filename[4 * UPLOAD_FIELDS_FILENAME_MAX_CHARS + 1];     /* cleaned; "": none */
	char content_type[UPLOAD_FIELDS_CONTENT_TYPE_MAX_BYTES + 1]; /* cleaned; "": none */
	size_t metadata_max; /* bytes: limits.max_field_bytes */
};

/* Starts f with no fields; metadata_max is limits.max_field_bytes. */
void upload_fields_init(struct upload_fields *f, size_t metadata_max);

/* Frees what f holds and leaves it empty. Safe on NULL, on a zeroed struct
 * and twice. */
void upload_fields_free(struct upload_fields *f);

/*
 * The setters take the client's raw bytes s[0..n) (no NUL needed; s is
 * only read during the call) and replace any earlier value of the field.
 * On a refusal the field keeps its earlier value and the error says why.
 */
enum upload_fields_error upload_fields_set_title(struct upload_fields *f, const char *s, size_t n);
enum upload_fields_error upload_fields_set_filename(struct upload_fields *f, const char *s,
						    size_t n); /* always OK: cut, never refused */
enum upload_fields_error upload_fields_set_content_type(struct upload_fields *f, const char *s,
							size_t n); /* always OK: cut */
enum upload_fields_error upload_fields_set_metadata(struct upload_fields *f, const char *s,
						    size_t n);

/* The fields as the video row keeps them, or NULL when there is none.
 * Borrowed from f: valid until the field is set again or f is freed. */
const char *upload_fields_title(const struct upload_fields *f);
const char *upload_fields_filename(const struct upload_fields *f);
const char *upload_fields_content_type(const struct upload_fields *f);
const char *upload_fields_metadata(const struct upload_fields *f);

/* The answer to a refusal: HTTP status, error code and message (static
 * strings), the same whichever door the field came through. */
int upload_fields_status(enum upload_fields_error e);
const char *upload_fields_code(enum upload_fields_error e);
const char *upload_fields_message(enum upload_fields_error e);

#endif
