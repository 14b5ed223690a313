#!/usr/bin/env bash
# run.sh [--repeats N] [--only REGEX] [--results FILE] [--no-self-test] - the fault suite.
#
# Against a running failpoint stack (./dev up --failpoints, workers on; ./dev
# test --faults N does all of it), each scenario runs N times: concurrent
# uploads (tests/fault/load.sh) while one fault is injected - a failpoint
# that crashes, fails or stalls a step, or a kill -9 / stop of a component -
# then the fault is healed, the queue drains, the orphan collector runs
# (leftovers are aged past the grace period) and tests/fault/check judges
# everything that happened. One TAP line per run; with --results, a table
# (scenario, runs, uploads acknowledged, lost, duplicated effects, verdict).
set -uo pipefail
repeats=1 only= results= selftest=1
while (($#)); do
	case $1 in
	--repeats) repeats=$2; shift ;;
	--only) only=$2; shift ;;
	--results) results=$2; shift ;;
	--no-self-test) selftest=0 ;;
	*) echo "usage: run.sh [--repeats N] [--only REGEX] [--results FILE] [--no-self-test]" >&2; exit 2 ;;
	esac
	shift
done
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../integration/lib.sh
. "$here/../integration/lib.sh"
FP=$VINGEST_VAR/failpoints/spec
UPLOADS=${FAULT_UPLOADS:-8}
PAR=${FAULT_PARALLEL:-4}
S=$VINGEST_STUB_URL

stub() { curl -s -X POST -H 'Content-Type: application/json' -d "$1" "$S/control" >/dev/null; }
fp_set() { # NAME ACTION [COUNT]
	rm -f -- "$VINGEST_VAR"/failpoints/*.fired.*
	printf '%s %s %s\n' "$1" "$2" "${3:-}" >"$FP.tmp" && mv -f -- "$FP.tmp" "$FP"
}
fp_clear() { : >"$FP"; rm -f -- "$VINGEST_VAR"/failpoints/*.fired.*; }
wpid() { tr -dc '0-9' <"$VINGEST_WORKERS_PID_FILE" 2>/dev/null; }
fpid() { tr -dc '0-9' <"$VINGEST_FCGI_PID_FILE" 2>/dev/null; }
random_child() { pgrep -P "$1" | shuf -n 1; }
up() { "$VINGEST_DEV" up >>"$T_TMP/up.log" 2>&1; }
# Restarts of one component, without ./dev up's checks (seconds per scenario).
restart_memcached() {
	memcached -u root -l 127.0.0.1 -p "$VINGEST_MEMCACHED_PORT" -U 0 -d -P "$VINGEST_MEMCACHED_PID_FILE"
}
restart_workers() {
	setsid "$VINGEST_WORKERS_BIN" -c "$VINGEST_CONFIG" </dev/null >>"$VINGEST_VAR/log/vingest-workers.log" 2>&1 &
	echo $! >"$VINGEST_WORKERS_PID_FILE"
}
# restart_fcgi DEADLINE: starts vingest-fcgi (it replaces a socket nobody
# serves, and refuses one somebody still does); 0 once /healthz answers 200
# through the web server, 1 if it exits or $SECONDS reaches DEADLINE first.
restart_fcgi() {
	local pid
	VINGEST_FAILPOINTS_FILE=$FP setsid "$VINGEST_FCGI_BIN" -c "$VINGEST_CONFIG" \
		</dev/null >>"$VINGEST_VAR/log/vingest-fcgi.log" 2>&1 &
	pid=$!
	echo "$pid" >"$VINGEST_FCGI_PID_FILE"
	until curl -sf -m 5 -o /dev/null "$VINGEST_URL/healthz"; do
		kill -0 "$pid" 2>/dev/null && ((SECONDS < $1)) || return 1
		sleep 0.2
	done
}

# Waits until every video is processed or failed (jobs retry with short
# back-offs on this stack), then lets the collector take what is left.
settle() {
	local i
	for ((i = 0; i < 300; i++)); do
		[[ $(sql "SELECT COUNT(*) FROM videos WHERE status IN ('queued', 'processing')") == 0 ]] && break
		sleep 0.2
	done
	# No request is in flight now: whatever the uploads table and staging
	# still hold is an orphan. Age it past the grace period (the longest
	# retention.orphan_grace_seconds is 7 days) and let the
	# janitor (every retention.janitor_interval_seconds) collect it.
	sql "UPDATE uploads SET created_at = created_at - INTERVAL 1 DAY,
		expires_at = LEAST(expires_at, UTC_TIMESTAMP(6) - INTERVAL 8 DAY)"
	find "$STAGING" -type f -exec touch -d '1 day ago' {} + 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		[[ $(sql "SELECT COUNT(*) FROM uploads") == 0 &&
			$(find "$STAGING" -type f | wc -l) == 0 ]] && break
		sleep 0.2
	done
}

# ---- the scenarios: inject FAULT during the load, then heal it.
# fp:NAME:ACTION:COUNT - a failpoint (COUNT firings across the fleet)
# Others are functions named sc_<name> (':' and '.' read as '_'), called
# with "start" (in the background while load.sh runs) and "heal"; an fp:
# name with such a function (fp:db.deadlock:busy) drives its failpoint itself.
SCENARIOS=()
for p in upload.body_read store.stage_write tus.append tus.fsync store.fsync store.rename store.dir_fsync \
	db.begin db.insert_video db.insert_job db.commit db.after_commit; do
	SCENARIOS+=("fp:$p:crash:2" "fp:$p:error:2")
done
case $STORE_BACKEND in
s3) SCENARIOS+=("fp:store.s3_put:crash:2" "fp:store.s3_put:error:2") ;;
db) SCENARIOS+=("fp:store.db_chunk:crash:2" "fp:store.db_chunk:error:2") ;;
esac
for p in worker.after_claim worker.during_call worker.after_call lease.renew; do
	SCENARIOS+=("fp:$p:crash:1" "fp:$p:error:2")
done
SCENARIOS+=("fp:db.commit:stall:3000:2" "fp:store.fsync:stall:2000:2" "fp:worker.during_call:stall:3000:1")
# The disk fills up (ENOSPC) while staging, syncing or appending: 507, and
# nothing of those uploads kept. (84_disk_full fills a real tmpfs.)
SCENARIOS+=("fp:store.stage_write:enospc:2" "fp:tus.append:enospc:2" "fp:store.fsync:enospc:2")
# The upload transaction deadlocks on every try: 503 database_busy, nothing kept.
SCENARIOS+=("fp:db.deadlock:busy")
SCENARIOS+=(kill_fcgi_child kill_fcgi_master kill_fcgi_master_idle kill_worker kill_supervisor kill_supervisor_alone kill_mariadb stop_memcached
	stub_down stub_slow stub_garbage stub_throttle lease_race)

# One multipart upload of FILE: "status error-code retry-after" (- for none).
probe_upload() {
	local h=$T_TMP/probe.h b=$T_TMP/probe.b st ec ra
	rm -f -- "$h" "$b"
	st=$(curl -s -m 30 -D "$h" -o "$b" -w '%{http_code}' -H "Authorization: Bearer $VINGEST_API_KEY" \
		-F "file=@$1;type=video/mp4" "$VINGEST_URL/v1/videos") || st=000
	ec=$(jq -r '.error.code // "-"' "$b" 2>/dev/null)
	ra=$(tr -d '\r' <"$h" 2>/dev/null | sed -n 's/^[Rr]etry-[Aa]fter: *//p' | tail -n 1)
	echo "$st ${ec:--} ${ra:--}"
}
# Objects and staged files whose bytes hash to SHA (fs and s3 stores: the
# files themselves; the db store's chunks are not looked at).
objects_with_sha() {
	case $STORE_BACKEND in
	db) echo 0 ;;
	s3) { find "$VINGEST_S3_DIR" -type f -name '*._S3rver_object'; find "$STAGING" -type f; } 2>/dev/null |
		tr '\n' '\0' | xargs -0 -r sha256sum | awk -v s="$1" '$1 == s' | wc -l ;;
	*) find "$STORE" -type f -print0 2>/dev/null | xargs -0 -r sha256sum | awk -v s="$1" '$1 == s' | wc -l ;;
	esac
}
# Every try of the upload transaction is a deadlock's victim (failpoint
# db.deadlock, 100 firings: far more than the window needs). A probe upload
# must be told 503 database_busy with Retry-After: 1 and leave no video and
# no object; the load meets the same meanwhile (checked after the run); once
# the failpoint is off, the same bytes are stored (201).
sc_fp_db_deadlock_busy() {
	local f=$T_TMP/deadlock.mp4 sha first i
	case $1 in
	start)
		fp_set db.deadlock error 100
		make_mp4 60000 "$f"
		sha=$(sha256sum "$f" | cut -d' ' -f1)
		first=$(probe_upload "$f")
		first+=" videos=$(sql "SELECT COUNT(*) FROM videos WHERE sha256 = '$sha'")"
		first+=" objects=$(objects_with_sha "$sha")"
		# Let the load meet it too: the probe's three tries and at least
		# two more uploads' worth.
		for ((i = 0; i < 50; i++)); do
			(($(find "$VINGEST_VAR/failpoints" -name 'db.deadlock.fired.*' | wc -l) >= 9)) && break
			sleep 0.2
		done
		fp_clear
		echo "$first then $(probe_upload "$f")" >"$T_TMP/deadlock.probe"
		rm -f -- "$f"
		;;
	heal) : ;;
	esac
}

sc_kill_fcgi_child() { [[ $1 == start ]] && { sleep 0.5; kill -9 "$(random_child "$(fpid)")"; }; }
sc_kill_worker() { [[ $1 == start ]] && { sleep 0.5; kill -9 "$(random_child "$(wpid)")"; }; }
sc_kill_supervisor() { # the whole worker fleet of this host, at once
	case $1 in
	start) sleep 0.5; pkill -9 -P "$(wpid)"; kill -9 "$(wpid)"; sleep 1; restart_workers ;;
	heal) : ;;
	esac
}
# A master killed alone - vingest-fcgi's, or the workers' supervisor - must
# take its children with it (PR_SET_PDEATHSIG): an fcgi child finishes the
# request in hand and exits, a worker drains and exits. kill_alone records
# each child (pid and start time, so a pid reused later is not taken for
# it), SIGKILLs the master alone and waits up to BOUND seconds for every
# child to be gone (exited; a zombie not yet reaped by init counts as gone).
# Its verdict, checked after the run, goes to $T_TMP/children.probe; it
# returns 2 if there was nothing to kill.
stat_of() { # PID: the fields of /proc/PID/stat after the command name (state first)
	local l
	read -r l 2>/dev/null <"/proc/$1/stat" || return 1
	echo "${l##*) }"
}
survivors() { # "PID START" lines: those still running, with parent and state
	local p st f
	while read -r p st; do
		read -r -a f <<<"$(stat_of "$p")"
		[[ -n ${f[0]:-} && ${f[0]} != Z && ${f[19]} == "$st" ]] && printf '%s ' "$p(ppid=${f[1]},state=${f[0]})"
	done <<<"$1"
}
kill_alone() { # MASTER_PID BOUND WHAT
	local m=$1 p f kids= left n t0
	for p in $(pgrep -P "$m"); do
		read -r -a f <<<"$(stat_of "$p")"
		[[ -n ${f[19]:-} ]] && kids+="$p ${f[19]}"$'\n'
	done
	kids=${kids%$'\n'}
	n=$(grep -c . <<<"$kids")
	if [[ -z $m || -z $kids ]]; then
		echo "FAIL no $3 to kill (master ${m:-none})" >"$T_TMP/children.probe"
		return 2
	fi
	t0=${EPOCHREALTIME/./}
	kill -9 "$m"
	left=$(survivors "$kids")
	while [[ -n $left ]] && ((${EPOCHREALTIME/./} - t0 < $2 * 1000000)); do
		sleep 0.1
		left=$(survivors "$kids")
	done
	left=${left% }
	t0=$(((${EPOCHREALTIME/./} - t0) / 1000))
	if [[ -n $left ]]; then
		echo "FAIL $t0 ms after SIGKILL of $m alone, of its $n $3 still running: $left" >"$T_TMP/children.probe"
		# (the suite goes on with a stack of its own making)
		for p in $left; do kill -9 "${p%%(*}" 2>/dev/null; done
		return 1
	fi
	echo "ok $n $3 gone $t0 ms after their master" >"$T_TMP/children.probe"
}
# The web server answers 503 itself from the kill until vingest-fcgi is back.
sc_kill_fcgi_master() {
	[[ $1 == start ]] || return 0
	sleep 0.5
	# 30 s: http.drain_seconds, the longest a draining master waits for its children
	kill_alone "$(fpid)" 30 children
	(($? == 2)) && return 0
	local t0=$SECONDS
	if restart_fcgi $((SECONDS + 30)); then
		echo "vingest-fcgi back in $((SECONDS - t0)) s" >>"$T_TMP/children.probe"
	else
		echo "FAIL vingest-fcgi did not come back" >>"$T_TMP/children.probe"
	fi
}
# The same with the web children idle and caught between their loop's check
# and their wait for a connection (failpoint child.idle stalls them there),
# after the load, so no connection comes to wake them: a child that would
# notice its SIGQUIT only once a connection arrives stays forever.
sc_kill_fcgi_master_idle() {
	local i fired=0
	[[ $1 == heal ]] || return 0
	fp_set child.idle stall:3000 100
	for ((i = 0; i < 8; i++)); do curl -s -m 10 -o /dev/null "$VINGEST_URL/healthz" & done
	wait
	fired=$(find "$VINGEST_VAR/failpoints" -name 'child.idle.fired.*' | wc -l)
	kill_alone "$(fpid)" 30 children
	(($? == 2)) && return 0
	fp_clear
	restart_fcgi $((SECONDS + 30)) || echo "FAIL vingest-fcgi did not come back" >>"$T_TMP/children.probe"
	echo "children in the gap at the kill: $fired" >>"$T_TMP/children.probe"
	((fired > 0)) || echo "FAIL no child was in the gap" >>"$T_TMP/children.probe"
}
# Calls of 2 s (under processor.timeout_seconds, 4 here): the workers are
# killed holding jobs, finish those calls as they drain (within
# workers.drain_seconds, 10 here; what is left then is released) and exit.
sc_kill_supervisor_alone() {
	local i held=0
	case $1 in
	start)
		stub '{"mode":"ok","delay_ms":2000}'
		for ((i = 0; i < 100; i++)); do
			held=$(sql "SELECT COUNT(*) FROM jobs WHERE state = 'running'")
			((held > 0)) && break
			sleep 0.2
		done
		kill_alone "$(wpid)" $((${VINGEST_WORKERS_DRAIN_SECONDS:-60} + 10)) workers
		(($? == 2)) || restart_workers
		echo "jobs running at the kill: $held" >>"$T_TMP/children.probe"
		;;
	heal) stub '{"mode":"ok","delay_ms":0}' ;;
	esac
}
sc_kill_mariadb() {
	case $1 in
	start)
		sleep 0.5
		kill -9 "$(tr -dc '0-9' <"$VINGEST_VAR/run/mariadb.pid")"
		sleep 2 # uploads answer 503 with Retry-After meanwhile
		up      # InnoDB recovers; vingest reconnects by itself
		sleep 1
		;;
	heal) : ;;
	esac
}
sc_stop_memcached() {
	case $1 in
	start) sleep 0.3; kill "$(tr -dc '0-9' <"$VINGEST_MEMCACHED_PID_FILE")"; sleep 2; restart_memcached ;;
	heal) : ;;
	esac
}
sc_stub_down() { [[ $1 == start ]] && stub '{"mode":"down"}'; [[ $1 == heal ]] && { sleep 3; stub '{"mode":"ok"}'; }; }
sc_stub_slow() { [[ $1 == start ]] && stub '{"mode":"ok","delay_ms":12000}'; [[ $1 == heal ]] && { sleep 2; stub '{"mode":"ok","delay_ms":0}'; }; }
sc_stub_garbage() { [[ $1 == start ]] && stub '{"mode":"garbage"}'; [[ $1 == heal ]] && { sleep 2; stub '{"mode":"ok"}'; }; }
sc_stub_throttle() { [[ $1 == start ]] && stub '{"mode":"throttle","retry_after":1}'; [[ $1 == heal ]] && { sleep 2; stub '{"mode":"ok"}'; }; }
sc_lease_race() {
	local w
	case $1 in
	start)
		stub '{"mode":"ok","delay_ms":1500}'
		sleep 1
		for w in $(pgrep -P "$(wpid)"); do kill -STOP "$w"; done
		sleep 9 # past jobs.lease_seconds (6) and the heartbeat timeout
		for w in $(pgrep -P "$(wpid)"); do kill -CONT "$w" 2>/dev/null; done
		;;
	heal) stub '{"mode":"ok","delay_ms":0}' ;;
	esac
}

declare -A runs acked lost dups bad
order=()
for sc in "${SCENARIOS[@]}"; do
	[[ -n $only && ! $sc =~ $only ]] && continue
	# FAULT_ONLY (environment): a further filter, for working on a few scenarios
	[[ -n ${FAULT_ONLY:-} && ! $sc =~ $FAULT_ONLY ]] && continue
	order+=("$sc")
done

write_results() {
	[[ -n $results ]] || return 0
	{
		echo "# Fault suite results"
		echo
		echo "Written by \`tests/fault/run.sh --repeats $repeats\` (through \`./dev test --faults $repeats\`) on $(date -u +%F), store backend $STORE_BACKEND; $UPLOADS uploads per run, $PAR at a time, half multipart and half tus. Rounds completed: $1 of $repeats (the table is rewritten after every round)."
		echo
		echo "| scenario | runs | uploads acknowledged | lost | duplicated effects | verdict |"
		echo "|---|---|---|---|---|---|"
		# (rows only below: ./dev merges the tables of parallel shards)
		for sc in "${order[@]}"; do
			printf '| `%s` | %d | %d | %d | %d | %s |\n' "$sc" "${runs[$sc]:-0}" "${acked[$sc]:-0}" \
				"${lost[$sc]:-0}" "${dups[$sc]:-0}" "$([[ -n ${bad[$sc]:-} ]] && echo FAIL || echo ok)"
		done
	} >"$results.tmp" && mv -f -- "$results.tmp" "$results"
}

# Round by round (every scenario once, then again), so an interrupted long
# run still has whole rounds to report.
for ((r = 1; r <= repeats; r++)); do
	for sc in "${order[@]}"; do
		log=$T_TMP/client.log
		: >"$log"
		stub '{"mode":"ok","delay_ms":0,"fail_rate":0,"fetch":true}'
		t0=$SECONDS
		fired=0 count=0 note=
		fn=sc_$(tr ':.' '__' <<<"$sc")
		if [[ $sc == fp:* ]] && ! declare -F "$fn" >/dev/null; then
			IFS=: read -r _ name action count <<<"$sc"
			[[ $action == stall ]] && { IFS=: read -r _ name action ms count <<<"$sc"; action=stall:$ms; }
			# lease renewals happen only on calls longer than a third of the lease
			[[ $name == lease.renew ]] && stub '{"mode":"ok","delay_ms":4000}'
			fp_set "$name" "$action" "$count"
			bash "$here/load.sh" "$UPLOADS" "$PAR" "$log"
			# job-path failpoints fire after the uploads: give the workers time
			for ((i = 0; i < 50; i++)); do
				fired=$(find "$VINGEST_VAR/failpoints" -name "$name.fired.*" | wc -l)
				((fired >= count)) && break
				sleep 0.2
			done
			fp_clear
			stub '{"mode":"ok","delay_ms":0}'
			# A crashed worker is replaced by its supervisor, a web child by its
			# master: nothing to restart by hand.
		else
			# Uploads keep coming for as long as the fault lasts, and after.
			rm -f -- "$T_TMP/deadlock.probe" "$T_TMP/children.probe"
			"$fn" start &
			inj=$!
			bash "$here/load.sh" "$UPLOADS" "$PAR" "$log"
			while kill -0 "$inj" 2>/dev/null; do
				bash "$here/load.sh" "$PAR" "$PAR" "$log"
			done
			wait "$inj"
			"$fn" heal
			bash "$here/load.sh" "$PAR" "$PAR" "$log"
		fi
		settle
		out=$("$here/check" "$log" 2>&1)
		rc=$?
		codes=$(awk '{print $1}' "$log" | sort | uniq -c | awk '{printf "%s%s:%s", sep, $2, $1; sep=","}')
		if [[ $sc == kill_mariadb ]] && ! awk '$1 == 503 {s = 1} s && ($1 == 201 || $1 == 204) {ok = 1} END {exit !ok}' "$log"; then
			rc=1 # the database went away and came back: 503s, then uploads again
			out+=$'\ncheck mariadb FAIL no 503 followed by an acknowledged upload ('"$codes"')'
		fi
		# Every 503 tells the client when to come back; while no vingest-fcgi
		# listens (kill_fcgi_master) the web server answers its own (no JSON
		# error code), which is not vingest's.
		if awk -v web="$([[ $sc == kill_fcgi_master ]] && echo 1)" \
			'$1 == 503 && $5 !~ /^ra=[0-9]+$/ && !(web && $6 == "code=-") {bad = 1} END {exit !bad}' "$log"; then
			rc=1
			out+=$'\ncheck retry FAIL a 503 without Retry-After ('"$codes"')'
		fi
		if [[ $sc == kill_fcgi_master* || $sc == kill_supervisor_alone ]]; then
			probe=$(cat "$T_TMP/children.probe" 2>/dev/null)
			probe=${probe//$'\n'/; }
			probe=${probe:-FAIL no result}
			if [[ $probe != ok* || $probe == *FAIL* ]]; then
				rc=1 # a child outlived its master, or the master did not come back
				out+=$'\ncheck children FAIL '"${probe#FAIL }"
			else
				note=" ($probe)"
			fi
		fi
		if [[ $sc == fp:db.deadlock:busy ]]; then
			probe=$(cat "$T_TMP/deadlock.probe" 2>/dev/null)
			if [[ $probe != "503 database_busy 1 videos=0 objects=0 then 201 - -" ]]; then
				rc=1 # busy, nothing kept, then the same bytes stored
				out+=$'\ncheck busy FAIL the probe upload: '"${probe:-no result}"' (want 503 database_busy 1 videos=0 objects=0 then 201 - -)'
			fi
			if awk '$1 == 503 && !($5 == "ra=1" && $6 == "code=database_busy") {bad = 1} END {exit !bad}' "$log"; then
				rc=1 # the database was up all along: never "unavailable"
				out+=$'\ncheck busy FAIL a 503 other than database_busy with Retry-After: 1 ('"$codes"')'
			fi
			shas=$(awk '$1 == 503 {printf "%s\047%s\047", sep, $3; sep = ","}' "$log")
			if [[ -n $shas ]] && (($(sql "SELECT COUNT(*) FROM videos WHERE sha256 IN ($shas)") > 0)); then
				rc=1
				out+=$'\ncheck busy FAIL an upload told database_busy has a video'
			fi
		fi
		if [[ $sc == fp:* ]] && ((fired < count)); then
			rc=1 # a failpoint that never fired tested nothing
			out+=$'\ncheck fired FAIL the failpoint fired '"$fired of $count"' times'
		fi
		if [[ $sc == *:enospc:* ]] && ! grep -q '^507 ' "$log"; then
			rc=1
			out+=$'\ncheck full FAIL no upload was told 507 ('"$codes"')'
		fi
		sum=$(grep '^summary' <<<"$out")
		a=$(sed -n 's/.*acked=\([0-9]*\).*/\1/p' <<<"$sum")
		l=$(sed -n 's/.*lost=\([0-9]*\).*/\1/p' <<<"$sum")
		d=$(sed -n 's/.*duplicated=\([0-9]*\).*/\1/p' <<<"$sum")
		runs[$sc]=$((${runs[$sc]:-0} + 1))
		acked[$sc]=$((${acked[$sc]:-0} + ${a:-0}))
		lost[$sc]=$((${lost[$sc]:-0} + ${l:-0}))
		dups[$sc]=$((${dups[$sc]:-0} + ${d:-0}))
		if ((rc == 0)); then
			t_pass "$sc run $r: $sum codes=$codes$note $((SECONDS - t0))s"
		else
			bad[$sc]=1
			t_fail "$sc run $r" "$(grep -v ' ok ' <<<"$out" | head -n 8)"
			cp "$log" "$VINGEST_VAR/log/fault-$(tr ':' '_' <<<"$sc")-$r.client.log"
		fi
	done
	write_results "$r"
done

# ---- the checker can fail: break each promise on purpose, once, at the end
if ((selftest)); then
	log=$T_TMP/client.log
	: >"$log"
	bash "$here/load.sh" 4 4 "$log"
	settle
	t_ok "self-test: the checker passes the state it is about to see broken" "$here/check" "$log"
	t_eq "self-test: the checker counts every acknowledgement in the client log (multipart and tus)" \
		"$("$here/check" "$log" | sed -n 's/^summary acked=\([0-9]*\).*/\1/p')" \
		"$(awk '$1 == 201 || ($4 == "tus" && $1 == 204)' "$log" | wc -l)"
	t_ok "self-test: and the load had tus uploads among them" grep -q ' tus ' "$log"
	id=$(awk '$1 == 201 {print $2; exit}' "$log")
	key=$(sql "SELECT object_key FROM videos WHERE id = '$(sqlq "$id")'")
	store_get "$key" "$T_TMP/keep"
	store_rm "$key"
	out=$("$here/check" "$log" 2>&1)
	t_match "self-test: an acknowledged upload whose object is gone is reported lost" "$out" 'check acked +FAIL acked=[0-9]+ lost=1'
	store_put "$key" "$T_TMP/keep"
	sql "INSERT INTO uploads (id, user_id, kind, object_key, created_at)
		SELECT '01SE1FTESTAAAAAAAAAAAAAAAA', id, 'multipart', 'videos/AA/AA/01SE1FTESTAAAAAAAAAAAAAAAA', UTC_TIMESTAMP(6)
		FROM users WHERE name = 'demo'"
	out=$("$here/check" "$log" 2>&1)
	t_match "self-test: an uploads row left behind is reported as an orphan" "$out" 'check orphans +FAIL uploads rows: 1'
	sql "DELETE FROM uploads WHERE id = '01SE1FTESTAAAAAAAAAAAAAAAA'"
	cp "$VINGEST_STUB_CALL_LOG" "$T_TMP/calls"
	grep 'effect=new' "$T_TMP/calls" | tail -n 1 >>"$T_TMP/calls"
	out=$(VINGEST_STUB_CALL_LOG=$T_TMP/calls "$here/check" "$log" 2>&1)
	t_match "self-test: a key with two effects at the service is reported duplicated" "$out" 'check effects +FAIL keys with more than one effect: 1'
	sql "UPDATE videos SET status = 'queued' WHERE id = '$(sqlq "$id")'"
	out=$("$here/check" "$log" 2>&1)
	t_match "self-test: a video that never finished is reported" "$out" 'check final +FAIL not finished: 1'
fi

t_done
