#!/usr/bin/env bash
# 92_upload_client: vingest-upload, the command-line client, against the
# stack: a tus upload in small chunks stores the file exactly (its sha256) and
# prints the id alone on stdout; --wait follows the video to processed (exit
# 0) or failed (exit 3); ctrl-c keeps the state file and exits 130, and the
# same command then resumes where the server stopped, so the server accepts
# every byte of the file exactly once; --multipart works; a bad key and a
# refused file end with exit 2 and the server's message.
#
# The API key: it is read from --key-file (or $VINGEST_API_KEY), never from
# the command line (-k/--key are refused, and the running client's
# /proc/PID/cmdline holds no key); and it goes to the origin of -u only. A
# fake tus server (socat, below) answers creation with a Location on another
# port, or redirects creation or a PATCH there, and a listener on that port
# records whatever reaches it: nothing may, above all no Authorization
# header. A resume state file naming an upload on that port is not used.
#
# The client is the one built next to vingestctl (build/client/), or
# $VINGEST_UPLOAD_BIN when set (a hand-built one, say).
. "$(dirname "$0")/lib.sh"

CLIENT=${VINGEST_UPLOAD_BIN:-$(dirname "$VINGEST_CTL")/../client/vingest-upload}
if [[ ! -x $CLIENT ]]; then
	t_fail "the client is built" "no executable $CLIENT"
	t_done
fi
STATE=$T_TMP/state
ACCESS_LOG=$VINGEST_VAR/log/$VINGEST_WEB-access.log # the same format for both web servers

# Workers, for --wait (as 85_status_cache starts them).
export VINGEST_DEV_WORKERS=1
"$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1 || t_fail "./dev up" "$(tail -n 20 "$T_TMP/up.log")"
stub() { curl -sf -d "$1" "$VINGEST_STUB_URL/control" >/dev/null; }
stub '{"mode":"ok","delay_ms":0,"fail_rate":0}'

# The client reads VINGEST_URL and VINGEST_API_KEY (lib.sh exports dev.env).
upload() { "$CLIENT" --state-dir "$STATE" "$@"; }
state_files() { find "$STATE" -name '*.upload' 2>/dev/null | wc -l; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# From a -v log: "PATCH URL offset=O length=N sent=S -> 204 upload-offset=X".
# Bytes the server acknowledged (sum of X - O over the 204s), bytes put on
# the wire (sum of S), the last acknowledged offset.
acked() { awk '/ PATCH .* -> 204 / { split($0, a, "upload-offset="); split($0, b, " offset="); n += a[2] - b[2] + 0 } END { print n + 0 }' "$1"; }
wired() { grep ' PATCH ' "$1" | grep -o ' sent=[0-9]*' | cut -d= -f2 | awk '{ n += $1 } END { print n + 0 }'; }
last_acked() { grep ' PATCH .* -> 204 ' "$1" | grep -o 'upload-offset=[0-9]*' | tail -n 1 | cut -d= -f2; }

# ---------------------------------------------------------------- tus, small chunks

file=$FIX/clip-2s.mp4
size=$(stat -c %s "$file")
TITLE='client test — ünïcode'
META='{"via":"vingest-upload","n":[1,2]}'
id=$(upload -v --chunk-size 4096 -t "$TITLE" -m "$META" "$file" 2>"$T_TMP/tus.err")
rc=$?
t_eq "tus, 4 KiB chunks: exit 0" "$rc" 0
[[ $rc == 0 ]] || sed 's/^/#   /' "$T_TMP/tus.err" | tail -n 20
if valid_id "$id"; then
	t_pass "prints the video id alone on stdout"
else
	t_fail "prints the video id alone on stdout" "stdout: '$id'"
fi
t_eq "sent in $(((size + 4095) / 4096)) PATCHes of at most 4 KiB, each acknowledged" \
	"$(grep -c ' PATCH .* length=[0-9]* .* -> 204 ' "$T_TMP/tus.err")" $(((size + 4095) / 4096))
api GET "/v1/videos/$id"
t_eq "GET /v1/videos/{id}: 200" "$API_STATUS" 200
t_eq "the video's sha256 is the file's" "$(json .sha256)" "$(sha_of "$file")"
t_eq "the video's size is the file's" "$(json .size)" "$size"
t_eq "filename is the file's base name" "$(json .filename)" clip-2s.mp4
t_eq "title from -t" "$(json .title)" "$TITLE"
t_eq "metadata from -m" "$(json '.metadata | tojson')" "$(jq -c . <<<"$META")"
t_match "stderr reports the final status" "$(cat "$T_TMP/tus.err")" "stored video $id: $size bytes, SHA-256 verified, status (queued|processing|processed)"
t_eq "not a terminal: progress as plain lines, ending at 100%" \
	"$(grep '^uploaded ' "$T_TMP/tus.err" | tail -n 1)" "uploaded 100% ($size/$size bytes)"
t_eq "no state file is left after success" "$(state_files)" 0

# ---------------------------------------------------------------- --wait

file=$FIX/clip-15s.mp4
id=$(upload --wait --chunk-size 4096 "$file" 2>"$T_TMP/wait.err")
rc=$?
t_eq "--wait: exit 0 once processed" "$rc" 0
[[ $rc == 0 ]] || sed 's/^/#   /' "$T_TMP/wait.err" | tail -n 20
api GET "/v1/videos/$id"
t_eq "--wait: the video is processed when the client returns" "$(json .status)" processed
t_eq "--wait: sha256 is the file's" "$(json .sha256)" "$(sha_of "$file")"
t_match "--wait: stderr follows the status" "$(cat "$T_TMP/wait.err")" "video $id: processed"

# The service refuses the video for good (a 4xx): the job dies, the video fails.
stub '{"mode":"fail","fail_status":422,"delay_ms":0,"fail_rate":0}'
id=$(upload --wait --multipart "$FIX/clip-2s.mov" 2>"$T_TMP/wait-fail.err")
rc=$?
stub '{"mode":"ok","delay_ms":0,"fail_rate":0}'
t_eq "--wait on a video whose processing fails: exit 3" "$rc" 3
t_match "--wait, failed: the id was printed before waiting" "$id" '^[0-9A-Z]{26}$'
t_match "--wait, failed: stderr says failed" "$(cat "$T_TMP/wait-fail.err")" "video $id failed"

# ---------------------------------------------------------------- ctrl-c and resume

big=$T_TMP/big.mp4
make_mp4 $((3 * 1024 * 1024)) "$big"
size=$(stat -c %s "$big")
chunk=65536
# --limit-rate keeps the upload going for about 3 s, time enough to interrupt
# it. (bash starts a background job with SIGINT ignored; the client installs
# its own handler, so the signal still reaches it.)
"$CLIENT" --state-dir "$STATE" -v --chunk-size $chunk --limit-rate 1M "$big" \
	>"$T_TMP/run1.out" 2>"$T_TMP/run1.err" &
pid=$!
pct=0
for ((i = 0; i < 400; i++)); do
	pct=$(grep -o '^uploaded [0-9]*%' "$T_TMP/run1.err" | tail -n 1 | tr -dc '0-9')
	[[ -n $pct ]] && ((pct >= 30)) && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
echo "# SIGINT sent when the progress showed ${pct:-?}%"
t_eq "SIGINT once the progress showed >= 30%: exit 130" "$rc" 130
t_match "SIGINT: says the same command resumes" "$(cat "$T_TMP/run1.err")" 'run the same command again to resume'
t_eq "SIGINT: nothing on stdout" "$(cat "$T_TMP/run1.out")" ""
t_eq "SIGINT: the state file is kept" "$(state_files)" 1
upload_url=$(grep -o ' -> 201 location=.*' "$T_TMP/run1.err" | sed 's/.*location=//')
reached=$(last_acked "$T_TMP/run1.err")
acked1=$(acked "$T_TMP/run1.err")
t_eq "run 1: the acknowledged chunks add up to the last acknowledged offset" "$acked1" "${reached:-none}"
t_lt "run 1 stopped before the end" "${reached:-0}" "$size"
# The PATCH in flight when the signal came: if its body had gone out whole,
# the server may have kept it (checksummed, so all of it or nothing).
stopped=$(grep ' PATCH .* -> stopped ' "$T_TMP/run1.err" | tail -n 1)
st_len=$(grep -o ' length=[0-9]*' <<<"$stopped" | cut -d= -f2)
st_sent=$(grep -o ' sent=[0-9]*' <<<"$stopped" | cut -d= -f2)

id=$(upload -v --chunk-size $chunk "$big" 2>"$T_TMP/run2.err")
rc=$?
t_eq "run 2, the same command: exit 0" "$rc" 0
[[ $rc == 0 ]] || sed 's/^/#   /' "$T_TMP/run2.err" | tail -n 20
t_match "run 2: resumes, does not start over" "$(cat "$T_TMP/run2.err")" 'resuming at [0-9]+%'
t_eq "run 2: no new upload was created" "$(grep -c ' POST ' "$T_TMP/run2.err")" 0
t_eq "run 2: the video is the upload run 1 created" "${upload_url##*/}" "$id"
head_offset=$(grep -o ' HEAD .* -> 200 upload-offset=[0-9]*' "$T_TMP/run2.err" | head -n 1 | sed 's/.*=//')
if [[ $head_offset == "$reached" ]]; then
	t_pass "run 2: HEAD reported the offset run 1 reached ($reached)"
elif [[ -n $st_len && $st_sent == "$st_len" && $head_offset == $((reached + st_len)) ]]; then
	t_pass "run 2: HEAD reported the offset run 1 reached ($reached) plus the chunk in flight, sent whole before the signal"
else
	t_fail "run 2: HEAD reported the offset run 1 reached" "HEAD offset: '$head_offset'" \
		"run 1 acknowledged: '$reached'; in flight: length '$st_len', sent '$st_sent'"
fi
acked2=$(acked "$T_TMP/run2.err")
t_eq "the server accepted the file's bytes once: run 1's + the kept chunk + run 2's = file size" \
	"$((acked1 + (${head_offset:-0} - ${reached:-0}) + acked2))" "$size"
t_lt "on the wire: less than the file plus one chunk (only a chunk cut by the signal is sent twice)" \
	"$(($(wired "$T_TMP/run1.err") + $(wired "$T_TMP/run2.err")))" $((size + chunk + 1))
api GET "/v1/videos/$id"
t_eq "resumed upload: the video's sha256 is the file's" "$(json .sha256)" "$(sha_of "$big")"
t_eq "resumed upload: the video's size is the file's" "$(json .size)" "$size"
t_eq "resumed upload: the state file is gone" "$(state_files)" 0
# What the web server logged (lighttpd buffers its access log for a moment): every
# acknowledged PATCH of this upload carried one chunk, so the number of 204s
# times the chunk size covers the file exactly once.
if [[ -f $ACCESS_LOG ]]; then
	want=$(((size + chunk - 1) / chunk))
	for ((i = 0; i < 50; i++)); do
		n=$(grep -c "\"PATCH /v1/uploads/$id HTTP/[0-9.]*\" 204 " "$ACCESS_LOG")
		((n >= want)) && break
		sleep 0.1
	done
	t_eq "access log: $want PATCHes of this upload answered 204 (file size / chunk size, none twice)" "$n" "$want"
else
	t_pass "access log: not there ($ACCESS_LOG), skipped # SKIP"
fi

# ---------------------------------------------------------------- --multipart

file=$FIX/clip-2s.webm
id=$(upload --multipart -t multipart -m '{"k":"v"}' "$file" 2>"$T_TMP/mp.err")
rc=$?
t_eq "--multipart: exit 0" "$rc" 0
[[ $rc == 0 ]] || sed 's/^/#   /' "$T_TMP/mp.err" | tail -n 20
if valid_id "$id"; then
	t_pass "--multipart: prints the video id"
else
	t_fail "--multipart: prints the video id" "stdout: '$id'"
fi
api GET "/v1/videos/$id"
t_eq "--multipart: the video's sha256 is the file's" "$(json .sha256)" "$(sha_of "$file")"
t_eq "--multipart: title and metadata" "$(json '[.title, .metadata.k] | join(",")')" "multipart,v"
t_eq "--multipart: the file part's media type" "$(json .content_type)" video/webm

# ---------------------------------------------------------------- the key: from a file, never argv

# The first line, with trailing white space (a CRLF file, spaces) dropped.
KEYFILE=$T_TMP/api.key
(
	umask 077
	printf '%s \t\r\nnot the key\n' "$VINGEST_API_KEY" >"$KEYFILE"
)
big=$T_TMP/keyfile.mp4
make_mp4 $((2 * 1024 * 1024)) "$big"
# VINGEST_API_KEY unset: the key can only come from the file. --limit-rate
# keeps the client running for about 2 s, to read its command line.
env -u VINGEST_API_KEY "$CLIENT" --state-dir "$STATE" --chunk-size 65536 --limit-rate 1M \
	--key-file "$KEYFILE" "$big" >"$T_TMP/keyfile.out" 2>"$T_TMP/keyfile.err" &
pid=$!
for ((i = 0; i < 200; i++)); do
	grep -q '^uploaded [1-9]' "$T_TMP/keyfile.err" && break # a PATCH was acknowledged
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
environ=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null)
wait "$pid"
rc=$?
t_eq "--key-file (first line, trailing CR and blanks dropped, no VINGEST_API_KEY): exit 0" "$rc" 0
[[ $rc == 0 ]] || sed 's/^/#   /' "$T_TMP/keyfile.err" | tail -n 20
id=$(cat "$T_TMP/keyfile.out")
api GET "/v1/videos/$id"
t_eq "--key-file: the video is stored, the file's sha256" "$(json .sha256)" "$(sha_of "$big")"
t_match "--key-file: the running client's /proc/PID/cmdline was read" "$cmdline" "--key-file $KEYFILE "
if [[ -n $cmdline && $cmdline != *"$VINGEST_API_KEY"* ]]; then
	t_pass "--key-file: the key is not in the running client's /proc/PID/cmdline"
else
	t_fail "--key-file: the key is not in the running client's /proc/PID/cmdline" "cmdline: '$cmdline'"
fi
t_eq "--key-file: no VINGEST_API_KEY in the client's environment (the key came from the file)" \
	"$(grep -c '^VINGEST_API_KEY=' <<<"$environ")" 0

# The file wins over the environment.
id=$(VINGEST_API_KEY=vgk_not_a_real_key upload --multipart --key-file "$KEYFILE" "$FIX/clip-2s.mp4" 2>"$T_TMP/keyfile2.err")
t_eq "--key-file wins over \$VINGEST_API_KEY (a bad key there): exit 0" "$?" 0

# A key anybody on the machine can read is refused; one its group can read
# is used, with a warning.
chmod 644 "$KEYFILE"
BEFORE=$(snap)
out=$(env -u VINGEST_API_KEY "$CLIENT" --state-dir "$STATE" --key-file "$KEYFILE" "$FIX/clip-2s.mp4" 2>"$T_TMP/keyfile3.err")
t_eq "--key-file readable by every user (644): exit 1" "$?" 1
t_match "--key-file 644: says why and what to do" "$(cat "$T_TMP/keyfile3.err")" "open to every user \\(mode 644\\).*chmod 600"
t_eq "--key-file 644: nothing uploaded (rows, stored files)" "$(snap)" "$BEFORE"
chmod 640 "$KEYFILE"
id=$(env -u VINGEST_API_KEY "$CLIENT" --state-dir "$STATE" --multipart --key-file "$KEYFILE" "$FIX/clip-2s.mp4" 2>"$T_TMP/keyfile4.err")
t_eq "--key-file readable by its group (640): exit 0" "$?" 0
t_match "--key-file 640: a warning" "$(cat "$T_TMP/keyfile4.err")" "warning: the key file .* is open to its group"
chmod 600 "$KEYFILE"
out=$(env -u VINGEST_API_KEY "$CLIENT" --state-dir "$STATE" --key-file "$T_TMP" "$FIX/clip-2s.mp4" 2>"$T_TMP/keyfile5.err")
t_eq "--key-file naming a directory: exit 1" "$?" 1
t_match "--key-file naming a directory: not a regular file" "$(cat "$T_TMP/keyfile5.err")" "is not a regular file"

# A key on the command line is refused in every spelling (--key would
# otherwise pass as an abbreviation of --key-file), before any request.
BEFORE=$(snap)
for form in "-k $VINGEST_API_KEY" "--key $VINGEST_API_KEY" "--key=$VINGEST_API_KEY" "-k$VINGEST_API_KEY"; do
	label=${form//$VINGEST_API_KEY/KEY}
	# shellcheck disable=SC2086 # the form is one or two words
	out=$(upload $form "$FIX/clip-2s.mp4" 2>"$T_TMP/dashk.err")
	rc=$?
	t_eq "$label on the command line: exit 1" "$rc" 1
	t_eq "$label: nothing on stdout" "$out" ""
	t_match "$label: the message says to use --key-file or VINGEST_API_KEY" \
		"$(cat "$T_TMP/dashk.err")" "-k/--key is not accepted.*--key-file FILE.*VINGEST_API_KEY"
done
t_eq "-k/--key: nothing uploaded (rows, stored files)" "$(snap)" "$BEFORE"
t_eq "-k/--key: no state file" "$(state_files)" 0

# ---------------------------------------------------------------- the key stays at its origin

# fake-http MODE LOG: one HTTP connection on stdin/stdout (socat runs one per
# connection): the request line and headers go to LOG, the body is read and
# dropped, and the answer is MODE's:
#   catch           404 to anything: the listener nothing may reach
#   elsewhere       creation: 201, Location on the catcher's port
#   redirect-create creation: 307 to the catcher
#   redirect-patch  creation: 201, Location relative; PATCH: 308 to the catcher
#   same-origin     creation: 201, Location absolute on this origin (scheme
#                   and host in other letter case); PATCH: 204 to the end;
#                   GET /v1/videos/ID: the video, sha256 $FAKE_SHA
# Every answer closes the connection, so each request is one connection.
# (A relative Location is what vingest itself answers: every tus upload
# above follows one.)
cat >"$T_TMP/fake-http" <<'FAKE'
#!/usr/bin/env bash
mode=$1 log=$2 len=0 off=0
IFS= read -r line || exit 0
line=${line%$'\r'}
printf '%s\n' "$line" >>"$log"
while IFS= read -r h; do
	h=${h%$'\r'}
	[[ -z $h ]] && break
	printf '%s\n' "$h" >>"$log"
	case ${h,,} in
	content-length:*) len=${h//[^0-9]/} ;;
	upload-offset:*) off=${h//[^0-9]/} ;;
	esac
done
((len > 0)) && head -c "$len" >/dev/null
read -r method path _ <<<"$line"
answer() { # STATUS [HEADER...]; a body in $body
	local status=$1 hdr
	shift
	printf 'HTTP/1.1 %s\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\n' "$status"
	for hdr in "$@"; do printf '%s\r\n' "$hdr"; done
	printf 'Content-Length: %s\r\n\r\n%s' "${#body}" "$body"
}
body=
id=01FAKE0UPLQAD0000000000000
case $mode:$method in
catch:*) answer '404 Not Found' ;;
elsewhere:POST) answer '201 Created' "Location: http://127.0.0.1:$CATCH_PORT/v1/uploads/$id" ;;
redirect-create:POST) answer '307 Temporary Redirect' "Location: http://127.0.0.1:$CATCH_PORT/v1/uploads" ;;
redirect-patch:POST) answer '201 Created' "Location: /v1/uploads/$id" ;;
redirect-patch:PATCH) answer '308 Permanent Redirect' "Location: http://127.0.0.1:$CATCH_PORT$path" ;;
same-origin:POST) answer '201 Created' "Location: HTTP://LocalHost:$FAKE_PORT/v1/uploads/$id" ;;
same-origin:PATCH) answer '204 No Content' "Upload-Offset: $((off + len))" ;;
same-origin:GET)
	body="{\"id\":\"$id\",\"status\":\"queued\",\"size\":$FAKE_SIZE,\"sha256\":\"$FAKE_SHA\"}"
	answer '200 OK' 'Content-Type: application/json'
	;;
*) answer '400 Bad Request' ;;
esac
FAKE
chmod +x "$T_TMP/fake-http"

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
# listen PORT MODE LOG: socat on 127.0.0.1:PORT running fake-http per
# connection; status 0 once it listens. Sets LISTEN_PID.
listen() {
	local port=$1 i
	LISTEN_PID=
	port_free "$port" || return 1
	: >"$3"
	socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
		"EXEC:$T_TMP/fake-http $2 $3" 2>>"$T_TMP/socat.err" &
	LISTEN_PID=$!
	for ((i = 0; i < 50; i++)); do
		ss -Hltn "sport = :$port" | grep -q . && return 0
		kill -0 "$LISTEN_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
LISTEN_PIDS=()
trap 'kill "${LISTEN_PIDS[@]}" 2>/dev/null; rm -rf -- "$T_TMP"' EXIT

# Two free ports in 18700..18799 (moved by PORT_OFF): the fake tus server and
# the catcher.
FAKE_PORT=''
CATCH_PORT=''
CATCH_LOG=$T_TMP/catch.log FAKE_LOG=$T_TMP/fake.log
for _ in 1 2 3 4 5; do
	port=$((18700 + PORT_OFF + RANDOM % 50))
	if listen "$port" catch "$CATCH_LOG"; then
		CATCH_PORT=$port
		LISTEN_PIDS+=("$LISTEN_PID")
		break
	fi
	[[ -n $LISTEN_PID ]] && kill "$LISTEN_PID" 2>/dev/null
done
for _ in 1 2 3 4 5; do
	FAKE_PORT=$((18750 + PORT_OFF + RANDOM % 50))
	port_free "$FAKE_PORT" && break
done
export CATCH_PORT FAKE_PORT
FAKE=http://127.0.0.1:$FAKE_PORT

# fake_run MODE [client args...]: the client (demo key in the environment)
# against the fake tus server in MODE; sets rc and leaves its stderr in
# $T_TMP/fake.err.
fake_run() {
	local mode=$1 pid
	shift
	listen "$FAKE_PORT" "$mode" "$FAKE_LOG" || echo "# the fake tus server does not listen on $FAKE_PORT"
	pid=$LISTEN_PID
	"$CLIENT" --state-dir "$T_TMP/fake-state" -u "$FAKE" "$@" >"$T_TMP/fake.out" 2>"$T_TMP/fake.err"
	rc=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	wait_until 5 port_free "$FAKE_PORT"
}
# nothing_reached NAME: the catcher got no connection at all (so no key).
nothing_reached() {
	t_eq "$1: nothing reached port $CATCH_PORT (no request)" "$(wc -c <"$CATCH_LOG")" 0
	t_eq "$1: no Authorization header reached port $CATCH_PORT" "$(grep -ci '^authorization:' "$CATCH_LOG")" 0
	: >"$CATCH_LOG"
}

if [[ -z $CATCH_PORT ]]; then
	t_fail "a listener starts on a port in $((18700 + PORT_OFF))..$((18749 + PORT_OFF))" "$(tail -n 5 "$T_TMP/socat.err")"
else
	file=$FIX/clip-2s.mp4

	fake_run elsewhere "$file"
	name="creation answers a Location on another port"
	t_eq "$name: exit 1" "$rc" 1
	t_match "$name: the message names the origin the key is kept to" "$(cat "$T_TMP/fake.err")" \
		"Location http://127.0.0.1:$CATCH_PORT/v1/uploads/.* is not on http://127.0.0.1:$FAKE_PORT: not sending the API key there"
	t_eq "$name: the fake server saw the creation (the client talked to it)" "$(grep -c '^POST /v1/uploads ' "$FAKE_LOG")" 1
	nothing_reached "$name"
	t_eq "$name: no state file names it" "$(find "$T_TMP/fake-state" -name '*.upload' 2>/dev/null | wc -l)" 0

	fake_run redirect-create "$file"
	name="creation answers 307 to another port"
	t_eq "$name: exit 1" "$rc" 1
	t_match "$name: the message says the redirect is not followed" "$(cat "$T_TMP/fake.err")" \
		"HTTP 307, a redirect to http://127.0.0.1:$CATCH_PORT/v1/uploads: not followed"
	nothing_reached "$name"

	fake_run redirect-patch --chunk-size 4096 "$file"
	name="a PATCH answered 308 to another port"
	t_eq "$name: exit 1" "$rc" 1
	t_eq "$name: the fake server saw one PATCH" "$(grep -c '^PATCH /v1/uploads/' "$FAKE_LOG")" 1
	t_match "$name: the message says the redirect is not followed" "$(cat "$T_TMP/fake.err")" \
		"HTTP 308, a redirect to http://127.0.0.1:$CATCH_PORT/v1/uploads/[0-9A-Z]+: not followed"
	nothing_reached "$name"
	rm -rf "$T_TMP/fake-state"

	# The origin compares scheme and host without regard to letter case.
	FAKE_SHA=$(sha_of "$file") FAKE_SIZE=$(stat -c %s "$file")
	export FAKE_SHA FAKE_SIZE
	FAKE=http://localhost:$FAKE_PORT fake_run same-origin --chunk-size 1M "$file"
	name="a Location on the same origin, absolute (HTTP://LocalHost:$FAKE_PORT for -u http://localhost:$FAKE_PORT)"
	t_eq "$name: exit 0" "$rc" 0
	[[ $rc == 0 ]] || sed 's/^/#   /' "$T_TMP/fake.err" | tail -n 20
	t_eq "$name: the PATCH went there with the key" \
		"$(awk '/^[A-Z]+ \// { patch = /^PATCH / } patch' "$FAKE_LOG" | grep -cxF "Authorization: Bearer $VINGEST_API_KEY")" 1
	nothing_reached "$name"

	# A resume state file (as an older client could write one, or edited)
	# naming an upload on the catcher's port, for this file and server.
	file=$FIX/clip-2s.webm
	sha=$(sha_of "$file")
	sfile=$STATE/$(printf '%s %s' "$sha" "${VINGEST_URL%/}" | sha256sum | cut -d' ' -f1).upload
	mkdir -p "$STATE"
	printf 'vingest-upload 1\nurl http://127.0.0.1:%s/v1/uploads/01FAKE0UPLQAD0000000000000\nsize %s\nsha256 %s\nfile %s\n' \
		"$CATCH_PORT" "$(stat -c %s "$file")" "$sha" "$file" >"$sfile"
	id=$(upload -v "$file" 2>"$T_TMP/state-off.err")
	rc=$?
	name="a state file naming an upload on another port"
	t_eq "$name: exit 0" "$rc" 0
	t_eq "$name: the client read that state file" "$(grep -c "state file $sfile\$" "$T_TMP/state-off.err")" 1
	t_match "$name: says it is ignored" "$(cat "$T_TMP/state-off.err")" \
		"names an upload at http://127.0.0.1:$CATCH_PORT/.* which is not on .*: ignoring it and starting a new upload"
	t_eq "$name: a new upload was created instead" "$(grep -c ' POST .* -> 201 ' "$T_TMP/state-off.err")" 1
	api GET "/v1/videos/$id"
	t_eq "$name: the new upload stored the file" "$(json .sha256)" "$sha"
	nothing_reached "$name"
	t_eq "$name: no state file is left" "$(state_files)" 0
fi

# ---------------------------------------------------------------- refusals

API_KEY=vgk_not_a_real_key api GET /v1/videos
msg=$(json .error.message)
for mode in tus multipart; do
	args=()
	[[ $mode == multipart ]] && args=(--multipart)
	out=$(VINGEST_API_KEY=vgk_not_a_real_key upload "${args[@]}" "$FIX/clip-2s.mp4" 2>"$T_TMP/badkey.err")
	rc=$?
	t_eq "bad key ($mode): exit 2" "$rc" 2
	t_eq "bad key ($mode): nothing on stdout" "$out" ""
	if [[ -n $msg ]] && grep -qF -- "$msg" "$T_TMP/badkey.err"; then
		t_pass "bad key ($mode): prints the server's message"
	else
		t_fail "bad key ($mode): prints the server's message" "server: '$msg'" "client: $(cat "$T_TMP/badkey.err")"
	fi
done
t_eq "bad key: no state file" "$(state_files)" 0

out=$(upload --chunk-size 4096 "$FIX/not-a-video.bin" 2>"$T_TMP/refused.err")
rc=$?
t_eq "not a video: exit 2" "$rc" 2
t_match "not a video: the server's reason" "$(cat "$T_TMP/refused.err")" 'unsupported_media'
t_eq "not a video: the state is forgotten (a resume could only be refused again)" "$(state_files)" 0

out=$(upload -m '[1,2]' "$FIX/clip-2s.mp4" 2>"$T_TMP/usage.err")
t_eq "-m with a JSON array: exit 1, before any request" "$?" 1

t_done
