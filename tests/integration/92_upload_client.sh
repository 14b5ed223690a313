#!/usr/bin/env bash
# 92_upload_client: vingest-upload, the command-line client, against the
# stack: a tus upload in small chunks stores the file exactly (its sha256) and
# prints the id alone on stdout; --wait follows the video to processed (exit
# 0) or failed (exit 3); ctrl-c keeps the state file and exits 130, and the
# same command then resumes where the server stopped, so the server accepts
# every byte of the file exactly once; --multipart works; a bad key and a
# refused file end with exit 2 and the server's message.
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

# ---------------------------------------------------------------- refusals

API_KEY=vgk_not_a_real_key api GET /v1/videos
msg=$(json .error.message)
for mode in tus multipart; do
	args=()
	[[ $mode == multipart ]] && args=(--multipart)
	out=$(upload -k vgk_not_a_real_key "${args[@]}" "$FIX/clip-2s.mp4" 2>"$T_TMP/badkey.err")
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
