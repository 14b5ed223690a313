#!/usr/bin/env bash
# 38_limits: the caps that ship turned on besides the rate limits (those are
# 36_ratelimit's): a user's concurrent uploads on a host, open tus uploads
# and staging bytes (tus: reserved in uploads rows; multipart: held in the
# host's scoreboard), new uploads below store.min_free_bytes; /readyz cached
# and private; the client's address from the trusted proxy only; a TCP
# FastCGI listener that serves loopback peers only.
. "$(dirname "$0")/lib.sh"

MIB=1048576
TUS="Tus-Resumable: 1.0.0"
FCGI=${VINGEST_FCGI_LISTEN#unix:} # a socket path, or HOST:PORT behind Apache

# ---- limits.concurrent_uploads_per_user (4): the host's children one user holds
# Four uploads held in children: responder requests straight to vingest-fcgi
# (as a streaming web server would send them) whose bodies do not come.
ckey=$(new_user "cap-concurrent-$$")
hold() {
	sleep 12 | env -i REQUEST_METHOD=POST REQUEST_URI=/v1/videos CONTENT_LENGTH=1000000 \
		"CONTENT_TYPE=multipart/form-data; boundary=vingesthold" \
		"HTTP_AUTHORIZATION=Bearer $ckey" REMOTE_ADDR=127.0.6.1 \
		cgi-fcgi -bind -connect "$FCGI" >/dev/null 2>&1
}
staged() { find "$STAGING" -type f -name '*.part' 2>/dev/null | wc -l; }
staged_before=$(staged)
HOLDERS=
for i in 1 2 3 4; do
	hold &
	HOLDERS+=" $!"
done
wait_until 10 eval '[[ $(staged) == $((staged_before + 4)) ]]'
t_eq "four of the user's uploads are in children (their staging files)" \
	"$(staged)" $((staged_before + 4))
t_eq "... and a multipart upload writes no uploads row" \
	"$(sql "SELECT COUNT(*) FROM uploads u JOIN users s ON s.id = u.user_id WHERE s.name = 'cap-concurrent-$$'")" 0
BEFORE=$(snap)
API_KEY=$ckey api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "a fifth upload of the same user: 429" "$API_STATUS" 429
t_eq "... too_many_concurrent_uploads" "$(json .error.code)" too_many_concurrent_uploads
t_eq "... with Retry-After: 1" "$(header Retry-After)" 1
API_KEY=$ckey api POST /v1/uploads -H "$TUS" -H "Content-Length: 0" -H "Upload-Length: 1000"
t_eq "a tus creation of the same user: 429 too (the same cap)" "$API_STATUS $(json .error.code)" \
	"429 too_many_concurrent_uploads"
t_eq "another user uploads meanwhile" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $VINGEST_API_KEY" -F "file=@$FIX/clip-2s.mp4" "$VINGEST_URL/v1/videos")" 201
# shellcheck disable=SC2086 # a list of pids
pkill -P "$(echo $HOLDERS | tr ' ' ',')" sleep 2>/dev/null
# shellcheck disable=SC2086
wait $HOLDERS 2>/dev/null
wait_until 10 eval '[[ $(staged) == $staged_before ]]'
t_eq "the held uploads cut off leave no staging file" "$(staged)" "$staged_before"
API_KEY=$ckey api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "the held uploads over, the user uploads again" "$API_STATUS" 201

# ---- limits.open_uploads_per_user (50): unfinished tus uploads
okey=$(new_user "cap-open-$$")
codes=
for ((i = 1; i <= 51; i++)); do
	st=$(curl -s -o "$T_TMP/open.json" -w '%{http_code}' --interface "127.0.6.$((i % 200 + 2))" \
		-X POST -H "Authorization: Bearer $okey" -H "$TUS" -H "Content-Length: 0" -H "Upload-Length: 1000" \
		"$VINGEST_URL/v1/uploads")
	((i <= 50)) && [[ $st != 201 ]] && codes+="$i:$st "
done
t_eq "50 tus uploads open" "${codes:-all 201}" "all 201"
t_eq "the 51st: 429" "$st" 429
t_eq "... too_many_open_uploads" "$(json .error.code "$T_TMP/open.json")" too_many_open_uploads
t_match "... saying how many are open" "$(json .error.message "$T_TMP/open.json")" 'has 50 unfinished'
first=$(sql "SELECT u.id FROM uploads u JOIN users s ON s.id = u.user_id WHERE s.name = 'cap-open-$$' ORDER BY u.id LIMIT 1")
API_KEY=$okey api DELETE "/v1/uploads/$first" -H "$TUS"
t_eq "one deleted" "$API_STATUS" 204
API_KEY=$okey api POST /v1/uploads -H "$TUS" -H "Content-Length: 0" -H "Upload-Length: 1000"
t_eq "then one more can start" "$API_STATUS" 201

# ---- limits.staging_bytes_per_user (1 GiB): what unfinished uploads reserve
skey=$(new_user "cap-staging-$$")
codes=
for ((i = 1; i <= 16; i++)); do
	API_KEY=$skey api POST /v1/uploads -H "$TUS" -H "Content-Length: 0" -H "Upload-Length: $((64 * MIB))"
	[[ $API_STATUS != 201 ]] && codes+="$i:$API_STATUS "
done
t_eq "16 tus uploads of 64 MiB reserve the user's 1 GiB" "${codes:-all 201}" "all 201"
BEFORE=$(snap)
API_KEY=$skey api POST /v1/uploads -H "$TUS" -H "Content-Length: 0" -H "Upload-Length: 1"
t_eq "a 17th, of one byte: 507" "$API_STATUS" 507
t_eq "... staging_quota_exceeded" "$(json .error.code)" staging_quota_exceeded
t_eq "another user is not affected" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $VINGEST_API_KEY" -F "file=@$FIX/clip-2s.mp4" "$VINGEST_URL/v1/videos")" 201

# The tus uploads opened above go (DELETE), so that later tests find staging empty.
drop_uploads() { # drop_uploads USER KEY
	local id
	for id in $(sql "SELECT u.id FROM uploads u JOIN users s ON s.id = u.user_id WHERE s.name = '$1' AND u.kind = 'tus'"); do
		curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $2" -H "$TUS" "$VINGEST_URL/v1/uploads/$id"
	done
}
drop_uploads "cap-open-$$" "$okey"
drop_uploads "cap-staging-$$" "$skey"
t_eq "the tus uploads of this test are gone again" \
	"$(sql "SELECT COUNT(*) FROM uploads u JOIN users s ON s.id = u.user_id WHERE s.name IN ('cap-open-$$', 'cap-staging-$$')")" 0

# ---- /readyz: private, and checked at most once a second per child
st=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$VINGEST_URL/readyz")
t_eq "/readyz from an address not in http.readyz_allow: 403" "$st" 403
st=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$VINGEST_URL/metrics")
t_eq "/metrics from an address not in http.metrics_allow: 403" "$st" 403
com_select() { sql "SHOW GLOBAL STATUS LIKE 'Com_select'" | awk '{print $2}'; }
before=$(com_select)
t0=$(date +%s)
burst=()
for ((i = 0; i < 300; i++)); do burst+=(-o /dev/null "$VINGEST_URL/readyz"); done
curl -s --parallel --parallel-max 20 -w '%{http_code}\n' "${burst[@]}" >"$T_TMP/ready" 2>/dev/null
t1=$(date +%s)
after=$(com_select)
children=$(pgrep -P "$(tr -dc '0-9' <"$VINGEST_FCGI_PID_FILE")" | wc -l)
bound=$((children * (t1 - t0 + 2)))
t_eq "300 /readyz: every one 200" "$(grep -c '^200$' "$T_TMP/ready")" 300
t_lt "300 /readyz ran at most one check per child per second ($((after - before)) queries; bound $bound)" \
	$((after - before)) $((bound + 1))

# ---- the client's address: from X-Forwarded-For only through the trusted proxy (127.0.0.9)
rid=addr-$$-$RANDOM
curl -s -o /dev/null --interface 127.0.0.9 -H "X-Forwarded-For: 198.51.100.7" \
	-H "X-Request-Id: $rid-a" -H "Authorization: Bearer $VINGEST_API_KEY" "$VINGEST_URL/v1/videos?limit=1"
curl -s -o /dev/null --interface 127.0.0.8 -H "X-Forwarded-For: 198.51.100.8" \
	-H "X-Request-Id: $rid-b" -H "Authorization: Bearer $VINGEST_API_KEY" "$VINGEST_URL/v1/videos?limit=1"
wait_until 10 grep -q "request_id=$rid-b " "$VINGEST_VAR/log/vingest-fcgi.log"
t_match "through the trusted proxy, the app sees the forwarded client" \
	"$(grep "request_id=$rid-a " "$VINGEST_VAR/log/vingest-fcgi.log" | tail -n 1)" ' addr=198\.51\.100\.7( |$)'
t_match "from anyone else, X-Forwarded-For is ignored" \
	"$(grep "request_id=$rid-b " "$VINGEST_VAR/log/vingest-fcgi.log" | tail -n 1)" ' addr=127\.0\.0\.8( |$)'
st=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.8 -H "X-Forwarded-For: 127.0.0.1" "$VINGEST_URL/readyz")
t_eq "a forged X-Forwarded-For does not open /readyz" "$st" 403

# ---- what the audit asked of the answers and the logs
api GET "/v1/videos?limit=1"
t_eq "a JSON answer carries X-Content-Type-Options: nosniff" "$(header X-Content-Type-Options)" nosniff
api GET /v1/videos/not-an-id
t_eq "an error too" "$(header X-Content-Type-Options)" nosniff
curl -s -o /dev/null -D "$T_TMP/page.h" "$VINGEST_URL/vingest/"
t_match "the upload page forbids framing (CSP frame-ancestors 'none')" \
	"$(header Content-Security-Policy "$T_TMP/page.h")" "frame-ancestors 'none'"
t_match "and scripts from elsewhere (default-src 'self')" "$(header Content-Security-Policy "$T_TMP/page.h")" "default-src 'self'"
sig=secret$RANDOM$RANDOM
curl -s -o /dev/null "$VINGEST_URL/v1/objects/videos/AA/BB/0000000000000000000000000X?expires=1&sig=$sig"
ACCESS_LOG=$VINGEST_VAR/log/$VINGEST_WEB-access.log
wait_until 10 grep -q '/v1/objects/videos/AA/BB/0000000000000000000000000X' "$ACCESS_LOG"
t_ok "the web server logged the object request ($ACCESS_LOG)" \
	grep -q '/v1/objects/videos/AA/BB/0000000000000000000000000X' "$ACCESS_LOG"
t_eq "without its query: no signature in the access log" "$(grep -c "$sig" "$ACCESS_LOG")" 0

# ---- limits.staging_bytes_per_user for multipart: the Content-Lengths a
# user's uploads in progress hold on this host. With the stack's limits
# (64 MiB uploads, 4 at a time, 1 GiB) it cannot bind: a private instance
# with a 100 MB cap, one upload of 60 MB held in a child, asks for 60 MB more.
dir=$T_TMP/stagecap
port=$((18300 + PORT_OFF + RANDOM % 100))
spawn_instance "$dir" "$port" VINGEST_HTTP_PROCESSES=3 VINGEST_LIMITS_STAGING_BYTES_PER_USER=100000000 \
	"VINGEST_LIMITS_MAX_UPLOAD_BYTES=$TEST_LIMIT_BYTES"
if [[ $VINGEST_WEB == apache ]]; then
	SFCGI=127.0.0.1:$((port + 500))
else
	SFCGI=$(compgen -G "$dir/fcgi.sock*" | head -n1) # lighttpd names what it spawns fcgi.sock-0
fi
mkey=$(new_user "cap-mpstaging-$$")
mp_fcgi() { # mp_fcgi CONTENT_LENGTH: a multipart POST straight to the instance's children
	env -i REQUEST_METHOD=POST REQUEST_URI=/v1/videos CONTENT_LENGTH="$1" \
		"CONTENT_TYPE=multipart/form-data; boundary=vingesthold" \
		"HTTP_AUTHORIZATION=Bearer $mkey" REMOTE_ADDR=127.0.6.2 \
		cgi-fcgi -bind -connect "$SFCGI"
}
staged_before=$(staged)
sleep 12 | mp_fcgi 60000000 >/dev/null 2>&1 &
MPHOLD=$!
wait_until 10 eval '[[ $(staged) == $((staged_before + 1)) ]]'
t_eq "one 60 MB multipart upload held in a child" "$(staged)" $((staged_before + 1))
out=$(mp_fcgi 60000000 </dev/null 2>&1)
t_match "a second of 60 MB over the 100 MB cap: 507" "$out" '^Status: 507'
t_match "... staging_quota_exceeded, naming what is held" "$out" \
	'"code":"staging_quota_exceeded".*hold 60000000 of its 100000000 bytes'
t_match "... with Retry-After" "$out" 'Retry-After: [0-9]+'
out=$(mp_fcgi 30000000 </dev/null 2>&1)
t_match "one of 30 MB still fits (its body does not come: 400, not 507)" "$out" '^Status: 400'
pkill -P "$MPHOLD" sleep 2>/dev/null
wait "$MPHOLD" 2>/dev/null
spawn_stop

# ---- store.min_free_bytes: new uploads refused with 507 below it
dir=$T_TMP/minfree
port=$((18300 + PORT_OFF + RANDOM % 100))
spawn_instance "$dir" "$port" VINGEST_HTTP_PROCESSES=2 VINGEST_STORE_MIN_FREE_BYTES=1125899906842624
BEFORE=$(snap)
st=$(curl -s -o "$T_TMP/minfree.json" -D "$T_TMP/minfree.h" -w '%{http_code}' \
	-H "Authorization: Bearer $VINGEST_API_KEY" -F "file=@$FIX/clip-2s.mp4" "$SPAWN_URL/v1/videos")
t_eq "below store.min_free_bytes a new upload: 507" "$st" 507
t_eq "... insufficient_storage" "$(json .error.code "$T_TMP/minfree.json")" insufficient_storage
t_match "... with Retry-After" "$(header Retry-After "$T_TMP/minfree.h")" '^[0-9]+$'
st=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $VINGEST_API_KEY" \
	-H "$TUS" -H "Content-Length: 0" -H "Upload-Length: 1000" "$SPAWN_URL/v1/uploads")
t_eq "... and a tus creation: 507" "$st" 507
t_eq "... and nothing changed" "$(snap)" "$BEFORE"
spawn_stop

# ---- a TCP FastCGI listener answers loopback peers only (http.listen_allow)
myip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}')
dummy=
if [[ -z $myip ]]; then
	# No address but loopback: give the machine one, on a dummy interface.
	dummy=vgtest$((RANDOM % 1000))
	if ip link add "$dummy" type dummy 2>/dev/null && ip addr add 10.199.0.1/32 dev "$dummy" &&
		ip link set "$dummy" up; then
		myip=10.199.0.1
	fi
fi
if [[ -z $myip ]]; then
	t_fail "a non-loopback address to test http.listen_allow from" "none, and no dummy interface could be made"
else
	fport=$((18400 + PORT_OFF + RANDOM % 100))
	env -i "PATH=$PATH" "ASAN_OPTIONS=${ASAN_OPTIONS:-}" VINGEST_HTTP_PROCESSES=1 \
		"VINGEST_HTTP_LISTEN=0.0.0.0:$fport" "$VINGEST_FCGI_BIN" -c "$VINGEST_CONFIG" \
		</dev/null 2>>"$T_TMP/tcp.log" &
	tcp_pid=$!
	wait_until 10 eval "(exec 3<>/dev/tcp/127.0.0.1/$fport) 2>/dev/null"
	ask() { env -i REQUEST_METHOD=GET REQUEST_URI=/healthz cgi-fcgi -bind -connect "$1:$fport" 2>/dev/null | head -n 1 | tr -d '\r'; }
	t_eq "a FastCGI request from loopback is served" "$(ask 127.0.0.1)" "Status: 200 OK"
	t_eq "one from $myip (not in http.listen_allow) is refused" "$(ask "$myip")" "Status: 403 Forbidden"
	wait_until 5 grep -q 'not in http.listen_allow' "$T_TMP/tcp.log"
	t_ok "and the refusal is logged with the peer" grep -q "peer=$myip" "$T_TMP/tcp.log"
	kill "$tcp_pid"
	wait "$tcp_pid" 2>/dev/null
	env -i "PATH=$PATH" "ASAN_OPTIONS=${ASAN_OPTIONS:-}" VINGEST_HTTP_PROCESSES=1 \
		"VINGEST_HTTP_LISTEN=0.0.0.0:$fport" "VINGEST_HTTP_LISTEN_ALLOW=127.0.0.1,$myip" \
		"$VINGEST_FCGI_BIN" -c "$VINGEST_CONFIG" </dev/null 2>>"$T_TMP/tcp.log" &
	tcp_pid=$!
	wait_until 10 eval "(exec 3<>/dev/tcp/127.0.0.1/$fport) 2>/dev/null"
	t_eq "with $myip in http.listen_allow it is served" "$(ask "$myip")" "Status: 200 OK"
	kill "$tcp_pid"
	wait "$tcp_pid" 2>/dev/null
fi
[[ -n $dummy ]] && ip link del "$dummy" 2>/dev/null
t_done
