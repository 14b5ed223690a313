#!/usr/bin/env bash
# 12_tus_concat: the tus concatenation extension at /v1/uploads. Partial
# uploads (Upload-Concat: partial) take their bytes but never become videos;
# a final upload (Upload-Concat: final;URL ...) made of finished partials
# commits exactly one video and one job whose bytes are the partials' in
# the order named, and ends the partials (404, not reusable). Bad headers
# and bad parts answer their documented errors and change nothing; the
# media checks apply to the concatenation; partials and the final count
# against the per-user caps (a private instance). Then tus-js-client uploads a
# fixture with `parallelUploads: 3` and the stored sha256 is the file's.
# Runs in every store pass: the final goes through the publish any upload
# does (fs, s3, db). The tus-js-client part needs node and npm (91_tus_js).
. "$(dirname "$0")/lib.sh"

TUS_IN_PROGRESS=1 # partial uploads stay open while expect_error checks
TUS=(-H "Tus-Resumable: 1.0.0")
OCT=(-H "Content-Type: application/offset+octet-stream")
b64() { printf '%s' "$1" | base64 -w0; }
# partial LENGTH [curl args]: creates a partial upload; sets LOC and PID_
partial() {
	local len=$1
	shift
	api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Length: $len" \
		-H "Upload-Concat: partial" "$@"
	LOC=$(header Location)
	PID_=${LOC##*/}
}
# fill LOC FILE: one PATCH with all of FILE at offset 0
fill() { api PATCH "$1" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary "@$2"; }
# final CONCAT [curl args]: creates a final upload
final() { api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Concat: $1" "${@:2}"; }
count() { sql "SELECT COUNT(*) FROM $1"; }
in_list() { printf "'%s'," "$@" | sed 's/,$//'; }

CLIP=$FIX/clip-2s.mp4
SZ=$(stat -c %s "$CLIP")
SHA=$(sha256sum "$CLIP" | cut -d' ' -f1)
head -c 5000 "$CLIP" >"$T_TMP/a"
tail -c +5001 "$CLIP" | head -c 6000 >"$T_TMP/b"
tail -c +11001 "$CLIP" >"$T_TMP/c"
LA_=$(stat -c %s "$T_TMP/a")
LB_=$(stat -c %s "$T_TMP/b")
LC_=$(stat -c %s "$T_TMP/c")

# ---- OPTIONS advertises it, CORS lets browsers send and read it
api OPTIONS /v1/uploads
t_match "OPTIONS: Tus-Extension lists concatenation" "$(header Tus-Extension)" '(^|,)concatenation(,|$)'
t_match "CORS: Upload-Concat may be sent" "$(header Access-Control-Allow-Headers)" 'Upload-Concat'
t_match "CORS: Upload-Concat may be read" "$(header Access-Control-Expose-Headers)" 'Upload-Concat'

# ---- partial uploads: bytes in, no video
videos0=$(count videos)
jobs0=$(count jobs)
partial "$LA_"
t_eq "partial a: 201" "$API_STATUS" 201
A=$PID_
LA=$LOC
fill "$LA" "$T_TMP/a"
t_eq "partial a: its one PATCH with every byte answers 204" "$API_STATUS" 204
t_eq "partial a: Upload-Offset is its length" "$(header Upload-Offset)" "$LA_"
t_eq "partial a: no Location to a video" "$(header Location)" ""
partial "$LB_"
B=$PID_
LB=$LOC
fill "$LB" "$T_TMP/b"
t_eq "partial b: 204" "$API_STATUS" 204
# creation-with-upload bringing every byte of a partial: acknowledged, no video
api POST /v1/uploads "${TUS[@]}" "${OCT[@]}" -H "Upload-Length: $LC_" -H "Upload-Concat: partial" \
	--data-binary "@$T_TMP/c"
LOC=$(header Location)
PID_=${LOC##*/}
t_eq "partial c by creation-with-upload: 201" "$API_STATUS" 201
t_eq "partial c: Upload-Offset is its length" "$(header Upload-Offset)" "$LC_"
t_eq "partial c: the answer has no body (not a video)" "$(stat -c %s "$API_BODY")" 0
C=$PID_
LC=$LOC
api HEAD "$LA" "${TUS[@]}"
t_eq "HEAD of a finished partial: 200" "$API_STATUS" 200
t_eq "HEAD of a finished partial: Upload-Concat: partial" "$(header Upload-Concat)" partial
t_eq "HEAD of a finished partial: Upload-Offset = Upload-Length" "$(header Upload-Offset)" "$(header Upload-Length)"
t_eq "finished partials alone make no video" "$(count videos)" "$videos0"
t_eq "finished partials alone make no job" "$(count jobs)" "$jobs0"
t_eq "the partials are open uploads" "$(sql "SELECT COUNT(*) FROM uploads WHERE id IN ($(in_list "$A" "$B" "$C"))")" 3

# ---- refusals: each changes nothing
partial 100
OPEN=$LOC # never filled
api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Length: $SZ"
PLAIN=$(header Location) # an ordinary upload
BEFORE=$(snap)
final "bogus"
expect_error "Upload-Concat: bogus" 400 invalid_upload_concat
final "final;"
expect_error "final naming nothing" 400 invalid_upload_concat
final "final;/v1/videos/$A"
expect_error "final naming a video URL" 400 invalid_upload_concat
final "final;$LA $LA"
expect_error "final naming a partial twice" 400 invalid_upload_concat
final "final;$LA /v1/uploads/not-an-id"
expect_error "final naming a malformed id" 400 invalid_upload_concat
many=""
for ((i = 0; i < 17; i++)); do many+="/v1/uploads/01ARYZ6S41TSV4RRFFQ69G5F$(printf '%02d' $i) "; done
final "final;$many"
expect_error "final naming 17 parts" 400 invalid_upload_concat
final "final;$(head -c 5000 /dev/zero | tr '\0' ' ')$LA"
expect_error "Upload-Concat over 4096 bytes" 400 invalid_upload_concat
api POST /v1/uploads "${TUS[@]}" "${OCT[@]}" -H "Upload-Concat: final;$LA $LB $LC" --data-binary "@$T_TMP/a"
expect_error "final with a body" 400 invalid_upload_concat
final "final;$LA $OPEN"
expect_error "final naming an unfinished partial" 400 partial_not_finished
final "final;$LA $PLAIN"
expect_error "final naming an upload that is not partial" 400 not_partial_upload
final "final;$LA /v1/uploads/01ARYZ6S41TSV4RRFFQ69G5FAV"
expect_error "final naming an unknown upload" 404 not_found
final "final;$LA $LB $LC" -H "Upload-Length: $((SZ + 1))"
expect_error "final with an Upload-Length that is not the sum" 400 invalid_upload_length
if OTHER_KEY=$(new_user "concat-other-$$-$RANDOM"); then
	API_KEY=$OTHER_KEY final "final;$LA $LB $LC"
	expect_error "another user's partials" 404 not_found
else
	t_fail "a second user for the ownership check"
fi
final "final;$LA $LB $LC" -H "Tus-Resumable: 0.2.2"
t_eq "final with an old Tus-Resumable: 412" "$API_STATUS" 412

# A final upload's row as its creation leaves it before the commit (made
# here from an ordinary upload by hand): it takes no PATCH, and HEAD names
# its partials.
api POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Length: 10"
HF=$(header Location)
sql "UPDATE uploads SET metadata = JSON_SET(metadata, '\$.concat', 'final', '\$.parts', JSON_ARRAY('$A')) WHERE id = '${HF##*/}'"
api PATCH "$HF" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary 0123456789
t_eq "PATCH to a final upload: 403 final_upload_immutable" "$API_STATUS|$(json .error.code)" "403|final_upload_immutable"
api HEAD "$HF" "${TUS[@]}"
t_eq "HEAD of a final upload: Upload-Concat names its partials" "$(header Upload-Concat)" "final;/v1/uploads/$A"
api DELETE "$HF" "${TUS[@]}"

# ---- the final: one video, one job, the partials' bytes in order
final "final;$LA $VINGEST_URL$LB $LC" -H "Upload-Metadata: filename $(b64 parts.mp4),title $(b64 'three parts')"
t_eq "final: 201" "$API_STATUS" 201
FLOC=$(header Location)
F=${FLOC##*/}
if valid_id "$F"; then
	t_pass "final: Location is an upload URL"
else
	t_fail "final: Location is an upload URL" "Location: $FLOC" "$(head -c 300 "$API_BODY")"
	t_done
fi
t_eq "final: the answer is the video" "$(json .id)" "$F"
t_eq "final: its sha256 is the concatenation's (= the clip's)" "$(json .sha256)" "$SHA"
t_eq "final: its size is the sum" "$(json .size)" "$SZ"
t_eq "final: filename and title from its own Upload-Metadata" "$(json '[.filename, .title] | join("|")')" "parts.mp4|three parts"
t_eq "exactly one video more" "$(count videos)" $((videos0 + 1))
t_eq "exactly one job more, the final's" "$(count jobs)|$(sql "SELECT COUNT(*) FROM jobs WHERE video_id = '$F'")" "$((jobs0 + 1))|1"
api GET "/v1/videos/$F"
t_eq "GET /v1/videos/{final}: its sha256" "$(json .sha256)" "$SHA"
key=$(sql "SELECT object_key FROM videos WHERE id = '$F'")
if store_get "$key" "$T_TMP/stored"; then
	t_eq "the stored object's sha256 is the concatenation's" "$(sha256sum <"$T_TMP/stored" | cut -d' ' -f1)" "$SHA"
else
	t_fail "the stored object can be read" "key: $key"
fi
t_eq "the final's and the partials' uploads rows are gone" \
	"$(sql "SELECT COUNT(*) FROM uploads WHERE id IN ($(in_list "$F" "$A" "$B" "$C"))")" 0
t_eq "no video of a partial's id" "$(sql "SELECT COUNT(*) FROM videos WHERE id IN ($(in_list "$A" "$B" "$C"))")" 0
staged=0
for id in "$F" "$A" "$B" "$C"; do [[ -e $STAGING/$id.part ]] && staged=$((staged + 1)); done
t_eq "no staging file of the final or its partials is left" "$staged" 0
api HEAD "$LA" "${TUS[@]}"
t_eq "a partial the final used: HEAD 404" "$API_STATUS" 404
BEFORE=$(snap)
final "final;$LA $LB $LC"
expect_error "the used partials cannot make a second final" 404 not_found
api HEAD "$FLOC" "${TUS[@]}"
t_eq "HEAD of the committed final: Upload-Offset is the whole" "$API_STATUS|$(header Upload-Offset)" "200|$SZ"

# ---- the media checks apply to the concatenation
head -c 9000 "$FIX/not-a-video.bin" >"$T_TMP/x"
tail -c +9001 "$FIX/not-a-video.bin" >"$T_TMP/y"
partial "$(stat -c %s "$T_TMP/x")"
LX=$LOC
fill "$LX" "$T_TMP/x"
partial "$(stat -c %s "$T_TMP/y")"
LY=$LOC
fill "$LY" "$T_TMP/y"
v=$(count videos)
final "final;$LX $LY"
t_eq "a final that is not a video: 415 unsupported_media" "$API_STATUS|$(json .error.code)" "415|unsupported_media"
t_eq "  and no video" "$(count videos)" "$v"
t_eq "  and no final upload row left" "$(sql "SELECT COUNT(*) FROM uploads WHERE JSON_VALUE(metadata, '$.concat') = 'final'")" 0
api DELETE "$LX" "${TUS[@]}"
api DELETE "$LY" "${TUS[@]}"
api DELETE "$OPEN" "${TUS[@]}"
api DELETE "$PLAIN" "${TUS[@]}"

# ---- the per-user caps count partials and the final: a private instance
# with 3 open uploads and 30000 staging bytes a user (and uploads of at most
# 30000 bytes, which the config requires); clip-2s.mp4 in two
# partials holds 17386, the final would reserve as much again
dir=$T_TMP/caps
port=$((18300 + PORT_OFF + RANDOM % 100))
spawn_instance "$dir" "$port" VINGEST_HTTP_PROCESSES=2 VINGEST_LIMITS_OPEN_UPLOADS_PER_USER=3 \
	VINGEST_LIMITS_STAGING_BYTES_PER_USER=30000 VINGEST_LIMITS_MAX_UPLOAD_BYTES=30000
if ! wait_until 30 curl -sf -o /dev/null "$SPAWN_URL/readyz"; then
	t_fail "caps: the private instance is ready" "$(tail -n 5 "$dir/fcgi.log" 2>/dev/null)"
elif ckey=$(new_user "concat-caps-$$-$RANDOM"); then
	capi() { API_KEY=$ckey VINGEST_URL=$SPAWN_URL api "$@"; }
	cpartial() { capi POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Length: $1" -H "Upload-Concat: partial"; }
	cpartial 10000
	CA=$(header Location)
	capi PATCH "$CA" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary @<(head -c 10000 "$CLIP")
	cpartial $((SZ - 10000))
	CB=$(header Location)
	capi PATCH "$CB" "${TUS[@]}" "${OCT[@]}" -H "Upload-Offset: 0" --data-binary @<(tail -c +10001 "$CLIP")
	t_eq "caps: two partials filled" "$API_STATUS|$(header Upload-Offset)" "204|$((SZ - 10000))"
	cpartial 20000
	t_eq "caps: a partial past the staging bytes: 507 staging_quota_exceeded" \
		"$API_STATUS|$(json .error.code)" "507|staging_quota_exceeded"
	v=$(count videos)
	capi POST /v1/uploads "${TUS[@]}" -H "Content-Length: 0" -H "Upload-Concat: final;$CA $CB"
	t_eq "caps: a final past the staging bytes: 507 staging_quota_exceeded" \
		"$API_STATUS|$(json .error.code)" "507|staging_quota_exceeded"
	t_eq "caps: ... and no video" "$(count videos)" "$v"
	cpartial 100
	t_eq "caps: a third open upload fits" "$API_STATUS" 201
	CC=$(header Location)
	cpartial 100
	t_eq "caps: a fourth partial: 429 too_many_open_uploads" \
		"$API_STATUS|$(json .error.code)" "429|too_many_open_uploads"
	# The stack is shared with the tests after this one (30_errors wants
	# an empty staging directory): the user ends its three partials.
	for u in "$CA" "$CB" "$CC"; do capi DELETE "$u" "${TUS[@]}"; done
	t_eq "caps: its partials ended by DELETE, nothing of them left" \
		"$(sql "SELECT COUNT(*) FROM uploads WHERE id IN ($(in_list "${CA##*/}" "${CB##*/}" "${CC##*/}"))")|$(find "$STAGING" -name "${CA##*/}.part" -o -name "${CB##*/}.part" -o -name "${CC##*/}.part" | wc -l)" "0|0"
else
	t_fail "a user for the caps"
fi
spawn_stop

# ---- tus-js-client, parallelUploads: 3
JS=$T_REPO/tests/tus-js
file=$FIX/clip-15s.mp4
size=$(stat -c %s "$file")
sha=$(sha256sum "$file" | cut -d' ' -f1)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	t_fail "node and npm are installed" "apt-get install nodejs npm (tus-js-client 4 needs node >= 18)"
	t_done
fi
if [[ ! -d $JS/node_modules/tus-js-client ]]; then
	if ! (cd "$JS" && npm install --no-audit --no-fund --no-package-lock) >"$T_TMP/npm.log" 2>&1; then
		t_fail "npm install in tests/tus-js" "$(tail -n 20 "$T_TMP/npm.log")"
		t_done
	fi
fi
videos0=$(count videos)
out=$(cd "$JS" && node parallel.mjs "$VINGEST_URL" "$VINGEST_API_KEY" "$file" 3 2>"$T_TMP/node.err")
rc=$?
t_eq "parallel.mjs (parallelUploads: 3): exit 0" "$rc" 0
if [[ $rc != 0 ]] || ! jq -e . >/dev/null 2>&1 <<<"$out"; then
	t_fail "parallel.mjs prints its result as JSON" "stdout: ${out:0:500}" "stderr: $(tail -n 20 "$T_TMP/node.err")"
	t_done
fi
printf '# %s\n' "$out"
r() { jq -r "$1" <<<"$out"; }
t_eq "tus-js-client made 3 partial uploads" "$(r '.partials | length')" 3
# (in the order of the file's parts, which the sha256 below proves; the
# partials' creations may answer in any order)
t_eq "its final upload named exactly them" \
	"$(r '.concat | ltrimstr("final;") | split(" ") | sort | join(" ")')" \
	"$(r '[.partials[] | "'"$VINGEST_URL"'" + .] | sort | join(" ")')"
t_eq "the final's creation answered 201" "$(r .final_status)" 201
url=$(r .url)
id=${url##*/}
if ! valid_id "$id"; then
	t_fail "the final upload URL ends in a video id" "url: $url"
	t_done
fi
api GET "/v1/videos/$id"
t_eq "GET /v1/videos/{id}: 200" "$API_STATUS" 200
t_eq "the video's sha256 is the file's" "$(json .sha256)" "$sha"
t_eq "the video's size is the file's" "$(json .size)" "$size"
t_eq "one video more, one job for it" "$(count videos)|$(sql "SELECT COUNT(*) FROM jobs WHERE video_id = '$id'")" \
	"$((videos0 + 1))|1"
pids=()
for u in $(r '.partials[]'); do pids+=("${u##*/}"); done
t_eq "its partials left no uploads row and no video" \
	"$(sql "SELECT (SELECT COUNT(*) FROM uploads WHERE id IN ($(in_list "${pids[@]}"))) + (SELECT COUNT(*) FROM videos WHERE id IN ($(in_list "${pids[@]}")))")" 0
t_done
