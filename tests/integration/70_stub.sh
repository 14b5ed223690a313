#!/usr/bin/env bash
# 70_stub: the stub processing service itself speaks the contract and obeys
# /control: ok, exactly-once effect per Idempotency-Key, 400s, throttle, fail,
# async with status polling, stall, garbage, down, the status_url a 202 names
# and mode redirect, canned bad bodies (html, nasty, array, deep, large, huge,
# controls), delays that do not serialise, a lost answer that still makes its
# effect, the -L call log, and a clean exit on SIGTERM. It starts its own stub (the stack's one, if any, is
# left alone); the binary is $VINGEST_STUB_BIN or the build dir's.
. "$(dirname "$0")/lib.sh"

STUB_BIN=${VINGEST_STUB_BIN:-$(dirname "${VINGEST_CTL:-.}")/../tests/stub/vingest-stub}
STUB_LOG=$T_TMP/calls.log
STUB_ERR=$T_TMP/stub.err
STUB_PID=

stub_stop() {
	if [[ -n $STUB_PID ]] && kill -0 "$STUB_PID" 2>/dev/null; then
		kill -TERM "$STUB_PID" 2>/dev/null
		wait "$STUB_PID" 2>/dev/null
	fi
	return 0
}
trap 'stub_stop; rm -rf -- "$T_TMP"' EXIT

if [[ ! -x $STUB_BIN ]]; then
	t_fail "the stub binary exists" "not executable: $STUB_BIN (build it, or set VINGEST_STUB_BIN)"
	t_done
fi

# A port in 18091..18189 (moved by PORT_OFF); another one if that is taken.
PORT=
for try in 1 2 3 4 5; do
	port=$((18091 + PORT_OFF + RANDOM % 99))
	"$STUB_BIN" -l "127.0.0.1:$port" -L "$STUB_LOG" 2>>"$STUB_ERR" &
	STUB_PID=$!
	for ((i = 0; i < 50; i++)); do
		if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz"; then
			PORT=$port
			break
		fi
		kill -0 "$STUB_PID" 2>/dev/null || break
		sleep 0.1
	done
	[[ -n $PORT ]] && break
	stub_stop
	printf '# port %s did not work (try %s)\n' "$port" "$try"
done
if [[ -z $PORT ]]; then
	t_fail "the stub starts" "$(tail -n 5 "$STUB_ERR")"
	t_done
fi
STUB=http://127.0.0.1:$PORT
t_pass "the stub starts on 127.0.0.1:$PORT"

# scall METHOD PATH [curl args...]: sets S_STATUS, S_RC (curl's exit code),
# S_TIME (seconds), S_BODY and S_HEADERS (files).
S_SEQ=0
scall() {
	local method=$1 path=$2 out
	shift 2
	S_SEQ=$((S_SEQ + 1))
	S_BODY=$T_TMP/sbody.$S_SEQ
	S_HEADERS=$T_TMP/sheaders.$S_SEQ
	: >"$S_BODY"
	: >"$S_HEADERS"
	out=$(curl -s -X "$method" -o "$S_BODY" -D "$S_HEADERS" -w '%{http_code} %{time_total}' \
		--max-time 30 "$@" "$STUB$path")
	S_RC=$?
	S_STATUS=${out% *}
	S_TIME=${out#* }
}

ctl() {
	scall POST /control -H 'Content-Type: application/json' -d "$1"
	if [[ $S_STATUS != 200 ]]; then
		t_fail "POST /control $1 answers 200" "status $S_STATUS" "$(head -c 300 "$S_BODY")"
	fi
}

# ctl_get FILTER: a field of GET /control.
ctl_get() {
	curl -s --max-time 10 "$STUB/control" | jq -r "$1"
}

SHA=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
body() {
	printf '{"job_id":%s,"video_id":"01STUBTEST%016d","object_url":"http://127.0.0.1:1/o/%s?sig=x",' \
		"$1" "$1" "$1"
	printf '"size":%s,"sha256":"%s","content_type":"video/mp4","container":"mp4",' \
		$((1000 + $1)) "$SHA"
	printf '"duration_ms":2000,"attempt":1}'
}

# process KEY [curl args...]: POST /process for job KEY with Idempotency-Key KEY.
process() {
	local key=$1
	shift
	scall POST /process -H "Idempotency-Key: $key" -H 'Content-Type: application/json' \
		-d "$(body "$key")" "$@"
}

# raw TEXT: sends TEXT (printf escapes) on a new connection, prints what comes
# back until the stub closes it (at most 5 s).
raw() {
	local fd out
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	# shellcheck disable=SC2059 # TEXT is the format on purpose
	printf "$1" >&"$fd"
	out=$(timeout 5 cat <&"$fd")
	exec {fd}<&-
	printf '%s' "$out"
}

# --- health and the initial settings

scall GET /healthz
t_eq "GET /healthz answers 200" "$S_STATUS" 200
scall GET /control
t_eq "GET /control answers 200" "$S_STATUS" 200
t_eq "the initial mode is ok" "$(json .mode "$S_BODY")" ok
t_eq "no calls yet" "$(json .calls "$S_BODY")" 0

# --- ok: the result, then the same key again is one effect

process 1001
t_eq "ok: POST /process answers 200" "$S_STATUS" 200
t_eq "ok: job_id is echoed" "$(json .job_id "$S_BODY")" 1001
t_eq "ok: video_id is echoed" "$(json .video_id "$S_BODY")" 01STUBTEST0000000000001001
t_eq "ok: idempotency_key is the header's" "$(json .idempotency_key "$S_BODY")" 1001
t_eq "ok: container from the request" "$(json .container "$S_BODY")" mp4
t_eq "ok: duration_ms from the request" "$(json .duration_ms "$S_BODY")" 2000
t_eq "ok: sha256 from the request" "$(json .sha256 "$S_BODY")" "$SHA"
t_eq "ok: size from the request" "$(json .size "$S_BODY")" 2001
t_eq "ok: labels is [\"stub\"]" "$(json '.labels | join(",")' "$S_BODY")" stub
t_match "ok: processed_at is RFC 3339 UTC" "$(json .processed_at "$S_BODY")" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'
t_eq "ok: calls_for_key is 1" "$(json .calls_for_key "$S_BODY")" 1
first_at=$(json .processed_at "$S_BODY")

process 1001
t_eq "same key again: 200" "$S_STATUS" 200
t_eq "same key again: the stored result (same processed_at)" "$(json .processed_at "$S_BODY")" \
	"$first_at"
t_eq "same key again: calls_for_key is 2" "$(json .calls_for_key "$S_BODY")" 2
scall GET /control
t_eq "/control: calls=2" "$(json .calls "$S_BODY")" 2
t_eq "/control: effects=1" "$(json .effects "$S_BODY")" 1
t_eq "/control: duplicates=1" "$(json .duplicates "$S_BODY")" 1
t_eq "/control: by_status 200=2" "$(json '.by_status["200"]' "$S_BODY")" 2

# --- bad calls are a permanent 400

scall POST /process -H 'Content-Type: application/json' -d "$(body 1002)"
t_eq "no Idempotency-Key: 400" "$S_STATUS" 400
scall POST /process -H 'Idempotency-Key: 1003' -d '{"job_id": 1003, "video_id": '
t_eq "invalid JSON: 400" "$S_STATUS" 400
scall POST /process -H 'Idempotency-Key: 1004' -d "$(body 1004 | jq -c 'del(.sha256)')"
t_eq "a missing field (sha256): 400" "$S_STATUS" 400
scall POST /process -H 'Idempotency-Key: 1005' -d "$(body 1005 | jq -c '.size = "big"')"
t_eq "a field of the wrong type (size): 400" "$S_STATUS" 400
scall POST /process -H 'Idempotency-Key: 1006' -d "$(body 1006 | jq '.')"
t_eq "pretty-printed JSON is fine: 200" "$S_STATUS" 200
t_eq "no effect for the 400s" "$(ctl_get .effects)" 2

# --- HTTP: keep-alive, 411, malformed requests

conns=$(curl -s -w '%{num_connects} ' -o /dev/null "$STUB/healthz" -o /dev/null "$STUB/control" \
	-o /dev/null "$STUB/healthz")
t_eq "keep-alive: three requests on one connection" "$conns" "1 0 0 "
out=$(raw 'POST /process HTTP/1.1\r\nHost: x\r\nIdempotency-Key: 1007\r\n\r\n')
t_match "POST without Content-Length: 411" "$out" '^HTTP/1\.1 411 '
out=$(raw 'BLAH\r\n\r\n')
t_match "a malformed request: 400 and close" "$out" '^HTTP/1\.1 400 .*Connection: close'
out=$(raw 'GET /healthz HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n')
t_eq "two pipelined requests get two answers" "$(grep -c '^HTTP/1.1 200' <<<"$out")" 2
head -c $((64 * 1024 + 1)) /dev/zero | tr '\0' x >"$T_TMP/big"
scall POST /process -H 'Idempotency-Key: 1008' --data-binary "@$T_TMP/big"
t_eq "a body over 64 KiB: 413" "$S_STATUS" 413

# --- throttle, fail, fail_rate

ctl '{"mode":"throttle","retry_after":7}'
process 1101
t_eq "throttle: 429" "$S_STATUS" 429
t_eq "throttle: Retry-After: 7" "$(header Retry-After "$S_HEADERS")" 7

ctl '{"mode":"fail","fail_status":503}'
process 1102
t_eq "fail: 503" "$S_STATUS" 503
t_eq "fail: 503 carries Retry-After" "$(header Retry-After "$S_HEADERS")" 7
ctl '{"fail_status":500,"retry_after":0}'
process 1102
t_eq "fail with fail_status 500: 500" "$S_STATUS" 500
t_eq "no Retry-After when retry_after is 0" "$(header Retry-After "$S_HEADERS")" ""

ctl '{"mode":"ok","fail_rate":1,"fail_status":503}'
process 1103
t_eq "ok with fail_rate 1: 503" "$S_STATUS" 503
ctl '{"fail_rate":0}'
process 1103
t_eq "ok with fail_rate 0 again: 200" "$S_STATUS" 200
t_eq "the failed call before did not count as an effect: calls_for_key 2, one result" \
	"$(json .calls_for_key "$S_BODY")" 2

# --- /control refuses nonsense and changes nothing then

scall POST /control -d '{"mode":"sideways"}'
t_eq "control: an unknown mode is 400" "$S_STATUS" 400
scall POST /control -d '{"fail_rate":2}'
t_eq "control: fail_rate 2 is 400" "$S_STATUS" 400
scall POST /control -d '{"mode":"fail","delay_mss":1}'
t_eq "control: an unknown setting is 400" "$S_STATUS" 400
t_eq "control: a refused update changes nothing" "$(ctl_get .mode)" ok

# --- async: 202 with status_url, 202 while processing, 200 after delay_ms

ctl '{"mode":"async","delay_ms":5000}'
effects_before=$(ctl_get .effects)
process 1201
t_eq "async: POST answers 202" "$S_STATUS" 202
status_url=$(json .status_url "$S_BODY")
t_eq "async: status_url" "$status_url" "$STUB/status/1201"
scall GET /status/1201
t_eq "async: status answers 202 while processing" "$S_STATUS" 202
t_eq "async: status says processing" "$(json .status "$S_BODY")" processing
process 1201
t_eq "async: the same key again is 202 too" "$S_STATUS" 202
wait_until 20 eval '[[ $(curl -s -o /dev/null -w "%{http_code}" --max-time 5 "$status_url") == 200 ]]'
out=$(curl -s -o "$T_TMP/status.json" -w '%{http_code}' --max-time 10 "$status_url")
t_eq "async: status answers 200 after delay_ms" "$out" 200
t_eq "async: the result has the key" "$(json .idempotency_key "$T_TMP/status.json")" 1201
t_eq "async: one effect for two POSTs" "$(ctl_get .effects)" $((effects_before + 1))
scall GET /status/no-such-key
t_eq "async: an unknown key is 404" "$S_STATUS" 404

# --- stall, garbage, down

ctl '{"mode":"stall","delay_ms":0}'
process 1301 --max-time 1
t_eq "stall: curl --max-time 1 times out (exit 28)" "$S_RC" 28
scall GET /healthz
t_eq "stall: the stub still serves /healthz" "$S_STATUS" 200

ctl '{"mode":"garbage"}'
process 1302
t_eq "garbage: 200" "$S_STATUS" 200
if jq -e . "$S_BODY" >/dev/null 2>&1; then
	t_fail "garbage: the body is not JSON" "$(head -c 200 "$S_BODY")"
else
	t_pass "garbage: the body is not JSON"
fi

ctl '{"mode":"down"}'
process 1303
t_eq "down: curl gets an empty reply (exit 52)" "$S_RC" 52
scall GET /control
t_eq "down: /control still answers" "$S_STATUS" 200
t_eq "down: /control says down" "$(json .mode "$S_BODY")" down

# --- status_url and redirect: what a 202 or a 307 points at

ctl '{"mode":"async","delay_ms":0,"status_url":"/status/{key}"}'
process 1501
t_eq "status_url /status/{key}: POST answers 202" "$S_STATUS" 202
t_eq "status_url /status/{key}: a relative status_url with the key" "$(json .status_url "$S_BODY")" /status/1501
ctl '{"status_url":"http://127.0.0.2:1/elsewhere/{key}?x=1"}'
process 1502
t_eq "status_url on another host: as set, the key filled in" "$(json .status_url "$S_BODY")" \
	"http://127.0.0.2:1/elsewhere/1502?x=1"
ctl '{"mode":"redirect"}'
process 1503
t_eq "redirect: POST answers 307" "$S_STATUS" 307
t_eq "redirect: Location is the status_url" "$(header Location "$S_HEADERS")" "http://127.0.0.2:1/elsewhere/1503?x=1"
scall GET /status/1501
t_eq "redirect: a status poll answers 307 too" "$S_STATUS" 307
scall POST /control -d '{"status_url":"http://x/\r\nSet-Cookie: a=b"}'
t_eq "control: a status_url with control characters is 400" "$S_STATUS" 400
ctl '{"mode":"async","status_url":""}'
process 1504
t_eq "status_url \"\": the stub's own /status/<key> again" "$(json .status_url "$S_BODY")" "$STUB/status/1504"

# --- body: canned bad answers in place of results and injected failures

# has_bytes FILE STRING...: every STRING (raw bytes) is in FILE
has_bytes() {
	local f=$1 b
	shift
	for b in "$@"; do
		LC_ALL=C grep -qF -- "$b" "$f" || return 1
	done
}

ctl '{"mode":"fail","fail_status":500}'
process 1601
t_eq "an injected failure is {\"error\":{\"code\",\"message\"}}" \
	"$(jq -r '.error.code + "|" + (.error.message | type)' "$S_BODY")" "injected_failure|string"
ctl '{"body":"html"}'
process 1602
t_eq "body html on fail: 500" "$S_STATUS" 500
t_eq "body html: Content-Type text/html" "$(header Content-Type "$S_HEADERS")" text/html
t_ok "body html: a script and raw control bytes (ESC, BEL)" has_bytes "$S_BODY" '<script>' $'\e[2J' $'\a'
ctl '{"body":"nasty"}'
process 1603
t_eq "body nasty: a JSON error whose code has markup and a BEL" "$(json .error.code "$S_BODY")" $'bad\a<b>code</b>'
t_match "body nasty: its message has a script and an escape sequence" "$(json .error.message "$S_BODY")" \
	$'^<script>alert.*\e\\[31m'
ctl '{"mode":"ok","body":"array"}'
process 1604
t_eq "body array on ok: 200 with a JSON array" "$S_STATUS $(jq -r type "$S_BODY")" "200 array"
ctl '{"body":"deep"}'
process 1605
t_eq "body deep: JSON 100 levels deep" "$(jq '[paths | length] | max + 1' "$S_BODY")" 100
ctl '{"body":"large"}'
process 1606
t_eq "body large: a 100 KiB JSON object" "$(jq -r type "$S_BODY") $(wc -c <"$S_BODY")" "object 102400"
ctl '{"body":"huge"}'
process 1607
t_eq "body huge: a 2 MB JSON object" "$(wc -c <"$S_BODY")" 2000000
ctl '{"body":"controls"}'
process 1608
# (raw control bytes in a string are not JSON to jq; json-c takes them)
t_ok "body controls: a JSON object with raw control bytes in a string" \
	has_bytes "$S_BODY" '{"status":"done","note":"tab'$'\t''here'$'\x01\e[2J'
ctl '{"mode":"async","delay_ms":0,"body":"array"}'
process 1609
scall GET /status/1609
t_eq "body array: a status poll's 200 carries it too" "$S_STATUS $(jq -r type "$S_BODY")" "200 array"
scall POST /control -d '{"body":"sideways"}'
t_eq "control: an unknown body is 400" "$S_STATUS" 400
ctl '{"mode":"ok","body":"normal"}'
process 1610
t_eq "body normal: the result again" "$(json .idempotency_key "$S_BODY")" 1610

# --- delays

ctl '{"mode":"ok","delay_ms":300}'
process 1401
t_eq "delay_ms 300: 200" "$S_STATUS" 200
t_lt "delay_ms 300: takes >= 0.3 s" 299 "$(awk -v t="$S_TIME" 'BEGIN { printf "%d", t * 1000 }')"

# A lost answer: the client gives up before the delay runs out; the effect is
# made anyway, and the retry with the same key gets the stored result.
ctl '{"delay_ms":1000}'
effects_before=$(ctl_get .effects)
process 1402 --max-time 0.3
t_eq "lost answer: the client timed out" "$S_RC" 28
wait_until 10 eval '[[ $(ctl_get .effects) == $((effects_before + 1)) ]]'
t_eq "lost answer: the effect was still made" "$(ctl_get .effects)" $((effects_before + 1))
ctl '{"delay_ms":0}'
process 1402
t_eq "lost answer: the retry is 200" "$S_STATUS" 200
t_eq "lost answer: the retry is the second call of the key" "$(json .calls_for_key "$S_BODY")" 2
t_eq "lost answer: still one effect" "$(ctl_get .effects)" $((effects_before + 1))

# --- the call log: one line per /process call, never two effects for a key

calls=$(ctl_get .calls)
t_eq "call log: one line per /process call" "$(wc -l <"$STUB_LOG")" "$calls"
twice=$(awk '/ effect=new/ { for (i = 1; i <= NF; i++) if ($i ~ /^key=/) n[$i]++ }
	END { for (k in n) if (n[k] > 1) print k }' "$STUB_LOG")
t_eq "call log: no key has two effect=new lines" "$twice" ""
t_eq "call log: key 1001 has one new and one repeat" \
	"$(grep ' key=1001 ' "$STUB_LOG" | grep -o 'effect=[a-z]*' | tr '\n' ' ')" \
	"effect=new effect=repeat "
t_match "call log: the lost answer is marked" "$(grep ' key=1402 ' "$STUB_LOG" | head -n 1)" \
	'answered=200 effect=new client=gone'
t_match "call log: down calls are logged as closed" "$(grep ' key=1303 ' "$STUB_LOG")" \
	'answered=closed effect=none'

# --- 200 concurrent slow calls do not wait for each other

ctl '{"mode":"ok","delay_ms":3000,"reset_counters":true}'
tmpl=$(body 999999 | sed 's/999999/{}/g')
# While the calls are held, the stub's in_flight counter shows how many it
# holds at once: a stub that served them one by one would never pass 1.
( for _ in $(seq 40); do curl -s "$STUB/control" | jq -r .in_flight; sleep 0.1; done ) >"$T_TMP/inflight" &
sampler=$!
# One curl for the 200 calls (--next gives each its own key): 200 curl
# processes take seconds to start on a loaded machine, and the calls would
# then not overlap however well the stub serves them.
calls=()
for ((k = 2001; k <= 2200; k++)); do
	((k > 2001)) && calls+=(--next)
	calls+=(-s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 60
		-H "Idempotency-Key: $k" -H 'Content-Type: application/json' -d "${tmpl//\{\}/$k}" "$STUB/process")
done
curl -s --parallel --parallel-immediate --parallel-max 200 "${calls[@]}" >"$T_TMP/codes" 2>/dev/null
wait "$sampler"
most=$(sort -n "$T_TMP/inflight" | tail -n 1)
printf '# 200 calls with delay_ms 3000: at most %s held at once\n' "$most"
t_eq "concurrent: all 200 calls answered 200" "$(grep -c '^200 ' "$T_TMP/codes")" 200
t_lt "concurrent: delays do not serialise (over 50 calls held at once; saw $most)" 50 "${most:-0}"
t_eq "concurrent: 200 effects" "$(ctl_get .effects)" 200
t_eq "concurrent: nothing left in flight" "$(ctl_get .in_flight)" 0

# --- SIGTERM: a clean exit 0, even with a call held

ctl '{"mode":"stall"}'
process 2301 --max-time 10 &
held=$!
wait_until 10 eval '[[ $(ctl_get .in_flight) == 1 ]]'
t_eq "a stalled call is in flight" "$(ctl_get .in_flight)" 1
kill -TERM "$STUB_PID"
gone=0
for ((i = 0; i < 100; i++)); do
	if ! kill -0 "$STUB_PID" 2>/dev/null; then
		gone=1
		break
	fi
	sleep 0.1
done
t_eq "SIGTERM: the stub exits within 10 s" "$gone" 1
wait "$STUB_PID"
rc=$?
t_eq "SIGTERM: exit status 0" "$rc" 0
((rc == 0)) || tail -n 20 "$STUB_ERR" | sed 's/^/#   /'
STUB_PID=
wait "$held" 2>/dev/null
t_ok "the stub logged one key=value line per request" grep -q 'msg=call method=POST path=/process status=200' "$STUB_ERR"

t_done
