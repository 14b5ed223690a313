#!/usr/bin/env bash
# 90_tus: tus 1.0.0 at /v1/uploads through lighttpd (which streams tus
# bodies): every status code, resume after a PATCH cut off mid-body with a
# byte-identical result, a repeated final PATCH making one video, checksum
# mismatches appending nothing, racing PATCHes, deferred length,
# termination, expiry (the janitor removes the upload and its bytes), and
# media checks at the end.
. "$(dirname "$0")/lib.sh"

export VINGEST_DEV_WORKERS=1 # the janitor (expiry) runs in the workers' supervisor
"$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1 || t_fail "./dev up" "$(tail -n 20 "$T_TMP/up.log")"

TUS_IN_PROGRESS=1
TUS=(-H "Tus-Resumable: 1.0.0")
OCT=(-H "Content-Type: application/offset+octet-stream")
b64() { printf '%s' "$1" | base64 -w0; }
# create LENGTH [curl args]: POST; sets LOC (path) and UID_ (the id)
create() {
	local len=$1
	shift
	api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Length: $len" "$@"
	LOC=$(header Location)
	UID_=${LOC##*/}
}
# offset_of LOC: HEAD, then the offset (call it as `offset_of X; echo "$OFFSET"` to keep
# the response for header; $(offset_of X) loses it in the subshell)
offset_of() { api HEAD "$1" "${TUS[@]}"; OFFSET=$(header Upload-Offset); echo "$OFFSET"; }
staged_size() { stat -c %s "$STAGING/$1.part" 2>/dev/null || echo none; }
# holds_flock ID: a PATCH holds the upload's flock, as /proc/locks shows it
# (read from outside: taking the lock to test it could turn a PATCH away).
holds_flock() {
	local ino
	ino=$(stat -c %i "$STAGING/$1.part" 2>/dev/null) || return 1
	grep -qE "FLOCK +ADVISORY +WRITE +[0-9]+ +[0-9a-f]+:[0-9a-f]+:$ino " /proc/locks
}

CLIP=$FIX/clip-2s.mp4
SZ=$(stat -c %s "$CLIP")
SHA=$(sha256sum "$CLIP" | cut -d' ' -f1)
head -c 10000 "$CLIP" >"$T_TMP/p1"
tail -c +10001 "$CLIP" >"$T_TMP/p2"

# ---- OPTIONS: exactly what is implemented
api OPTIONS /v1/uploads
t_eq "OPTIONS: 204" "$API_STATUS" 204
t_eq "OPTIONS: Tus-Version" "$(header Tus-Version)" 1.0.0
t_eq "OPTIONS: Tus-Extension lists what is implemented" "$(header Tus-Extension)" \
	creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,concatenation
t_eq "OPTIONS: Tus-Checksum-Algorithm" "$(header Tus-Checksum-Algorithm)" sha1,sha256
t_eq "OPTIONS: Tus-Max-Size is the upload limit" "$(header Tus-Max-Size)" "$TEST_LIMIT_BYTES"
t_match "CORS: Location and Upload-Offset are exposed to browsers" "$(header Access-Control-Expose-Headers)" 'Location.*Upload-Offset'
t_match "CORS: the tus request headers are allowed" "$(header Access-Control-Allow-Headers)" 'Tus-Resumable.*Upload-Offset.*Upload-Checksum'

# ---- creation errors
BEFORE=$(snap)
api POST /v1/uploads -H "Content-Length: 0" -H "Upload-Length: $SZ"
t_eq "no Tus-Resumable: 412" "$API_STATUS" 412
t_eq "412 says Tus-Version" "$(header Tus-Version)" 1.0.0
api POST /v1/uploads -H "Tus-Resumable: 0.2.2" -H "Content-Length: 0" -H "Upload-Length: $SZ"
t_eq "an old Tus-Resumable: 412" "$API_STATUS" 412
api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0"
expect_error "no Upload-Length nor Upload-Defer-Length" 400 invalid_upload_length
create $((TEST_LIMIT_BYTES + 1))
expect_error "Upload-Length over the limit" 413 too_large
create "$SZ" -H "Upload-Metadata: filename !!notbase64!!"
expect_error "Upload-Metadata value not base64" 400 invalid_metadata
create "$SZ" -H "Upload-Metadata: bad\"key $(b64 x)"
expect_error "Upload-Metadata key with a quote" 400 invalid_metadata
# The fields follow POST /v1/videos's rules and refusals (app/fields.c;
# 10_upload checks the same metadata through the form): trailing bytes after
# the object are refused, never dropped. expect_error's snap proves nothing
# was made: no uploads row, no staging file.
create "$SZ" -H "Upload-Metadata: filename $(b64 clip.mp4),metadata $(b64 '{"a":1}xyz')"
expect_error 'Upload-Metadata metadata {"a":1}xyz' 400 invalid_metadata
create "$SZ" -H "Upload-Metadata: metadata $(b64 '[1,2]')"
expect_error "Upload-Metadata metadata that is not an object" 400 invalid_metadata
create "$SZ" -H "Upload-Metadata: title $(b64 "$(head -c 501 /dev/zero | tr '\0' t)")"
expect_error "Upload-Metadata title of 501 characters" 400 title_too_long
API_KEY=bad create "$SZ"
expect_error "bad key" 401 unauthorized

# ---- a normal upload in two PATCHes, with metadata
create "$SZ" -H "Upload-Metadata: filename $(b64 clip.mp4),title $(b64 'tus title'),metadata $(b64 '{"via":"tus"}'),filetype $(b64 video/mp4)"
t_eq "POST: 201" "$API_STATUS" 201
t_match "Location is /v1/uploads/{id}" "$LOC" '^/v1/uploads/[0-9A-Z]{26}$'
t_match "Upload-Expires is an HTTP date" "$(header Upload-Expires)" '^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} 20[0-9]{2} '
t_eq "the uploads row is there, offset 0" "$(sql "SELECT kind, upload_offset, upload_length FROM uploads WHERE id = '$UID_'")" "tus	0	$SZ"
offset_of "$LOC" >/dev/null
t_eq "HEAD: offset 0" "$OFFSET" 0
t_eq "HEAD: Upload-Length" "$(header Upload-Length)" "$SZ"
t_match "HEAD: Upload-Metadata echoed" "$(header Upload-Metadata)" "^filename $(b64 clip.mp4),"
t_eq "HEAD: Cache-Control no-store" "$(header Cache-Control)" no-store

api PATCH "$LOC" "${TUS[@]}" -H "Content-Type: application/octet-stream" -H "Upload-Offset: 0" --data-binary "@$T_TMP/p1"
expect_error "PATCH with the wrong Content-Type" 415 wrong_content_type "$(snap)"
api PATCH "$LOC" "${TUS[@]}" "${OCT[@]}" --data-binary "@$T_TMP/p1"
t_eq "PATCH without Upload-Offset: 400" "$API_STATUS" 400
api PATCH "$LOC" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 5" --data-binary "@$T_TMP/p1"
t_eq "PATCH at the wrong offset: 409" "$API_STATUS" 409
t_eq "409 tells the right offset" "$(header Upload-Offset)" 0
api PATCH "$LOC" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" -H "Upload-Checksum: sha256 $(openssl dgst -sha256 -binary "$T_TMP/p1" | base64 -w0)" -H "X-Request-Id: t90-first-$$" --data-binary "@$T_TMP/p1"
t_eq "PATCH 1 with a good sha256 checksum: 204" "$API_STATUS" 204
t_eq "Upload-Offset 10000" "$(header Upload-Offset)" 10000
t_eq "the row says 10000" "$(sql "SELECT upload_offset FROM uploads WHERE id = '$UID_'")" 10000
wait_until 10 grep -q "msg=request request_id=t90-first-$$ " "$VINGEST_VAR/log/vingest-fcgi.log"
t_match "a PATCH that does not finish the upload times its fsync and its offset's COMMIT" \
	"$(grep "msg=request request_id=t90-first-$$ " "$VINGEST_VAR/log/vingest-fcgi.log" | tail -n 1)" \
	' status=204 .* mark_ms=[0-9]+\.[0-9] fsync_ms=[0-9]+\.[0-9]$'

# checksum mismatch: 460 and nothing appended
api PATCH "$LOC" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 10000" -H "Upload-Checksum: sha1 $(printf 'wrong' | openssl dgst -sha1 -binary | base64 -w0)" --data-binary "@$T_TMP/p2"
t_eq "a checksum mismatch: 460" "$API_STATUS" 460
t_eq "nothing appended: HEAD still 10000" "$(offset_of "$LOC")" 10000
t_eq "nothing appended: the staged file is 10000 bytes" "$(staged_size "$UID_")" 10000
api PATCH "$LOC" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 10000" -H "Upload-Checksum: md5 AAAA" --data-binary "@$T_TMP/p2"
t_eq "an unsupported checksum algorithm: 400" "$API_STATUS" 400

other=$(new_user "tus-$RANDOM")
API_KEY=$other api HEAD "$LOC" "${TUS[@]}"
t_eq "another user's HEAD: 404" "$API_STATUS" 404
API_KEY=$other api PATCH "$LOC" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 10000" --data-binary "@$T_TMP/p2"
t_eq "another user's PATCH: 404" "$API_STATUS" 404
t_eq "and it appended nothing" "$(staged_size "$UID_")" 10000
api HEAD /v1/uploads/01AAAAAAAAAAAAAAAAAAAAAAAA "${TUS[@]}"
t_eq "an unknown upload: 404" "$API_STATUS" 404
api HEAD "/v1/uploads/..%2F..%2Fetc%2Fpasswd" "${TUS[@]}"
t_eq "a path-traversal id: 404" "$API_STATUS" 404

api PATCH "$LOC" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 10000" -H "X-Request-Id: t90-last-$$" --data-binary "@$T_TMP/p2"
t_eq "the last PATCH: 204" "$API_STATUS" 204
t_eq "final Upload-Offset is the length" "$(header Upload-Offset)" "$SZ"
wait_until 10 grep -q "msg=request request_id=t90-last-$$ " "$VINGEST_VAR/log/vingest-fcgi.log"
last=$(grep "msg=request request_id=t90-last-$$ " "$VINGEST_VAR/log/vingest-fcgi.log" | tail -n 1)
t_match "the last PATCH's access log line times the publish and the video's COMMIT" \
	"$last" ' status=204 .* publish_ms=[0-9]+\.[0-9] commit_ms=[0-9]+\.[0-9]$'
t_eq "... and no fsync or offset COMMIT of its own (the publish fsyncs, the COMMIT ends the row)" \
	"$(grep -cE 'mark_ms=|fsync_ms=' <<<"$last")" 0
api GET "/v1/videos/$UID_"
t_eq "the upload id is the video id: GET /v1/videos/{id}" "$(json .id)" "$UID_"
t_eq "with the file's sha256" "$(json .sha256)" "$SHA"
t_eq "and the tus metadata" "$(json '.filename + "|" + .title + "|" + .metadata.via + "|" + .content_type')" "clip.mp4|tus title|tus|video/mp4"
t_eq "one videos row, one jobs row, no uploads row" \
	"$(sql "SELECT (SELECT COUNT(*) FROM videos WHERE id = '$UID_'), (SELECT COUNT(*) FROM jobs WHERE video_id = '$UID_'), (SELECT COUNT(*) FROM uploads WHERE id = '$UID_')")" "1	1	0"
key=$(sql "SELECT object_key FROM videos WHERE id = '$UID_'")
store_get "$key" "$T_TMP/stored"
t_ok "the stored object is byte-identical" cmp -s "$CLIP" "$T_TMP/stored"
t_eq "no staging file left" "$(staged_size "$UID_")" none

# ---- the last PATCH repeated (the answer was lost): still one video
api PATCH "$LOC" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 10000" --data-binary "@$T_TMP/p2"
t_eq "a repeated last PATCH: 409 (the upload is complete)" "$API_STATUS" 409
t_eq "with Upload-Offset = length, so the client knows it is done" "$(header Upload-Offset)" "$SZ"
t_eq "HEAD of a finished upload: offset = length" "$(offset_of "$LOC")" "$SZ"
t_eq "still exactly one video and one job" \
	"$(sql "SELECT (SELECT COUNT(*) FROM videos WHERE id = '$UID_'), (SELECT COUNT(*) FROM jobs WHERE video_id = '$UID_')")" "1	1"

# ---- a PATCH cut off mid-body: the web server never passes it on; resend it
# Both web servers take a body whole before vingest-fcgi sees it, so a cut-off
# PATCH changes nothing and the client sends that chunk again (which is why a
# tus body is capped at limits.max_chunk_bytes).
create "$SZ"
cut_loc=$LOC
port=${VINGEST_URL##*:}
exec 3<>"/dev/tcp/127.0.0.1/$port"
{
	printf 'PATCH %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: %d\r\n\r\n' \
		"$cut_loc" "$VINGEST_API_KEY" "$SZ"
	head -c 9000 "$CLIP"
} >&3
lport=$(conn_port 3 "$port")
t_ok "the web server has read the 9000 bytes" wait_until 10 conn_read "$port" "$lport"
exec 3>&-
# and is done with the request once it lets the connection go
t_ok "a PATCH cut off: the web server closes the connection" wait_until 30 conn_closed "$port" "$lport"
t_eq "a PATCH cut off after 9000 bytes through $VINGEST_WEB: HEAD still says 0" "$(offset_of "$cut_loc")" 0
t_eq "and nothing was staged" "$(staged_size "${cut_loc##*/}")" 0
api PATCH "$cut_loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$CLIP"
t_eq "sending the chunk again finishes: 204" "$API_STATUS" 204
cid=${cut_loc##*/}
key=$(sql "SELECT object_key FROM videos WHERE id = '$cid'")
store_get "$key" "$T_TMP/stored2"
t_ok "the resent upload is byte-identical" cmp -s "$CLIP" "$T_TMP/stored2"

# ---- a body that stops short in vingest-fcgi itself keeps what arrived
# (a web server that streams bodies instead of spooling them): a FastCGI
# request straight to vingest-fcgi, its body ending after 9000 bytes.
FCGI=${VINGEST_FCGI_LISTEN#unix:}
fcgi_patch() { # fcgi_patch PATH OFFSET CONTENT_LENGTH < body
	env -i REQUEST_METHOD=PATCH "REQUEST_URI=$1" "CONTENT_LENGTH=$3" \
		CONTENT_TYPE=application/offset+octet-stream HTTP_TUS_RESUMABLE=1.0.0 \
		"HTTP_UPLOAD_OFFSET=$2" "HTTP_AUTHORIZATION=Bearer $VINGEST_API_KEY" \
		cgi-fcgi -bind -connect "$FCGI" 2>/dev/null | tr -d '\r'
}
create "$SZ"
short_loc=$LOC
out=$(head -c 9000 "$CLIP" | fcgi_patch "$short_loc" 0 "$SZ")
t_match "a PATCH body ending after 9000 of $SZ bytes: 400 incomplete_body" "$out" '^Status: 400 '
t_match "that says what it kept: Upload-Offset: 9000" "$out" $'(^|\n)Upload-Offset: 9000(\n|$)'
t_eq "HEAD says 9000" "$(offset_of "$short_loc")" 9000
tail -c +9001 "$CLIP" >"$T_TMP/rest"
api PATCH "$short_loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 9000" --data-binary "@$T_TMP/rest"
t_eq "resuming from 9000 finishes: 204" "$API_STATUS" 204
key=$(sql "SELECT object_key FROM videos WHERE id = '${short_loc##*/}'")
store_get "$key" "$T_TMP/stored3"
t_ok "the resumed upload is byte-identical" cmp -s "$CLIP" "$T_TMP/stored3"
out=$(fcgi_patch "$short_loc" 0 9223372036854775807 </dev/null)
t_match "a PATCH declaring a Content-Length near 2^63 is refused at once, no overflow: 4xx" "$out" '^Status: 4[0-9][0-9] '
create "$SZ"
big_loc=$LOC
api PATCH "$big_loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$T_TMP/p1"
t_eq "an upload at offset 10000" "$API_STATUS" 204
out=$(fcgi_patch "$big_loc" 10000 9223372036854775800 </dev/null)
t_match "at offset 10000, Content-Length 2^63 - 8 (offset + length would wrap): 413" "$out" '^Status: 413 '
t_eq "and nothing moved" "$(offset_of "$big_loc")" 10000

# ---- two PATCHes racing on one offset: only one appends
# Through the web server: the one whose body is complete first reaches the
# app first and appends; the other finds the offset moved (409).
create "$SZ"
race_loc=$LOC
exec 4<>"/dev/tcp/127.0.0.1/$port"
{
	printf 'PATCH %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: 10000\r\n\r\n' \
		"$race_loc" "$VINGEST_API_KEY"
	head -c 5000 "$T_TMP/p1"
} >&4
api PATCH "$race_loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$T_TMP/p1"
t_eq "a second PATCH, complete while the first is still arriving: 204" "$API_STATUS" 204
tail -c +5001 "$T_TMP/p1" >&4
status_line=
read -r -t 15 status_line <&4 || true
exec 4>&-
t_match "the first, complete later, finds the offset moved: 409" "$status_line" '^HTTP/1\.1 409 '
t_eq "only one appended: offset 10000" "$(offset_of "$race_loc")" 10000
t_eq "and the staged file is 10000 bytes" "$(staged_size "${race_loc##*/}")" 10000
# In vingest-fcgi itself, while one PATCH streams its body the upload is
# held (flock): a second PATCH meanwhile gets 409 upload_busy at once.
create "$SZ"
lock_loc=$LOC
{
	head -c 5000 "$T_TMP/p1"
	sleep 3
	tail -c +5001 "$T_TMP/p1"
} | fcgi_patch "$lock_loc" 0 10000 >"$T_TMP/first" &
first=$!
t_ok "a PATCH streaming into vingest-fcgi holds the upload" wait_until 10 holds_flock "${lock_loc##*/}"
api PATCH "$lock_loc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$T_TMP/p1"
t_eq "a second PATCH meanwhile: 409 upload_busy" "$API_STATUS $(json .error.code)" "409 upload_busy"
wait "$first"
t_match "the first, its body complete, answers 204" "$(head -n 1 "$T_TMP/first")" '^Status: 204 '
t_eq "only the first appended: offset 10000" "$(offset_of "$lock_loc")" 10000
t_ok "and its flock was released with the answer" eval '! holds_flock "${lock_loc##*/}"'
race_loc=$lock_loc

# ---- termination
api DELETE "$race_loc" "${TUS[@]}"
t_eq "DELETE: 204" "$API_STATUS" 204
api HEAD "$race_loc" "${TUS[@]}"
t_eq "HEAD after DELETE: 404" "$API_STATUS" 404
t_eq "its bytes are gone" "$(staged_size "${race_loc##*/}")" none
t_eq "its row is gone" "$(sql "SELECT COUNT(*) FROM uploads WHERE id = '${race_loc##*/}'")" 0

# ---- creation-defer-length and creation-with-upload
api POST /v1/uploads "${TUS[@]}" -H "Upload-Defer-Length: 1" -H "Content-Length: 0"
t_eq "Upload-Defer-Length: 1 creates: 201" "$API_STATUS" 201
dloc=$(header Location)
api HEAD "$dloc" "${TUS[@]}"
t_eq "HEAD says the length is deferred" "$(header Upload-Defer-Length)" 1
api PATCH "$dloc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$T_TMP/p1"
t_eq "a PATCH before the length is known: 204" "$API_STATUS" 204
api PATCH "$dloc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 10000" -H "Upload-Length: $SZ" --data-binary "@$T_TMP/p2"
t_eq "the PATCH that names the length and finishes: 204" "$API_STATUS" 204
api GET "/v1/videos/${dloc##*/}"
t_eq "the deferred upload became a video" "$(json .sha256)" "$SHA"

api POST /v1/uploads "${TUS[@]}" "${OCT[@]}" -H "Upload-Length: $SZ" --data-binary "@$CLIP"
t_eq "creation-with-upload of the whole file: 201" "$API_STATUS" 201
t_eq "Upload-Offset is the length" "$(header Upload-Offset)" "$SZ"
wid=$(header Location)
wid=${wid##*/}
t_eq "Location still names the upload" "$(header Location)" "/v1/uploads/$wid"
api GET "/v1/videos/$wid"
t_eq "and the video exists" "$(json .id)" "$wid"

# ---- the last byte of something that is not a video: 415, nothing kept
BAD=$FIX/not-a-video.bin
BEFORE=$(snap)
create "$(stat -c %s "$BAD")"
api PATCH "$LOC" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$BAD"
expect_error "a tus upload that is not a video" 415 unsupported_media

# ---- expiry: 410 for retention.orphan_grace_seconds (1 h here), then the
# janitor removes the upload and its bytes. Two uploads: one expired a
# second ago, one expired past the grace; the second one's removal shows a
# janitor pass ran, and that pass must have kept the first.
create "$SZ"
eloc=$LOC
eid=$UID_
api PATCH "$eloc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$T_TMP/p1"
create "$SZ"
oloc=$LOC
oid=$UID_
api PATCH "$oloc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$T_TMP/p1"
t_eq "two uploads to expire have staged bytes" "$(staged_size "$eid") $(staged_size "$oid")" "$(stat -c %s "$T_TMP/p1") $(stat -c %s "$T_TMP/p1")"
sql "UPDATE uploads SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE id = '$eid'"
api HEAD "$eloc" "${TUS[@]}"
t_eq "an expired upload: 410" "$API_STATUS" 410
api PATCH "$eloc" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: $(stat -c %s "$T_TMP/p1")" --data-binary "@$T_TMP/p1"
t_eq "a PATCH to it: 410" "$API_STATUS" 410
sql "UPDATE uploads SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 3601 SECOND WHERE id = '$oid'"
row_gone() { [[ $(sql "SELECT COUNT(*) FROM uploads WHERE id = '$1'") == 0 ]]; }
wait_until 15 row_gone "$oid" || true
t_eq "the janitor removed the upload expired past the grace" "$(sql "SELECT COUNT(*) FROM uploads WHERE id = '$oid'")" 0
t_eq "and its bytes" "$(staged_size "$oid")" none
api HEAD "$oloc" "${TUS[@]}"
t_eq "which then answers 404" "$API_STATUS" 404
t_eq "the same pass kept the upload expired a moment ago" "$(sql "SELECT COUNT(*) FROM uploads WHERE id = '$eid'")" 1
t_eq "and its bytes" "$(staged_size "$eid")" "$(stat -c %s "$T_TMP/p1")"
api HEAD "$eloc" "${TUS[@]}"
t_eq "which still answers 410" "$API_STATUS" 410
t_done
