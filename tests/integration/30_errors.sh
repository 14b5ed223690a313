#!/usr/bin/env bash
# 30_errors: bad requests get the right status with a JSON error body, and
# change nothing: no videos, jobs or uploads rows, no files in the store.
. "$(dirname "$0")/lib.sh"

CLIP=$FIX/clip-2s.mp4

# --- authentication

BEFORE=$(snap)
API_KEY='' api POST /v1/videos -F "file=@$CLIP"
expect_error "no Authorization" 401

API_KEY='vg_this-is-not-a-key' api POST /v1/videos -F "file=@$CLIP"
expect_error "unknown Bearer key" 401

API_KEY='' api GET /v1/videos -H 'Authorization: Bearer'
expect_error "empty Bearer key" 401

API_KEY='' api GET /v1/videos -H 'Authorization: Negotiate abc'
expect_error "unsupported auth scheme" 401

API_KEY='' api POST /v1/videos -u "demo:wrong-$VINGEST_API_KEY" -F "file=@$CLIP"
expect_error "Basic auth with a wrong key" 401

API_KEY='' api POST /v1/videos -u "demo:$VINGEST_API_KEY" -F "file=@$CLIP"
t_eq "Basic auth with the API key as password: upload answers 201" "$API_STATUS" 201
[[ $API_STATUS == 201 ]] || t_show_response

# --- malformed requests

BEFORE=$(snap)
api POST /v1/videos -H 'Content-Type: application/json' --data-binary '{"file":"x"}'
expect_error "POST /v1/videos with a JSON body" 400

api POST /v1/videos --form-string title=no-file
expect_error "multipart without a file part" 400

api POST /v1/videos -F "file=@$CLIP" -F "file=@$FIX/clip-2s.webm"
expect_error "two file parts" 400

# The body is cut before its final boundary.
raw=$T_TMP/truncated-multipart
{
	printf -- '--XyZbOuNdArY\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
	printf 'Content-Type: video/mp4\r\n\r\n'
	cat "$CLIP"
	printf '\r\n--XyZbOuNdArY\r\n'
} >"$raw"
api POST /v1/videos -H 'Content-Type: multipart/form-data; boundary=XyZbOuNdArY' --data-binary "@$raw"
expect_error "multipart without its final boundary" 400

api POST /v1/videos -H 'Content-Type: multipart/form-data' --data-binary "@$raw"
expect_error "multipart without a boundary parameter" 400

api POST /v1/videos -F "file=@$CLIP" --form-string 'metadata=[1,2,3]'
expect_error "metadata that is a JSON array, not an object" 400

api POST /v1/videos -F "file=@$CLIP" --form-string 'metadata={"unclosed": '
expect_error "metadata that is not JSON" 400

empty=$T_TMP/empty.mp4
: >"$empty"
api POST /v1/videos -F "file=@$empty;type=video/mp4"
expect_error "empty file part" 400 empty_file

# --- routing

api GET /v1/no-such-thing
expect_error "unknown path" 404

api PUT /v1/videos -F "file=@$CLIP"
expect_error "PUT /v1/videos" 405
allow=$(header Allow)
t_match "PUT /v1/videos: Allow header lists GET" "$allow" '(^|[ ,])GET([ ,]|$)'
t_match "PUT /v1/videos: Allow header lists POST" "$allow" '(^|[ ,])POST([ ,]|$)'

# --- size limits (the test stack's limit is TEST_LIMIT_BYTES, the web server's cap 1 MiB above it)

# The web server answers a declared body over its cap itself, before the app
# sees anything, with its own (HTML) 413 (lighttpd: server.max-request-size;
# Apache: the virtual host's Content-Length check): only the status and
# "nothing changed" are the app's business here.
api POST /v1/videos -H 'Content-Type: application/octet-stream' \
	-H 'Content-Length: 999999999999' --data-binary 'x'
t_eq "Content-Length over $VINGEST_WEB's cap: answers 413" "$API_STATUS" 413
t_eq "Content-Length over $VINGEST_WEB's cap: changes nothing" "$(snap)" "$BEFORE"

# A real MP4 just over the app's limit but under the web server's: the app refuses it.
big=$T_TMP/over-limit.mp4
make_mp4 $((TEST_LIMIT_BYTES + 512 * 1024)) "$big"
api POST /v1/videos -F "file=@$big"
expect_error "file $((TEST_LIMIT_BYTES + 512 * 1024)) bytes, over limits.max_upload_bytes" 413 too_large
rm -f -- "$big"

# Transfer-Encoding: chunked: the web server spools the body and hands the app
# a Content-Length (lighttpd always, Apache with proxy-sendcl), so this is an
# ordinary upload.
api POST /v1/videos -H 'Transfer-Encoding: chunked' -F "file=@$CLIP"
t_eq "chunked upload answers 201" "$API_STATUS" 201
[[ $API_STATUS == 201 ]] || t_show_response
if [[ $API_STATUS == 201 ]]; then
	t_eq "chunked upload stored the right bytes" "$(json .sha256)" "$(sha256sum "$CLIP" | cut -d' ' -f1)"
fi

t_done
