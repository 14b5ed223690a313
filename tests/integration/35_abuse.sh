#!/usr/bin/env bash
# 35_abuse: hostile and broken uploads get a clear 4xx and change nothing;
# the FastCGI children survive every one of them; Idempotency-Key repeats,
# reuses and races; revoked keys.
. "$(dirname "$0")/lib.sh"

master=$(tr -dc '0-9' <"$VINGEST_FCGI_PID_FILE")
children() { pgrep -P "$master" | sort -n | tr '\n' ' '; }

# ---- every fixture gets the status the fixtures' README promises
declare -A want=(
	[clip-2s.mp4]=201 [clip-2s-moov-at-end.mp4]=201 [clip-2s.mov]=201 [clip-2s.webm]=201
	[clip-15s.mp4]=201 [clip-20s.mp4]=422 [clip-20s.webm]=422
	[not-a-video.bin]=415 [fake.gif]=415 [truncated.mp4]=415
)
declare -A code=([422]=video_too_long [415]=unsupported_media)
declare -A container=([clip-2s.mp4]=mp4 [clip-2s-moov-at-end.mp4]=mp4 [clip-2s.mov]=mov [clip-2s.webm]=webm [clip-15s.mp4]=mp4)
declare -A duration=([clip-2s.mp4]=2000 [clip-2s-moov-at-end.mp4]=2000 [clip-2s.mov]=2000 [clip-2s.webm]=2008 [clip-15s.mp4]=15000)
for f in "${!want[@]}"; do
	BEFORE=$(snap)
	api POST /v1/videos -F "file=@$FIX/$f;type=video/mp4"
	if [[ ${want[$f]} == 201 ]]; then
		t_eq "$f: 201" "$API_STATUS" 201
		t_eq "$f: container ${container[$f]}, found in the bytes" "$(json .container)" "${container[$f]}"
		t_eq "$f: duration_ms ${duration[$f]}" "$(json .duration_ms)" "${duration[$f]}"
		t_eq "$f: the client's Content-Type is recorded, not trusted" "$(json .content_type)" video/mp4
	else
		expect_error "$f" "${want[$f]}" "${code[${want[$f]}]}"
	fi
done

# ---- parser limits and malformed bodies: 4xx, nothing stored, children alive
before_children=$(children)
raw_post() { # raw_post NAME CONTENT_TYPE BODY_FILE
	api POST /v1/videos -H "Content-Type: $2" --data-binary "@$3"
}
B=xYz0123boundary
{
	for ((i = 0; i < 10000; i++)); do printf -- '--%s\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' "$B" "$i"; done
	printf -- '--%s--\r\n' "$B"
} >"$T_TMP/parts"
BEFORE=$(snap)
raw_post parts "multipart/form-data; boundary=$B" "$T_TMP/parts"
expect_error "10 000 tiny parts" 413 too_many_parts

{
	printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="' "$B"
	head -c 1048576 /dev/zero | tr '\0' 'a'
	printf '"\r\n\r\nxx\r\n--%s--\r\n' "$B"
} >"$T_TMP/bighdr"
raw_post bighdr "multipart/form-data; boundary=$B" "$T_TMP/bighdr"
expect_error "a 1 MB part header line" 413 part_header_too_large

{
	printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n' "$B"
	cat "$FIX/clip-2s.mp4"
} >"$T_TMP/nofinal"
raw_post nofinal "multipart/form-data; boundary=$B" "$T_TMP/nofinal"
expect_error "missing final boundary" 400 truncated_body

long=$(head -c 200 /dev/zero | tr '\0' 'b')
{
	printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n' "$long"
	cat "$FIX/clip-2s.mp4"
	printf -- '\r\n--%s--\r\n' "$long"
} >"$T_TMP/longb"
raw_post longb "multipart/form-data; boundary=$long" "$T_TMP/longb"
expect_error "a boundary of 200 characters" 400 expected_multipart

{
	printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n' "$B"
	for i in 1 2 3 4 5 6 7 8 9; do printf 'X-H%d: v\r\n' "$i"; done
	printf '\r\nxx\r\n--%s--\r\n' "$B"
} >"$T_TMP/manyhdr"
raw_post manyhdr "multipart/form-data; boundary=$B" "$T_TMP/manyhdr"
expect_error "10 headers in one part (limit 8)" 413 too_many_part_headers

head -c 70000 /dev/zero | tr '\0' 'x' | sed 's/^/{"k":"/; s/$/"}/' >"$T_TMP/bigmeta"
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" -F "metadata=<$T_TMP/bigmeta"
expect_error "metadata over limits.max_field_bytes (64 KiB)" 413 field_too_large

deep=$(printf '%.0s[' $(seq 20))$(printf '%.0s]' $(seq 20))
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" -F "metadata={\"a\":$deep}"
expect_error "metadata nested deeper than 16 levels" 400 invalid_metadata

api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" -F "title=$(head -c 501 /dev/zero | tr '\0' 't')"
expect_error "a title of 501 characters" 400 title_too_long

api POST /v1/videos -H "Idempotency-Key: has space" -F "file=@$FIX/clip-2s.mp4"
expect_error "an Idempotency-Key with a space" 400 invalid_idempotency_key

# A body shorter than its Content-Length: the client stops sending and hangs up.
# Checked once the web server has let the connection go: it is then done
# with the request, whatever it made of it.
wport=${VINGEST_URL##*:}
exec 3<>"/dev/tcp/127.0.0.1/$wport"
printf 'POST /v1/videos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n--%s\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc' \
	"$VINGEST_API_KEY" "$B" "$B" >&3
lport=$(conn_port 3 "$wport")
wait_until 10 conn_read "$wport" "$lport"
exec 3>&-
t_ok "a body cut short: the web server closes the connection" wait_until 30 conn_closed "$wport" "$lport"
t_eq "a body cut short: nothing stored" "$(snap)" "$BEFORE"

t_eq "every FastCGI child survived all of the above" "$(children)" "$before_children"
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "and the next upload is served (201)" "$API_STATUS" 201

# ---- Idempotency-Key
key="idem-$RANDOM-$RANDOM"
api POST /v1/videos -H "Idempotency-Key: $key" -F "file=@$FIX/clip-2s.mp4" -F title=first
t_eq "first use of a key: 201" "$API_STATUS" 201
first=$(json .id)
BEFORE=$(snap)
api POST /v1/videos -H "Idempotency-Key: $key" -F "file=@$FIX/clip-2s.mp4" -F title=first
t_eq "the same request again: 200" "$API_STATUS" 200
t_eq "with the first video" "$(json .id)" "$first"
t_eq "and nothing new stored" "$(snap)" "$BEFORE"
api POST /v1/videos -H "Idempotency-Key: $key" -F "file=@$FIX/clip-2s.mov" -F title=first
expect_error "the key reused for another file" 409 idempotency_mismatch
api POST /v1/videos -H "Idempotency-Key: $key" -F "file=@$FIX/clip-2s.mp4" -F title=second
expect_error "the key reused with another title" 409 idempotency_mismatch
other=$(new_user "idem-$RANDOM")
API_KEY=$other api POST /v1/videos -H "Idempotency-Key: $key" -F "file=@$FIX/clip-2s.mp4" -F title=first
t_eq "another user's same key is their own: 201" "$API_STATUS" 201

# Four at once: limits.concurrent_uploads_per_user (4) would turn a fifth away.
race="race-$RANDOM-$RANDOM"
for i in $(seq 4); do
	curl -s -o "$T_TMP/race.$i" -w '%{http_code}\n' -H "Authorization: Bearer $VINGEST_API_KEY" \
		-H "Idempotency-Key: $race" -F "file=@$FIX/clip-2s.mp4" "$VINGEST_URL/v1/videos" &
done >"$T_TMP/race.codes"
wait
t_eq "4 racing requests with one key make one video" \
	"$(sql "SELECT COUNT(*) FROM videos WHERE idempotency_key = '$race'")" 1
t_eq "all 4 got the same id" "$(cat "$T_TMP"/race.? | jq -r .id | sort -u | wc -l)" 1
t_eq "one got 201, three got 200" "$(grep -c '^201$' "$T_TMP/race.codes") $(grep -c '^200$' "$T_TMP/race.codes")" "1 3"
t_eq "no staged bytes left behind by the losers" "$(find "$STAGING" -type f | wc -l)" 0

# ---- DELETE: only the owner, then the video is gone with its bytes
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" -F title=doomed
gone=$(json .id)
gkey=$(sql "SELECT object_key FROM videos WHERE id = '$(sqlq "$gone")'")
API_KEY=$other api DELETE "/v1/videos/$gone"
t_eq "another user's DELETE: 404" "$API_STATUS" 404
t_ok "and the object is still there" store_has "$gkey"
api DELETE "/v1/videos/$gone"
t_eq "the owner's DELETE: 204" "$API_STATUS" 204
t_ok "the object is removed from the store" store_lacks "$gkey"
t_eq "the row says deleted, client fields cleared" \
	"$(sql "SELECT status, deleted_at IS NOT NULL, title IS NULL FROM videos WHERE id = '$(sqlq "$gone")'")" "deleted	1	1"
t_eq "its job is cancelled" "$(sql "SELECT state FROM jobs WHERE video_id = '$(sqlq "$gone")'")" cancelled
api GET "/v1/videos/$gone"
t_eq "GET shows status deleted" "$(json .status)" deleted
api DELETE "/v1/videos/$gone"
t_eq "a second DELETE: 404" "$API_STATUS" 404

# ---- revoked keys
rkey=$(new_user "revoked-$RANDOM")
sql "UPDATE api_keys SET revoked_at = UTC_TIMESTAMP(6) WHERE key_hash = SHA2('$(sqlq "$rkey")', 256)"
BEFORE=$(snap)
API_KEY=$rkey api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
expect_error "a revoked key" 401 unauthorized
t_done
