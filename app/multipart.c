/*
 * multipart.c - the streaming multipart/form-data parser declared in multipart.h.
 *
 * A byte-driven state machine over a fixed struct: no allocation, no copy of
 * part bodies. Body bytes are handed to part_data in runs as they arrive; the
 * only thing held back is a partial match of the delimiter "\r\n--boundary",
 * and since held-back bytes are by definition a prefix of the delimiter they
 * are never stored, just replayed from p->delim if the match fails. That works
 * without KMP tables because CR occurs in the delimiter only at position 0
 * (RFC 2046 bchars exclude it), so a failed match can only restart at the
 * failing byte itself. The start of the body and the start of each part's data
 * begin with an assumed "\r\n" already matched (p->skip), which is how a body
 * may open with "--boundary" and how RFC 2046's part without a blank line
 * after its headers (an empty body) is recognised.
 *
 * Decisions that are stricter than some parsers, on purpose:
 *  - line ends are CRLF only. A bare LF ending a delimiter line or a header
 *    line is MALFORMED rather than guessed at: tolerant line splitting is how
 *    two parsers come to disagree about where a part ends;
 *  - a full delimiter in data followed by anything but "--", transport padding
 *    (SP/HT) or CRLF is MALFORMED (RFC 2046: the boundary must not occur in an
 *    encapsulated part), also inside the preamble;
 *  - part header lines must be `token ":" value`; folded lines, control bytes
 *    other than HT, a repeated Content-Disposition or Content-Type, or a
 *    repeated name/filename/filename* parameter are MALFORMED. A disposition
 *    that parses but is not form-data with a name is NO_DISPOSITION;
 *  - filename*= is honoured (preferred over filename=) only with charset
 *    UTF-8; another charset makes it ignored. A decoded NUL is MALFORMED;
 *  - a body with a final boundary and no parts at all is DONE: whether that is
 *    acceptable is the caller's business.
 */
#include "multipart.h"

#include <string.h>

enum {
	ST_PREAMBLE,	/* before the first delimiter: bytes discarded */
	ST_AFTER_DELIM, /* a delimiter just matched: "--", padding or CRLF follows */
	ST_CLOSE_DASH,	/* seen one '-' of the closing "--" */
	ST_PADDING,	/* transport padding after a delimiter */
	ST_DELIM_LF,	/* CR ending a delimiter line seen, LF expected */
	ST_HEADER,	/* inside a part header line */
	ST_HEADER_LF,	/* CR ending a header line seen, LF expected */
	ST_DATA,	/* part body: bytes go to part_data */
	ST_EPILOGUE,	/* after the final boundary: bytes ignored */
};

/* Part header names the parser acts on. */
#define HDR_DISPOSITION "content-disposition"
#define HDR_CTYPE	"content-type"

/* A parameter of a header value as found in the text: spans, nothing copied. */
struct param {
	const char *name;
	size_t nlen;
	const char *val; /* without the quotes if quoted, escapes still in */
	size_t vlen;
	int quoted;
};

static int ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* s[0..n) equals the lower-case literal lit, ignoring ASCII case. */
static int ci_eq(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lit[i] == '\0' || ascii_lower((unsigned char)s[i]) != lit[i])
			return 0;
	return lit[n] == '\0';
}

/* RFC 9110 tchar. */
static int is_tchar(int c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* Control bytes other than HT; DEL included. Bytes >= 0x80 are allowed. */
static int is_ctl(int c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* RFC 2046 bchars-nospace. */
static int is_bchar(int c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("'()+_,-./:=?", c) != NULL;
}

static int valid_boundary(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 1 || n > MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if (!is_bchar((unsigned char)b[i]) && b[i] != ' ')
			return 0;
	return 1;
}

static const char *skip_ows(const char *s)
{
	while (is_ows((unsigned char)*s))
		s++;
	return s;
}

/*
 * Reads the next `; name=value` of a parameter list (RFC 9110 section 5.6.6,
 * empty parameters allowed, OWS tolerated around '='). Returns 1 with *pm
 * filled, 0 at the end of the string, -1 on a syntax error.
 */
static int param_next(const char **sp, struct param *pm)
{
	const char *s = skip_ows(*sp);

	for (;;) {
		if (*s == '\0')
			return 0;
		if (*s != ';')
			return -1;
		s = skip_ows(s + 1);
		if (*s != ';')
			break;
	}
	if (*s == '\0')
		return 0;
	pm->name = s;
	while (is_tchar((unsigned char)*s))
		s++;
	pm->nlen = (size_t)(s - pm->name);
	if (pm->nlen == 0)
		return -1;
	s = skip_ows(s);
	if (*s != '=')
		return -1;
	s = skip_ows(s + 1);
	if (*s == '"') {
		pm->quoted = 1;
		pm->val = ++s;
		while (*s != '"') {
			if (*s == '\0' || is_ctl((unsigned char)*s))
				return -1;
			if (*s == '\\') {
				s++;
				if (*s == '\0' || is_ctl((unsigned char)*s))
					return -1;
			}
			s++;
		}
		pm->vlen = (size_t)(s - pm->val);
		s++;
	} else {
		pm->quoted = 0;
		pm->val = s;
		while (is_tchar((unsigned char)*s))
			s++;
		pm->vlen = (size_t)(s - pm->val);
		if (pm->vlen == 0)
			return -1;
	}
	*sp = s;
	return 1;
}

/* Copies a parameter value to out, undoing quoted-pair escapes. -1 if it does not fit. */
static int param_copy(const struct param *pm, char *out, size_t outsz)
{
	size_t i, n = 0;

	for (i = 0; i < pm->vlen; i++) {
		char c = pm->val[i];

		if (pm->quoted && c == '\\')
			c = pm->val[++i]; /* param_next saw to it that one follows */
		if (n + 1 >= outsz)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 5987 attr-char. */
static int is_attr_char(int c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL;
}

/*
 * Decodes an RFC 5987 ext-value (charset'language'pct-encoded) into out.
 * Returns 0, 1 if the charset is not UTF-8 (caller ignores the parameter),
 * -1 on a syntax error or an encoded NUL, -2 if the result does not fit.
 */
static int ext_decode(const struct param *pm, char *out, size_t outsz)
{
	const char *v = pm->val, *end = pm->val + pm->vlen, *q1, *q2;
	size_t n = 0;

	if (pm->quoted)
		return -1;
	q1 = memchr(v, '\'', pm->vlen);
	if (q1 == NULL)
		return -1;
	q2 = memchr(q1 + 1, '\'', (size_t)(end - q1 - 1));
	if (q2 == NULL)
		return -1;
	if (!ci_eq(v, (size_t)(q1 - v), "utf-8"))
		return 1;
	for (v = q2 + 1; v < end; v++) {
		int c = (unsigned char)*v;

		if (c == '%') {
			int hi, lo;

			if (end - v < 3)
				return -1;
			hi = hexval((unsigned char)v[1]);
			lo = hexval((unsigned char)v[2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -1;
			c = hi << 4 | lo;
			v += 2;
		} else if (!is_attr_char(c)) {
			return -1;
		}
		if (n + 1 >= outsz)
			return -2;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

int multipart_boundary(const char *content_type, char *out, size_t outsz)
{
	static const char type[] = "multipart/form-data";
	const char *s;
	struct param pm;
	int found = 0, r;

	if (content_type == NULL || out == NULL || outsz == 0)
		return -1;
	out[0] = '\0';
	s = skip_ows(content_type);
	if (!ci_eq(s, sizeof(type) - 1, type)) /* stops at a NUL: never reads past one */
		return -1;
	s += sizeof(type) - 1;
	while ((r = param_next(&s, &pm)) == 1) {
		if (!ci_eq(pm.name, pm.nlen, "boundary"))
			continue;
		if (found++ || param_copy(&pm, out, outsz) || !valid_boundary(out))
			r = -1;
		if (r < 0)
			break;
	}
	if (r < 0 || !found) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

void multipart_init(struct multipart *p, const char *boundary, const struct multipart_limits *lim,
		    const struct multipart_callbacks *cb, void *ud)
{
	memset(p, 0, sizeof(*p));
	p->cb = cb;
	p->ud = ud;
	p->lim = *lim;
	p->state = ST_PREAMBLE;
	p->status = MULTIPART_OK;
	if (boundary == NULL || !valid_boundary(boundary)) {
		/* Not a boundary multipart_boundary() would give: refuse every body. */
		p->status = MULTIPART_ERR_MALFORMED;
		return;
	}
	memcpy(p->delim, "\r\n--", 4);
	p->delim_len = 4 + strlen(boundary);
	memcpy(p->delim + 4, boundary, p->delim_len - 4);
	/* The body may open with "--boundary": pretend a CRLF came first. */
	p->match = 2;
	p->skip = 2;
}

static void set_error(struct multipart *p, enum multipart_status st)
{
	p->status = st;
}

/* Hands part data to the caller (or drops preamble). Returns non-zero if the parser stopped. */
static int emit(struct multipart *p, const char *buf, size_t len)
{
	if (len == 0 || p->state != ST_DATA || p->cb == NULL || p->cb->part_data == NULL)
		return 0;
	if (p->cb->part_data(p->ud, buf, len) != 0) {
		set_error(p, MULTIPART_ERR_CALLBACK);
		return 1;
	}
	return 0;
}

/*
 * Preamble or part data: passes bytes through until a whole delimiter has
 * matched, which ends the part (part_end) and moves to ST_AFTER_DELIM.
 * Returns the bytes consumed; stops early after a delimiter or an error.
 */
static size_t scan_data(struct multipart *p, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (p->match == 0) {
			const char *cr = memchr(buf + i, '\r', len - i);
			size_t end = cr ? (size_t)(cr - buf) : len;

			if (emit(p, buf + i, end - i))
				return len;
			if (cr == NULL)
				return len;
			p->match = 1;
			i = end + 1;
			continue;
		}
		if (buf[i] == p->delim[p->match]) {
			i++;
			if (++p->match < p->delim_len)
				continue;
			p->match = 0;
			p->skip = 0;
			if (p->state == ST_DATA && p->cb != NULL && p->cb->part_end != NULL &&
			    p->cb->part_end(p->ud) != 0) {
				set_error(p, MULTIPART_ERR_CALLBACK);
				return i;
			}
			p->state = ST_AFTER_DELIM;
			return i;
		}
		/* Mismatch: what was held back was data after all; buf[i] is looked at again. */
		if (emit(p, p->delim + p->skip, p->match - p->skip))
			return len;
		p->match = 0;
		p->skip = 0;
	}
	return i;
}

static void begin_headers(struct multipart *p)
{
	if (p->parts >= p->lim.max_parts) {
		set_error(p, MULTIPART_ERR_TOO_MANY_PARTS);
		return;
	}
	p->parts++;
	p->headers = 0;
	p->hdr_len = 0;
	p->hdr_total = 0;
	p->name[0] = '\0';
	p->filename[0] = '\0';
	p->ctype[0] = '\0';
	p->have_disposition = 0;
	p->have_filename = 0;
	p->have_ctype = 0;
	p->state = ST_HEADER;
}

/* Content-Disposition: form-data; name="..."; filename="..."; filename*=UTF-8''... */
static enum multipart_status parse_disposition(struct multipart *p, const char *v)
{
	const char *s = v;
	struct param pm;
	int is_form_data, seen_name = 0, seen_fn = 0, seen_fnx = 0, r;

	while (is_tchar((unsigned char)*s))
		s++;
	if (s == v)
		return MULTIPART_ERR_MALFORMED;
	is_form_data = ci_eq(v, (size_t)(s - v), "form-data");
	while ((r = param_next(&s, &pm)) == 1) {
		if (ci_eq(pm.name, pm.nlen, "name")) {
			if (seen_name++)
				return MULTIPART_ERR_MALFORMED;
			if (param_copy(&pm, p->name, sizeof(p->name)))
				return MULTIPART_ERR_HEADER_TOO_LARGE;
		} else if (ci_eq(pm.name, pm.nlen, "filename")) {
			if (seen_fn++)
				return MULTIPART_ERR_MALFORMED;
			if (p->have_filename == 2)
				continue;
			if (param_copy(&pm, p->filename, sizeof(p->filename)))
				return MULTIPART_ERR_HEADER_TOO_LARGE;
			p->have_filename = 1;
		} else if (ci_eq(pm.name, pm.nlen, "filename*")) {
			if (seen_fnx++)
				return MULTIPART_ERR_MALFORMED;
			/* Writes p->filename only when it returns 0 or fails for good. */
			r = ext_decode(&pm, p->filename, sizeof(p->filename));
			if (r == -1)
				return MULTIPART_ERR_MALFORMED;
			if (r == -2)
				return MULTIPART_ERR_HEADER_TOO_LARGE;
			if (r == 0)
				p->have_filename = 2;
		}
	}
	if (r < 0)
		return MULTIPART_ERR_MALFORMED;
	p->have_disposition = (is_form_data && seen_name) ? 2 : 1;
	return MULTIPART_OK;
}

/* One complete header line in p->hdr (NUL-terminated, CRLF stripped). */
static enum multipart_status header_line(struct multipart *p)
{
	char *s = p->hdr, *v, *end;
	size_t nlen;

	while (is_tchar((unsigned char)*s))
		s++;
	nlen = (size_t)(s - p->hdr);
	if (nlen == 0 || *s != ':') /* also catches obsolete line folding */
		return MULTIPART_ERR_MALFORMED;
	v = s + 1;
	while (is_ows((unsigned char)*v))
		v++;
	end = p->hdr + p->hdr_len;
	while (end > v && is_ows((unsigned char)end[-1]))
		end--;
	*end = '\0';
	if (ci_eq(p->hdr, nlen, HDR_DISPOSITION)) {
		if (p->have_disposition)
			return MULTIPART_ERR_MALFORMED;
		return parse_disposition(p, v);
	}
	if (ci_eq(p->hdr, nlen, HDR_CTYPE)) {
		size_t n = (size_t)(end - v);

		if (p->have_ctype)
			return MULTIPART_ERR_MALFORMED;
		if (n > MULTIPART_CTYPE_MAX)
			return MULTIPART_ERR_HEADER_TOO_LARGE;
		memcpy(p->ctype, v, n + 1);
		p->have_ctype = 1;
	}
	return MULTIPART_OK;
}

static void end_headers(struct multipart *p)
{
	struct multipart_part part;

	if (p->have_disposition != 2) {
		set_error(p, MULTIPART_ERR_NO_DISPOSITION);
		return;
	}
	part.name = p->name;
	part.filename = p->have_filename ? p->filename : NULL;
	part.content_type = p->have_ctype ? p->ctype : NULL;
	part.index = p->parts - 1;
	if (p->cb != NULL && p->cb->part_begin != NULL && p->cb->part_begin(p->ud, &part) != 0) {
		set_error(p, MULTIPART_ERR_CALLBACK);
		return;
	}
	p->state = ST_DATA;
	/* A part may have no blank line before its delimiter (RFC 2046 body-part). */
	p->match = 2;
	p->skip = 2;
}

/* Counts one byte of the header block against its limit. */
static int header_byte(struct multipart *p)
{
	if (++p->hdr_total > p->lim.max_header_bytes) {
		set_error(p, MULTIPART_ERR_HEADER_TOO_LARGE);
		return 1;
	}
	return 0;
}

/* Delimiter lines and header blocks, one byte at a time. */
static void step(struct multipart *p, char c)
{
	enum multipart_status st;

	switch (p->state) {
	case ST_AFTER_DELIM:
		if (c == '-')
			p->state = ST_CLOSE_DASH;
		else if (is_ows((unsigned char)c))
			p->state = ST_PADDING;
		else if (c == '\r')
			p->state = ST_DELIM_LF;
		else
			set_error(p, MULTIPART_ERR_MALFORMED);
		break;
	case ST_CLOSE_DASH:
		if (c == '-') {
			p->state = ST_EPILOGUE;
			p->status = MULTIPART_DONE;
		} else {
			set_error(p, MULTIPART_ERR_MALFORMED);
		}
		break;
	case ST_PADDING:
		if (c == '\r')
			p->state = ST_DELIM_LF;
		else if (!is_ows((unsigned char)c))
			set_error(p, MULTIPART_ERR_MALFORMED);
		break;
	case ST_DELIM_LF:
		if (c == '\n')
			begin_headers(p);
		else
			set_error(p, MULTIPART_ERR_MALFORMED);
		break;
	case ST_HEADER:
		if (header_byte(p))
			break;
		if (c == '\r')
			p->state = ST_HEADER_LF;
		else if (is_ctl((unsigned char)c))
			set_error(p, MULTIPART_ERR_MALFORMED); /* bare LF, NUL, ... */
		else if (p->hdr_len >= sizeof(p->hdr) - 1)
			set_error(p, MULTIPART_ERR_HEADER_TOO_LARGE);
		else
			p->hdr[p->hdr_len++] = c;
		break;
	case ST_HEADER_LF:
		if (header_byte(p))
			break;
		if (c != '\n') {
			set_error(p, MULTIPART_ERR_MALFORMED);
			break;
		}
		if (p->hdr_len == 0) {
			end_headers(p);
			break;
		}
		if (++p->headers > p->lim.max_headers) {
			set_error(p, MULTIPART_ERR_TOO_MANY_HEADERS);
			break;
		}
		p->hdr[p->hdr_len] = '\0';
		st = header_line(p);
		if (st != MULTIPART_OK) {
			set_error(p, st);
			break;
		}
		p->hdr_len = 0;
		p->state = ST_HEADER;
		break;
	default:
		set_error(p, MULTIPART_ERR_MALFORMED); /* unreachable */
		break;
	}
}

enum multipart_status multipart_feed(struct multipart *p, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && p->status == MULTIPART_OK) {
		if (p->state == ST_PREAMBLE || p->state == ST_DATA)
			i += scan_data(p, buf + i, len - i);
		else
			step(p, buf[i++]);
	}
	return p->status;
}

enum multipart_status multipart_finish(struct multipart *p)
{
	if (p->status == MULTIPART_OK)
		p->status = MULTIPART_ERR_TRUNCATED;
	return p->status;
}

const char *multipart_status_code(enum multipart_status st)
{
	switch (st) {
	case MULTIPART_OK:
		return "ok";
	case MULTIPART_DONE:
		return "done";
	case MULTIPART_ERR_MALFORMED:
		return "malformed_multipart";
	case MULTIPART_ERR_TRUNCATED:
		return "truncated_body";
	case MULTIPART_ERR_TOO_MANY_PARTS:
		return "too_many_parts";
	case MULTIPART_ERR_HEADER_TOO_LARGE:
		return "part_header_too_large";
	case MULTIPART_ERR_TOO_MANY_HEADERS:
		return "too_many_part_headers";
	case MULTIPART_ERR_NO_DISPOSITION:
		return "missing_content_disposition";
	case MULTIPART_ERR_CALLBACK:
		return "callback_error";
	}
	return "unknown_status";
}
