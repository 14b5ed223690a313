#!/usr/bin/env bash
# 87_async: a job the processing service accepts with 202 waits for it in the
# database, not in a worker: its status_url is stored with the job, no worker
# holds it (no lease, no concurrency slot) between polls, and a worker that
# claims it later polls instead of calling again - so a restart, a crashed
# worker or a drain loses nothing and makes no second call. Polls take their
# tokens from processor.max_rps like calls, and processor.async_deadline_seconds
# (from the first 202) ends a job the service never finishes. Runs in the fs
# pass only (nothing here depends on the store).
. "$(dirname "$0")/lib.sh"

if [[ $STORE_BACKEND != fs ]]; then
	echo "# 87_async: does not depend on the store; it runs in the fs pass (./dev test --store fs)"
	t_done
fi

export VINGEST_DEV_WORKERS=1
WLOG=$VINGEST_VAR/log/vingest-workers.log
supervisor() { tr -dc '0-9' <"$VINGEST_WORKERS_PID_FILE" 2>/dev/null; }
workers() { pgrep -P "$(supervisor)" | sort -n; }
stub() { curl -sf -d "$1" "$VINGEST_STUB_URL/control" >/dev/null; }
stub_counter() { curl -sf "$VINGEST_STUB_URL/control" | jq -r ".$1"; }
upload() {
	api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
	[[ $API_STATUS == 201 ]] && json .id
}
job_of() { sql "SELECT id FROM jobs WHERE video_id = '$(sqlq "$1")'"; }
job_field() { sql "SELECT $2 FROM jobs WHERE id = $1"; }
posts_of() { grep -c " key=$1 " "$VINGEST_STUB_CALL_LOG" 2>/dev/null || true; }
waiting() { # waiting JOB...: each is ready with a stored status_url, none held
	local j
	for j in "$@"; do
		[[ $(sql "SELECT CONCAT(state, '|', status_url IS NOT NULL) FROM jobs WHERE id = $j") == "ready|1" ]] || return 1
	done
}
queue_idle() { [[ $(sql "SELECT COUNT(*) FROM jobs WHERE state IN ('ready','running')") == 0 ]]; }

# restart_workers [VAR=value...]: SIGTERM the supervisor (its workers drain),
# then ./dev up starts a new one with these settings. Prints the seconds the
# drain took.
restart_workers() {
	local sup t0
	sup=$(supervisor)
	t0=$(date +%s.%N)
	if [[ -n $sup ]]; then
		kill -TERM "$sup"
		wait_until 30 eval '! kill -0 '"$sup"' 2>/dev/null' || return 1
	fi
	awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f\n", a - b }'
	env "$@" "$VINGEST_DEV" up >>"$T_TMP/up.log" 2>&1 || return 1
	wait_until 15 eval '[[ -n $(supervisor) && $(supervisor) != "$sup" && -n $(workers) ]]'
}

# One worker of one slot, two calls or polls a second for the whole fleet.
SMALL=(VINGEST_WORKERS_MIN=1 VINGEST_WORKERS_MAX=1 VINGEST_WORKERS_CONCURRENCY=1 VINGEST_PROCESSOR_MAX_RPS=2)
t_ok "the workers start with one worker of concurrency 1 and processor.max_rps 2" restart_workers "${SMALL[@]}"
stub '{"mode":"ok","delay_ms":0,"fail_rate":0,"retry_after":0,"fetch":true}'
wait_until 60 queue_idle

# ---- 1. two long asynchronous jobs hold no slot: a quick job runs beside them
stub '{"mode":"async","delay_ms":40000,"reset_counters":true}'
a_vid=$(upload)
b_vid=$(upload)
a=$(wait_until 10 job_of "$a_vid" && job_of "$a_vid")
b=$(wait_until 10 job_of "$b_vid" && job_of "$b_vid")
t_ok "both 202 jobs wait with their status_url stored (one slot for both: neither is held)" wait_until 20 waiting "$a" "$b"
t_match "the stored status_url is the one the 202 named" "$(job_field "$a" status_url)" "/status/$a\$"
t_eq "accepted_at is set, and the attempt counted once" "$(job_field "$a" "CONCAT(accepted_at IS NOT NULL, '|', attempts)")" "1|1"
t_eq "the attempt row says accepted, with the 202" \
	"$(sql "SELECT CONCAT(outcome, '|', http_status) FROM job_attempts WHERE job_id = $a")" "accepted|202"
api GET "/v1/videos/$a_vid"
t_eq "the video stays processing while the service works on it" "$(json .status)" processing
stub '{"mode":"ok","delay_ms":0}' # new calls answer 200 at once; a and b stay pending at the stub
c_vid=$(upload)
t_ok "with workers.concurrency=1 a quick job is processed while both 202 jobs wait" wait_until 30 eval '[[ $(sql "SELECT status FROM videos WHERE id = '"'$c_vid'"'") == processed ]]'
t_ok "and both are still waiting for the service" waiting "$a" "$b"

# ---- 2. restarts while they wait: nothing is lost, nothing called twice
victim=$(workers | head -n 1)
kill -KILL "$victim"
t_ok "a worker killed with SIGKILL is replaced" \
	wait_until 15 eval '! kill -0 '"$victim"' 2>/dev/null && [[ -n $(workers) && $(workers) != "$victim" ]]'
drain=$(restart_workers "${SMALL[@]}") || drain=fail
t_ok "a drained supervisor exits at once: no worker holds a waiting job (${drain} s, drain_seconds 10)" \
	awk -v t="$drain" 'BEGIN { exit !(t ~ /^[0-9.]+$/ && t < 5) }'
new_workers=$(workers | paste -sd '|')
polls0=$(stub_counter status_polls)
t_ok "the new workers poll the stored status_urls" wait_until 15 eval '(($(stub_counter status_polls) > '"$polls0"'))'
t_ok "both jobs are done once the service is" \
	wait_until 60 eval '[[ $(job_field '"$a"' state) == done && $(job_field '"$b"' state) == done ]]'
for j in "$a" "$b"; do
	t_eq "job $j: the service saw exactly one POST with its Idempotency-Key" "$(posts_of "$j")" 1
	t_ok "job $j: finished by a worker started after the restart" \
		grep -qE "vingest-workers\[($new_workers)\].*job done.*job_id=$j " "$WLOG"
	# The attempt row ran from the call to the done poll (40 s at the
	# service): a claim to poll does not restart it.
	t_eq "job $j: one attempt, done, started at the call; status_url cleared" \
		"$(sql "SELECT CONCAT(j.attempts, '|', COUNT(*), '|', MAX(a.outcome), '|', MAX(TIMESTAMPDIFF(SECOND, a.started_at, a.finished_at)) >= 35, '|', j.status_url IS NULL AND j.accepted_at IS NULL)
			FROM jobs j JOIN job_attempts a ON a.job_id = j.id WHERE j.id = $j")" "1|1|done|1|1"
done
api GET "/v1/videos/$a_vid"
t_eq "the result is the service's, after one call for the key" "$(json .status)|$(json .result.calls_for_key)" processed\|1

# ---- 3. polls take their tokens from processor.max_rps (2/s) as calls do
# Twelve jobs (by SQL, no objects: the stub's object check is off) wanting a
# poll every 2 s each: 6 polls a second if nothing held them back.
stub '{"mode":"async","delay_ms":8000,"fetch":false,"reset_counters":true}'
user=$(sql "SELECT id FROM users WHERE name = 'demo'")
sql "INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, container, duration_ms, created_at, expires_at)
	SELECT CONCAT('01BXAS', LPAD(seq, 20, '0')), $user, CONCAT('videos/00/00/01BXAS', LPAD(seq, 20, '0')),
	       1, REPEAT('0', 64), 'mp4', 1000, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 1 DAY FROM seq_1_to_12;
     INSERT INTO jobs (video_id, run_after, max_attempts, created_at)
	SELECT CONCAT('01BXAS', LPAD(seq, 20, '0')), UTC_TIMESTAMP(6), 5, UTC_TIMESTAMP(6) FROM seq_1_to_12;"
t1=$(date +%s.%N)
t_ok "the twelve jobs are all done" \
	wait_until 120 eval '[[ $(sql "SELECT COUNT(*) FROM jobs WHERE video_id LIKE '"'01BXAS%'"' AND state = '"'done'"'") == 12 ]]'
t2=$(date +%s.%N)
calls=$(stub_counter calls)
polls=$(stub_counter status_polls)
peak=$(stub_counter peak_per_second)
printf '# 12 async jobs: %s calls and %s polls in %.1f s, busiest second %s\n' "$calls" "$polls" "$(echo "$t2 - $t1" | bc)" "$peak"
t_eq "one call a job" "$calls" 12
t_lt "they were polled" 12 "$polls"
# The cap counts in the workers' seconds, the stub in its own: a second can
# hold its 2 plus what was sent at the end of the one before.
t_lt "the busiest second at the stub kept to max_rps 2 (+2 in transit at its edge): $peak" "$peak" 5
# The tokens are per clock second: an interval of L seconds touches at most
# ceil(L) + 1 of them, 2 tokens each.
secs=$(echo "$t2 - $t1" | bc | awk '{ s = int($1); if (s < $1) s++; print s + 1 }')
t_lt "calls and polls together took at most 2 tokens in each of the $secs seconds touched" \
	"$((calls + polls))" "$((secs * 2 + 1))"
stub '{"fetch":true}'

# ---- 4. processor.async_deadline_seconds, from the first 202
# A job on its last attempt is dead with the deadline as its reason; one
# with attempts left is called again (the same key: harmless).
t_ok "the workers restart with processor.async_deadline_seconds 4" \
	restart_workers VINGEST_PROCESSOR_ASYNC_DEADLINE_SECONDS=4 VINGEST_PROCESSOR_MAX_RPS=0
stub '{"mode":"async","delay_ms":600000,"fetch":false}'
sql "INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, container, duration_ms, created_at, expires_at)
	SELECT CONCAT('01BXDL', LPAD(seq, 20, '0')), $user, CONCAT('videos/00/00/01BXDL', LPAD(seq, 20, '0')),
	       1, REPEAT('0', 64), 'mp4', 1000, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 1 DAY FROM seq_1_to_2;
     INSERT INTO jobs (video_id, run_after, max_attempts, created_at)
	SELECT CONCAT('01BXDL', LPAD(seq, 20, '0')), UTC_TIMESTAMP(6), IF(seq = 1, 1, 5), UTC_TIMESTAMP(6) FROM seq_1_to_2;"
d=$(job_of 01BXDL00000000000000000001)
e=$(job_of 01BXDL00000000000000000002)
t_ok "past the deadline, a job on its last attempt is dead" wait_until 30 eval '[[ $(job_field '"$d"' state) == dead ]]'
t_eq "with the deadline as the reason, its status_url cleared, its video failed" \
	"$(sql "SELECT CONCAT(j.last_error, '|', j.status_url IS NULL, '|', v.status) FROM jobs j JOIN videos v ON v.id = j.video_id WHERE j.id = $d")" \
	"attempts used up (1); last: asynchronous processing took too long|1|failed"
t_ok "a job with attempts left is called again after its deadline" \
	wait_until 30 eval '(($(posts_of '"$e"') >= 2))'
t_eq "its first attempt failed, counted, on the deadline" \
	"$(sql "SELECT CONCAT(outcome, '|', error) FROM job_attempts WHERE job_id = $e AND attempt = 1")" \
	"retry|asynchronous processing took too long"
took=$(sql "SELECT ROUND(TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) / 1e6, 1) FROM job_attempts WHERE job_id = $e AND attempt = 1")
t_ok "the deadline was 4 s from the 202, give or take a poll (${took} s)" \
	awk -v t="$took" 'BEGIN { exit !(t >= 3.9 && t < 12) }'

# Back to the test stack's workers and an idle queue: the stub finishes a
# pending key's job when it is called again, so both end done.
stub '{"mode":"ok","delay_ms":0}'
"$VINGEST_CTL" -c "$VINGEST_CONFIG" jobs retry "$d" >/dev/null
t_ok "called again, both jobs are done" \
	wait_until 30 eval '[[ $(job_field '"$d"' state)$(job_field '"$e"' state) == donedone ]]'
stub '{"fetch":true}'
t_ok "the workers restart with the test stack's settings" restart_workers
wait_until 60 queue_idle
t_done
