#!/usr/bin/env bash
# 75_service_answers: what the processing service answers is never trusted.
# A 202's status_url is polled only on processor.url's origin (scheme, host,
# port): one on another port, another host or another scheme, or with
# credentials in it, is never requested - the listener it names sees no
# request - and the attempt fails, counted, until the job is dead; a relative
# status_url works. A redirect is not followed. A 2xx body is stored as the
# result only as a JSON object json-c wrote out again (control bytes
# escaped), never an HTML page, an array, JSON 100 levels deep, 100 KiB or 2
# MB of it; an error answer's body reaches last_error only as a cleaned
# excerpt of a JSON error's code and message. Each outcome is checked in SQL
# (jobs.last_error, videos.result) and through GET /v1/videos/{id}.
#
# The checks do not depend on the store or the web server past the upload:
# they run in the fs pass (./dev test --store fs), as 80_jobs's later
# sections do.
. "$(dirname "$0")/lib.sh"

if [[ $STORE_BACKEND != fs ]]; then
	echo "# 75_service_answers: store-independent; it runs in the fs pass (./dev test --store fs)"
	t_done
fi

export VINGEST_DEV_WORKERS=1 # the upload tests ran without workers; start them
if ! "$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1; then
	t_fail "./dev up starts vingest-workers" "$(tail -n 20 "$T_TMP/up.log")"
	t_done
fi
WLOG=$VINGEST_VAR/log/vingest-workers.log
STUB_BIN=$(dirname "$VINGEST_CTL")/../tests/stub/vingest-stub
SPORT=${VINGEST_STUB_URL##*:} # the stack's stub: processor.url's port

stub() { curl -sf -d "$1" "$VINGEST_STUB_URL/control" >/dev/null; }
stub_counter() { curl -sf "$VINGEST_STUB_URL/control" | jq -r ".$1"; }
upload() {
	api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
	[[ $API_STATUS == 201 ]] && json .id
}
job_of() { sql "SELECT id FROM jobs WHERE video_id = '$(sqlq "$1")'"; }
job_field() { sql "SELECT $2 FROM jobs WHERE id = $1"; }
job_is() { [[ $(job_field "$1" state) == "$2" ]]; }
answered() { [[ $(job_field "$1" "last_http_status IS NOT NULL") == 1 ]]; }
queue_idle() { [[ $(sql "SELECT COUNT(*) FROM jobs WHERE state IN ('ready','running')") == 0 ]]; }
refusals() { grep -c "msg=\"status_url refused: not on the processing service's origin\" job_id=$1 " "$WLOG" || true; }

# new_job: uploads a clip, prints "VIDEO_ID JOB_ID" once the job exists
# ("none 0" if that failed: the checks that follow then fail by name)
new_job() {
	local id
	if id=$(upload) && wait_until 10 job_of "$id"; then
		printf '%s %s\n' "$id" "$(job_of "$id")"
	else
		echo "none 0"
	fi
}
# plain TEXT: 0 if TEXT has no control character, markup, quote or backslash
# shellcheck disable=SC1003 # the set ends in an escaped backslash
plain() { [[ -z $(printf '%s' "$1" | LC_ALL=C tr -d -c '\000-\037\177<>&"'"'"'`\\') ]]; }

# ---- two listeners where a status_url may point but must never be followed:
# one on another port of 127.0.0.1, one on another host (127.0.0.2) on the
# stub's own port. Each is a stub of its own; its stderr logs every request.
LISTENERS=()
listen() { # HOST PORT NAME: starts a stub there and sets LISTEN_LOG; status 1 if it did not
	local log=$T_TMP/$3.err pid i
	LISTEN_LOG=$log
	"$STUB_BIN" -l "$1:$2" 2>"$log" &
	pid=$!
	LISTENERS+=("$pid")
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1 # the port is taken
		curl -s -o /dev/null --max-time 1 "http://$1:$2/healthz" && return 0
		sleep 0.1
	done
	return 1
}
stop_listeners() {
	local p
	for p in "${LISTENERS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	return 0
}
trap 'stop_listeners; rm -rf -- "$T_TMP"' EXIT
# requests a listener got, its own start-up /healthz probes left out
requests_at() { grep -E 'msg=(call|request) ' "$1" | grep -vc 'path=/healthz ' || true; }

OPORT=
for try in 1 2 3 4 5; do
	port=$((18191 + PORT_OFF + RANDOM % 49))
	if listen 127.0.0.1 "$port" "other-port-$try"; then
		OPORT=$port
		OTHER_PORT_LOG=$LISTEN_LOG
		break
	fi
done
listen 127.0.0.2 "$SPORT" other-host
host_rc=$?
OTHER_HOST_LOG=$LISTEN_LOG
if [[ -z $OPORT ]] || ((host_rc != 0)); then
	t_fail "two listeners start (127.0.0.1:${OPORT:-?} and 127.0.0.2:$SPORT)" \
		"$(cat "$T_TMP"/other-*.err 2>/dev/null | tail -n 5)"
	t_done
fi
t_pass "listeners on another port (127.0.0.1:$OPORT) and another host (127.0.0.2:$SPORT) start"

stub '{"mode":"ok","delay_ms":0,"fail_rate":0,"retry_after":0,"body":"normal","status_url":""}'
wait_until 60 queue_idle

# ---- 1. a status_url on another port: never requested; every attempt fails,
# counted, until the job is dead (jobs.max_attempts is 5 here)
stub '{"mode":"async","status_url":"http://127.0.0.1:'"$OPORT"'/status/{key}"}'
read -r id job < <(new_job)
t_ok "another port: the job is dead-lettered after its attempts" wait_until 60 job_is "$job" dead
t_eq "another port: five attempts, each refused, the last one dead" \
	"$(sql "SELECT GROUP_CONCAT(CONCAT(outcome, ':', http_status) ORDER BY attempt) FROM job_attempts WHERE job_id = $job")" \
	"retry:202,retry:202,retry:202,retry:202,dead:202"
t_eq "another port: jobs.last_error says why, in the worker's words (no host in it)" \
	"$(job_field "$job" last_error)" \
	"attempts used up (5); last: status_url refused: not on the processing service's origin (other port)"
t_eq "another port: each attempt before the last has that error" \
	"$(sql "SELECT COUNT(*) FROM job_attempts WHERE job_id = $job AND error = 'status_url refused: not on the processing service''s origin (other port)'")" 4
t_eq "another port: the listener there got no request" "$(requests_at "$OTHER_PORT_LOG")" 0
api GET "/v1/videos/$id"
t_eq "another port: GET shows the video failed, the job dead after 5 attempts" \
	"$(json '[.status, .processing.state, .processing.attempts, .result] | map(tostring) | join(" ")')" \
	"failed dead 5 null"
t_eq "another port: GET's processing.last_error" "$(json .processing.last_error)" \
	"attempts used up (5); last: status_url refused: not on the processing service's origin (other port)"
t_eq "another port: logged once per refused attempt, with the job id and the host" \
	"$(grep "msg=\"status_url refused: not on the processing service's origin\" job_id=$job " "$WLOG" |
		grep -c "host=127.0.0.1 reason=\"other port\"")" 5

# refused JOB REASON NAME: the job's first attempt was refused for REASON;
# then its last attempt is made the next one, and it is dead after it
refused() {
	local job=$1 reason=$2 name=$3 want
	want="status_url refused: not on the processing service's origin ($reason)"
	first() { [[ $(sql "SELECT outcome FROM job_attempts WHERE job_id = $job AND attempt = 1") == retry ]]; }
	if ! wait_until 20 first; then
		t_fail "$name: the first attempt ends" \
			"$(sql "SELECT * FROM job_attempts WHERE job_id = $job")"
		return
	fi
	t_eq "$name: the first attempt is refused, counted, to be retried" \
		"$(sql "SELECT CONCAT(outcome, ' ', http_status, ' ', error) FROM job_attempts WHERE job_id = $job AND attempt = 1")" \
		"retry 202 $want"
	sql "UPDATE jobs SET max_attempts = 2 WHERE id = $job"
	t_ok "$name: with its attempts used up the job is dead" wait_until 30 job_is "$job" dead
	t_match "$name: dead with that reason" "$(job_field "$job" last_error)" \
		"^attempts used up \([0-9]+\); last: status_url refused: not on the processing service's origin \($reason\)$"
	t_eq "$name: logged once per attempt" "$(refusals "$job")" "$(job_field "$job" attempts)"
}

# ---- 2. another host on the same port
stub '{"status_url":"http://127.0.0.2:'"$SPORT"'/status/{key}"}'
read -r id job < <(new_job)
refused "$job" "other host" "another host"
t_eq "another host: the listener there got no request" "$(requests_at "$OTHER_HOST_LOG")" 0
t_ok "another host: the log names it" grep -q "job_id=$job .*host=127.0.0.2 reason=\"other host\"" "$WLOG"

# ---- 3. another scheme (https) at that host
stub '{"status_url":"https://127.0.0.2:'"$SPORT"'/status/{key}"}'
read -r id job < <(new_job)
refused "$job" "other scheme" "https for an http service"
t_eq "https: the listener got no request (not even a TLS hello)" "$(requests_at "$OTHER_HOST_LOG")" 0

# ---- 4. credentials in a status_url on the service's own origin
polls=$(stub_counter status_polls)
stub '{"status_url":"http://user:secret@127.0.0.1:'"$SPORT"'/status/{key}"}'
read -r id job < <(new_job)
refused "$job" "credentials in the URL" "userinfo"
t_eq "userinfo: the service's status endpoint was not polled" "$(stub_counter status_polls)" "$polls"
t_ok "userinfo: the password is in no log line" bash -c "! grep -q secret '$WLOG'"

# ---- 5. a relative status_url: resolved against processor.url, polled, done
polls=$(stub_counter status_polls)
stub '{"status_url":"/status/{key}"}'
read -r id job < <(new_job)
t_ok "a relative status_url is polled to completion" wait_until 30 job_is "$job" 'done'
t_lt "the service's /status/<key> was polled" "$polls" "$(stub_counter status_polls)"
api GET "/v1/videos/$id"
t_eq "relative: the polled result is stored" "$(json .status) $(json .result.video_id)" "processed $id"

# ---- 6. a redirect is an answer, not a place to go
stub '{"mode":"redirect","status_url":"http://127.0.0.1:'"$OPORT"'/status/{key}"}'
read -r id job < <(new_job)
t_ok "a 307 from the service dead-letters the job at once" wait_until 20 job_is "$job" dead
t_eq "307: recorded, not followed" "$(sql "SELECT CONCAT(attempts, ' ', last_http_status, ' ', last_error) FROM jobs WHERE id = $job")" \
	"1 307 processing service answered 307"
t_eq "307: the Location's listener got no request" "$(requests_at "$OTHER_PORT_LOG")" 0

# ---- the bodies: each case's first answer, as last_error or result shows it
stub '{"mode":"ok","status_url":""}'

# first_error JOB: waits for the job's first answer; prints "STATUS|LAST_ERROR"
first_error() {
	wait_until 30 answered "$1"
	sql "SELECT CONCAT(last_http_status, '|', IFNULL(last_error, '')) FROM jobs WHERE id = $1"
}
# no_result VIDEO: "1 1" while the video is not processed and has no result
no_result() { sql "SELECT CONCAT(status <> 'processed', ' ', result IS NULL) FROM videos WHERE id = '$(sqlq "$1")'"; }

# ---- 7. 500 with an HTML page full of script and control bytes
stub '{"mode":"fail","fail_status":500,"body":"html"}'
read -r id job < <(new_job)
t_eq "500 + HTML: last_error is the worker's words alone" "$(first_error "$job")" \
	"500|processing service answered 500"
api GET "/v1/videos/$id"
t_eq "500 + HTML: GET's processing.last_error, no result" \
	"$(json '.processing.last_error + " " + (.result | tostring)')" "processing service answered 500 null"

# ---- 8. 500 with a JSON error whose message is markup, escapes and a bidi override
stub '{"body":"nasty"}'
read -r id job < <(new_job)
want="processing service answered 500 (service says: bad bcode/b: scriptalert(x)/script [31mred [0m quoted C:path line2 desrever rm -rf ab)"
t_eq "500 + nasty JSON error: a cleaned excerpt of its code and message" "$(first_error "$job")" "500|$want"
api GET "/v1/videos/$id"
t_eq "500 + nasty: GET shows the same" "$(json .processing.last_error)" "$want"
t_ok "500 + nasty: no control byte, markup, quote or backslash in jobs.last_error" \
	plain "$(job_field "$job" last_error)"

# ---- 9-13. 2xx bodies that are not a result: failed attempts, nothing stored
stub '{"mode":"ok","body":"array"}'
read -r id job < <(new_job)
t_eq "200 + a JSON array: a failed attempt" "$(first_error "$job")" \
	"200|processing service answered 200 with JSON that is not an object"
t_eq "200 + a JSON array: no result stored" "$(no_result "$id")" "1 1"

stub '{"body":"deep"}'
read -r id job < <(new_job)
t_eq "200 + JSON 100 levels deep: a failed attempt" "$(first_error "$job")" \
	"200|processing service answered 200 with a result nested deeper than 16 levels"
t_eq "200 + too deep: no result stored" "$(no_result "$id")" "1 1"

stub '{"body":"large"}'
read -r id job < <(new_job)
t_eq "200 + a 100 KiB object: a failed attempt" "$(first_error "$job")" \
	"200|processing service answered 200 with a result over 64 KiB"
t_eq "200 + too large: no result stored" "$(no_result "$id")" "1 1"

stub '{"body":"huge"}'
read -r id job < <(new_job)
t_eq "200 + a 2 MB body: the read stops at 256 KiB, a failed attempt" "$(first_error "$job")" \
	"200|processing service answered 200 with a body over 256 KiB"
t_eq "200 + 2 MB: no result stored" "$(no_result "$id")" "1 1"

stub '{"body":"html"}'
read -r id job < <(new_job)
t_eq "200 + an HTML page: a failed attempt" "$(first_error "$job")" \
	"200|processing service answered 200 with a body that is not JSON"
api GET "/v1/videos/$id"
t_eq "200 + HTML: GET shows no result and why" \
	"$(json '(.result | tostring) + " " + .processing.last_error')" \
	"null processing service answered 200 with a body that is not JSON"

# ---- 14. 200 with an object whose strings carry raw control bytes: stored,
# re-encoded by json-c
stub '{"body":"controls"}'
read -r id job < <(new_job)
t_ok "200 + control bytes inside strings: done" wait_until 30 job_is "$job" 'done'
# (CHAR(92) is a backslash: no quoting layers to get wrong)
t_eq "videos.result holds the control bytes escaped (\\u0001, \\u001b), none raw" \
	"$(sql "SELECT CONCAT(JSON_VALID(result), ' ', LOCATE(CONCAT(CHAR(92), 'u0001'), result) > 0, ' ',
		LOCATE(CONCAT(CHAR(92), 'u001b[2J'), result) > 0, ' ', result REGEXP '[[:cntrl:]]')
		FROM videos WHERE id = '$(sqlq "$id")'")" \
	"1 1 1 0"
api GET "/v1/videos/$id"
t_eq "GET shows the result's strings decoded" "$(json '.result.note | @json')" \
	'"tab\there\u0001\u001b[2J\u0007 <script>alert(1)</script>"'

# ---- 15. a good result
stub '{"body":"normal"}'
read -r id job < <(new_job)
t_ok "200 + the service's result: done" wait_until 30 job_is "$job" 'done'
api GET "/v1/videos/$id"
t_eq "the result is the service's answer for this video" "$(json '.result.video_id + " " + (.result.labels | join(","))')" "$id stub"

# The jobs the bad bodies left retrying complete or die now; the stub as the
# other tests expect it.
stub '{"mode":"ok","body":"normal","status_url":"","fail_status":503}'
t_ok "the queue drains once the service answers properly" wait_until 90 queue_idle

t_done
