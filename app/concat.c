/*
 * concat.c - the Upload-Concat header, parsed and bounded (see concat.h).
 *
 * Nothing here touches the database: whether each id is a finished partial
 * upload of the caller is tus.c's question. What is refused here is refused
 * before any lookup, so a header cannot make the server do more than
 * CONCAT_MAX_PARTS lookups.
 */
#include "concat.h"

#include <string.h>
#include <strings.h>

#define UPLOADS_PATH "/v1/uploads/"
#define HOST_MAX     255

static enum concat_kind invalid(struct concat *c, const char *why)
{
	c->kind = CONCAT_INVALID;
	c->n = 0;
	c->why = why;
	return c->kind;
}

/* A host[:port] as a URL's authority may carry it: letters, digits, and
 * . - : [ ] (an IPv6 literal). No userinfo, no percent-encoding. */
static int authority_ok(const char *s, size_t n)
{
	if (n == 0 || n > HOST_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == ':' ||
		      ch == '[' || ch == ']'))
			return 0;
	}
	return 1;
}

/* One URL of n bytes at s: the id it names into id, 0; or -1. */
static int url_id(const char *s, size_t n, char id[VG_ID_LEN + 1])
{
	const char *path = s;
	size_t plen = sizeof(UPLOADS_PATH) - 1;

	if (n > 8 && strncasecmp(s, "https://", 8) == 0)
		path = s + 8;
	else if (n > 7 && strncasecmp(s, "http://", 7) == 0)
		path = s + 7;
	if (path != s) {
		const char *slash = memchr(path, '/', n - (size_t)(path - s));

		if (!slash || !authority_ok(path, (size_t)(slash - path)))
			return -1;
		path = slash;
	}
	n -= (size_t)(path - s);
	if (n != plen + VG_ID_LEN || strncmp(path, UPLOADS_PATH, plen) != 0)
		return -1;
	memcpy(id, path + plen, VG_ID_LEN);
	id[VG_ID_LEN] = '\0';
	return vg_id_valid(id) ? 0 : -1;
}

enum concat_kind concat_parse(const char *h, struct concat *c)
{
	size_t len;
	const char *p, *end;

	memset(c, 0, sizeof(*c));
	if (!h)
		return c->kind = CONCAT_NONE;
	len = strnlen(h, CONCAT_HEADER_MAX + 1);
	if (len > CONCAT_HEADER_MAX)
		return invalid(c, "Upload-Concat is too long");
	while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	while (len && (*h == ' ' || *h == '\t')) {
		h++;
		len--;
	}
	if (len == 7 && strncmp(h, "partial", 7) == 0)
		return c->kind = CONCAT_PARTIAL;
	if (len < 6 || strncmp(h, "final;", 6) != 0)
		return invalid(c, "Upload-Concat is \"partial\" or \"final;URL URL ...\"");
	p = h + 6;
	end = h + len;
	for (;;) {
		const char *tok;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		tok = p;
		while (p < end && *p != ' ')
			p++;
		if (c->n == CONCAT_MAX_PARTS)
			return invalid(c, "Upload-Concat names more than 16 partial uploads");
		if (url_id(tok, (size_t)(p - tok), c->ids[c->n]) < 0)
			return invalid(c, "each Upload-Concat URL must be /v1/uploads/{id} of an "
					  "upload on this server");
		for (size_t i = 0; i < c->n; i++)
			if (strcmp(c->ids[i], c->ids[c->n]) == 0)
				return invalid(c, "Upload-Concat names a partial upload twice");
		c->n++;
	}
	if (c->n == 0)
		return invalid(c, "Upload-Concat: final; names no partial upload");
	return c->kind = CONCAT_FINAL;
}
