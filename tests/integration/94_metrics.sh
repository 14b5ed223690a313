#!/usr/bin/env bash
# 94_metrics: GET /metrics speaks the Prometheus text format, counts uploads
# summed over every prefork child, shows the workers' calls after a processed
# job, and answers only configured addresses; /readyz names each dependency
# and stays ready without memcached; X-Request-Id comes back on every answer
# and one upload can be followed by its request id and video id through the
# vingest-fcgi and vingest-workers logs; log.format = json writes JSON lines.
. "$(dirname "$0")/lib.sh"

export VINGEST_DEV_WORKERS=1
if ! "$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1; then
	t_fail "./dev up starts vingest-workers" "$(tail -n 20 "$T_TMP/up.log")"
	t_done
fi
FLOG=$VINGEST_VAR/log/vingest-fcgi.log
WLOG=$VINGEST_VAR/log/vingest-workers.log
M=$T_TMP/metrics

scrape() { curl -sS -o "$M" -D "$M.h" -w '%{http_code}' "${1:-$VINGEST_URL}/metrics"; }
# value NAME_WITH_LABELS: the sample's value in the last scrape (0 if absent)
value() {
	awk -v want="$1" '$1 == want { v = $2 } END { print (v == "" ? 0 : v) }' "$M"
}

# ---- format
# An earlier test may have restarted memcached: a FastCGI child skips a server
# that failed for a few seconds (cache.c), so wait until every child sees it.
cache_seen() {
	local i
	for i in 1 2 3 4 5 6 7 8; do
		scrape >/dev/null
		grep -q '^vingest_dependency_up{dependency="cache"} 1' "$M" || return 1
	done
}
for ((i = 0; i < 40; i++)); do cache_seen && break; sleep 0.5; done
t_eq "GET /metrics from 127.0.0.1 answers 200" "$(scrape)" 200
t_match "Content-Type is the Prometheus text format 0.0.4" "$(header Content-Type "$M.h")" \
	'^text/plain; version=0\.0\.4'
t_match "the answer carries X-Request-Id" "$(header X-Request-Id "$M.h")" '^[A-Za-z0-9._-]+$'
check_format() {
	local bad
	# sample: name{label="value",...} number ; comments: # HELP / # TYPE
	bad=$(grep -vE '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|[-+]Inf|NaN)$' "$M" |
		grep -vE '^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$')
	[[ -z $bad ]] || { printf '%s\n' "$bad" | head -n 5; return 1; }
	# every family declared once
	[[ -z $(grep '^# TYPE' "$M" | awk '{print $3}' | sort | uniq -d) ]]
}
t_ok "every line is a Prometheus sample or a HELP/TYPE comment, each family typed once" check_format
for fam in vingest_http_requests_total vingest_uploads_total vingest_upload_received_bytes_total \
	vingest_upload_duration_seconds vingest_videos_stored_total vingest_jobs \
	vingest_oldest_ready_job_age_seconds vingest_workers_alive vingest_breaker_state \
	vingest_dependency_up; do
	t_ok "family $fam is exposed" grep -q "^# TYPE $fam " "$M"
done
t_ok "the workers' counters are in it (vingest_processing_calls_total, from workers.metrics_file)" \
	wait_until 10 eval 'scrape >/dev/null; grep -q "^# TYPE vingest_processing_calls_total counter" "$M"'
t_eq "database is up" "$(value 'vingest_dependency_up{dependency="database"}')" 1
t_eq "the breaker is closed" "$(value vingest_breaker_state)" 0

# ---- uploads summed across children
scrape >/dev/null
u0=$(value 'vingest_uploads_total{kind="multipart",code="201"}')
b0=$(value vingest_upload_received_bytes_total)
s0=$(value vingest_videos_stored_total)
h0=$(value vingest_upload_duration_seconds_count)
N=12
seq 1 "$N" | xargs -P 4 -I{} curl -sS -o /dev/null -w '%{http_code}\n' \
	-H "Authorization: Bearer $VINGEST_API_KEY" -H "X-Request-Id: t94-par-{}-$$" \
	-F "file=@$FIX/clip-2s.mp4" "$VINGEST_URL/v1/videos" >"$T_TMP/codes"
t_eq "$N parallel uploads all answer 201" "$(grep -c '^201$' "$T_TMP/codes")" "$N"
# the access log lines (and the counts) follow the answers
wait_until 10 eval '[[ $(grep -cE "msg=request request_id=t94-par-[0-9]+-$$ " "$FLOG") -ge $N ]]'
pids=$(grep -E "msg=request request_id=t94-par-[0-9]+-$$ " "$FLOG" | sed -E 's/.*vingest-fcgi\[([0-9]+)\].*/\1/' | sort -u | grep -c .)
t_lt "the uploads were served by more than one child ($pids)" 1 "$pids"
scrape >/dev/null
t_eq "vingest_uploads_total{kind=multipart,code=201} rose by exactly $N (summed over children)" \
	"$(($(value 'vingest_uploads_total{kind="multipart",code="201"}') - u0))" "$N"
t_eq "vingest_videos_stored_total rose by $N" "$(($(value vingest_videos_stored_total) - s0))" "$N"
t_eq "vingest_upload_duration_seconds_count rose by $N" \
	"$(($(value vingest_upload_duration_seconds_count) - h0))" "$N"
size=$(stat -c %s "$FIX/clip-2s.mp4")
t_lt "vingest_upload_received_bytes_total rose by more than $N x the file size" \
	$((N * size)) $(($(value vingest_upload_received_bytes_total) - b0 + 1))
t_lt "vingest_http_requests_total{code=201} is nonzero" 0 "$(value 'vingest_http_requests_total{code="201"}')"

# ---- X-Request-Id and the logs: one upload followed end to end
rid="t94-follow-$$"
api POST /v1/videos -H "X-Request-Id: $rid" -F "file=@$FIX/clip-2s.mp4"
id=$(json .id)
t_eq "an upload with X-Request-Id answers 201" "$API_STATUS" 201
t_eq "X-Request-Id sent is returned" "$(header X-Request-Id)" "$rid"
wait_until 10 grep -q "msg=request request_id=$rid " "$FLOG"
line=$(grep "msg=request request_id=$rid " "$FLOG" | tail -n 1)
t_match "the fcgi access log line of that request has method, path, status, bytes, duration, user, client address, video_id, and the time of each durable step" \
	"$line" "method=POST path=\"/v1/videos\" status=201 bytes_in=[1-9][0-9]* bytes_out=[1-9][0-9]* duration_ms=[0-9]+ user=[1-9][0-9]* addr=127\\.0\\.0\\.1 video_id=$id publish_ms=[0-9]+\\.[0-9] commit_ms=[0-9]+\\.[0-9]\$"
t_ok "the fcgi log's 'video stored' line carries the same request_id and video_id" \
	grep -q "msg=\"video stored\" request_id=$rid video_id=$id " "$FLOG"
api GET "/v1/nope" -H "X-Request-Id: $rid-404"
t_eq "X-Request-Id comes back on a 404 too" "$(header X-Request-Id)" "$rid-404"
api GET "/v1/videos/$id" -H "X-Request-Id: x y"
t_match "a malformed X-Request-Id is replaced by a fresh one" "$(header X-Request-Id)" '^[0-9a-f]{24}$'
t_ok "a GET of a video logs its video_id" wait_until 10 grep -q "path=\"/v1/videos/$id\" status=200 .* video_id=$id\$" "$FLOG"

is_processed() { [[ $(sql "SELECT status FROM videos WHERE id = '$(sqlq "$id")'") == processed ]]; }
t_ok "the video is processed by the workers within 60 s" wait_until 60 is_processed
t_ok "the workers' log shows the claim of that video (video_id=$id)" \
	grep -q "msg=\"job claimed\" .*video_id=$id" "$WLOG"
t_ok "the workers' log shows that video's job done" wait_until 5 grep -q "msg=\"job done\" .*video_id=$id" "$WLOG"
calls_ok() {
	scrape >/dev/null
	(($(value 'vingest_processing_calls_total{outcome="ok"}') > 0)) &&
		(($(value 'vingest_job_outcomes_total{outcome="done"}') > 0))
}
t_ok "after a processed job, processing calls ok and job outcomes done are nonzero" wait_until 5 calls_ok
t_lt "the call latency histogram counted calls" 0 "$(value vingest_processing_call_duration_seconds_count)"
t_lt "vingest_workers_alive (fleet, SQL) is at least 1" 0 "$(value vingest_workers_alive)"
t_lt "vingest_supervisor_workers (this host) is at least 1" 0 "$(value vingest_supervisor_workers)"
t_ok "jobs by state has ready, running and dead samples" \
	grep -qE '^vingest_jobs\{state="dead"\} [0-9]+$' "$M"
t_ok "the format still parses with the workers' part in it" check_format

# ---- access restricted to http.metrics_allow; readyz without memcached; JSON logs
port=$((18194 + PORT_OFF))
spawn_instance "$T_TMP/spawn" "$port" VINGEST_HTTP_METRICS_ALLOW=192.0.2.1,10.0.0.0/8 \
	VINGEST_CACHE_SERVERS=127.0.0.1:$((18195 + PORT_OFF)) VINGEST_LOG_FORMAT=json \
	VINGEST_HTTP_PROCESSES=1
t_eq "/metrics from an address not in http.metrics_allow answers 403" "$(scrape "$SPAWN_URL")" 403
t_eq "... with a JSON error" "$(jq -r .error.code "$M" 2>/dev/null)" forbidden
t_match "... and its X-Request-Id" "$(header X-Request-Id "$M.h")" '^[A-Za-z0-9._-]+$'
saved=$VINGEST_URL
VINGEST_URL=$SPAWN_URL
api GET /readyz -H "X-Request-Id: $rid-ready"
t_eq "/readyz with memcached unreachable still answers 200 (memcached fails open)" "$API_STATUS" 200
t_eq "... and names the cache as unavailable" "$(json .checks.cache)" unavailable
t_eq "... and the database and store as ok" "$(json '.checks.database + " " + .checks.store')" "ok ok"
VINGEST_URL=$saved
wait_until 10 grep -qF "\"request_id\":\"$rid-ready\"" "$T_TMP/spawn/fcgi.log"
t_ok "log.format = json: the request's log line is a JSON object with its request_id" \
	eval "grep -F '\"request_id\":\"$rid-ready\"' '$T_TMP/spawn/fcgi.log' | tail -n 1 | jq -e '.msg == \"request\" and .status == 200 and .path == \"/readyz\"'"
t_ok "log.format = json: every line the instance wrote is JSON" \
	eval "jq -e . '$T_TMP/spawn/fcgi.log' >/dev/null"
spawn_stop

api GET /readyz
t_eq "/readyz on the stack answers 200 naming database, store and cache ok" \
	"$(json '[.checks.database, .checks.store, .checks.cache] | join(" ")')" "ok ok ok"

t_done
