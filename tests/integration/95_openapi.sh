#!/usr/bin/env bash
# 95_openapi: docs/openapi.yaml is valid OpenAPI 3.1 and complete (every
# error code the sources answer, every route of the router), and real
# answers through the web server match it: every path and method, and a
# representative set of statuses, each answer checked by
# tests/openapi/check.mjs (status documented for the operation, required
# headers present, headers and body matching their schemas). Last, a copy
# of the document that lies about one property fails the same check.
#
# Needs node and npm; `npm install` runs once (tests/openapi/node_modules/).
. "$(dirname "$0")/lib.sh"

JS=$T_REPO/tests/openapi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	t_fail "node and npm are installed" "apt-get install nodejs npm (node >= 20)"
	t_done
fi
if [[ ! -d $JS/node_modules/@seriousme/openapi-schema-validator || ! -d $JS/node_modules/ajv-formats ]]; then
	# --no-package-lock: nothing is written into the source tree but node_modules/
	if ! (cd "$JS" && npm install --no-audit --no-fund --no-package-lock) >"$T_TMP/npm.log" 2>&1; then
		t_fail "npm install in tests/openapi" "$(tail -n 20 "$T_TMP/npm.log")"
		t_done
	fi
fi

# ---- the document itself
if out=$(node "$JS/check.mjs" doc 2>&1); then
	t_pass "$out"
else
	t_fail "docs/openapi.yaml is valid and complete" "$out"
	t_done
fi

# ---- real answers
# check WANT METHOD PATH: the last answer (api) has status WANT and matches the
# document's METHOD PATH ("-": a path the document does not have).
check() {
	local want=$1 method=$2 path=$3 out
	if [[ $API_STATUS != "$want" ]]; then
		t_fail "$method $path: answers $want" "got $API_STATUS" "$(head -c 600 "$API_BODY")"
		return
	fi
	# (curl --head writes the headers where the body would go; a HEAD
	# answer's body is never read)
	[[ $method == HEAD ]] && : >"$API_BODY"
	if out=$(node "$JS/check.mjs" answer "$method" "$path" "$API_STATUS" "$API_HEADERS" "$API_BODY" 2>&1); then
		t_pass "$out"
	else
		t_fail "$method $path $want: the answer matches docs/openapi.yaml" "$out"
	fi
}
TUS=(-H "Tus-Resumable: 1.0.0")
OCT=(-H "Content-Type: application/offset+octet-stream")
b64() { printf '%s' "$1" | base64 -w0; }
CLIP=$FIX/clip-2s.mp4
SZ=$(stat -c %s "$CLIP")

# operations
api GET /healthz
check 200 GET /healthz
api HEAD /healthz
check 200 HEAD /healthz
api POST /healthz -d ''
check 405 POST /healthz
api GET /readyz
check 200 GET /readyz
api HEAD /readyz
check 200 HEAD /readyz
api GET /metrics
check 200 GET /metrics
api HEAD /metrics
check 200 HEAD /metrics
api DELETE /metrics
check 405 DELETE /metrics
api GET /v1/nothing-here
check 404 GET -

# POST /v1/videos
idem=openapi-$RANDOM$RANDOM
api POST /v1/videos -H "Idempotency-Key: $idem" -F "file=@$CLIP" -F "title=OpenAPI" \
	-F 'metadata={"camera":"front","n":[1,2]}'
check 201 POST /v1/videos
vid=$(json .id)
valid_id "$vid" || t_fail "the upload answered a video id" "id: $vid"
api POST /v1/videos -H "Idempotency-Key: $idem" -F "file=@$CLIP" -F "title=OpenAPI" \
	-F 'metadata={"camera":"front","n":[1,2]}'
check 200 POST /v1/videos
api POST /v1/videos -H "Idempotency-Key: $idem" -F "file=@$CLIP" -F "title=another"
check 409 POST /v1/videos
API_KEY='' api POST /v1/videos -F "file=@$CLIP"
check 401 POST /v1/videos
api POST /v1/videos -d 'file=x'
check 400 POST /v1/videos
api POST /v1/videos -F "title=no file"
check 400 POST /v1/videos
head -c 70000 /dev/zero | tr '\0' 'a' | sed 's/^/{"a":"/; s/$/"}/' >"$T_TMP/big.json"
api POST /v1/videos -F "file=@$CLIP" -F "metadata=<$T_TMP/big.json"
check 413 POST /v1/videos
api POST /v1/videos -F "file=@$FIX/not-a-video.bin"
check 415 POST /v1/videos
api POST /v1/videos -F "file=@$FIX/clip-20s.mp4"
check 422 POST /v1/videos
API_KEY='' api POST /v1/videos -u "any:$VINGEST_API_KEY" -H "Accept: text/html" \
	-H "Origin: $VINGEST_URL" -F "file=@$CLIP" -F "title=form"
check 303 POST /v1/videos
API_KEY='' api POST /v1/videos -u "any:$VINGEST_API_KEY" -H "Accept: text/html" \
	-H "Origin: http://evil.example" -F "file=@$CLIP"
check 403 POST /v1/videos
api PUT /v1/videos
check 405 PUT /v1/videos

# GET /v1/videos
api GET /v1/videos
check 200 GET /v1/videos
api GET "/v1/videos?limit=1&status=queued"
check 200 GET /v1/videos
# A page of one of this key's videos (it has several by now: the uploads
# above) names the next; the status filter may match only one.
api GET "/v1/videos?limit=1"
check 200 GET /v1/videos
cursor=$(json .next_cursor)
t_ok "a page of one names a next_cursor ($cursor)" eval '[[ -n $cursor && $cursor != null ]]'
api GET "/v1/videos?limit=1&cursor=$cursor"
check 200 GET /v1/videos
api GET "/v1/videos?limit=0"
check 400 GET /v1/videos
api GET "/v1/videos?status=lost"
check 400 GET /v1/videos
API_KEY='' api GET /v1/videos
check 401 GET /v1/videos

# /v1/videos/{id}
api GET "/v1/videos/$vid"
check 200 GET "/v1/videos/{id}"
api GET "/v1/videos/$vid"
check 200 GET "/v1/videos/{id}"
api GET /v1/videos/0000000000000000000000000X
check 404 GET "/v1/videos/{id}"
api GET /v1/videos/not-an-id
check 404 GET "/v1/videos/{id}"
API_KEY=vgk_wrong api GET "/v1/videos/$vid"
check 401 GET "/v1/videos/{id}"
api PATCH "/v1/videos/$vid"
check 405 PATCH "/v1/videos/{id}"

# /v1/objects/videos/{a}/{b}/{id}: signed as vingest signs (HMAC-SHA256 of
# "KEY\nEXPIRES" under store.url_secret)
secret=$(sed -n 's/^url_secret *= *//p' "$VINGEST_CONFIG")
okey=videos/${vid: -2}/${vid: -4:2}/$vid
sign() { printf '%s\n%s' "$1" "$2" | openssl dgst -sha256 -hmac "$secret" | awk '{ print $NF }'; }
exp=$(($(date +%s) + 300))
ourl="/v1/objects/$okey?expires=$exp&sig=$(sign "$okey" "$exp")"
OT='/v1/objects/videos/{a}/{b}/{id}'
API_KEY='' api GET "$ourl"
check 200 GET "$OT"
t_eq "the object is the uploaded file" "$(sha256sum <"$API_BODY")" "$(sha256sum <"$CLIP")"
# Through either web server the object answer keeps its length (Apache
# drops a FastCGI Content-Length unless told to trust it, and chunks) and
# says nosniff once (two copies are joined into one invalid value).
t_eq "an object answer carries its Content-Length" "$(header Content-Length)" "$SZ"
t_eq "an object answer is not chunked" "$(header Transfer-Encoding)" ""
t_eq "an object answer says nosniff once" \
	"$(tr -d '\r' <"$API_HEADERS" | grep -ci '^x-content-type-options: nosniff$')" 1
API_KEY='' api HEAD "$ourl"
check 200 HEAD "$OT"
API_KEY='' api GET "$ourl" -H "Range: bytes=0-99"
check 206 GET "$OT"
t_eq "a range answer carries its Content-Length" "$(header Content-Length)" 100
API_KEY='' api GET "$ourl" -H "Range: bytes=$((SZ + 10))-"
check 416 GET "$OT"
API_KEY='' api GET "/v1/objects/$okey?expires=$exp&sig=$(sign "$okey" "$((exp + 1))")"
check 403 GET "$OT"
old=$(($(date +%s) - 10))
API_KEY='' api GET "/v1/objects/$okey?expires=$old&sig=$(sign "$okey" "$old")"
check 403 GET "$OT"
API_KEY='' api DELETE "$ourl"
check 405 DELETE "$OT"

# tus: /v1/uploads and /v1/uploads/{id}
API_KEY='' api OPTIONS /v1/uploads
check 204 OPTIONS /v1/uploads
api POST /v1/uploads -H "Content-Length: 0" -H "Upload-Length: $SZ"
check 412 POST /v1/uploads
api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0"
check 400 POST /v1/uploads
api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Length: $((TEST_LIMIT_BYTES + 1))"
check 413 POST /v1/uploads
API_KEY='' api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Length: $SZ"
check 401 POST /v1/uploads
api GET /v1/uploads
check 405 GET /v1/uploads
api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Length: $SZ" \
	-H "Upload-Metadata: filename $(b64 clip-2s.mp4),title $(b64 'tus: OpenAPI')"
check 201 POST /v1/uploads
loc=$(header Location)
uid=${loc##*/}
UT="/v1/uploads/{id}"
API_KEY='' api OPTIONS "$loc"
check 204 OPTIONS "$UT"
api HEAD "$loc" "${TUS[@]}"
check 200 HEAD "$UT"
head -c 10000 "$CLIP" >"$T_TMP/p1"
tail -c +10001 "$CLIP" >"$T_TMP/p2"
api PATCH "$loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$T_TMP/p1"
check 204 PATCH "$UT"
api PATCH "$loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$T_TMP/p2"
check 409 PATCH "$UT"
api PATCH "$loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 10000" \
	-H "Upload-Checksum: sha1 $(printf wrong | openssl dgst -sha1 -binary | base64 -w0)" --data-binary "@$T_TMP/p2"
check 460 PATCH "$UT"
api PATCH "$loc" "${TUS[@]}" -H "Content-Type: application/octet-stream" -H "Upload-Offset: 10000" \
	--data-binary "@$T_TMP/p2"
check 415 PATCH "$UT"
api PATCH "$loc" "${TUS[@]}" "${OCT[@]}" --data-binary "@$T_TMP/p2"
check 400 PATCH "$UT"
api PATCH "$loc" "${OCT[@]}" -H "Upload-Offset: 10000" --data-binary "@$T_TMP/p2"
check 412 PATCH "$UT"
api PATCH "$loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 10000" --data-binary "@$T_TMP/p2"
check 204 PATCH "$UT"
t_eq "the last PATCH names the video" "$(header Location)" "/v1/videos/$uid"
api HEAD "$loc" "${TUS[@]}"
check 200 HEAD "$UT"
api GET "$loc"
check 405 GET "$UT"
api DELETE "$loc" "${TUS[@]}"
check 404 DELETE "$UT"
# creation-with-upload of the whole file, at the other spelling of the path
api POST /v1/uploads/ "${TUS[@]}" "${OCT[@]}" -H "Upload-Length: $SZ" --data-binary "@$CLIP"
check 201 POST /v1/uploads/
# termination, and what is left of a terminated upload
api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Defer-Length: 1"
check 201 POST /v1/uploads
loc=$(header Location)
api HEAD "$loc" "${TUS[@]}"
check 200 HEAD "$UT"
api DELETE "$loc" "${TUS[@]}"
check 204 DELETE "$UT"
api HEAD "$loc" "${TUS[@]}"
check 404 HEAD "$UT"
api PATCH "$loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$T_TMP/p1"
check 404 PATCH "$UT"
# expiry
api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Length: $SZ"
loc=$(header Location)
eid=${loc##*/}
if valid_id "$eid"; then
	sql "UPDATE uploads SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE id = '$eid'"
	api HEAD "$loc" "${TUS[@]}"
	check 410 HEAD "$UT"
	api DELETE "$loc" "${TUS[@]}"
	check 410 DELETE "$UT"
	sql "DELETE FROM uploads WHERE id = '$eid'"
	rm -f "$STAGING/$eid.part"
else
	t_fail "a tus creation for the expiry check answered a Location" "Location: $loc"
fi

# DELETE /v1/videos/{id}, last (the object checks above read its object)
api DELETE "/v1/videos/$vid"
check 204 DELETE "/v1/videos/{id}"
api GET "/v1/videos/$vid"
check 200 GET "/v1/videos/{id}"
t_eq "a deleted video answers status deleted" "$(json .status)" deleted
api DELETE "/v1/videos/$vid"
check 404 DELETE "/v1/videos/{id}"

# ---- a document that lies fails: Video.size said to be a string
sed 's/^        size: {type: integer, minimum: 1}$/        size: {type: string}/' \
	"$T_REPO/docs/openapi.yaml" >"$T_TMP/lying.yaml"
api GET "/v1/videos/$vid"
if cmp -s "$T_REPO/docs/openapi.yaml" "$T_TMP/lying.yaml"; then
	t_fail "a copy of the document with Video.size a string differs from it" "(sed matched nothing)"
elif out=$(node "$JS/check.mjs" answer GET "/v1/videos/{id}" "$API_STATUS" "$API_HEADERS" "$API_BODY" \
	--doc "$T_TMP/lying.yaml" 2>&1); then
	t_fail "a document saying Video.size is a string fails the check of a real answer" "$out"
else
	t_match "a document saying Video.size is a string fails the check of a real answer" "$out" '/size must be string'
fi
t_done
