/*
 * status_url.c - a 202's status_url is polled only on processor.url's origin (see status_url.h).
 *
 * The status_url is resolved against processor.url stripped of its
 * credentials, so any user, password or options in the result came from
 * the status_url itself (a scheme-relative "//user@host/" included), and a
 * status_url carrying them is refused rather than cleaned: a service that
 * sends credentials to be used somewhere is not one to follow. The URL
 * handed back is libcurl's own rendering of what it checked.
 */
#include "status_url.h"
#include "vg_alloc.h"
#include "vg_text.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A part of u, or NULL if it has none (the caller curl_free()s it). */
static char *part(CURLU *u, CURLUPart what, unsigned flags)
{
	char *v = NULL;

	if (curl_url_get(u, what, &v, flags) != CURLUE_OK)
		return NULL;
	return v;
}

/* 1 if both are absent, or both present and equal ignoring case. */
static int same(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcasecmp(a, b) == 0;
}

/* A URL is printable ASCII (RFC 3986: anything else is percent-encoded).
 * Held to that, a status_url can be stored as it came in an ASCII column
 * (jobs.status_url) and logged without cleaning. */
static int printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

enum status_url_verdict status_url_check(const char *processor_url, const char *status_url,
					 char **out, char *host, size_t hostsz)
{
	enum status_url_verdict v = STATUS_URL_UNPARSABLE;
	CURLU *base = curl_url(), *ref = NULL;
	char *bs = NULL, *bh = NULL, *bp = NULL, *bz = NULL, *buser = NULL, *bpass = NULL;
	char *rs = NULL, *rh = NULL, *rp = NULL, *rz = NULL, *ru = NULL, *rpw = NULL, *ro = NULL;
	char *url = NULL;

	*out = NULL;
	snprintf(host, hostsz, "-");
	if (!base)
		abort();
	if (!status_url || !*status_url || strlen(status_url) > STATUS_URL_MAX ||
	    !printable_ascii(status_url) ||
	    curl_url_set(base, CURLUPART_URL, processor_url, 0) != CURLUE_OK)
		goto out;
	buser = part(base, CURLUPART_USER, 0);
	bpass = part(base, CURLUPART_PASSWORD, 0);
	curl_url_set(base, CURLUPART_USER, NULL, 0);
	curl_url_set(base, CURLUPART_PASSWORD, NULL, 0);
	curl_url_set(base, CURLUPART_OPTIONS, NULL, 0);
	ref = curl_url_dup(base);
	if (!ref)
		abort();
	/* on a handle that holds a URL, a relative one resolves against it */
	if (curl_url_set(ref, CURLUPART_URL, status_url, 0) != CURLUE_OK)
		goto out;
	bs = part(base, CURLUPART_SCHEME, 0);
	bh = part(base, CURLUPART_HOST, 0);
	bp = part(base, CURLUPART_PORT, CURLU_DEFAULT_PORT);
	bz = part(base, CURLUPART_ZONEID, 0);
	rs = part(ref, CURLUPART_SCHEME, 0);
	rh = part(ref, CURLUPART_HOST, 0);
	rp = part(ref, CURLUPART_PORT, CURLU_DEFAULT_PORT);
	rz = part(ref, CURLUPART_ZONEID, 0);
	ru = part(ref, CURLUPART_USER, 0);
	rpw = part(ref, CURLUPART_PASSWORD, 0);
	ro = part(ref, CURLUPART_OPTIONS, 0);
	if (rh)
		/* libcurl refuses controls, spaces and quotes in a host; the
		 * cleaning is for the rest of what a log line must not carry */
		vg_text_clean(rh, strlen(rh), host, hostsz, hostsz);
	if (ru || rpw || ro)
		v = STATUS_URL_USERINFO;
	else if (!bs || !same(bs, rs))
		v = STATUS_URL_OTHER_SCHEME;
	else if (!bh || !same(bh, rh) || !same(bz, rz))
		v = STATUS_URL_OTHER_HOST;
	else if (!bp || !rp || strcmp(bp, rp) != 0)
		v = STATUS_URL_OTHER_PORT;
	else
		v = STATUS_URL_OK;
	if (v != STATUS_URL_OK)
		goto out;
	/* the service's own origin: its own credentials go with the poll, as with the POST */
	if ((buser && curl_url_set(ref, CURLUPART_USER, buser, 0) != CURLUE_OK) ||
	    (bpass && curl_url_set(ref, CURLUPART_PASSWORD, bpass, 0) != CURLUE_OK)) {
		v = STATUS_URL_UNPARSABLE;
		goto out;
	}
	url = part(ref, CURLUPART_URL, 0);
	if (!url) {
		v = STATUS_URL_UNPARSABLE;
		goto out;
	}
	*out = vg_strdup(url);
out:
	curl_free(url);
	curl_free(bs);
	curl_free(bh);
	curl_free(bp);
	curl_free(bz);
	curl_free(buser);
	curl_free(bpass);
	curl_free(rs);
	curl_free(rh);
	curl_free(rp);
	curl_free(rz);
	curl_free(ru);
	curl_free(rpw);
	curl_free(ro);
	curl_url_cleanup(ref);
	curl_url_cleanup(base);
	return v;
}

const char *status_url_why(enum status_url_verdict v)
{
	switch (v) {
	case STATUS_URL_OK:
		return "on the processing service's origin";
	case STATUS_URL_UNPARSABLE:
		return "not a usable URL";
	case STATUS_URL_USERINFO:
		return "credentials in the URL";
	case STATUS_URL_OTHER_SCHEME:
		return "other scheme";
	case STATUS_URL_OTHER_HOST:
		return "other host";
	case STATUS_URL_OTHER_PORT:
		return "other port";
	}
	return "refused";
}
