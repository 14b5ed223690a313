#!/usr/bin/env bash
# 11_upload_urls: POST /v1/upload-urls hands out a one-time URL that takes
# one upload with no credentials at all - a multipart POST, or a tus upload
# (creation, PATCH, HEAD at /v1/upload-urls/tus/{id}.{token}). The video
# gets the grant's id and belongs to the key's user; a used URL answers 410
# and makes no second video; an expired one 410; a bogus one 404 before its body is read;
# max_bytes is enforced (413); CORS lets http.cors_origins (the test stack
# allows http://127.0.0.1:18077+offset) use it from a page, and no other
# origin. Then headless Chromium (tests/browser/upload_url.mjs), on a page
# served from that origin that knows only the URLs, uploads a clip with a
# plain form and another resumably (tus-js-client), interrupted and resumed.
#
# The curl checks run in every pass (both web servers put these URLs
# through the authorizer); the browser part only in the fs pass.
. "$(dirname "$0")/lib.sh"

PAGE_ORIGIN=http://127.0.0.1:$((18077 + PORT_OFF))
TUS=(-H "Tus-Resumable: 1.0.0")
OCT=(-H "Content-Type: application/offset+octet-stream")
demo_user=$(sql "SELECT user_id FROM api_keys WHERE key_hash = SHA2('$(sqlq "$VINGEST_API_KEY")', 256)")
# grant JSON: POST /v1/upload-urls with the demo key; sets GID, GURL, GPATH
grant() {
	api POST /v1/upload-urls -H "Content-Type: application/json" --data-binary "$1"
	GID=$(json .id)
	GURL=$(json .url)
	GPATH=/${GURL#*://*/}
}
videos_with() { sql "SELECT COUNT(*) FROM videos WHERE id = '$(sqlq "$1")'"; }

# ---- making one
API_KEY= api POST /v1/upload-urls -H "Content-Type: application/json" --data-binary '{}'
t_eq "POST /v1/upload-urls without a key: 401" "$API_STATUS" 401
grant '{"title":"From an upload URL","metadata":{"campaign":"spring"},"expires_in":600}'
t_eq "POST /v1/upload-urls: 201" "$API_STATUS" 201
t_ok "... id is a video id" valid_id "$GID"
t_match "... url is {this site}/v1/upload-urls/{id}.{64 hex}" "$GURL" \
	"^$VINGEST_URL/v1/upload-urls/$GID\\.[0-9a-f]{64}\$"
exp=$(date -d "$(json .expires_at)" +%s 2>/dev/null || echo 0)
t_match "... expires_at is RFC 3339 UTC" "$(json .expires_at)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$'
t_ok "... about expires_in (600 s) from now" test $((exp - $(date +%s))) -gt 590 -a $((exp - $(date +%s))) -le 600
t_eq "... max_bytes defaults to limits.max_upload_bytes" "$(json .max_bytes)" "$TEST_LIMIT_BYTES"
t_eq "... not cached anywhere (the URL is a secret)" "$(header Cache-Control)" no-store
token=${GURL##*.}
t_eq "in SQL: the grant is the demo user's, keeps the token's SHA-256 and not the token" \
	"$(sql "SELECT user_id, token_hash = SHA2('$token', 256), LOCATE('$token', CONCAT_WS(' ', token_hash, title, metadata)) FROM upload_grants WHERE id = '$(sqlq "$GID")'")" \
	"$demo_user	1	0"
t_eq "... and no video with that id yet" "$(videos_with "$GID")" 0

grant '{"expires_in":86401}'
t_eq "expires_in past limits.upload_url_max_seconds: 400 invalid_expires_in" \
	"$API_STATUS $(json .error.code)" "400 invalid_expires_in"
grant "{\"max_bytes\":$((TEST_LIMIT_BYTES + 1))}"
t_eq "max_bytes past limits.max_upload_bytes: 400 invalid_max_bytes" \
	"$API_STATUS $(json .error.code)" "400 invalid_max_bytes"
grant '{"title":'
t_eq "a body that is not JSON: 400 invalid_json" "$API_STATUS $(json .error.code)" "400 invalid_json"
grant '{"titel":"x"}'
t_eq "an unknown field: 400 invalid_json" "$API_STATUS $(json .error.code)" "400 invalid_json"

# ---- one multipart POST, no credentials
grant '{"title":"From an upload URL","metadata":{"campaign":"spring"},"expires_in":600}'
id=$GID path=$GPATH
API_KEY= api POST "$path" -F "file=@$FIX/clip-2s.mp4" -F "title=the form's own"
t_eq "an anonymous multipart POST to the url: 201" "$API_STATUS" 201
t_eq "... the video's id is the grant's id" "$(json .id)" "$id"
t_eq "... title and metadata are the grant's (they win over the form's)" \
	"$(json .title) $(jq -c .metadata "$API_BODY")" 'From an upload URL {"campaign":"spring"}'
t_eq "in SQL: one video, the demo user's, with its job; the grant is used" \
	"$(sql "SELECT COUNT(*), MAX(v.user_id), (SELECT COUNT(*) FROM jobs WHERE video_id = '$id'), (SELECT used_at IS NOT NULL FROM upload_grants WHERE id = '$id') FROM videos v WHERE v.id = '$id'")" \
	"1	$demo_user	1	1"
API_KEY= api GET "/v1/videos/$id"
t_eq "... which the URL does not let anyone read (GET without a key: 401)" "$API_STATUS" 401
api GET "/v1/videos/$id"
t_eq "... but the key's user can" "$API_STATUS $(json .id)" "200 $id"
BEFORE=$(snap)
API_KEY= api POST "$path" -F "file=@$FIX/clip-2s.mp4"
expect_error "a second POST to a used url" 410 upload_url_used
t_eq "... still one video with that id" "$(videos_with "$id")" 1
API_KEY= api POST "$path" "${TUS[@]}" -H "Upload-Length: 1000" -H "Content-Length: 0"
t_eq "... and a tus creation there: 410 upload_url_used" "$API_STATUS $(json .error.code)" "410 upload_url_used"

# ---- two uploads racing for one url: one video
grant '{}'
race=$T_TMP/race.mp4
make_mp4 $((4 * 1048576)) "$race"
for i in 1 2; do
	curl -sS -o /dev/null -w '%{http_code}\n' -F "file=@$race" "$VINGEST_URL$GPATH" >"$T_TMP/race.$i" &
done
wait
t_match "two POSTs at once to one url: one 201, the other 409 or 410" \
	"$(sort "$T_TMP/race.1" "$T_TMP/race.2" | tr '\n' ' ')" '^201 (409|410) $'
t_eq "... and one video with the url's id" "$(videos_with "$GID")" 1

# ---- refused before the body: bogus, expired, too large
big=$T_TMP/big.mp4
make_mp4 $((8 * 1048576)) "$big"
# refused_early PATH [curl args]: a POST of 8 MiB that waits for 100 Continue;
# sets API_STATUS and SENT (body bytes curl sent)
refused_early() {
	local p=$1
	shift
	read -r API_STATUS SENT < <(curl -s -o "$T_TMP/early.json" -w '%{http_code} %{size_upload}\n' \
		--expect100-timeout 10 -H "Expect: 100-continue" "$@" -F "file=@$big" "$VINGEST_URL$p")
	API_BODY=$T_TMP/early.json
}
BEFORE=$(snap)
refused_early "/v1/upload-urls/$id.$(printf '%064d' 0)"
t_eq "a bogus token for a real id: 404 not_found" "$API_STATUS $(json .error.code)" "404 not_found"
t_lt "... answered before the 8 MiB body was sent (sent: $SENT bytes)" "$SENT" 1048576
refused_early "/v1/upload-urls/0000000000000000000000000Z.$token"
t_eq "an unknown id: 404 not_found" "$API_STATUS $(json .error.code)" "404 not_found"
refused_early "/v1/upload-urls/$id.nothex"
t_eq "a malformed url: 404" "$API_STATUS" 404
t_eq "... nothing stored by any of them" "$(snap)" "$BEFORE"

grant '{"max_bytes":20000,"expires_in":600}'
refused_early "$GPATH"
t_eq "8 MiB to a url of max_bytes 20000: 413 too_large" "$API_STATUS $(json .error.code)" "413 too_large"
t_lt "... before the body was sent" "$SENT" 1048576
make_mp4 30000 "$T_TMP/over.mp4"
API_KEY= api POST "$GPATH" -F "file=@$T_TMP/over.mp4"
t_eq "... a 30000-byte video in a body small enough to be read: 413 too_large" \
	"$API_STATUS $(json .error.code)" "413 too_large"
API_KEY= api POST "$GPATH" "${TUS[@]}" -H "Upload-Length: 20001" -H "Content-Length: 0"
t_eq "... a tus Upload-Length over it: 413" "$API_STATUS" 413
API_KEY= api POST "$GPATH" -F "file=@$FIX/clip-2s.mp4"
t_eq "... the 17386-byte clip: 201 (the refused uploads did not use the url up)" "$API_STATUS" 201

grant '{"expires_in":1}'
epath=$GPATH eid=$GID
expired() { [[ $(sql "SELECT expires_at <= UTC_TIMESTAMP(6) FROM upload_grants WHERE id = '$eid'") == 1 ]]; }
wait_until 10 expired
BEFORE=$(snap)
refused_early "$epath"
t_eq "an expired url: 410 upload_url_expired" "$API_STATUS $(json .error.code)" "410 upload_url_expired"
t_lt "... before the body was sent" "$SENT" 1048576
t_eq "... nothing stored" "$(snap)" "$BEFORE"

# ---- tus through the url
file=$FIX/clip-2s.mp4
size=$(stat -c %s "$file")
half=$((size / 2))
grant '{"title":"resumable","expires_in":600}'
tid=$GID tpath=$GPATH
for concat in partial "final;/v1/uploads/01ARZ3NDEKTSV4RRFFQ69G5FAV"; do
	API_KEY= api POST "$tpath" "${TUS[@]}" -H "Upload-Length: $size" -H "Content-Length: 0" -H "Upload-Concat: $concat"
	t_eq "Upload-Concat: ${concat%%;*} at the url: 400 invalid_upload_concat, the url unused" \
		"$API_STATUS $(json .error.code) $(sql "SELECT claim IS NULL AND used_at IS NULL FROM upload_grants WHERE id = '$tid'")" \
		"400 invalid_upload_concat 1"
done
API_KEY= api POST "$tpath" "${TUS[@]}" -H "Upload-Length: $size" -H "Content-Length: 0" \
	-H "Upload-Metadata: filename $(printf clip.mp4 | base64 -w0)"
t_eq "tus creation at the url, no credentials: 201" "$API_STATUS" 201
loc=$(header Location)
t_eq "... Location is /v1/upload-urls/tus/{id}.{token}" "$loc" "/v1/upload-urls/tus/${tpath#/v1/upload-urls/}"
t_ok "... Upload-Expires is the grant's expiry (about 600 s), not tus_expiry_seconds" \
	test $(($(date -d "$(header Upload-Expires)" +%s) - $(date +%s))) -le 600
API_KEY= api POST "$tpath" -F "file=@$file"
t_eq "... a multipart POST while it runs: 409 upload_url_in_use" \
	"$API_STATUS $(json .error.code)" "409 upload_url_in_use"
API_KEY= api PATCH "$loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" \
	--data-binary @<(head -c "$half" "$file")
t_eq "a PATCH of the first half, no credentials: 204" "$API_STATUS" 204
t_eq "... Upload-Offset $half" "$(header Upload-Offset)" "$half"
API_KEY= api HEAD "$loc" "${TUS[@]}"
t_eq "HEAD there: 200, Upload-Offset $half" "$API_STATUS $(header Upload-Offset)" "200 $half"
API_KEY= api HEAD "/v1/upload-urls/tus/$tid.$(printf "%064d" 0)" "${TUS[@]}"
t_eq "HEAD with a bad token: 404" "$API_STATUS" 404
API_KEY= api PATCH "$loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: $half" \
	--data-binary @<(tail -c +$((half + 1)) "$file")
t_eq "the last PATCH: 204" "$API_STATUS" 204
t_eq "in SQL: the video has the grant's id, the demo user, the grant's title; the grant is used" \
	"$(sql "SELECT v.user_id, v.title, v.filename, v.size_bytes, g.used_at IS NOT NULL FROM videos v JOIN upload_grants g ON g.id = v.id WHERE v.id = '$tid'")" \
	"$demo_user	resumable	clip.mp4	$size	1"
t_eq "... the upload's row is gone" "$(sql "SELECT COUNT(*) FROM uploads WHERE id = '$tid'")" 0
API_KEY= api HEAD "$loc" "${TUS[@]}"
t_eq "HEAD after it finished: 200, Upload-Offset = length" "$API_STATUS $(header Upload-Offset)" "200 $size"
API_KEY= api POST "$tpath" "${TUS[@]}" -H "Upload-Length: $size" -H "Content-Length: 0"
t_eq "a new tus creation at the used url: 410" "$API_STATUS" 410
grant '{}'
API_KEY= api HEAD "/v1/upload-urls/tus/${GPATH#/v1/upload-urls/}" "${TUS[@]}"
t_eq "the tus path of a url before any tus creation: 404" "$API_STATUS" 404

# ---- CORS
grant '{}'
API_KEY= api OPTIONS "$GPATH" -H "Origin: $PAGE_ORIGIN" -H "Access-Control-Request-Method: POST" \
	-H "Access-Control-Request-Headers: tus-resumable, upload-length, upload-metadata"
t_eq "preflight from an allowed origin: 204" "$API_STATUS" 204
t_eq "... Access-Control-Allow-Origin is that origin" "$(header Access-Control-Allow-Origin)" "$PAGE_ORIGIN"
t_match "... allows POST" "$(header Access-Control-Allow-Methods)" 'POST'
t_match "... and the tus headers" "$(header Access-Control-Allow-Headers)" 'Tus-Resumable.*Upload-Length.*Upload-Metadata'
API_KEY= api OPTIONS "/v1/upload-urls/tus/${GPATH#/v1/upload-urls/}" -H "Origin: $PAGE_ORIGIN" \
	-H "Access-Control-Request-Method: PATCH"
t_match "... and PATCH on its tus path" "$API_STATUS $(header Access-Control-Allow-Methods)" '^204 .*PATCH'
API_KEY= api OPTIONS "$GPATH" -H "Origin: http://evil.example" -H "Access-Control-Request-Method: POST"
t_eq "preflight from another origin: 403" "$API_STATUS" 403
t_eq "... with no Access-Control-Allow-Origin" "$(header Access-Control-Allow-Origin)" ""
API_KEY= api POST "$GPATH" -H "Origin: $PAGE_ORIGIN" "${TUS[@]}" -H "Upload-Length: $size" -H "Content-Length: 0"
t_eq "a creation from the allowed origin: 201 with Access-Control-Allow-Origin" \
	"$API_STATUS $(header Access-Control-Allow-Origin)" "201 $PAGE_ORIGIN"
t_match "... exposing Location and Upload-Offset" "$(header Access-Control-Expose-Headers)" 'Location.*Upload-Offset'
API_KEY= api DELETE "$(header Location)" "${TUS[@]}" -H "Origin: $PAGE_ORIGIN"
t_eq "... and a DELETE of that upload from there: 204, the same header" \
	"$API_STATUS $(header Access-Control-Allow-Origin)" "204 $PAGE_ORIGIN"
t_eq "... which frees the url (no claim)" "$(sql "SELECT COUNT(*) FROM upload_grants WHERE id = '$(sqlq "$GID")' AND claim IS NULL")" 1
grant '{}'
API_KEY= api POST "$GPATH" -H "Origin: http://evil.example" -F "file=@$file"
t_eq "a post from another origin gets no Access-Control-Allow-Origin (a script cannot read it)" \
	"$(header Access-Control-Allow-Origin)" ""

# ---- the answers against docs/openapi.yaml (tests/openapi/check.mjs, as 95_openapi)
OA=$T_REPO/tests/openapi
if [[ ! -d $OA/node_modules/ajv-formats ]]; then
	(cd "$OA" && npm install --no-audit --no-fund --no-package-lock) >"$T_TMP/npm-oa.log" 2>&1 ||
		t_fail "npm install in tests/openapi" "$(tail -n 20 "$T_TMP/npm-oa.log")"
fi
oa() { # METHOD DOC_PATH: the last answer matches the document
	local method=$1 path=$2 out
	[[ $method == HEAD ]] && : >"$API_BODY"
	if out=$(node "$OA/check.mjs" answer "$method" "$path" "$API_STATUS" "$API_HEADERS" "$API_BODY" 2>&1); then
		t_pass "$out"
	else
		t_fail "$method $path $API_STATUS matches docs/openapi.yaml" "$out"
	fi
}
grant '{"title":"documented","metadata":{"a":[1,2]},"max_bytes":1000000,"expires_in":60}'
oa POST /v1/upload-urls
gpath=$GPATH tuspath=/v1/upload-urls/tus/${GPATH#/v1/upload-urls/}
grant '{"expires_in":0}'
oa POST /v1/upload-urls
API_KEY= api OPTIONS "$gpath" -H "Origin: $PAGE_ORIGIN" -H "Access-Control-Request-Method: POST"
oa OPTIONS "/v1/upload-urls/{grant}"
API_KEY= api OPTIONS "$gpath" -H "Origin: http://evil.example"
oa OPTIONS "/v1/upload-urls/{grant}"
API_KEY= api POST "$gpath" "${TUS[@]}" -H "Upload-Length: $size" -H "Content-Length: 0" -H "Origin: $PAGE_ORIGIN"
oa POST "/v1/upload-urls/{grant}"
API_KEY= api HEAD "$tuspath" "${TUS[@]}"
oa HEAD "/v1/upload-urls/tus/{grant}"
API_KEY= api PATCH "$tuspath" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 1" --data-binary @"$file"
oa PATCH "/v1/upload-urls/tus/{grant}"
API_KEY= api DELETE "$tuspath" "${TUS[@]}"
oa DELETE "/v1/upload-urls/tus/{grant}"
API_KEY= api POST "$gpath" -F "file=@$file"
oa POST "/v1/upload-urls/{grant}"
API_KEY= api POST "$gpath" -F "file=@$file"
oa POST "/v1/upload-urls/{grant}"
API_KEY= api POST "/v1/upload-urls/$(printf '0%.0s' {1..26}).$(printf '%064d' 0)" -F "file=@$file"
oa POST "/v1/upload-urls/{grant}"
API_KEY= api GET "$gpath"
oa GET "/v1/upload-urls/{grant}"

# ---- Chromium: a page that knows only the URLs
if [[ $STORE_BACKEND != fs ]]; then
	echo "# the browser part runs in the fs pass (./dev test --store fs)"
	t_eq "nothing is left in staging" "$(find "$STAGING" -type f 2>/dev/null | wc -l)" 0
	t_done
fi
JS=$T_REPO/tests/browser
TUSJS=$T_REPO/tests/tus-js/node_modules/tus-js-client/dist/tus.min.js
if [[ ! -d $JS/node_modules/playwright-core ]]; then
	(cd "$JS" && npm install --no-audit --no-fund --no-package-lock) >"$T_TMP/npm.log" 2>&1 ||
		t_fail "npm install in tests/browser" "$(tail -n 20 "$T_TMP/npm.log")"
fi
if [[ ! -r $TUSJS ]]; then
	(cd "$T_REPO/tests/tus-js" && npm install --no-audit --no-fund --no-package-lock) >"$T_TMP/npm2.log" 2>&1 ||
		t_fail "npm install in tests/tus-js" "$(tail -n 20 "$T_TMP/npm2.log")"
fi
grant '{"title":"browser form","expires_in":600}'
form_id=$GID form_url=$GURL
grant '{"title":"browser tus","expires_in":600}'
tus_id=$GID tus_url=$GURL
big=$T_TMP/resumable.mp4
make_mp4 $((3 * 1048576)) "$big"
out=$(cd "$JS" && timeout 180 node upload_url.mjs "$PAGE_ORIGIN" "$form_url" "$tus_url" "$FIX/clip-2s.mp4" \
	"$big" "$TUSJS" 2>"$T_TMP/node.err" | tail -n 1)
echo "# browser: $out"
if [[ -z $out ]] || ! jq -e . >/dev/null 2>&1 <<<"$out"; then
	t_fail "the browser script ran" "$(tail -n 20 "$T_TMP/node.err")"
	t_done
fi
t_eq "the browser ran without an error" "$(jq -r '.error // ""' <<<"$out")" ""
t_eq "the plain form's post to the url was answered 201" "$(jq -r .form_status <<<"$out")" 201
t_eq "... and the video is the demo user's, with the grant's id and title" \
	"$(sql "SELECT user_id, title, filename FROM videos WHERE id = '$(sqlq "$form_id")'")" \
	"$demo_user	browser form	clip-2s.mp4"
t_eq "the resumable upload was interrupted part way" "$(jq -r '.paused_at > 0 and .paused_at < .size' <<<"$out")" true
t_eq "... and resumed where the server's HEAD said, not from 0" \
	"$(jq -r '.resumed_from == .head_offset and .head_offset >= .paused_at' <<<"$out")" true
t_eq "... to the end" "$(jq -r .tus_done <<<"$out")" true
t_eq "in SQL: its video has every byte, the grant's id and title, the demo user" \
	"$(sql "SELECT user_id, title, size_bytes, sha256 FROM videos WHERE id = '$(sqlq "$tus_id")'")" \
	"$demo_user	browser tus	$(stat -c %s "$big")	$(sha256sum "$big" | cut -d' ' -f1)"
t_eq "nothing is left in staging" "$(find "$STAGING" -type f 2>/dev/null | wc -l)" 0
t_done
