#!/usr/bin/env bash
# 10_upload: POST /v1/videos stores each fixture durably, exactly once: the
# answer, the videos and jobs rows, the object on disk and GET all agree.
. "$(dirname "$0")/lib.sh"

TITLE='My first clip — ünïcode'
METADATA='{"camera":"front","tags":["a","b"],"n":3}'

ready_before=$(sql "SELECT COUNT(*) FROM jobs WHERE state='ready'")
uploaded=0

for f in clip-2s.mp4 clip-2s-moov-at-end.mp4 clip-2s.mov clip-2s.webm clip-15s.mp4; do
	file=$FIX/$f
	size=$(stat -c %s "$file")
	sha=$(sha256sum "$file" | cut -d' ' -f1)
	extra=()
	case $f in
	clip-2s.mp4) extra=(--form-string "title=$TITLE") ;;
	clip-2s.webm) extra=(--form-string "metadata=$METADATA") ;;
	esac

	api POST /v1/videos -F "file=@$file" "${extra[@]}"
	t_eq "$f: POST /v1/videos answers 201" "$API_STATUS" 201
	[[ $API_STATUS == 201 ]] || t_show_response
	t_match "$f: answer is application/json" "$(header Content-Type)" '^application/json'
	id=$(json .id)
	if ! valid_id "$id"; then
		t_fail "$f: answer carries a well-formed video id" "id: '$id'"
		continue
	fi
	uploaded=$((uploaded + 1))
	created=$API_BODY
	t_eq "$f: Location header names the new video" "$(header Location)" "/v1/videos/$id"
	t_eq "$f: answer says status queued" "$(json .status)" queued
	t_eq "$f: answer size equals the file size" "$(json .size)" "$size"
	t_eq "$f: answer sha256 equals sha256sum of the file" "$(json .sha256)" "$sha"
	t_eq "$f: answer filename is the client's" "$(json .filename)" "$f"
	case $f in
	clip-2s.mp4) t_eq "$f: answer carries the title field" "$(json .title)" "$TITLE" ;;
	clip-2s.webm)
		t_eq "$f: answer carries the metadata object" "$(json '.metadata | tojson')" \
			"$(jq -c . <<<"$METADATA")"
		;;
	esac

	t_eq "$f: exactly one videos row, owned by demo, with that sha256 and size" \
		"$(sql "SELECT COUNT(*), MIN(u.name), MIN(v.sha256), MIN(v.size_bytes)
			FROM videos v JOIN users u ON u.id = v.user_id WHERE v.id = '$id'")" \
		"1	demo	$sha	$size"
	t_eq "$f: exactly one jobs row, ready, attempts 0" \
		"$(sql "SELECT COUNT(*), MIN(state), MIN(attempts) FROM jobs WHERE video_id = '$id'")" \
		"1	ready	0"
	t_eq "$f: videos and jobs rows share created_at (one transaction)" \
		"$(sql "SELECT COUNT(*) FROM videos v JOIN jobs j ON j.video_id = v.id
			WHERE v.id = '$id' AND j.created_at = v.created_at")" 1
	t_eq "$f: no uploads row left behind" \
		"$(sql "SELECT COUNT(*) FROM uploads WHERE id = '$id'")" 0
	case $f in
	clip-2s.mp4)
		t_eq "$f: title stored in SQL" "$(sql "SELECT title FROM videos WHERE id = '$id'")" "$TITLE"
		;;
	clip-2s.webm)
		t_eq "$f: metadata stored in SQL as the same JSON object" \
			"$(sql "SELECT metadata FROM videos WHERE id = '$id'" | jq -c .)" "$(jq -c . <<<"$METADATA")"
		;;
	esac

	key=$(sql "SELECT object_key FROM videos WHERE id = '$id'")
	if [[ -n $key ]] && store_get "$key" "$T_TMP/object"; then
		t_pass "$f: stored object exists under its object_key ($STORE_BACKEND store)"
		t_eq "$f: stored object's sha256 equals the client's" \
			"$(sha256sum "$T_TMP/object" | cut -d' ' -f1)" "$sha"
	else
		t_fail "$f: stored object exists under its object_key ($STORE_BACKEND store)" "object_key: '$key'"
	fi

	api GET "/v1/videos/$id"
	t_eq "$f: GET Location answers 200" "$API_STATUS" 200
	t_eq "$f: GET answers the same id, queued, processing.state ready" \
		"$(json '[.id, .status, .processing.state] | join(" ")')" "$id queued ready"
	t_eq "$f: GET answers the same size and sha256" \
		"$(json '[.size, .sha256] | map(tostring) | join(" ")')" "$size $sha"
	# The 201 is built from what the upload wrote, not read back: it must
	# be the very video GET reads from the rows, field for field.
	t_eq "$f: the 201's video is GET's, every field (times to the microsecond)" \
		"$(jq -S -c . "$created")" "$(jq -S -c . "$API_BODY")"
done

t_eq "v_queue shows the new ready jobs" \
	"$(sql "SELECT jobs FROM v_queue WHERE state = 'ready'")" "$((ready_before + uploaded))"
t_eq "v_queue shows all five job states" "$(sql "SELECT COUNT(*) FROM v_queue")" 5
t_eq "staging directory is empty after the uploads" \
	"$(find "$STAGING" -type f 2>/dev/null | wc -l)" 0

# The form's fields follow the rules tus's Upload-Metadata does (app/fields.c;
# 90_tus sends the same metadata): trailing bytes after the object are
# refused, never dropped, and a title too long is 400 however long it is.
BEFORE=$(snap)
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" --form-string 'metadata={"a":1}xyz'
expect_error 'metadata {"a":1}xyz' 400 invalid_metadata
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" --form-string 'metadata=[1,2]'
expect_error "metadata that is not an object" 400 invalid_metadata
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" --form-string "title=$(head -c 2001 /dev/zero | tr '\0' t)"
expect_error "a title of 2001 bytes" 400 title_too_long

t_done
