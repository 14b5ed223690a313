#!/usr/bin/env bash
# 36_ratelimit: per-key uploads/minute and bytes/hour, per-address
# requests/second, counted in memcached; 429 with Retry-After; memcached
# down means each host counts for itself: uploads go on, and the limits
# still hold (a byte budget that failed open would be no budget), with a
# warning logged.
# Runs its own vingest-fcgi (spawned by its own lighttpd) with strict limits
# and its own memcached, so the limits touch no other test.
. "$(dirname "$0")/lib.sh"

port=$((18200 + PORT_OFF + RANDOM % 100))
dir=$T_TMP/rl
mkdir -p "$dir/uploads"
# Its own memcached, on a port that must really be its own: a port taken by
# anything else (with a large VINGEST_TEST_PORT_OFFSET these reach the
# kernel's ephemeral range, where any client socket may hold one) would leave
# the children failing open, and every limit below unenforced.
mc_answers() { # PORT: a memcached answers there
	local fd reply
	exec {fd}<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
	printf 'version\r\n' >&"$fd"
	read -r -t 2 reply <&"$fd"
	exec {fd}>&-
	[[ $reply == VERSION* ]]
}
mcport=
for _ in 1 2 3 4 5; do
	p=$((31300 + PORT_OFF + RANDOM % 100))
	mc_answers "$p" && continue # somebody else's memcached
	rm -f -- "$dir/mc.pid"
	memcached -u root -l 127.0.0.1 -p "$p" -U 0 -d -P "$dir/mc.pid" 2>/dev/null || continue
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[[ -s $dir/mc.pid ]] && mc_answers "$p" && break
		sleep 0.1
	done
	if [[ -s $dir/mc.pid ]] && kill -0 "$(cat "$dir/mc.pid")" 2>/dev/null && mc_answers "$p"; then
		mcport=$p
		break
	fi
done
if [[ -z $mcport ]]; then
	t_fail "a memcached of the test's own starts" "no free port in $((31300 + PORT_OFF))..$((31399 + PORT_OFF)) after 5 tries"
	t_done
fi
cleanup() {
	spawn_stop
	kill "$(cat "$dir/mc.pid" 2>/dev/null)" 2>/dev/null
	rm -rf -- "$T_TMP"
}
trap cleanup EXIT
spawn_instance "$dir" "$port" VINGEST_HTTP_PROCESSES=2 "VINGEST_CACHE_SERVERS=127.0.0.1:$mcport" \
	VINGEST_LIMITS_UPLOADS_PER_MINUTE=5 VINGEST_LIMITS_BYTES_PER_HOUR=60000 \
	VINGEST_LIMITS_MAX_UPLOAD_BYTES=50000 VINGEST_LIMITS_REQUESTS_PER_SECOND_PER_IP=10
VINGEST_URL=$SPAWN_URL

# Fixed windows: stay clear of a minute's edge (and, before the bytes, of an
# hour's: waiting out all of minute 59 here cost a minute).
while (($(date +%-S) > 40)); do sleep 1; done

# ---- uploads per minute, per key (5); the 8 KB .mov keeps under the bytes limit
uname=rl-up-$RANDOM-$RANDOM
ukey=$(new_user "$uname")
codes=""
for i in 1 2 3 4 5 6; do
	API_KEY=$ukey api POST /v1/videos -F "file=@$FIX/clip-2s.mov" -F "title=$i"
	codes+="$API_STATUS "
done
t_eq "5 uploads in a minute pass, the 6th is refused" "$codes" "201 201 201 201 201 429 "
t_eq "429 is a JSON error rate_limited" "$(json .error.code)" rate_limited
ra=$(header Retry-After)
t_ok "with Retry-After within the minute ($ra s)" test "${ra:-0}" -ge 1 -a "${ra:-0}" -le 60
t_eq "the refused upload stored nothing" "$(sql "SELECT COUNT(*) FROM videos v JOIN users u ON u.id = v.user_id WHERE u.name = '$uname' AND v.title = '6'")" 0
okey=$(new_user "rl-other-$RANDOM")
API_KEY=$okey api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "another key is not limited by the first one's uploads" "$API_STATUS" 201

# ---- bytes per hour, per key (60 000: one 37 KB upload fits, a second does not)
while (($(date +%-M) == 59 && $(date +%-S) > 40)); do sleep 1; done
bkey=$(new_user "rl-bytes-$RANDOM")
codes=""
for i in 1 2; do
	API_KEY=$bkey api POST /v1/videos -F "file=@$FIX/clip-2s.webm"
	codes+="$API_STATUS "
done
t_eq "bytes per hour: the second 37 KB upload is refused" "$codes" "201 429 "
ra=$(header Retry-After)
t_ok "with Retry-After within the hour ($ra s)" test "${ra:-0}" -ge 1 -a "${ra:-0}" -le 3600

# ---- requests per second, per address (10)
# One curl running the 40 transfers at once: 40 curl processes take seconds
# to start on a loaded machine and spread the burst over several windows.
burst=()
for ((i = 0; i < 40; i++)); do burst+=(-o /dev/null "$VINGEST_URL/v1/videos?limit=1"); done
b0=$(date +%s)
curl -s --parallel --parallel-immediate --parallel-max 40 -w '%{http_code}\n' \
	-H "Authorization: Bearer $okey" "${burst[@]}" >"$T_TMP/burst" 2>/dev/null
b1=$(date +%s)
# The limit counts per clock second: a burst that straddles k second
# boundaries may pass 10 in each of the k + 1 windows it touched.
windows=$((b1 - b0 + 1))
t_lt "a burst of 40 requests gets some 429s" 0 "$(grep -c '^429$' "$T_TMP/burst")"
t_lt "and at most 10 a second pass (the burst touched $windows clock second(s): at most $((10 * windows)))" \
	"$(grep -c '^200$' "$T_TMP/burst")" $((10 * windows + 1))
# the next clock second: a window of its own
s0=$(date +%s)
while (($(date +%s) == s0)); do sleep 0.05; done
api GET "/v1/videos?limit=1" # API_KEY: the demo key
t_eq "the next second serves again" "$API_STATUS" 200

# ---- memcached down: each host counts for itself
mcpid=$(cat "$dir/mc.pid")
kill "$mcpid"
for ((i = 0; i < 50; i++)); do kill -0 "$mcpid" 2>/dev/null || break; sleep 0.1; done
while (($(date +%-S) > 40)); do sleep 1; done
dkey=$(new_user "rl-down-$RANDOM")
codes=""
for i in 1 2 3 4 5 6; do
	API_KEY=$dkey api POST /v1/videos -F "file=@$FIX/clip-2s.mov" -F "title=down$i"
	codes+="$API_STATUS "
done
t_eq "memcached down: 5 uploads in a minute still pass and the 6th is refused (counted on the host)" \
	"$codes" "201 201 201 201 201 429 "
t_eq "memcached down: the 429 is rate_limited" "$(json .error.code)" rate_limited
t_eq "memcached down: the accepted uploads are stored, with their jobs" "$(sql "SELECT COUNT(*) FROM videos v JOIN jobs j ON j.video_id = v.id JOIN users u ON u.id = v.user_id WHERE u.name LIKE 'rl-down-%' AND v.title LIKE 'down%'")" 5
while (($(date +%-M) == 59 && $(date +%-S) > 40)); do sleep 1; done
dbkey=$(new_user "rl-down-bytes-$RANDOM")
codes=""
for i in 1 2; do
	API_KEY=$dbkey api POST /v1/videos -F "file=@$FIX/clip-2s.webm"
	codes+="$API_STATUS "
done
t_eq "memcached down: the byte budget still holds (the second 37 KB upload is refused)" "$codes" "201 429 "
t_ok "the child warned that limits are counted on this host only" \
	grep -q 'rate limits are counted on this host only' "$dir/fcgi.log"
t_done
