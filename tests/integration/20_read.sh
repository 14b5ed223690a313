#!/usr/bin/env bash
# 20_read: GET /v1/videos lists only the caller's videos, newest first, and
# cursor pagination walks all of them exactly once; GET /v1/videos/{id} answers
# 404 for anything the caller does not own.
. "$(dirname "$0")/lib.sh"

# A few uploads of our own, so the walk has several pages whatever ran before.
for i in 1 2 3 4 5; do
	api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" --form-string "title=read $i"
	[[ $API_STATUS == 201 ]] || {
		t_fail "setup: upload $i answers 201" "status $API_STATUS" "$(head -c 300 "$API_BODY")"
	}
done

demo_uid=$(sql "SELECT id FROM users WHERE name = 'demo'")
# Newest first: ids sort by creation time (vg_id.h), and the API orders by them.
want=$(sql "SELECT id FROM videos WHERE user_id = $demo_uid ORDER BY id DESC")
want_n=$(grep -c . <<<"$want")
t_lt "setup: demo owns more than 4 videos" 4 "$want_n"

# First page, default limit.
api GET /v1/videos
t_eq "list answers 200" "$API_STATUS" 200
t_match "list answers application/json" "$(header Content-Type)" '^application/json'
t_eq "list body has a videos array" "$(json '.videos | type')" array
got=$(json '.videos[].id')
t_eq "list starts with the newest videos, in order" "$got" "$(head -n "$(grep -c . <<<"$got")" <<<"$want")"
t_eq "listed created_at never increases (newest first)" \
	"$(json '[.videos[].created_at] | . == (sort | reverse)')" true

# limit=2
api GET '/v1/videos?limit=2'
t_eq "limit=2 answers 200" "$API_STATUS" 200
t_eq "limit=2 gives 2 videos" "$(json '.videos | length')" 2
t_match "limit=2 gives a next_cursor" "$(json '.next_cursor | strings')" '.'

# Walk every page with limit=2.
walked=
cursor=
pages=0
while :; do
	pages=$((pages + 1))
	args=(--get --data-urlencode limit=2)
	[[ -n $cursor ]] && args+=(--data-urlencode "cursor=$cursor")
	api GET /v1/videos "${args[@]}"
	if [[ $API_STATUS != 200 ]]; then
		t_fail "cursor walk: page $pages answers 200" "status $API_STATUS" "$(head -c 300 "$API_BODY")"
		break
	fi
	walked+=$(json '.videos[].id')$'\n'
	cursor=$(json '.next_cursor // empty')
	[[ -z $cursor ]] && break
	if ((pages > want_n + 2)); then
		t_fail "cursor walk ends" "more than $((want_n + 2)) pages"
		break
	fi
done
walked=$(grep . <<<"$walked")
t_eq "cursor walk returns every video once, newest first (no duplicates, no gaps)" "$walked" "$want"
t_eq "cursor walk has no duplicate ids" "$(sort <<<"$walked" | uniq -d | grep -c . || true)" 0

# status filter
queued_want=$(sql "SELECT id FROM videos WHERE user_id = $demo_uid AND status = 'queued' ORDER BY id DESC LIMIT 100")
api GET /v1/videos --get --data-urlencode status=queued --data-urlencode limit=100
t_eq "status=queued answers 200" "$API_STATUS" 200
t_eq "status=queued lists only queued videos" "$(json '[.videos[].status] | unique | join(",")')" queued
t_eq "status=queued lists the caller's queued videos" "$(json '.videos[].id')" "$queued_want"
api GET '/v1/videos?status=processed&limit=100'
t_eq "status=processed answers 200" "$API_STATUS" 200
t_eq "status=processed lists exactly the caller's processed videos" "$(json '.videos | length')" \
	"$(sql "SELECT LEAST(COUNT(*), 100) FROM videos WHERE user_id = $demo_uid AND status = 'processed'")"
api GET '/v1/videos?status=bogus'
t_eq "status=bogus answers 400" "$API_STATUS" 400

# Another user sees none of demo's videos.
demo_id=$(head -n 1 <<<"$want")
other="reader-$$-$RANDOM"
other_key=$(new_user "$other")
if [[ -z $other_key ]]; then
	t_fail "setup: vingestctl creates a second user and key"
else
	t_pass "setup: vingestctl creates a second user and key"
	API_KEY=$other_key api GET "/v1/videos/$demo_id"
	t_eq "another user's video answers 404" "$API_STATUS" 404
	t_match "another user's video: error JSON" "$(json .error.code)" '^[a-z_]+$'
	API_KEY=$other_key api GET /v1/videos
	t_eq "second user's list answers 200" "$API_STATUS" 200
	t_eq "second user's list is empty (demo's videos are not in it)" "$(json '.videos | length')" 0
	API_KEY=$other_key api POST /v1/videos -F "file=@$FIX/clip-2s.webm"
	t_eq "second user can upload" "$API_STATUS" 201
	other_vid=$(json .id)
	API_KEY=$other_key api GET /v1/videos
	t_eq "second user's list holds only its own video" "$(json '[.videos[].id] | join(",")')" "$other_vid"
	api GET "/v1/videos/$other_vid"
	t_eq "demo gets 404 for the second user's video" "$API_STATUS" 404
	api GET /v1/videos --get --data-urlencode limit=100
	t_eq "demo's list does not hold the second user's video" \
		"$(json "[.videos[].id | select(. == \"$other_vid\")] | length")" 0
fi

# Ids that name nothing.
api GET /v1/videos/not-a-video-id
t_eq "malformed id answers 404" "$API_STATUS" 404
t_match "malformed id: error JSON" "$(json .error.code)" '^[a-z_]+$'
api GET /v1/videos/0000000000000000000000000Z
t_eq "well-formed unknown id answers 404" "$API_STATUS" 404
api GET "/v1/videos/${demo_id}X"
t_eq "id with a trailing character answers 404" "$API_STATUS" 404

t_done
