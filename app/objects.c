/*
 * objects.c - signed object downloads (see objects.h).
 *
 * The key in the path must be exactly the key vg_store_key() makes from a
 * valid id, so a request can only ever name a file vingest itself placed:
 * no "..", no percent-encoding, no other directory. The signature is
 * checked before the store is touched (fs and db backends serve objects
 * here; s3 hands the processing service presigned store URLs instead, but
 * this works for it too). One byte range is honoured (the
 * processing service may resume a download); several ranges get the whole
 * object, as RFC 9110 allows. Objects are served as opaque bytes with
 * nosniff, so no browser ever renders an upload as a page.
 */
#include "objects.h"
#include "range.h"
#include "child.h"
#include "request.h"
#include "shard.h"
#include "vg_config.h"
#include "vg_id.h"
#include "vg_log.h"
#include "vg_sign.h"
#include "vg_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int to_client(void *arg, const void *buf, size_t n)
{
	return request_write(arg, buf, n) < 0 ? -1 : 0; /* -1: the reader went away */
}

void objects_get(struct request *r, const char *key)
{
	const struct vg_config *cfg = r->child->cfg;
	char expires[24], sig[80], want[VG_STORE_KEY_MAX], hdr[256];
	const char *id = strrchr(key, '/');
	long long from = 0, to = -1, size = 0;
	int ranged, status = 200;

	if (!id || !vg_id_valid(id + 1)) {
		request_error(r, 404, "not_found", "no such object");
		return;
	}
	vg_store_key(id + 1, want);
	if (strcmp(want, key) != 0) {
		request_error(r, 404, "not_found", "no such object");
		return;
	}
	/* the db store keeps the bytes on the video's own shard */
	if (shard_for_id(r, id + 1) < 0)
		return;
	if (request_query(r, "expires", expires, sizeof(expires)) != 1 ||
	    request_query(r, "sig", sig, sizeof(sig)) != 1) {
		request_error(r, 403, "invalid_signature", "this URL is not signed");
		return;
	}
	switch (vg_sign_verify(cfg, key, expires, sig, time(NULL))) {
	case VG_SIGN_OK:
		break;
	case VG_SIGN_EXPIRED:
		request_error(r, 403, "url_expired", "this signed URL has expired");
		return;
	default:
		request_error(r, 403, "invalid_signature", "the URL's signature is not valid");
		return;
	}

	switch (vg_store_stat(&r->child->store, key, &size)) {
	case VG_STORE_OK:
		break;
	case VG_STORE_MISSING:
		request_error(r, 404, "not_found", "no such object");
		return;
	default:
		request_error_retry(r, 503, "store_unavailable", "the video store is not reachable",
				    5);
		return;
	}
	ranged = range_parse(request_param(r, "HTTP_RANGE"), size, &from, &to);
	if (ranged < 0) {
		snprintf(hdr, sizeof(hdr), "Content-Range: bytes */%lld\r\n", size);
		request_error_headers(r, 416, "range_not_satisfiable",
				      "the range is outside the object", hdr);
		return;
	}
	if (ranged == 0) {
		from = 0;
		to = size - 1;
	} else {
		status = 206;
	}
	if (status == 206)
		snprintf(hdr, sizeof(hdr),
			 "Content-Length: %lld\r\nContent-Range: bytes %lld-%lld/%lld\r\n"
			 "Accept-Ranges: bytes\r\nCache-Control: private, no-transform\r\n",
			 to - from + 1, from, to, size);
	else
		snprintf(hdr, sizeof(hdr),
			 "Content-Length: %lld\r\nAccept-Ranges: bytes\r\n"
			 "Cache-Control: private, no-transform\r\n",
			 size);
	request_head(r, status, "application/octet-stream", hdr);
	if (strcmp(r->method, "HEAD") == 0 || size == 0)
		return;
	/* The head is out: a failure now can only cut the body short, which
	 * the reader sees against Content-Length. */
	if (vg_store_read(&r->child->store, key, from, to, to_client, r) != VG_STORE_OK)
		vg_warn("msg=\"object response cut short\" key=%s", key);
}
