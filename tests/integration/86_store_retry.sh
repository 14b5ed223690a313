#!/usr/bin/env bash
# 86_store_retry: an S3 store that answers 500 is retried, and an upload
# still succeeds; one that keeps failing gets the client a 503 with
# Retry-After and leaves nothing behind. Runs in the s3 pass of ./dev test: a
# vingest-fcgi of its own talks to the stack's s3rver through
# tests/s3/flaky-proxy.js, which can be told to fail the next N requests.
. "$(dirname "$0")/lib.sh"

if [[ $STORE_BACKEND != s3 ]]; then
	echo "# 86_store_retry: checks the s3 backend; runs in the s3 pass (./dev test --store s3)"
	exit 0
fi
s3_port=$(sed -n 's|^s3_endpoint = http://127.0.0.1:\([0-9]*\)$|\1|p' "$VINGEST_CONFIG")
pport=$((18600 + PORT_OFF + RANDOM % 50))
hport=$((18650 + PORT_OFF + RANDOM % 50))
dir=$T_TMP/flaky
mkdir -p "$dir"
node "$T_REPO/tests/s3/flaky-proxy.js" "$pport" "$s3_port" 2>"$dir/proxy.err" &
proxy=$!
cleanup() {
	spawn_stop
	kill "$proxy" 2>/dev/null
	rm -rf -- "$T_TMP"
}
trap cleanup EXIT
for ((i = 0; i < 50; i++)); do curl -sf -o /dev/null "http://127.0.0.1:$pport/__stats" && break; sleep 0.1; done
P=http://127.0.0.1:$pport
spawn_instance "$dir" "$hport" VINGEST_HTTP_PROCESSES=1 "VINGEST_STORE_S3_ENDPOINT=$P" \
	VINGEST_STORE_S3_RETRIES=3 VINGEST_STORE_S3_MULTIPART_BYTES=8388608 \
	VINGEST_STORE_S3_PART_BYTES=5242880
VINGEST_URL=$SPAWN_URL
stat_of() { curl -s "$P/__stats" | jq -r "$1"; }
key_of() { sql "SELECT object_key FROM videos WHERE id = '$(sqlq "$1")'"; }

# ---- one 500, then the retry succeeds
curl -s "$P/__fail?method=PUT&n=1" >/dev/null
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "the store answers 500 to the first PUT: the upload still gets 201" "$API_STATUS" 201
id=$(json .id)
t_eq "the proxy failed one PUT" "$(stat_of .injected)" 1
t_eq "and saw the retry (2 PUTs)" "$(stat_of .by_method.PUT)" 2
store_get "$(key_of "$id")" "$T_TMP/got"
t_ok "the stored object is byte-identical" cmp -s "$FIX/clip-2s.mp4" "$T_TMP/got"
t_ok "the retry is in the log" grep -q 's3 store answered 500.*method=PUT' "$dir/fcgi.log"
t_eq "the staging file is gone after the commit" "$(find "$STAGING" -name "$id*" | wc -l)" 0

# ---- a multipart upload (10 MiB in 5 MiB parts) whose first part fails once
make_mp4 $((10 * 1024 * 1024)) "$T_TMP/ten.mp4"
before=$(stat_of .by_method.PUT)
curl -s "$P/__fail?method=PUT&n=1" >/dev/null
api POST /v1/videos -F "file=@$T_TMP/ten.mp4"
t_eq "multipart: a part answered 500 once: 201" "$API_STATUS" 201
t_eq "two parts and one retry: 3 PUTs" "$(($(stat_of .by_method.PUT) - before))" 3
t_ok "a multipart upload was started and completed" test "$(stat_of .by_method.POST)" -ge 2
store_get "$(key_of "$(json .id)")" "$T_TMP/got10"
t_ok "the 10 MiB object is byte-identical" cmp -s "$T_TMP/ten.mp4" "$T_TMP/got10"

# ---- tus: the finishing PATCH publishes through a failing store
curl -s "$P/__fail?method=PUT&n=2" >/dev/null
size=$(stat -c %s "$FIX/clip-2s.webm")
api POST /v1/uploads -H "Tus-Resumable: 1.0.0" -H "Content-Length: 0" -H "Upload-Length: $size"
loc=$(header Location)
api PATCH "$loc" -H "Tus-Resumable: 1.0.0" -H "Content-Type: application/offset+octet-stream" \
	-H "Upload-Offset: 0" --data-binary "@$FIX/clip-2s.webm"
t_eq "tus: two 500s, the PATCH that finishes still gets 204" "$API_STATUS" 204

# ---- a store that keeps failing: 503, and nothing is left anywhere
BEFORE=$(snap)
curl -s "$P/__fail?method=PUT&n=100" >/dev/null
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
expect_error "a store that keeps answering 500" 503 store_unavailable
t_match "with Retry-After" "$(header Retry-After)" '^[0-9]+$'
t_ok "the give-up is logged" grep -q 's3 request gave up.*method=PUT' "$dir/fcgi.log"
curl -s "$P/__fail?method=PUT&n=0" >/dev/null
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "when the store is back, the next upload gets 201" "$API_STATUS" 201
t_done
