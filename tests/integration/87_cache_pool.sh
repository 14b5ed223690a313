#!/usr/bin/env bash
# 87_cache_pool: cache.servers lists two memcached; keys spread over both by
# consistent hashing (ketama). Stopping one moves only its keys to the other:
# rate limits stay enforced for every key (they do not fail open for the keys
# the dead server held), and uploads and reads go on. A vingest-fcgi of its
# own (one child, so one view of the pool) with its own two memcached.
. "$(dirname "$0")/lib.sh"

port=$((18700 + PORT_OFF + RANDOM % 50))
mc1=$((31400 + PORT_OFF + RANDOM % 50))
mc2=$((31450 + PORT_OFF + RANDOM % 50))
dir=$T_TMP/pool
mkdir -p "$dir/uploads"
memcached -u root -l 127.0.0.1 -p "$mc1" -U 0 -d -P "$dir/mc1.pid"
memcached -u root -l 127.0.0.1 -p "$mc2" -U 0 -d -P "$dir/mc2.pid"
cleanup() {
	spawn_stop
	kill "$(cat "$dir/mc1.pid" 2>/dev/null)" "$(cat "$dir/mc2.pid" 2>/dev/null)" 2>/dev/null
	rm -rf -- "$T_TMP"
}
trap cleanup EXIT
spawn_instance "$dir" "$port" VINGEST_HTTP_PROCESSES=1 \
	"VINGEST_CACHE_SERVERS=127.0.0.1:$mc1,127.0.0.1:$mc2" \
	VINGEST_LIMITS_UPLOADS_PER_MINUTE=3 VINGEST_LIMITS_REQUESTS_PER_SECOND_PER_IP=1000
VINGEST_URL=$SPAWN_URL
items() { # curr_items of the memcached on port $1
	local out
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'stats\r\nquit\r\n' >&3
	out=$(tr -d '\r' <&3)
	exec 3<&-
	awk '$2 == "curr_items" {print $3}' <<<"$out"
}
four_uploads() { # KEY: the codes of four uploads in a row
	local codes="" i
	for i in 1 2 3 4; do
		API_KEY=$1 api POST /v1/videos -F "file=@$FIX/clip-2s.mov"
		codes+="$API_STATUS "
		[[ $API_STATUS == 201 ]] && echo "$1 $(json .id)" >>"$dir/videos"
	done
	echo "$codes"
}

# Fixed one-minute windows: stay clear of a minute's edge.
while (($(date +%-S) > 30)); do sleep 1; done

keys=()
for u in 1 2 3 4 5 6; do keys+=("$(new_user "pool-$u-$RANDOM$RANDOM")"); done
ok=1
for k in "${keys[@]:0:3}"; do
	[[ $(four_uploads "$k") == "201 201 201 429 " ]] || ok=0
done
t_eq "both servers up: every key gets 3 uploads a minute, then 429" "$ok" 1
a=$(items "$mc1") b=$(items "$mc2")
t_ok "the keys are spread over both servers ($a and $b items)" test "${a:-0}" -gt 0 -a "${b:-0}" -gt 0

kill "$(cat "$dir/mc1.pid")"
# The first request that meets the dead server fails open (as designed) and
# libmemcached takes the server out of the continuum; reading the videos back
# touches keys on both servers, so that happens here.
while read -r k id; do API_KEY=$k api GET "/v1/videos/$id"; done <"$dir/videos"
ok=1 seen=""
for k in "${keys[@]:3:3}"; do
	c=$(four_uploads "$k")
	seen+="[$c]"
	[[ $c == "201 201 201 429 " ]] || ok=0
done
t_eq "one server stopped: every key is still limited (its keys moved, none failed open)" "$ok" 1
[[ $ok == 1 ]] || echo "# codes per key: $seen"
api GET "/v1/videos?limit=1"
t_eq "reads go on" "$API_STATUS" 200
t_ok "the surviving server took the moved keys" test "$(items "$mc2")" -gt "${b:-0}"
t_done
