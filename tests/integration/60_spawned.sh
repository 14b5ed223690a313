#!/usr/bin/env bash
# 60_spawned: vingest-fcgi works when the web server spawns it with the
# listening socket on fd 0 (lighttpd's bin-path), recycles children after
# http.max_requests, and stops when the web server stops it.
. "$(dirname "$0")/lib.sh"

# Apache's mod_proxy_fcgi only connects to a backend that runs already; it
# has no bin-path. The recycling checked here is the app's own and is covered
# by the lighttpd pass.
if [[ $VINGEST_WEB == apache ]]; then
	t_pass "a web server spawns vingest-fcgi (bin-path) # SKIP Apache's mod_proxy_fcgi cannot spawn a backend; lighttpd-only"
	t_done
fi

port=$((18181 + PORT_OFF))
dir=$T_TMP/spawn
spawn_instance "$dir" "$port" VINGEST_HTTP_PROCESSES=2 VINGEST_HTTP_MAX_REQUESTS=5
lpid=$SPAWN_LIGHTTPD_PID
t_ok "lighttpd spawns vingest-fcgi through bin-path and /healthz answers" \
	curl -sf "http://127.0.0.1:$port/healthz"

# The spawned master is lighttpd's child and inherited its socket on fd 0.
master=$(pgrep -P "${lpid:-0}" -f 'vingest-fcgi' | head -n 1)
if [[ -z $master ]]; then
	t_fail "lighttpd spawned a vingest-fcgi master" "$(cat "$dir/lighttpd.err" "$dir/fcgi.log" 2>/dev/null | tail -n 20)"
	[[ -n $lpid ]] && kill "$lpid"
	t_done
fi
t_match "the spawned process is a vingest-fcgi master" "$(tr '\0' ' ' <"/proc/$master/cmdline" 2>/dev/null)" 'vingest-fcgi: master'
t_match "its fd 0 is a socket" "$(readlink "/proc/$master/fd/0" 2>/dev/null)" '^socket:'
t_ok "the master logged that it uses the inherited socket" \
	grep -q "listening socket on fd 0" "$dir/fcgi.log"

saved_url=$VINGEST_URL
VINGEST_URL=http://127.0.0.1:$port
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "an upload through the spawned instance answers 201" "$API_STATUS" 201
id=$(json .id)
t_eq "its video row exists" "$(sql "SELECT COUNT(*) FROM videos WHERE id='$(sqlq "$id")'")" 1

# --- recycling: with max_requests = 5 and 2 children, 30 requests retire them all
before=$(pgrep -P "$master" | sort -n)
codes=""
for ((i = 0; i < 30; i++)); do
	codes+=$(curl -s -o /dev/null -w '%{http_code} ' "$VINGEST_URL/healthz")
done
for ((i = 0; i < 30; i++)); do # a retired child's slot is refilled within the master's tick
	[[ $(pgrep -P "$master" | grep -c .) == 2 ]] && break
	sleep 0.1
done
after=$(pgrep -P "$master" | sort -n)
t_eq "all 30 requests answered 200 while children were recycled" \
	"$(tr ' ' '\n' <<<"$codes" | grep -c '^200$')" 30
# 30 requests at 5 per child need at least 6 children: some of the first ones retired.
t_lt "children from before the 30 requests were retired and replaced" \
	"$(comm -12 <(echo "$before") <(echo "$after") | grep -c .)" 2
t_eq "the master still keeps 2 children" "$(grep -c . <<<"$after")" 2
t_ok "the master logged the recycling" grep -q "recycling child after max_requests" "$dir/fcgi.log"
t_eq "the master itself was not replaced" "$(kill -0 "$master" 2>/dev/null && echo alive)" alive
VINGEST_URL=$saved_url

# --- lighttpd stopping stops the spawned master and its children
kill -TERM "$lpid"
gone=0
for ((i = 0; i < 100; i++)); do
	if ! kill -0 "$master" 2>/dev/null; then
		gone=1
		break
	fi
	sleep 0.1
done
t_eq "stopping lighttpd stops the spawned master within 10 s" "$gone" 1
if ((gone == 0)); then
	kill -KILL "$master" 2>/dev/null
fi
t_done
