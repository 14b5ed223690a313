#!/usr/bin/env bash
# 77_webhooks: webhook events reach a user's endpoint at least once, signed,
# whatever the receiver does: down for a while, answering 500, too slow (past
# webhooks.timeout_seconds), or the delivering worker killed mid-call. The
# receiver (tests/stub/webhook-receiver.py) verifies every signature and
# records every event id; at the end every expected event has arrived, all
# four types are seen, no signature failed, and an event arrived twice only
# under its one event id. An event whose attempts run out is dead in
# v_webhook_deliveries and `vingestctl webhook replay` delivers it. With the
# default configuration a loopback endpoint is refused. Runs in the fs pass
# only (nothing here depends on the store).
. "$(dirname "$0")/lib.sh"

if [[ $STORE_BACKEND != fs ]]; then
	echo "# 77_webhooks: does not depend on the store; it runs in the fs pass (./dev test --store fs)"
	t_done
fi

export VINGEST_DEV_WORKERS=1
CTL() { "$VINGEST_CTL" -c "$VINGEST_CONFIG" "$@"; }
supervisor() { tr -dc '0-9' <"$VINGEST_WORKERS_PID_FILE" 2>/dev/null; }
workers() { pgrep -P "$(supervisor)" | sort -n; }
stub() { curl -sf -d "$1" "$VINGEST_STUB_URL/control" >/dev/null; }
upload() {
	api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
	[[ $API_STATUS == 201 ]] && json .id
}
restart_workers() { # VAR=value...: the workers again, with these settings
	local sup
	sup=$(supervisor)
	if [[ -n $sup ]]; then
		kill -TERM "$sup"
		wait_until 30 eval '! kill -0 '"$sup"' 2>/dev/null' || return 1
	fi
	env "$@" "$VINGEST_DEV" up >>"$T_TMP/up.log" 2>&1 || return 1
	wait_until 15 eval '[[ -n $(supervisor) && $(supervisor) != "$sup" && -n $(workers) ]]'
}
event() { # TYPE VIDEO: its outbox row's column $3
	sql "SELECT ${3:-event_id} FROM webhook_outbox WHERE event_type = '$1' AND video_id = '$(sqlq "$2")'"
}
delivered() { [[ $(event "$1" "$2" state) == delivered ]]; }
received() { grep -q " $1 $2\$" "$R/received" 2>/dev/null; }

R=$T_TMP/receiver
mkdir -p "$R"
echo ok >"$R/control"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RPID=
receiver_up() { # not under t_ok: its $(...) would wait for the server's stdout
	python3 "$T_REPO/tests/stub/webhook-receiver.py" "$PORT" "$R" >/dev/null 2>>"$R/stderr" &
	RPID=$!
}
receiver_down() { [[ -n $RPID ]] && kill "$RPID" && wait "$RPID" 2>/dev/null; RPID=; }
trap 'receiver_down' EXIT

# One worker; 2 s time-out, 6 attempts, back-off 1..2 s; loopback allowed.
HOOKS=(VINGEST_WORKERS_MIN=1 VINGEST_WORKERS_MAX=1 VINGEST_WEBHOOKS_ALLOW_PRIVATE=1
	VINGEST_WEBHOOKS_TIMEOUT_SECONDS=2 VINGEST_WEBHOOKS_MAX_ATTEMPTS=6
	VINGEST_WEBHOOKS_BACKOFF_BASE_SECONDS=1 VINGEST_WEBHOOKS_BACKOFF_MAX_SECONDS=2)
t_ok "the workers start with webhooks.allow_private = 1 and short timings" restart_workers "${HOOKS[@]}"
stub '{"mode":"ok","delay_ms":0,"fail_rate":0,"retry_after":0}'

# ---- 1. the endpoint: vingestctl and the API
KEY=$(new_user hooks77)
t_ok "vingestctl webhook set refuses a non-http URL" eval '! CTL webhook set hooks77 ftp://127.0.0.1/ 2>/dev/null'
SECRET=$(CTL webhook set hooks77 "http://127.0.0.1:$PORT/hook" 2>/dev/null)
t_match "vingestctl webhook set prints a new secret once" "$SECRET" '^whsec_[0-9a-f]{64}$'
printf '%s\n' "$SECRET" >"$R/secret"
t_match "webhook show masks the secret" "$(CTL webhook show hooks77)" "url	http://127.0.0.1:$PORT/hook.*secret	whsec_[0-9a-f]{4}\.\.\."
t_ok "webhook show never prints the secret" eval '! CTL webhook show hooks77 | grep -q "$SECRET"'
API_KEY=$KEY api GET /v1/webhook
t_eq "GET /v1/webhook: 200 with the URL" "$API_STATUS $(json .url)" "200 http://127.0.0.1:$PORT/hook"
t_ok "GET /v1/webhook masks the secret" eval '[[ $(json .secret) != "$SECRET" && $(json .secret) == whsec_* ]]'
API_KEY=$KEY api PUT /v1/webhook -H 'Content-Type: application/json' -d '{"url":"gopher://x/"}'
t_eq "PUT /v1/webhook with a bad URL: 400 invalid_webhook_url" "$API_STATUS $(json .error.code)" "400 invalid_webhook_url"
API_KEY=$KEY api PUT /v1/webhook -H 'Content-Type: application/json' -d "{\"url\":\"http://127.0.0.1:$PORT/hook\"}"
t_eq "PUT /v1/webhook on an existing endpoint: 200, the secret kept (masked)" "$API_STATUS $(json '.secret | startswith("whsec_") and length < 20')" "200 true"
API_KEY=$KEY api POST /v1/webhook/rotate -d ''
NEW=$(json .secret)
t_match "POST /v1/webhook/rotate: a new secret, shown once" "$API_STATUS $NEW" '^200 whsec_[0-9a-f]{64}$'
t_ok "the rotated secret differs" eval '[[ $NEW != "$SECRET" ]]'
t_eq "the endpoint row is the same on the user's shards" \
	"$(sql "SELECT secret = '$(sqlq "$NEW")' AND previous_secret = '$(sqlq "$SECRET")' FROM webhook_endpoints e JOIN users u ON u.id = e.user_id WHERE u.name = 'hooks77'")" 1
printf '%s\n' "$NEW" >"$R/secret" # the receiver checks under the new secret from now on
API_KEY=nobody api GET /v1/webhook
t_eq "GET /v1/webhook without a valid key: 401" "$API_STATUS" 401
API_KEY=$VINGEST_API_KEY api GET /v1/webhook
t_eq "another user without an endpoint: 404" "$API_STATUS" 404

# ---- 2. the receiver is down: events wait, then arrive
a=$(API_KEY=$KEY upload)
t_ok "video.stored is in the outbox, in the upload's transaction" eval '[[ -n $(event video.stored "$a") ]]'
t_ok "deliveries fail while the receiver is down (attempts counted, error kept)" \
	wait_until 20 eval '[[ $(event video.stored "$a" "attempts >= 1 AND last_error IS NOT NULL") == 1 ]]'
receiver_up
t_ok "the receiver comes up" wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$PORT/"
t_ok "once it is up, video.stored and video.processed arrive" wait_until 30 eval 'received video.stored "$a" && received video.processed "$a"'
t_ok "and are delivered in the outbox" wait_until 10 eval 'delivered video.stored "$a" && delivered video.processed "$a"'

# ---- 3. the receiver answers 500 twice, then 200
echo "fail 2" >"$R/control"
b=$(API_KEY=$KEY upload)
t_ok "after two 500s the video's events are delivered" wait_until 30 eval 'delivered video.stored "$b" && delivered video.processed "$b"'
t_eq "two attempts more than events: the 500s counted" "$(sql "SELECT SUM(attempts) FROM webhook_outbox WHERE video_id = '$b'")" 4

# ---- 4. too slow once (4 s > webhooks.timeout_seconds 2): delivered again, same id
echo "slow 4 1" >"$R/control"
c=$(API_KEY=$KEY upload)
t_ok "an event the receiver answered too late is delivered again" wait_until 30 eval 'delivered video.stored "$c" && delivered video.processed "$c"'
t_eq "the attempt that timed out counted" "$(sql "SELECT SUM(attempts) FROM webhook_outbox WHERE video_id = '$c'")" 3

# ---- 5. video.failed (the service refuses: job dead) and video.deleted
stub '{"mode":"fail","fail_status":422}'
d=$(API_KEY=$KEY upload)
t_ok "a job dead at once sends video.failed" wait_until 30 received video.failed "$d"
stub '{"mode":"ok"}'
API_KEY=$KEY api DELETE "/v1/videos/$a"
t_eq "DELETE answers 204" "$API_STATUS" 204
t_ok "video.deleted arrives" wait_until 20 received video.deleted "$a"

# ---- 6. the worker is killed (SIGKILL) mid-delivery: the event comes again
echo "slow 30 1" >"$R/control"
e=$(API_KEY=$KEY upload)
t_ok "a delivery is in flight at a slow receiver" wait_until 15 test -s "$R/slowed"
eid=$(head -n 1 "$R/slowed")
victim=$(workers | head -n 1)
kill -KILL "$victim"
echo ok >"$R/control"
t_ok "after kill -9 of its worker the event is delivered by another" \
	wait_until 40 eval '[[ $(sql "SELECT state FROM webhook_outbox WHERE event_id = '"'$eid'"'") == delivered ]]'
t_ok "the new worker is not the killed one" eval '[[ -n $(workers) && $(workers | head -n 1) != "$victim" ]]'
t_ok "the receiver got it twice, under the one event id" eval '[[ $(grep -c "^$eid " "$R/received") -ge 2 ]]'

# ---- 7. dead after webhooks.max_attempts (3); replay delivers it
echo "fail 100" >"$R/control"
f=$(API_KEY=$KEY upload)
t_ok "events failing every attempt are dead after 6" \
	wait_until 40 eval '[[ $(event video.stored "$f" state) == dead && $(event video.processed "$f" state) == dead ]]'
fid=$(event video.stored "$f")
t_eq "v_webhook_deliveries shows it dead, with the last status" \
	"$(sql "SELECT CONCAT(state, '|', attempts, '|', last_status, '|', user_name) FROM v_webhook_deliveries WHERE event_id = '$fid'")" "dead|6|500|hooks77"
t_match "vingestctl webhook deliveries --state dead lists it" "$(CTL webhook deliveries --state dead)" "$fid"
echo ok >"$R/control"
t_ok "vingestctl webhook replay EVENT_ID" CTL webhook replay "$fid"
t_ok "the replayed event is delivered" wait_until 20 delivered video.stored "$f"
t_eq "replaying one event leaves the other dead" "$(event video.processed "$f" state)" dead
t_ok "vingestctl webhook replay --dead" CTL webhook replay --dead
t_ok "every dead event is delivered after replay --dead" wait_until 20 delivered video.processed "$f"

# ---- 8. what the receiver saw
t_eq "no delivery failed its signature check" "$(cat "$R/bad" 2>/dev/null | head -n 3)" ""
for v in "$a" "$b" "$c" "$d" "$e" "$f"; do
	t_ok "video.stored of $v arrived" received video.stored "$v"
done
for v in "$a" "$b" "$c" "$e" "$f"; do
	t_ok "video.processed of $v arrived" wait_until 20 received video.processed "$v"
done
t_eq "all four event types arrived" "$(awk '{print $2}' "$R/received" | sort -u | tr '\n' ' ')" \
	"video.deleted video.failed video.processed video.stored "
t_eq "every (type, video) arrived under exactly one event id" \
	"$(awk '{print $2, $3, $1}' "$R/received" | sort -u | awk '{print $1, $2}' | uniq -d)" ""
t_ok "some event arrived more than once (timeout, kill): duplicates happened" \
	eval '[[ -n $(sort "$R/received" | uniq -d) ]]'
t_eq "every outbox row of the user is delivered" \
	"$(sql "SELECT COUNT(*) FROM webhook_outbox o JOIN users u ON u.id = o.user_id WHERE u.name = 'hooks77' AND o.state <> 'delivered'")" 0

# ---- 9. the default configuration refuses loopback
t_ok "the workers restart with the default webhooks.allow_private = 0" restart_workers
g=$(API_KEY=$KEY upload)
t_ok "a delivery to 127.0.0.1 is refused" \
	wait_until 20 eval '[[ $(event video.stored "$g" last_error) == refused:*127.0.0.1* ]]'
t_ok "and the receiver got nothing" eval '! received video.stored "$g"'
t_ok "vingestctl webhook delete" CTL webhook delete hooks77
API_KEY=$KEY api GET /v1/webhook
t_eq "GET /v1/webhook after delete: 404" "$API_STATUS" 404
t_done
