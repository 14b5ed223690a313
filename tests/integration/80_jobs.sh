#!/usr/bin/env bash
# 80_jobs: the worker pool delivers every stored video to the processing
# service (the stub) with exactly-once effect: end to end, worker crashes,
# stale workers fenced out, the service down or throttling or refusing,
# drain and reload, pool scaling, and a thousand jobs at once. Sections 1-3b
# run in every pass of ./dev test, the rest in the fs pass.
#
# The test stack's timings (./dev test_stack_env): lease 20 s, heartbeat
# timeout 10 s, back-off 1..4 s, 5 attempts, breaker after 3 failures for 2 s,
# 2..4 workers of concurrency 4, idle 5 s, drain 10 s.
. "$(dirname "$0")/lib.sh"

# The upload tests ran without workers; start them (and anything else down).
export VINGEST_DEV_WORKERS=1 # every ./dev up below restarts what is down, workers included
if ! "$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1; then
	t_fail "./dev up starts vingest-workers" "$(tail -n 20 "$T_TMP/up.log")"
	t_done
fi
WLOG=$VINGEST_VAR/log/vingest-workers.log
supervisor() { tr -dc '0-9' <"$VINGEST_WORKERS_PID_FILE"; }
workers() { pgrep -P "$(supervisor)" | sort -n; }
stub() { curl -sf -d "$1" "$VINGEST_STUB_URL/control" >/dev/null; }
stub_counter() { curl -sf "$VINGEST_STUB_URL/control" | jq -r ".$1"; }
upload() {
	api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
	[[ $API_STATUS == 201 ]] && json .id
}
job_of() { sql "SELECT id FROM jobs WHERE video_id = '$(sqlq "$1")'"; }
job_field() { sql "SELECT $2 FROM jobs WHERE id = $1"; }
video_status() { sql "SELECT status FROM videos WHERE id = '$(sqlq "$1")'"; }
is_status() { [[ $(video_status "$1") == "$2" ]]; }
job_is() { [[ $(job_field "$1" state) == "$2" ]]; }
effects_of() { grep -c "key=$1 .*effect=new" "$VINGEST_STUB_CALL_LOG" 2>/dev/null || true; }
queue_idle() { [[ $(sql "SELECT COUNT(*) FROM jobs WHERE state IN ('ready','running')") == 0 ]]; }
reset() {
	stub '{"mode":"ok","delay_ms":0,"fail_rate":0,"retry_after":0}'
	wait_until 60 queue_idle
}

t_ok "the supervisor keeps workers.min (2) workers" wait_until 10 eval '[[ $(workers | grep -c .) -ge 2 ]]'
t_ok "the workers table shows the supervisor and its workers" \
	wait_until 10 eval '[[ $(sql "SELECT COUNT(*) FROM workers WHERE pid = $(supervisor) AND role = '"'supervisor'"'") == 1 && $(sql "SELECT COUNT(*) FROM workers WHERE role = '"'worker'"'") -ge 2 ]]'
reset

# ---- 1. upload -> processed, through lighttpd, with the stub's result
id=$(upload)
t_ok "an upload is processed end to end within 30 s" wait_until 30 is_status "$id" processed
api GET "/v1/videos/$id"
t_eq "GET shows status processed" "$(json .status)" processed
t_eq "processing.state is done" "$(json .processing.state)" done
t_eq "processing.attempts is 1" "$(json .processing.attempts)" 1
t_match "processing.finished_at is set" "$(json .processing.finished_at)" '^20[0-9-]+T'
t_eq "the result is the stub's answer for this video" "$(json .result.video_id)" "$id"
t_eq "the result carries the container vingest found" "$(json .result.container)" mp4
t_eq "the result carries the duration vingest found" "$(json .result.duration_ms)" 2000
job=$(job_of "$id")
t_eq "the stub saw Idempotency-Key = job id, once" "$(effects_of "$job")" 1
t_eq "one attempt row, outcome done" "$(sql "SELECT COUNT(*), MAX(outcome) FROM job_attempts WHERE job_id = $job")" "1	done"
t_match "the call carried a signed object_url" "$(grep "key=$job " "$VINGEST_STUB_CALL_LOG" | head -n1)" 'key='

# ---- 2. 429 storm: Retry-After honoured, the attempt not counted
stub '{"mode":"throttle","retry_after":3}'
id=$(upload)
job=$(wait_until 10 job_of "$id" && job_of "$id")
t_ok "a throttled call goes back to ready" wait_until 15 eval '[[ $(job_field '"$job"' last_http_status) == 429 ]]'
gap=$(sql "SELECT TIMESTAMPDIFF(MICROSECOND, a.finished_at, j.run_after) FROM jobs j
	JOIN job_attempts a ON a.job_id = j.id WHERE j.id = $job AND j.state = 'ready'")
t_lt "the retry waits at least Retry-After (3 s): gap ${gap} us" 2900000 "${gap:-0}"
t_eq "a 429 does not use up an attempt" "$(job_field "$job" attempts)" 0
stub '{"mode":"ok","retry_after":0}'
t_ok "after the storm the job completes" wait_until 30 is_status "$id" processed

# ---- 3. permanent 4xx: dead at once, retried from the CLI, then done
stub '{"mode":"fail","fail_status":422}'
id=$(upload)
t_ok "a 422 from the service dead-letters the job at once" wait_until 15 is_status "$id" failed
job=$(job_of "$id")
t_eq "dead after one attempt, 422 recorded" "$(sql "SELECT state, attempts, last_http_status FROM jobs WHERE id = $job")" "dead	1	422"
t_eq "v_dead_jobs lists it" "$(sql "SELECT COUNT(*) FROM v_dead_jobs WHERE job_id = $job")" 1
api GET "/v1/videos/$id"
t_match "GET shows the failure and its reason" "$(json .status) $(json .processing.last_error)" '^failed .*422'
stub '{"mode":"ok"}'
t_match "vingestctl jobs retry ID requeues it" "$("$VINGEST_CTL" -c "$VINGEST_CONFIG" jobs retry "$job" 2>&1)" '^requeued 1 job$'
t_ok "the retried job completes" wait_until 30 is_status "$id" processed

# ---- 3b. 202 Accepted: the worker polls status_url until 200
stub '{"mode":"async","delay_ms":2500,"reset_counters":true}'
id=$(upload)
t_ok "a 202-async call is polled to completion" wait_until 30 is_status "$id" processed
t_lt "the worker polled its status_url" 0 "$(stub_counter status_polls)"
t_eq "polling while the service says 202 costs no attempt" "$(sql "SELECT attempts FROM jobs WHERE video_id = '$(sqlq "$id")'")" 1
api GET "/v1/videos/$id"
t_eq "the polled result is stored" "$(json .result.video_id)" "$id"

# The sections above run in every pass: each store serves the object_url
# the stub fetches and checks. The ones below (crashes, fencing, the
# breaker, drain, scaling, a thousand jobs) do not touch the store or the
# web server past the upload, so they run once, in the fs pass.
if [[ $STORE_BACKEND != fs ]]; then
	echo "# 80_jobs: sections 4-10 do not depend on the store; they run in the fs pass (./dev test --store fs)"
	reset # the stub and the queue as the last section leaves them
	stub '{"fetch":true}'
	t_done
fi

# ---- 4. kill -9 of a worker in the middle of a call
reset
stub '{"mode":"ok","delay_ms":4000}'
id=$(upload)
job=$(wait_until 10 job_of "$id" && job_of "$id")
wait_until 10 job_is "$job" running
owner=$(job_field "$job" lease_owner)
victim=${owner##*:}
kill -KILL "$victim"
t_ok "the supervisor replaces the killed worker (pid $victim)" \
	wait_until 10 eval '! kill -0 '"$victim"' 2>/dev/null && [[ $(workers | grep -c .) -ge 2 ]]'
t_ok "another worker finishes the job after its lease ran out" wait_until 60 is_status "$id" processed
t_eq "the job took two attempts: one lost, one done" \
	"$(sql "SELECT GROUP_CONCAT(outcome ORDER BY attempt) FROM job_attempts WHERE job_id = $job")" "lost,done"
t_eq "the service made the effect once" "$(effects_of "$job")" 1
t_ok "the supervisor logged the death" grep -q "worker died; replacing\" worker=$victim" "$WLOG"

# ---- 5. a stale worker cannot finish a job another worker took over
reset
stub '{"mode":"ok","delay_ms":6000}'
id=$(upload)
job=$(wait_until 10 job_of "$id" && job_of "$id")
wait_until 10 job_is "$job" running
owner=$(job_field "$job" lease_owner)
stale=${owner##*:}
kill -STOP "$stale"
# Its lease runs out (made to, now) and the janitor hands the job on.
sql "UPDATE jobs SET lease_expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE id = $job"
# One query, so state and owner are read together (two could straddle the reap).
taken_over() {
	local now
	now=$(sql "SELECT CONCAT(state, '|', IFNULL(lease_owner, '')) FROM jobs WHERE id = $job")
	[[ $now == running\|* && $now != "running|" && $now != "running|$owner" ]]
}
t_ok "the job is taken over by another worker while the first is stopped" wait_until 9 taken_over
kill -CONT "$stale"
t_ok "the job completes" wait_until 30 is_status "$id" processed
t_ok "the stale worker was fenced out: it logged the lost lease" \
	wait_until 10 grep -q "vingest-workers\[$stale\].*lease lost.*job_id=$job " "$WLOG"
t_eq "the done attempt is the new owner's, the stale one is lost" \
	"$(sql "SELECT GROUP_CONCAT(CONCAT(outcome, ':', worker = '$(sqlq "$owner")') ORDER BY attempt) FROM job_attempts WHERE job_id = $job")" "lost:1,done:0"
t_eq "one effect at the service" "$(effects_of "$job")" 1
t_eq "the stale worker is still alive (stopped < heartbeat timeout)" "$(kill -0 "$stale" 2>/dev/null && echo alive)" alive

# ---- 5b. a lease lost inside a done batch: that job is left to its new
# owner, the rest of the batch is written (the batch's set-based writes are
# rolled back and redone job by job). Jobs inserted at once, so one worker
# claims several together and their answers land in one turn. A try in which
# the worker's lease renewal (every third of the lease) met the lost lease
# before the answer did is run again.
reset
stub '{"mode":"ok","delay_ms":1500,"fetch":false}'
user=$(sql "SELECT id FROM users WHERE name = 'demo'")
lb_count() { sql "SELECT COUNT(*) FROM jobs WHERE video_id LIKE '$lb%' AND state = '$1'"; }
lb_ok=0
for try in 1 2 3 4 5 6; do
	lb=01BXL$try
	sql "INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, container, duration_ms, created_at, expires_at)
		SELECT CONCAT('$lb', LPAD(seq, 20, '0')), $user, CONCAT('videos/00/00/$lb', LPAD(seq, 20, '0')),
		       1, REPEAT('0', 64), 'mp4', 1000, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 1 DAY FROM seq_1_to_6;
	     INSERT INTO jobs (video_id, run_after, max_attempts, created_at)
		SELECT CONCAT('$lb', LPAD(seq, 20, '0')), UTC_TIMESTAMP(6), 5, UTC_TIMESTAMP(6) FROM seq_1_to_6;"
	wait_until 10 eval '[[ $(lb_count running) == 6 ]]'
	# A job of the worker that holds the most: its done batch is a mixed one.
	victim=$(sql "SELECT MIN(id) FROM jobs WHERE video_id LIKE '$lb%' AND lease_owner =
		(SELECT lease_owner FROM jobs WHERE video_id LIKE '$lb%' GROUP BY lease_owner ORDER BY COUNT(*) DESC, lease_owner LIMIT 1)")
	vpid=$(job_field "$victim" lease_owner)
	vpid=${vpid##*:}
	mixed() { grep -c "vingest-workers\[$vpid\].*lease in the done batch was lost.*jobs=[2-9]" "$WLOG" || true; }
	before=$(mixed)
	# As if the janitor had handed it on: a new token under the worker's feet.
	sql "UPDATE jobs SET lease_token = 'taken-over-by-the-test' WHERE id = $victim"
	wait_until 20 eval '[[ $(lb_count done) == 5 ]]'
	wait_until 5 grep -q "vingest-workers\\[$vpid\\].*lease lost.*job_id=$victim " "$WLOG"
	if grep -q "vingest-workers\[$vpid\].*lease lost.*job_id=$victim .*during=finish" "$WLOG" &&
		(($(mixed) > before)); then
		lb_ok=1
		break
	fi
done
t_ok "a lease was lost inside a done batch of several jobs, and the batch was written job by job (try $try)" test "$lb_ok" = 1
t_eq "the five jobs whose leases held are done, video processed, attempt done" \
	"$(sql "SELECT COUNT(*) FROM jobs j JOIN videos v ON v.id = j.video_id JOIN job_attempts a ON a.job_id = j.id
		WHERE j.video_id LIKE '$lb%' AND j.state = 'done' AND v.status = 'processed' AND v.result IS NOT NULL
		AND a.outcome = 'done' AND a.http_status = 200 AND a.lease_token = j.lease_token")" 5
t_eq "the job whose lease was lost is untouched: still the new owner's" \
	"$(sql "SELECT CONCAT(state, '|', lease_token, '|', (SELECT outcome FROM job_attempts WHERE job_id = $victim AND attempt = 1)) FROM jobs WHERE id = $victim")" \
	"running|taken-over-by-the-test|running"
# Hand the taken-over jobs on for real: the janitor reaps them and they complete.
sql "UPDATE jobs SET lease_expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE video_id LIKE '01BXL%' AND lease_token = 'taken-over-by-the-test'"
t_ok "reaped and retried, they complete" \
	wait_until 30 eval '[[ $(sql "SELECT COUNT(*) FROM jobs WHERE video_id LIKE '"'01BXL%'"' AND state <> '"'done'"'") == 0 ]]'
stub '{"fetch":true}'

# ---- 6. the service down longer than every retry delay together
reset
stub_pid=$(tr -dc '0-9' <"$VINGEST_STUB_PID_FILE")
kill -TERM "$stub_pid"
wait_until 5 eval '! kill -0 '"$stub_pid"' 2>/dev/null'
ids=()
for _ in 1 2 3; do ids+=("$(upload)"); done
jobs_csv=$(sql "SELECT GROUP_CONCAT(id) FROM jobs WHERE video_id IN ('${ids[0]}','${ids[1]}','${ids[2]}')")
# Watched for 14 s, longer than the back-offs 1+2+4+4 s that would have used
# all 5 attempts: the first dead job ends the watch (and fails the check).
dead=0
for ((i = 0; i < 70; i++)); do
	dead=$(sql "SELECT COUNT(*) FROM jobs WHERE id IN ($jobs_csv) AND state = 'dead'")
	((dead == 0)) || break
	sleep 0.2
done
t_eq "while the service is down no job is dead (watched 14 s)" "$dead" 0
# A job claimed for the breaker's probe counts its attempt until the refused
# call gives it back: count only attempts whose call has finished.
t_eq "and none has used an attempt" \
	"$(sql "SELECT SUM(attempts - (state = 'running')) FROM jobs WHERE id IN ($jobs_csv)")" 0
t_ok "the breaker opened" grep -q 'breaker open' "$WLOG"
"$VINGEST_DEV" up >"$T_TMP/up2.log" 2>&1
t_ok "when the service is back every job completes" \
	wait_until 45 eval '[[ $(sql "SELECT COUNT(*) FROM jobs WHERE id IN ($jobs_csv) AND state = '"'done'"'") == 3 ]]'

# ---- 6b. a half-open breaker with nothing to claim gives its probe back
# The fleet's failure count at the threshold, not open: the next claimer
# takes the one probe. With no job ready its claim finds nothing, and it must
# release the probe rather than hold it a whole cool-down again and again
# (the fleet then made no call at all, and the breaker never closed).
reset
mc() { # mc COMMAND...: one memcached text-protocol exchange, the reply on stdout
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$VINGEST_MEMCACHED_PORT" || return 1
	printf '%s\r\n' "$@" quit >&"$fd"
	tr -d '\r' <&"$fd"
	exec {fd}>&-
}
mc 'delete vingest:breaker:open' >/dev/null
t_eq "the failure count is set at the threshold" "$(mc 'set vingest:breaker:fails 0 600 1' 3)" STORED
held=0
for _ in $(seq 20); do
	mc 'get vingest:breaker:probe' | grep -q '^VALUE' && held=$((held + 1))
	sleep 0.2
done
t_lt "the probe is not held while no job is ready ($held of 20 looks found it taken)" "$held" 10
id=$(upload)
t_ok "a job that arrives is the probe, and processed" wait_until 20 is_status "$id" processed
t_eq "its success closed the breaker" "$(mc 'get vingest:breaker:fails')" END

# ---- 7. SIGHUP rolls the pool
reset
before=$(workers)
kill -HUP "$(supervisor)"
t_ok "SIGHUP replaces every worker" \
	wait_until 20 eval '[[ -z $(comm -12 <(echo "$before") <(workers)) && $(workers | grep -c .) -ge 2 ]]'

# ---- 8. SIGTERM drains without losing or double-finishing a job
stub '{"mode":"ok","delay_ms":3000}'
ids=("$(upload)" "$(upload)")
jobs_csv=$(wait_until 10 true; sql "SELECT GROUP_CONCAT(id) FROM jobs WHERE video_id IN ('${ids[0]}','${ids[1]}')")
wait_until 10 eval '[[ $(sql "SELECT COUNT(*) FROM jobs WHERE id IN ($jobs_csv) AND state = '"'running'"'") == 2 ]]'
sup=$(supervisor)
kill -TERM "$sup"
t_ok "the supervisor drains and exits within 20 s" wait_until 20 eval '! kill -0 '"$sup"' 2>/dev/null'
t_eq "both in-flight jobs were finished, not dropped" \
	"$(sql "SELECT COUNT(*) FROM jobs WHERE id IN ($jobs_csv) AND state = 'done' AND attempts = 1")" 2
t_eq "each made one effect" "$(for j in ${jobs_csv//,/ }; do effects_of "$j"; done | sort -u)" 1
"$VINGEST_DEV" up >"$T_TMP/up3.log" 2>&1
t_ok "./dev up brings the workers back" wait_until 10 eval '[[ $(workers | grep -c .) -ge 2 ]]'

# ---- 8b. a supervisor killed outright takes its workers with it
# (orphaned workers would run on unwatched beside the next supervisor's)
sup=$(supervisor)
orphans=$(workers | tr '\n' ' ')
kill -9 "$sup"
gone() { # no pid of $orphans alive (a zombie not yet reaped by init counts as gone)
	local p
	for p in $orphans; do
		[[ -n $(ps -o stat= -p "$p" 2>/dev/null | grep -v '^Z') ]] && return 1
	done
	return 0
}
t_ok "a supervisor killed with SIGKILL: its workers drain and exit" wait_until 20 gone
t_ok "they logged why" grep -q 'worker draining.*reason="supervisor gone"' "$WLOG"
"$VINGEST_DEV" up >"$T_TMP/up4.log" 2>&1
t_ok "./dev up starts a new supervisor and its workers" \
	wait_until 10 eval '[[ $(supervisor) != "$sup" && $(workers | grep -c .) -ge 2 ]]'

# ---- 9. the pool grows under a backlog and shrinks when idle
# The backlog is committed at once, by SQL (no objects behind it: the stub's
# object check is off): uploads one by one on a loaded machine can arrive no
# faster than 2 workers x 4 calls of 3 s drain them, and then no backlog forms.
reset
stub '{"mode":"ok","delay_ms":3000,"fetch":false}'
user=$(sql "SELECT id FROM users WHERE name = 'demo'")
ups=$(grep -c 'scaling up' "$WLOG" || true)
sql "INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, container, duration_ms, created_at, expires_at)
	SELECT CONCAT('01BXSC', LPAD(seq, 20, '0')), $user, CONCAT('videos/00/00/01BXSC', LPAD(seq, 20, '0')),
	       1, REPEAT('0', 64), 'mp4', 1000, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 1 DAY FROM seq_1_to_16;
     INSERT INTO jobs (video_id, run_after, max_attempts, created_at)
	SELECT CONCAT('01BXSC', LPAD(seq, 20, '0')), UTC_TIMESTAMP(6), 5, UTC_TIMESTAMP(6) FROM seq_1_to_16;" # 16 calls > 2 workers x 4
t_ok "a backlog scales the pool up" wait_until 20 eval '[[ $(sql "SELECT COUNT(*) FROM workers WHERE role = '"'worker'"'") -ge 3 ]]'
t_lt "the supervisor logged scaling up" "$ups" "$(grep -c 'scaling up' "$WLOG" || true)"
stub '{"mode":"ok","delay_ms":0,"fetch":true}'
wait_until 60 queue_idle
t_ok "idle, the pool shrinks back to workers.min" wait_until 40 eval '[[ $(workers | grep -c .) == 2 ]]'
t_ok "the supervisor logged scaling down" grep -q 'scaling down' "$WLOG"

# ---- 10. a thousand jobs at once, instant service (inserted by SQL, with no
# objects behind them: the stub's object check is off for this part)
reset
stub '{"mode":"ok","delay_ms":0,"reset_counters":true,"fetch":false}'
user=$(sql "SELECT id FROM users WHERE name = 'demo'")
t0=$(date +%s.%N)
sql "INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, container, duration_ms, created_at, expires_at)
	SELECT CONCAT('01BXMK', LPAD(seq, 20, '0')), $user, CONCAT('videos/00/00/01BXMK', LPAD(seq, 20, '0')),
	       1, REPEAT('0', 64), 'mp4', 1000, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 1 DAY FROM seq_1_to_1000;
     INSERT INTO jobs (video_id, run_after, max_attempts, created_at)
	SELECT CONCAT('01BXMK', LPAD(seq, 20, '0')), UTC_TIMESTAMP(6), 5, UTC_TIMESTAMP(6) FROM seq_1_to_1000;"
t_ok "1000 queued jobs all finish within 120 s" \
	wait_until 120 eval '[[ $(sql "SELECT COUNT(*) FROM jobs WHERE video_id LIKE '"'01BXMK%'"' AND state = '"'done'"'") == 1000 ]]'
t1=$(date +%s.%N)
printf '# 1000 jobs from commit to done in %.1f s (%.0f jobs/s)\n' "$(echo "$t1 - $t0" | bc)" "$(echo "1000 / ($t1 - $t0)" | bc -l)"
t_eq "the service made exactly 1000 effects" "$(stub_counter effects)" 1000
t_eq "and saw no duplicate call" "$(stub_counter duplicates)" 0
t_eq "every job has exactly one attempt, done" \
	"$(sql "SELECT COUNT(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.video_id LIKE '01BXMK%' AND a.outcome = 'done' AND a.attempt = 1")" 1000
# processor.max_rps (100 here): no second saw more calls started than the cap.
busiest=$(grep -o 'ts=[0-9T:-]*' "$VINGEST_STUB_CALL_LOG" | sort | uniq -c | sort -n | tail -n 1)
printf '# busiest second at the stub: %s\n' "$busiest"
# The cap counts calls as workers start them, in the workers' clock seconds;
# the stub counts arrivals. A call started at .999 arrives in the next second,
# so an arrival second can hold the cap plus the calls in transit at its
# start: at most one per call slot, workers.max x workers.concurrency (16).
t_lt "the fleet-wide cap processor.max_rps (100/s) held: at most 100 calls in any second (+16 in transit at a second's edge)" \
	"$(awk '{print $1}' <<<"$busiest")" 117
t_eq "no deadlock surfaced as an error" "$(grep -c 'level=error.*errno=1213' "$WLOG" || true)" 0
stub '{"fetch":true}'
t_done
