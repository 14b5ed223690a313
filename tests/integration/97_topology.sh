#!/usr/bin/env bash
# 97_topology: vingest past one machine. A stack of its own from
# `./dev up --shards 2 --memcached 2 --nodes 2`: two MariaDB shards, two
# memcached servers in one pool, two nodes (vingest-fcgi + lighttpd +
# supervisor each) on 127.0.0.1. Uploads through both nodes land on both
# shards and every job is done once; with one shard stopped, uploads still
# answer 201 (they go to the other shard) and its jobs still complete, and
# after the restart the stopped shard's jobs complete; a memcached server
# stopped moves its keys to the other and breaks nothing; a whole node killed with SIGKILL loses nothing, its
# jobs finished by the other node once their leases run out.
# Runs in the fs pass of ./dev test (its own stack; the pass's store does not
# matter to it).
. "$(dirname "$0")/lib.sh"

if [[ $STORE_BACKEND != fs ]]; then
	echo "# 97_topology: a stack of its own; runs in the fs pass (./dev test --store fs)"
	exit 0
fi

TV=$VINGEST_VAR-topology
HTTP0=$((19400 + PORT_OFF))
MC0=$((22400 + PORT_OFF))
STUBP=$((19490 + PORT_OFF))
ASAN_FLAG=
[[ $(cat "$VINGEST_VAR/build-dir" 2>/dev/null) == */build-asan ]] && ASAN_FLAG=--asan
# ./dev for the topology stack, in a clean environment: nothing of the test
# stack's VINGEST_* (its socket, its config) may leak into it.
topo() {
	env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
		VINGEST_VAR="$TV" VINGEST_HTTP_PORT="$HTTP0" VINGEST_MEMCACHED_PORT="$MC0" \
		VINGEST_STUB_PORT="$STUBP" STUB_DELAY_MS=0 VINGEST_DEV_WORKERS=1 \
		VINGEST_JOBS_LEASE_SECONDS=6 VINGEST_WORKERS_HEARTBEAT_TIMEOUT_SECONDS=3 \
		VINGEST_PROCESSOR_TIMEOUT_SECONDS=10 VINGEST_JOBS_MAX_ATTEMPTS=50 \
		VINGEST_JOBS_BACKOFF_BASE_SECONDS=1 VINGEST_JOBS_BACKOFF_MAX_SECONDS=2 \
		VINGEST_PROCESSOR_BREAKER_THRESHOLD=3 VINGEST_PROCESSOR_BREAKER_COOLDOWN_SECONDS=2 \
		VINGEST_PROCESSOR_MAX_RPS=0 VINGEST_RETENTION_JANITOR_INTERVAL_SECONDS=1 \
		VINGEST_WORKERS_MIN=2 VINGEST_WORKERS_CONCURRENCY=8 \
		VINGEST_HTTP_PROCESSES=3 VINGEST_CACHE_STATUS_TTL_SECONDS=30 "$T_REPO/dev" "$@"
}
cleanup() {
	topo down >"$T_TMP/down.log" 2>&1
	rm -rf -- "$TV" "$T_TMP"
}
trap cleanup EXIT
rm -rf -- "$TV"

if ! topo up $ASAN_FLAG --shards 2 --memcached 2 --nodes 2 >"$T_TMP/up.log" 2>&1; then
	t_fail "./dev up --shards 2 --memcached 2 --nodes 2 starts the topology" "$(tail -n 30 "$T_TMP/up.log")"
	t_done
fi
t_pass "./dev up --shards 2 --memcached 2 --nodes 2 starts the topology"
# The topology's own names (its dev.env), without touching this shell's.
tv() { (. "$TV/dev.env" && eval "printf '%s' \"\$$1\""); }
read -r -a SOCK <<<"$(tv VINGEST_SHARD_SOCKETS)"
read -r -a SHARD_PID <<<"$(tv VINGEST_SHARD_PID_FILES)"
read -r -a MC_PIDS <<<"$(tv VINGEST_MEMCACHED_PID_FILES)"
read -r -a NODE <<<"$(tv VINGEST_NODE_URLS)"
read -r -a NODE_WORKERS <<<"$(tv VINGEST_NODE_WORKERS_PID_FILES)"
read -r -a NODE_FCGI <<<"$(tv VINGEST_NODE_FCGI_PID_FILES)"
read -r -a NODE_WEB <<<"$(tv VINGEST_NODE_WEB_PID_FILES)"
KEY=$(tv VINGEST_API_KEY)
STUB=$(tv VINGEST_STUB_URL)
CALLS=$(tv VINGEST_STUB_CALL_LOG)
t_eq "two shards, two memcached, two nodes" "${#SOCK[@]} ${#MC_PIDS[@]} ${#NODE[@]}" "2 2 2"

ssql() { # ssql K QUERY: one value from shard K
	mariadb --no-defaults --socket="${SOCK[$1]}" -uroot -N -B vingest -e "$2" 2>/dev/null
}
both() { # both QUERY: the sum of a count over both shards
	echo $(($(ssql 0 "$1" || echo 0) + $(ssql 1 "$1" || echo 0)))
}
stub() { curl -sf -d "$1" "$STUB/control" >/dev/null; }
ACKED=() # every upload answered 201: "id"
CODE= CODES= # the last upload's status; the statuses of the last uploads call
up_multipart() { # up_multipart NODE (no subshell: it adds to ACKED)
	local body
	body=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $KEY" \
		-F "file=@$FIX/clip-2s.mp4" "${NODE[$1]}/v1/videos")
	CODE=${body##*$'\n'}
	[[ $CODE == 201 ]] && ACKED+=("$(jq -r .id <<<"${body%$'\n'*}")")
}
up_tus() { # up_tus NODE: creation-with-upload, the whole file in the POST
	local size hdr id
	size=$(stat -c %s "$FIX/clip-2s.mp4")
	hdr=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $KEY" -H "Tus-Resumable: 1.0.0" \
		-H "Upload-Length: $size" -H "Content-Type: application/offset+octet-stream" \
		--data-binary "@$FIX/clip-2s.mp4" "${NODE[$1]}/v1/uploads" | tr -d '\r')
	CODE=$(sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p' <<<"$hdr")
	id=$(sed -n 's|^[Ll]ocation: .*/v1/uploads/\(.*\)$|\1|p' <<<"$hdr")
	[[ $CODE == 201 && -n $id ]] && ACKED+=("$id")
}
uploads() { # uploads N: N uploads, taking turns over the nodes and kinds; CODES has the statuses
	local i
	CODES=
	for ((i = 0; i < $1; i++)); do
		if ((i % 4 == 3)); then up_tus $((i % 2)); else up_multipart $((i % 2)); fi
		CODES+="${CODES:+ }$CODE"
	done
}
all_201() { [[ $1 =~ ^(201 ?)+$ ]]; }
in_list() { local IFS=,; echo "'${*}'" | sed "s/,/','/g"; }
processed_count() { # processed_count SHARD IDS...: how many of the ids are processed there
	local k=$1
	shift
	ssql "$k" "SELECT COUNT(*) FROM videos WHERE status = 'processed' AND id IN ($(in_list "$@"))"
}
all_processed() { # all_processed IDS...
	local n0 n1
	n0=$(processed_count 0 "$@") || return 1
	n1=$(processed_count 1 "$@") || return 1
	((n0 + n1 == $#))
}

# ---- 1. both fleets in the workers table; both shards take uploads
sup_rows() { ssql "$1" "SELECT COUNT(*) FROM workers WHERE role = 'supervisor' AND heartbeat_at > UTC_TIMESTAMP(6) - INTERVAL 30 SECOND"; }
t_ok "shard 0's workers table shows both supervisors" wait_until 20 eval '[[ $(sup_rows 0) == 2 ]]'
t_ok "and so does shard 1's" wait_until 20 eval '[[ $(sup_rows 1) == 2 ]]'
uploads 24; codes=$CODES
t_ok "24 uploads through both nodes (multipart and tus) all answer 201 ($codes)" all_201 "$codes"
n0=$(ssql 0 "SELECT COUNT(*) FROM videos")
n1=$(ssql 1 "SELECT COUNT(*) FROM videos")
t_eq "every video is on exactly one shard" "$((n0 + n1))" "${#ACKED[@]}"
t_ok "both shards got new videos ($n0 and $n1)" eval '((n0 > 0 && n1 > 0))'
t_eq "job ids do not collide: shard 1 numbers its jobs from 10^12" \
	"$(ssql 1 "SELECT COUNT(*) FROM jobs WHERE id <= 1000000000000")" 0
t_ok "every one is processed" wait_until 60 all_processed "${ACKED[@]}"
api_k() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "$@"; }
t_eq "GET through node 1 finds a video whatever its shard" \
	"$(for id in "${ACKED[@]:0:6}"; do api_k "${NODE[1]}/v1/videos/$id"; echo -n ' '; done)" \
	"200 200 200 200 200 200 "
t_eq "the list merges both shards" \
	"$(curl -s -H "Authorization: Bearer $KEY" "${NODE[0]}/v1/videos?limit=100" | jq '.videos | length')" \
	"${#ACKED[@]}"
t_eq "a janitor holds each shard's lock (one per shard, fleet-wide)" \
	"$(ssql 0 "SELECT IS_USED_LOCK('vingest.janitor') IS NOT NULL"),$(ssql 1 "SELECT IS_USED_LOCK('vingest.janitor') IS NOT NULL")" "1,1"

# ---- 2. a memcached server stopped: its keys move, nothing breaks
read -r -a MC_PORTS <<<"$(tv VINGEST_MEMCACHED_PORTS)"
status_keys() { # status_keys J: status-cache keys (vingest:video:ID) memcached J holds
	local fd line n=0
	exec {fd}<>"/dev/tcp/127.0.0.1/${MC_PORTS[$1]}" || return 1
	# the crawler owns the connection until its END (a quit would wait)
	printf 'lru_crawler metadump all\r\n' >&"$fd"
	while IFS= read -r -t 10 line <&"$fd"; do
		line=${line%$'\r'}
		[[ $line == END ]] && break
		[[ $line == key=vingest%3Avideo%3A* ]] && n=$((n + 1))
	done
	exec {fd}>&-
	echo "$n"
}
flush() { # flush J: memcached J forgets every item (the status cache starts empty)
	local fd rc
	exec {fd}<>"/dev/tcp/127.0.0.1/${MC_PORTS[$1]}" || return 1
	printf 'flush_all\r\nquit\r\n' >&"$fd"
	tr -d '\r' <&"$fd" | grep -qx OK
	rc=$?
	exec {fd}>&-
	return $rc
}
get_all() { # get_all: GET every acknowledged video once, through node 0
	local id
	for id in "${ACKED[@]}"; do api_k "${NODE[0]}/v1/videos/$id" >/dev/null; done
}
# Empty caches rather than waiting out the status cache's TTL: every GET
# below misses and stores its video's key on the server the ring gives it.
# (The stack's TTL, 30 s, outlives a slow machine's 24 GETs and the count.)
t_ok "both memcached servers flushed" eval 'flush 0 && flush 1'
get_all
m0=$(status_keys 0) m1=$(status_keys 1)
t_ok "both memcached servers hold status-cache keys ($m0 and $m1 of ${#ACKED[@]})" eval '((m0 > 0 && m1 > 0))'
t_eq "each video's key is on one of them" "$((m0 + m1))" "${#ACKED[@]}"
kill -9 "$(tr -dc '0-9' <"${MC_PIDS[1]}")"
for _ in 1 2 3; do get_all; done # every child meets the dead server and drops it
# The same keys on the same ring: without the dead server leaving it, memcached
# 0 would hold exactly its m0 again; any more are memcached 1's keys, moved.
# How many move in one pass depends on timing: each process re-tries the dead
# server every 2 s, and its keys miss meanwhile. So: flush, GET all, count,
# until some have moved (a bounded wait, not a sleep).
moved() { flush 0 && get_all && (($(status_keys 0) > m0)); }
t_ok "memcached 1 gone: memcached 0 takes its keys too" wait_until 60 moved
echo "# memcached 0 holds $(status_keys 0) of ${#ACKED[@]} status keys (was $m0)"
before=${#ACKED[@]}
uploads 6; codes=$CODES
t_ok "memcached 1 down: uploads answer 201 ($codes)" all_201 "$codes"
t_ok "and are processed" wait_until 60 all_processed "${ACKED[@]:before}"

# ---- 3. a shard stopped too: uploads flow to the other, its jobs complete;
# the stopped shard's jobs complete after its restart
before=${#ACKED[@]}
stub '{"mode":"ok","delay_ms":4000}'
uploads 8; codes=$CODES
t_ok "8 more uploads answer 201 ($codes)" all_201 "$codes"
pending=("${ACKED[@]:before}")
on1=$(ssql 1 "SELECT COUNT(*) FROM videos WHERE id IN ($(in_list "${pending[@]}"))")
t_ok "some of them are on shard 1 ($on1)" eval '((on1 > 0))'
kill -9 "$(tr -dc '0-9' <"${SHARD_PID[1]}")"
stub '{"mode":"ok","delay_ms":0}'
before=${#ACKED[@]}
uploads 12; codes=$CODES
t_ok "shard 1 down: uploads through both nodes still answer 201 ($codes)" all_201 "$codes"
during=("${ACKED[@]:before}")
t_eq "they are all on shard 0" "$(ssql 0 "SELECT COUNT(*) FROM videos WHERE id IN ($(in_list "${during[@]}"))")" "${#during[@]}"
t_ok "and their jobs complete while shard 1 is down" \
	wait_until 60 eval '[[ $(processed_count 0 "${during[@]}") == ${#during[@]} ]]'
code=$(curl -s -o /dev/null -w '%{http_code}' "${NODE[0]}/readyz")
t_eq "readyz still answers 200 (shard 0 takes uploads)" "$code" 200
t_eq "readyz names the shard that is down" \
	"$(curl -s "${NODE[0]}/readyz" | jq -r '.checks.shards."1"')" unavailable

# ---- 4. shard 1 and memcached 1 back: the stopped shard's jobs complete
if ! topo up >"$T_TMP/up2.log" 2>&1; then
	t_fail "./dev up brings shard 1 and memcached 1 back" "$(tail -n 20 "$T_TMP/up2.log")"
else
	t_pass "./dev up brings shard 1 and memcached 1 back"
fi
t_ok "the jobs shard 1 held when it stopped all complete" wait_until 90 all_processed "${pending[@]}"

# ---- 5. a whole node killed (SIGKILL, every process): nothing lost
stub '{"mode":"ok","delay_ms":3000}'
sup1=$(tr -dc '0-9' <"${NODE_WORKERS[1]}")
w1=$(pgrep -P "$sup1" | tr '\n' ' ')
before=${#ACKED[@]}
uploads 12; codes=$CODES
t_ok "12 more uploads answer 201 ($codes)" all_201 "$codes"
held_by_node1() {
	local w n=0
	for w in $w1; do
		n=$((n + $(both "SELECT COUNT(*) FROM jobs WHERE state = 'running' AND lease_owner LIKE '%:$w'")))
	done
	((n > 0))
}
t_ok "node 1's workers hold some of the jobs" wait_until 15 held_by_node1
node1_pids=$( (
	echo "$sup1" $w1
	f=$(tr -dc '0-9' <"${NODE_FCGI[1]}") && echo "$f" $(pgrep -P "$f")
	tr -dc '0-9' <"${NODE_WEB[1]}"
) | tr ' ' '\n' | grep -E '^[0-9]+$' | sort -u)
kill -9 $node1_pids 2>/dev/null
t_ok "node 1's processes are all gone" wait_until 5 eval '! kill -0 '"$(echo $node1_pids | tr ' ' ' ')"' 2>/dev/null'
stub '{"mode":"ok","delay_ms":0}'
t_ok "node 0 finishes every job after the leases run out" wait_until 90 all_processed "${ACKED[@]:before}"
up_multipart 0
c1=$CODE
up_multipart 0
t_ok "uploads through node 0 still answer 201" all_201 "$c1 $CODE"
t_ok "and are processed" wait_until 60 all_processed "${ACKED[@]}"

# ---- 6. the invariants over everything acknowledged
jobs_of_all=$(for k in 0 1; do ssql "$k" "SELECT id FROM jobs WHERE video_id IN ($(in_list "${ACKED[@]}"))"; done | sort -n)
t_eq "every acknowledged upload has exactly one job" "$(grep -c . <<<"$jobs_of_all")" "${#ACKED[@]}"
dups=$(grep -o 'key=[^ ]* .*effect=new' "$CALLS" | awk '{print $1}' | sort | uniq -d | head -3)
t_eq "the service made no effect twice" "$dups" ""
effects=0
for j in $jobs_of_all; do
	grep -q "key=$j .*effect=new" "$CALLS" && effects=$((effects + 1))
done
t_eq "and one effect for every acknowledged upload" "$effects" "${#ACKED[@]}"
t_eq "nothing is left ready, running or dead" \
	"$(both "SELECT COUNT(*) FROM jobs WHERE state IN ('ready','running','dead')")" 0
t_eq "no sanitizer report in any node's logs" \
	"$(grep -lE 'ERROR: AddressSanitizer|runtime error:' "$TV"/log/vingest-*.log "$TV"/node-*/log/vingest-*.log 2>/dev/null)" ""
t_done
