/*
 * gate.h - what a request must pass before its body is accepted.
 *
 * Everything that can refuse an upload from its headers alone is decided
 * here, before a byte of the body is taken: the client address's request
 * rate, the API key, the headers' own sense (size, tus offsets), free space
 * in the store, the user's concurrent uploads, uploads per minute and bytes
 * per hour.
 *
 * The gate is asked in one of two ways:
 *   - As a FastCGI Authorizer. lighttpd (mod_fastcgi "mode" =>
 *     "authorizer") and Apache (mod_authnz_fcgi) send the headers of every
 *     request with a body to vingest-fcgi in the Authorizer role first and
 *     read the body from the client only after the gate answered 200. A
 *     refusal (401, 413, 429, 507 ...) goes to the client with nothing of
 *     the body read; a client that sent "Expect: 100-continue" never sends
 *     it. The 200 carries the verdict to the responder as variables
 *     (request.c, set_gated), so the responder neither looks the key up nor
 *     counts the request again.
 *   - By the responder itself, before it reads the body, when no authorizer
 *     ran (a web server configured to stream bodies straight through).
 * Either way one copy of each rule: the header checks are the handlers' own
 * (upload_check_request, tus_check_create, tus_check_patch).
 */
#ifndef VG_APP_GATE_H
#define VG_APP_GATE_H

struct request;

/* The requests that carry an upload's body. */
enum gate_kind {
	GATE_NONE,	 /* no body is taken here */
	GATE_MULTIPART,	 /* POST /v1/videos */
	GATE_TUS_CREATE, /* POST /v1/uploads (creation, maybe with the first bytes) */
	GATE_TUS_PATCH,	 /* PATCH /v1/uploads/{id} */
	GATE_GRANT,	 /* POST /v1/upload-urls: a small JSON body, no upload */
};

/* Answers a request in the FastCGI Authorizer role: 200 with the verdict
 * for an admitted request, or the refusal a client should see. */
void gate_authorize(struct request *r);

/*
 * In the responder, before the body of a request of this kind (id: a
 * PATCH's upload) is read:
 * 0 admitted (r->user_id set, the child counted as serving the user's
 * upload until the request ends), or -1 after answering the refusal. A
 * request an authorizer already admitted (r->gated) only has what the
 * authorizer could not know counted: the body bytes of a request that came
 * without a Content-Length.
 */
int gate_admit(struct request *r, enum gate_kind kind, const char *id);

#endif
