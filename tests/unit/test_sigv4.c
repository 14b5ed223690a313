/*
 * test_sigv4.c - presigned S3 URLs against AWS's published example.
 *
 * The expected signature is the one in AWS's "Authenticating Requests: Using
 * Query Parameters" example (GET /test.txt from examplebucket, 24 May 2013,
 * 86400 s). A signature that is right for that example and wrong for real
 * requests is unlikely; one that is wrong for it is certainly wrong.
 */
#include "tap.h"
#include "vg_sigv4.h"

#include <stdlib.h>
#include <string.h>

#define AWS_SIG "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

int main(void)
{
	struct vg_sigv4_presign p = {
		.scheme = "https",
		.host = "examplebucket.s3.amazonaws.com",
		.path = "/test.txt",
		.region = "us-east-1",
		.access_key = "AKIAIOSFODNN7EXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		.now = 1369353600, /* 2013-05-24T00:00:00Z */
		.expires_seconds = 86400,
	};
	char *url = vg_sigv4_presign_get(&p), *e;
	const char *sig = url ? strstr(url, "X-Amz-Signature=") : NULL;

	ok(url != NULL, "a URL for AWS's example");
	is_str(sig ? sig + strlen("X-Amz-Signature=") : NULL, AWS_SIG,
	       "the signature is the one AWS's documentation gives");
	ok(url && strncmp(url,
			  "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm="
			  "AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
			  "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-"
			  "Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=",
			  strlen("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=")) ==
			   0,
	   "scheme, host and path come first");
	ok(url && strstr(url, "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
			      "aws4_request&"),
	   "the credential scope is percent-encoded");
	free(url);

	p.now += 1;
	url = vg_sigv4_presign_get(&p);
	sig = url ? strstr(url, "X-Amz-Signature=") : NULL;
	ok(sig && strcmp(sig + strlen("X-Amz-Signature="), AWS_SIG) != 0,
	   "a second later, another signature");
	free(url);

	p.expires_seconds = 0;
	ok(vg_sigv4_presign_get(&p) == NULL, "expiry 0 is refused");
	p.expires_seconds = 604801;
	ok(vg_sigv4_presign_get(&p) == NULL, "expiry past 7 days is refused");
	p.expires_seconds = 60;
	p.path = "test.txt";
	ok(vg_sigv4_presign_get(&p) == NULL, "a relative path is refused");

	e = vg_sigv4_uri_encode("videos/AB/CD/x y+z~._-", 1);
	is_str(e, "videos/AB/CD/x%20y%2Bz~._-", "path encoding keeps / and unreserved");
	free(e);
	e = vg_sigv4_uri_encode("a/b\xc3\xa9", 0);
	is_str(e, "a%2Fb%C3%A9", "query encoding encodes / and UTF-8 bytes");
	free(e);
	return tap_done();
}
