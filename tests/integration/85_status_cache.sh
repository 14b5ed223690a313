#!/usr/bin/env bash
# 85_status_cache: GET /v1/videos/{id} is served from memcached for
# cache.status_ttl_seconds, every status change invalidates it at once, a
# status never goes backwards, the cache never shows a video to another
# user, and a cache outage only costs speed. The test stack runs with a
# TTL of 3 s (./dev test), so the waits for it to pass are short.
. "$(dirname "$0")/lib.sh"

export VINGEST_DEV_WORKERS=1
# cache.status_ttl_seconds of the stack (./dev test sets 3; the default is 5)
TTL=${VINGEST_CACHE_STATUS_TTL_SECONDS:-5}
"$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1 || t_fail "./dev up" "$(tail -n 20 "$T_TMP/up.log")"
stub() { curl -sf -d "$1" "$VINGEST_STUB_URL/control" >/dev/null; }

# A video whose status no longer changes (processed) is cached between GETs.
stub '{"mode":"ok","delay_ms":0,"fail_rate":0}'
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" -F title=before
t_eq "upload: 201" "$API_STATUS" 201
done_id=$(json .id)
t_ok "the video is processed" \
	wait_until 30 eval '[[ $(sql "SELECT status FROM videos WHERE id = '"'$(sqlq "$done_id")'"'") == processed ]]'
# The tombstone of the last status change keeps readers from caching it for
# one TTL; from then on a GET adds the video and the next one hits.
get_twice_hits() {
	api GET "/v1/videos/$done_id"
	api GET "/v1/videos/$done_id"
	[[ $(header X-Cache) == hit ]]
}
# (wait_until in this shell, not through t_ok: the checks below read the
# last answer)
if wait_until $((TTL * 3 + 5)) get_twice_hits; then
	t_pass "a second GET within the TTL is a cache hit (once the tombstone is gone)"
else
	t_fail "a second GET within the TTL is a cache hit (once the tombstone is gone)" \
		"X-Cache: '$(header X-Cache)'"
fi
t_eq "showing the current status" "$(json .status)" processed
# memcached's own count of the copy's seconds to live (meta get, flag t):
# the TTL is the configured one, not a built-in 5 s.
mc_ttl() {
	local fd line
	exec {fd}<>"/dev/tcp/127.0.0.1/$VINGEST_MEMCACHED_PORT" || return 1
	printf 'mg vingest:video:%s t\r\nmn\r\n' "$1" >&"$fd"
	read -r -t 5 line <&"$fd"
	exec {fd}>&-
	line=${line%$'\r'}
	printf '%s\n' "${line##* t}"
}
left=$(mc_ttl "$done_id")
t_ok "the cached copy lives cache.status_ttl_seconds ($TTL s; memcached says $left s left)" \
	eval '[[ $left =~ ^[0-9]+$ ]] && ((left >= 1 && left <= TTL))'

# Proof that it is the cache answering: a change made behind vingest's back
# (no status change, so no invalidation) is not seen until the TTL runs out.
sql "UPDATE videos SET title = 'changed in SQL' WHERE id = '$(sqlq "$done_id")'"
api GET "/v1/videos/$done_id"
t_eq "a change behind vingest's back is not seen while cached" "$(json .title)" before
title_is_new() {
	api GET "/v1/videos/$done_id"
	[[ $(json .title) == "changed in SQL" ]]
}
t0=$SECONDS
t_ok "after the TTL ($TTL s) the database is read again" wait_until $((TTL + 5)) title_is_new
echo "# the change showed after $((SECONDS - t0)) s"

other=$(new_user "cache-$RANDOM")
API_KEY=$other api GET "/v1/videos/$done_id"
t_eq "another user gets 404 even while the video is cached" "$API_STATUS" 404

# A video being processed: every status change shows at once.
stub '{"mode":"ok","delay_ms":3000,"fail_rate":0}'
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
id=$(json .id)

# Poll while the job runs: the status sequence only moves forward, and
# processed shows the moment the database has it (invalidation, not TTL).
rank() { case $1 in queued) echo 1 ;; processing) echo 2 ;; processed) echo 3 ;; *) echo 0 ;; esac; }
seen="" last=0 backwards=0 late=0
for ((i = 0; i < 150; i++)); do
	db=$(sql "SELECT status FROM videos WHERE id = '$(sqlq "$id")'")
	api GET "/v1/videos/$id"
	st=$(json .status)
	[[ $seen == *"$st"* ]] || seen+="$st "
	(($(rank "$st") < last)) && backwards=1
	last=$(rank "$st")
	# what the database had before this GET must be visible in it
	(($(rank "$st") < $(rank "$db"))) && late=1
	[[ $st == processed ]] && break
	sleep 0.1
done
t_match "the client saw (queued,) processing, then processed" "${seen% }" '^(queued )?processing processed$'
t_eq "the status never went backwards" "$backwards" 0
t_eq "no GET showed less than the database already had (invalidation is immediate)" "$late" 0

# memcached down: GET still answers, from the database.
mc=$(tr -dc '0-9' <"$VINGEST_MEMCACHED_PID_FILE" 2>/dev/null || true)
if [[ -n $mc ]]; then
	kill "$mc"
	for ((i = 0; i < 50; i++)); do kill -0 "$mc" 2>/dev/null || break; sleep 0.1; done
	api GET "/v1/videos/$done_id"
	t_eq "memcached down: GET still answers 200" "$API_STATUS" 200
	t_eq "read from the database" "$(json .title) $(header X-Cache)" "changed in SQL "
	"$VINGEST_DEV" up >"$T_TMP/up2.log" 2>&1
fi
stub '{"mode":"ok","delay_ms":0}'
t_done
