#!/usr/bin/env bash
# 81_object_check: the processing service really receives the bytes. The stub
# (started with -F) fetches every job's object_url - vingest's signed URL for
# the fs and db stores, a presigned S3 URL for s3 - and compares size and
# SHA-256 with the call; a mismatch answers 422 and the job goes dead. A
# stored object altered behind vingest's back proves the check can fail.
. "$(dirname "$0")/lib.sh"

export VINGEST_DEV_WORKERS=1
"$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1 || t_fail "./dev up" "$(tail -n 20 "$T_TMP/up.log")"
S=$VINGEST_STUB_URL
ctl_stub() { curl -s -X POST -H 'Content-Type: application/json' -d "$1" "$S/control" >/dev/null; }
stub() { curl -s "$S/control" | jq -r "$1"; }
state_of() { sql "SELECT state FROM jobs WHERE video_id = '$(sqlq "$1")'"; }
is_state() { [[ $(state_of "$1") == "$2" ]]; }

ctl_stub '{"mode": "ok", "delay_ms": 0, "fail_rate": 0, "reset_counters": true, "fetch": true}'
api POST /v1/videos -F "file=@$FIX/clip-2s.webm"
id=$(json .id)
t_ok "an upload is processed" wait_until 20 is_state "$id" done
t_ok "the stub fetched its object through object_url and the sha256 matched" \
	test "$(stub .fetched)" -ge 1
t_eq "no fetch failed" "$(stub .fetch_failed)" 0
key=$(sql "SELECT object_key FROM videos WHERE id = '$(sqlq "$id")'")
if [[ $STORE_BACKEND == s3 ]]; then
	t_ok "with the s3 store the stub fetched straight from the bucket with a presigned URL" \
		grep -qE "$key\?X-Amz-Algorithm=AWS4-HMAC-SHA256.*X-Amz-Signature=[0-9a-f]{64} 200" \
		"$VINGEST_VAR/log/s3rver.log"
fi

# Alter the stored bytes, forget the stub's memory of the key, requeue.
head -c 1000 "$FIX/clip-2s.webm" >"$T_TMP/altered"
store_put "$key" "$T_TMP/altered"
ctl_stub '{"forget_keys": true, "reset_counters": true}'
job=$(sql "SELECT id FROM jobs WHERE video_id = '$(sqlq "$id")'")
sql "UPDATE jobs SET state = 'dead', finished_at = UTC_TIMESTAMP(6) WHERE id = $job"
"$VINGEST_CTL" -c "$VINGEST_CONFIG" jobs retry "$job" >/dev/null 2>&1
t_ok "an object whose bytes changed: the job goes dead" wait_until 20 is_state "$id" dead
t_match "because the service saw the mismatch (422 object_mismatch)" \
	"$(sql "SELECT last_error FROM jobs WHERE id = $job")" 'object_mismatch'
t_eq "the stub counted one failed check and made no effect" "$(stub '[.fetch_failed, .effects] | join(" ")')" "1 0"
t_done
