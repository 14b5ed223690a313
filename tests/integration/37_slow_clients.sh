#!/usr/bin/env bash
# 37_slow_clients: no body is taken before its sender is known, and slow
# clients never starve the FastCGI children - through the stack's web server
# (lighttpd or Apache), with the shipped limits (the test stack raises only
# the per-address request rate, which no client here comes near).
#
# Part 1, credentials before body: vingest-drip probe sends a request and
# then its body as fast as the server takes it, watching for the answer, and
# reports how much of the body the server had taken when the answer came.
# Part 2, the siege: 64 slow PATCHes and 64 slow multipart POSTs from one
# user's key, 500 anonymous slow bodies and 500 anonymous slow request heads
# (every one dripping a byte every 5 s, from loopback addresses other than
# 127.0.0.1, reconnecting when cut off), while another user on 127.0.0.1
# uploads a 2 s clip every 0.5 s for a minute and /healthz is asked every
# second. Part 2 runs in the fs and s3 passes (lighttpd and Apache); the db
# pass has the same web server as the fs pass.
. "$(dirname "$0")/lib.sh"

DRIP=$VINGEST_DRIP_BIN
HOSTPORT=${VINGEST_URL#http://}
PORT=${HOSTPORT##*:}
MIB=1048576
CT_MP="Content-Type: multipart/form-data; boundary=vingestdrip"
CT_OCT="Content-Type: application/offset+octet-stream"
TUS="Tus-Resumable: 1.0.0"

# The web server's own spool: nothing of a refused body may land there.
if [[ $VINGEST_WEB == apache ]]; then
	SPOOL=$VINGEST_VAR/apache-spool
else
	SPOOL=$VINGEST_VAR/lighttpd-uploads
fi
spooled() { find "$SPOOL" -type f 2>/dev/null | wc -l; }

# probe NAME WANT_STATUS MAX_BODY_BYTES [vingest-drip probe args...]
probe() {
	local name=$1 want=$2 max=$3 out st sent cont
	shift 3
	out=$("$DRIP" probe -a "$HOSTPORT" -s 127.0.4.1 "$@" 2>&1)
	st=$(sed -n 's/.*status=\([0-9]*\).*/\1/p' <<<"$out")
	sent=$(sed -n 's/.*body_sent_before_answer=\([0-9]*\).*/\1/p' <<<"$out")
	cont=$(sed -n 's/.*continue=\([0-9]*\).*/\1/p' <<<"$out")
	t_eq "$name: $want" "${st:-none}" "$want"
	if [[ $max == 0 ]]; then
		t_eq "$name: refused before any of the body was sent" "${sent:-none}" 0
		t_eq "$name: no 100 Continue came" "${cont:-none}" 0
	else
		t_lt "$name: refused after at most $((max / MIB)) MiB of the body (took ${sent:-?} bytes)" \
			"${sent:-999999999999}" $((max + 1))
	fi
}

# ---------------------------------------------------------------- 1. credentials before body

api POST /v1/uploads -H "$TUS" -H "Content-Length: 0" -H "Upload-Length: $MIB"
TARGET=$(header Location)
t_match "a tus upload to aim anonymous PATCHes at" "$TARGET" '^/v1/uploads/[0-9A-Z]{26}$'
spool_before=$(spooled)
BEFORE=$(snap)
for e in "" --expect; do
	if [[ -z $e ]]; then
		label="no Expect"
		max=$((4 * MIB)) # what socket buffers and the server's first read hold
	else
		label="Expect: 100-continue"
		max=0
	fi
	probe "anonymous 50 MB POST /v1/videos ($label)" 401 $max -l $((50 * MIB)) -H "$CT_MP" $e
	probe "anonymous 50 MB PATCH of an upload ($label)" 401 $max -m PATCH -p "$TARGET" \
		-l $((50 * MIB)) -H "$TUS" -H "$CT_OCT" -H "Upload-Offset: 0" $e
	probe "50 MB POST with a wrong key ($label)" 401 $max -l $((50 * MIB)) -H "$CT_MP" \
		-H "Authorization: Bearer not-a-key" $e
	probe "a POST over the size limit, good key ($label)" 413 $max \
		-l $((2 * TEST_LIMIT_BYTES)) -H "$CT_MP" -H "Authorization: Bearer $VINGEST_API_KEY" $e
	probe "a PATCH over limits.max_chunk_bytes, good key ($label)" 413 $max -m PATCH -p "$TARGET" \
		-l $((17 * MIB)) -H "$TUS" -H "$CT_OCT" -H "Upload-Offset: 0" \
		-H "Authorization: Bearer $VINGEST_API_KEY" $e
done
t_eq "refused bodies left nothing in the web server's spool ($SPOOL)" "$(spooled)" "$spool_before"
t_eq "refused bodies changed nothing (rows, stored files)" "$(snap)" "$BEFORE"
api POST /v1/videos -H "Expect:" -F "file=@$FIX/clip-2s.mp4"
t_eq "the demo key still uploads after the refusals" "$API_STATUS" 201
wait_until 10 grep -q "role=authorizer.*status=401\|role=authorizer refused=401" "$VINGEST_VAR/log/vingest-fcgi.log"
t_ok "the refusals were the authorizer's, from the headers alone (vingest-fcgi.log)" \
	grep -qE 'role=authorizer( refused=401)? method=POST path="/v1/videos" status=(401|200) bytes_in=0' \
	"$VINGEST_VAR/log/vingest-fcgi.log"
api DELETE "$TARGET" -H "$TUS"
t_eq "the upload the PATCHes aimed at is deleted again" "$API_STATUS" 204

# ---------------------------------------------------------------- 2. the siege

if [[ $STORE_BACKEND == db ]]; then
	printf '# the siege runs in the fs (lighttpd) and s3 (Apache) passes; this pass has lighttpd too\n'
	t_done
fi

ATTACKER=$(new_user "siege-attacker-$$")
GOOD=$(new_user "siege-good-$$")
t_match "an attacker's key" "$ATTACKER" '^[A-Za-z0-9_-]{20,}$'
t_match "a good user's key" "$GOOD" '^[A-Za-z0-9_-]{20,}$'

# The attacker's open tus uploads (limits.open_uploads_per_user: 50), each
# made from its own address so the creations stay under the per-address rate.
PATCH_PATHS=()
for ((i = 0; i < 50; i++)); do
	loc=$(curl -sS -o /dev/null -D - --interface "127.0.5.$((i % 200 + 1))" -X POST \
		-H "Authorization: Bearer $ATTACKER" -H "$TUS" -H "Content-Length: 0" -H "Upload-Length: $MIB" \
		"$VINGEST_URL/v1/uploads" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	[[ -n $loc ]] && PATCH_PATHS+=(-p "$loc")
done
t_eq "the attacker opened 50 tus uploads to PATCH slowly" "$((${#PATCH_PATHS[@]} / 2))" 50

srcs() { # srcs PREFIX N: PREFIX.1,...,PREFIX.N
	local i out=
	for ((i = 1; i <= $2; i++)); do out+="${out:+,}$1.$i"; done
	printf '%s' "$out"
}
SIEGE_S=90 # warm-up, a minute of uploads, and slack
"$DRIP" drip -a "$HOSTPORT" -n 64 -s "$(srcs 127.0.1 8)" -m PATCH "${PATCH_PATHS[@]}" \
	-H "Authorization: Bearer $ATTACKER" -H "$TUS" -H "$CT_OCT" -H "Upload-Offset: 0" \
	-l $MIB -i 5 -d $SIEGE_S >"$T_TMP/drip-patch" 2>&1 &
DRIPS=$!
"$DRIP" drip -a "$HOSTPORT" -n 64 -s "$(srcs 127.0.1 8)" -H "Authorization: Bearer $ATTACKER" \
	-H "$CT_MP" -l $((10 * MIB)) -i 5 -d $SIEGE_S >"$T_TMP/drip-post" 2>&1 &
DRIPS+=" $!"
"$DRIP" drip -a "$HOSTPORT" -n 500 -s "$(srcs 127.0.2 16)" -H "$CT_MP" -l $((10 * MIB)) \
	-i 5 -d $SIEGE_S >"$T_TMP/drip-anon-body" 2>&1 &
DRIPS+=" $!"
"$DRIP" drip -a "$HOSTPORT" -n 500 -s "$(srcs 127.0.3 16)" --headers-only -H "$CT_MP" \
	-l $((10 * MIB)) -i 5 -d $SIEGE_S >"$T_TMP/drip-anon-head" 2>&1 &
DRIPS+=" $!"

# Connections the attack holds open at the web server's port (client side).
held() { ss -Htn state established "( dport = :$PORT )" 2>/dev/null | awk '$3 !~ /^127\.0\.0\.1:/' | wc -l; }
wait_until 30 eval '(( $(held) >= 600 ))'
# ... and the web server has taken them all in (Apache adds threads a few
# processes a second): /healthz answers quickly three times in a row.
quick=0
for ((i = 0; i < 60 && quick < 3; i++)); do
	t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 2 "$VINGEST_URL/healthz")
	if awk -v t="${t:-9}" 'BEGIN { exit !(t < 0.5) }'; then quick=$((quick + 1)); else quick=0; fi
	sleep 0.5
done
held_at_start=$(held)

# The good user: an upload every 0.5 s for a minute, /healthz every second.
for ((i = 0; i < 60; i++)); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 2 "$VINGEST_URL/healthz" >>"$T_TMP/health" &
	sleep 1
done &
HEALTH=$!
for ((i = 0; i < 120; i++)); do
	curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 \
		-H "Authorization: Bearer $GOOD" -F "file=@$FIX/clip-2s.mp4" \
		"$VINGEST_URL/v1/videos" >>"$T_TMP/good" &
	sleep 0.5
	((i == 60)) && held_midway=$(held)
done
wait $HEALTH
wait_until 15 eval '(( $(wc -l <"$T_TMP/good") >= 120 ))'
# shellcheck disable=SC2086 # a list of pids
kill $DRIPS 2>/dev/null
# shellcheck disable=SC2086
wait $DRIPS 2>/dev/null

for f in patch post anon-body anon-head; do
	printf '# drip %s: %s\n' "$f" "$(tail -n 1 "$T_TMP/drip-$f" 2>/dev/null)"
done
t_lt "the siege held at least 600 connections open when the uploads began (held $held_at_start)" \
	599 "${held_at_start:-0}"
t_lt "... and still did half-way through (held ${held_midway:-?})" 599 "${held_midway:-0}"
t_eq "the good user's uploads: 120 answers" "$(wc -l <"$T_TMP/good")" 120
t_eq "the good user's uploads: every one 201" "$(awk '$1 != 201' "$T_TMP/good" | wc -l)" 0
awk '$1 != 201' "$T_TMP/good" | head -5 | sed 's/^/#   /'
p99=$(awk '{print $2}' "$T_TMP/good" | sort -n | awk '{v[NR] = $1} END {i = int(NR * 0.99 + 0.999); print v[i]}')
median=$(awk '{print $2}' "$T_TMP/good" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
printf '# good uploads: median %s s, p99 %s s; the slowest (upload number, seconds): %s\n' "$median" "$p99" \
	"$(awk '{print NR, $2}' "$T_TMP/good" | sort -k2 -rn | head -n 5 | tr '\n' ' ')"
t_ok "the good user's uploads: p99 under 2 s (p99 $p99 s, median $median s)" \
	awk -v p="${p99:-99}" 'BEGIN { exit !(p < 2) }'
t_lt "/healthz was asked throughout (answers: $(wc -l <"$T_TMP/health"))" 54 "$(wc -l <"$T_TMP/health")"
t_eq "/healthz answered 200 every time" "$(grep -cv '^200$' "$T_TMP/health")" 0
t_eq "nothing of the attacker's slow uploads was stored" \
	"$(sql "SELECT COUNT(*) FROM videos v JOIN users u ON u.id = v.user_id WHERE u.name = 'siege-attacker-$$'")" 0
t_match "anonymous slow bodies were refused with 401" "$(tail -n 1 "$T_TMP/drip-anon-body")" 'status_401=[0-9]+'
# The attacker's open uploads go, so that later tests find staging empty.
for loc in "${PATCH_PATHS[@]}"; do
	[[ $loc == -p ]] && continue
	curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $ATTACKER" -H "$TUS" "$VINGEST_URL$loc"
done
t_eq "the attacker's tus uploads are gone again" \
	"$(sql "SELECT COUNT(*) FROM uploads u JOIN users s ON s.id = u.user_id WHERE s.name = 'siege-attacker-$$'")" 0
t_done
