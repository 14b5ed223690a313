#!/usr/bin/env bash
# 91_tus_js: the reference JavaScript client, tus-js-client (tests/tus-js/),
# uploads a fixture to /v1/uploads in 4 KiB chunks, aborts at 40%, and a new
# Upload of the same file finds the stored URL (findPreviousUploads) and
# resumes it: the second phase sends only what the server lacks, the video
# holds exactly the file's bytes, and the workers take it to processed.
#
# Needs node and npm; `npm install` runs once (tests/tus-js/node_modules/).
. "$(dirname "$0")/lib.sh"

JS=$T_REPO/tests/tus-js
file=$FIX/clip-15s.mp4
size=$(stat -c %s "$file")
sha=$(sha256sum "$file" | cut -d' ' -f1)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	t_fail "node and npm are installed" "apt-get install nodejs npm (tus-js-client 4 needs node >= 18)"
	t_done
fi
if [[ ! -d $JS/node_modules/tus-js-client ]]; then
	# --no-package-lock: nothing is written into the source tree but node_modules/
	if ! (cd "$JS" && npm install --no-audit --no-fund --no-package-lock) >"$T_TMP/npm.log" 2>&1; then
		t_fail "npm install in tests/tus-js" "$(tail -n 20 "$T_TMP/npm.log")"
		t_done
	fi
fi
t_pass "tus-js-client $(cd "$JS" && node -p 'require("tus-js-client/package.json").version') is installed"

# Workers, so the video gets processed (as 85_status_cache starts them).
export VINGEST_DEV_WORKERS=1
"$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1 || t_fail "./dev up" "$(tail -n 20 "$T_TMP/up.log")"
curl -sf -d '{"mode":"ok","delay_ms":0,"fail_rate":0}' "$VINGEST_STUB_URL/control" >/dev/null

out=$(cd "$JS" && node upload.mjs "$VINGEST_URL" "$VINGEST_API_KEY" "$file" 4096 40 2>"$T_TMP/node.err")
rc=$?
t_eq "upload.mjs (abort at 40%, then resume): exit 0" "$rc" 0
if [[ $rc != 0 ]] || ! jq -e . >/dev/null 2>&1 <<<"$out"; then
	t_fail "upload.mjs prints its result as JSON" "stdout: ${out:0:500}" "stderr: $(tail -n 20 "$T_TMP/node.err")"
	t_done
fi
printf '# %s\n' "$out"
r() { jq -r "$1" <<<"$out"; }
t_eq "phase 1 was aborted part-way (past 40%, before the end)" \
	"$(r "(.phase1.aborted_at * 100 >= 40 * .size) and .phase1.aborted_at < .size")" true
t_eq "findPreviousUploads() found the stored upload" "$(r '.previous_uploads >= 1')" true
t_eq "phase 2 resumed the upload phase 1 created" "$(r .phase2.url)" "$(r .phase1.url)"
t_eq "the resuming HEAD reported what phase 1 got in (0 < offset <= bytes sent)" \
	"$(r '.phase2.resume_offset > 0 and .phase2.resume_offset <= .phase1.sent')" true
t_lt "phase 2 sent fewer bytes than the whole file" "$(r .phase2.sent)" "$size"
t_eq "phase 2 sent exactly what the server lacked" "$(r '.phase2.resume_offset + .phase2.sent')" "$size"

url=$(r .url)
id=${url##*/}
if valid_id "$id"; then
	t_pass "the upload URL ends in a video id"
else
	t_fail "the upload URL ends in a video id" "url: $url"
	t_done
fi
api GET "/v1/videos/$id"
t_eq "GET /v1/videos/{id}: 200" "$API_STATUS" 200
t_eq "the video's sha256 is the file's" "$(json .sha256)" "$sha"
t_eq "the video's size is the file's" "$(json .size)" "$size"
t_eq "filename and title from Upload-Metadata" "$(json '[.filename, .title] | join("|")')" \
	"clip-15s.mp4|tus-js-client: clip-15s.mp4"

st=""
for ((i = 0; i < 300; i++)); do
	api GET "/v1/videos/$id"
	st=$(json .status)
	[[ $st == processed || $st == failed ]] && break
	sleep 0.1
done
t_eq "the video reaches processed within 30 s" "$st" processed
t_done
