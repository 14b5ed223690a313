#!/usr/bin/env bash
# 93_browser: the plain HTML upload page works in a real browser. Headless
# Chromium (Debian's chromium, driven by playwright-core from tests/browser/)
# loads index.html from the web server at /vingest/, posts a fixture through
# the form with HTTP Basic credentials (the API key as password), follows the
# 303 See Other to /vingest/status.html, and watches the status reach `processed`
# (workers are started). The screenshot is the test's artifact:
# $VINGEST_VAR/log/93_browser.png. Also checked with curl: the form post's
# redirect, the Basic challenge for page navigations, and that the FastCGI
# mappings do not swallow the static pages.
. "$(dirname "$0")/lib.sh"

JS=$T_REPO/tests/browser
SHOT=$VINGEST_VAR/log/93_browser.png

# ---- the web server serves the page at /vingest/; the API keeps its paths
api GET /
t_match "GET / redirects to the upload page (./dev's web server is vingest's alone)" "$API_STATUS" '^30[12]$'
t_eq "... at /vingest/" "$(header Location | sed 's|^http://[^/]*||')" /vingest/
api GET /vingest/
t_eq "GET /vingest/ answers 200 (index.html, served by the web server)" "$API_STATUS" 200
t_match "... as text/html" "$(header Content-Type)" '^text/html'
t_ok "... and it is the upload form posting multipart to /v1/videos" \
	grep -q '<form id="upload" method="post" action="/v1/videos" enctype="multipart/form-data">' "$API_BODY"
t_ok "... whose style sheet is linked relatively (the page works wherever it is served from)" \
	grep -q '<link rel="stylesheet" href="vingest.css">' "$API_BODY"
api GET /vingest/status.html
t_eq "GET /vingest/status.html answers 200" "$API_STATUS" 200
api GET /vingest/status.js
t_eq "GET /vingest/status.js answers 200" "$API_STATUS" 200
api GET /healthz
t_eq "/healthz still reaches vingest-fcgi" "$(json .status)" ok

# ---- the form post, as curl would make it
origin=$VINGEST_URL
API_KEY= api POST /v1/videos -H "Accept: text/html,application/xhtml+xml" -H "Origin: $origin" \
	-F "file=@$FIX/clip-2s.mp4"
t_eq "an unauthenticated page post answers 401" "$API_STATUS" 401
t_match "... with a Basic challenge, so the browser asks for the key" \
	"$(grep -i '^WWW-Authenticate:' "$API_HEADERS" | tr -d '\r')" 'Basic realm="vingest"'
# (lighttpd sends the Bearer and Basic challenges as two headers, Apache joins
# them into one comma-separated header; browsers read either.)
API_KEY= api POST /v1/videos -H "Accept: application/json" -F "file=@$FIX/clip-2s.mp4"
t_eq "an API client without a key gets no Basic challenge (no password dialog in apps)" \
	"$(grep -ci '^WWW-Authenticate: Basic' "$API_HEADERS")" 0
API_KEY= api POST /v1/videos -u "demo:$VINGEST_API_KEY" -H "Accept: text/html,*/*;q=0.8" \
	-H "Origin: $origin" -F "file=@$FIX/clip-2s.mp4" -F "title=form"
t_eq "a Basic-authenticated form post accepting text/html answers 303 See Other" "$API_STATUS" 303
loc=$(header Location)
t_match "... to the status page of the new video" "$loc" '^/vingest/status\.html\?id=[0-9A-HJKMNP-TV-Z]{26}$'
rid=${loc#*id=}
t_eq "... and the video exists" "$(sql "SELECT COUNT(*) FROM videos WHERE id = '$(sqlq "$rid")'")" 1
API_KEY= api POST /v1/videos -u "demo:$VINGEST_API_KEY" -H "Accept: text/html" \
	-H "Origin: http://evil.example" -F "file=@$FIX/clip-2s.mp4"
t_eq "a Basic-authenticated post from another origin answers 403 (CSRF)" "$API_STATUS" 403
api POST /v1/videos -H "Accept: text/html" -F "file=@$FIX/clip-2s.mp4"
t_eq "a Bearer post accepting text/html still gets 201 and JSON" "$API_STATUS" 201

# ---- the real browser
export VINGEST_DEV_WORKERS=1
if ! "$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1; then
	t_fail "./dev up starts vingest-workers" "$(tail -n 20 "$T_TMP/up.log")"
	t_done
fi
if ! command -v chromium >/dev/null; then
	echo "# installing Debian's chromium (once)"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >"$T_TMP/apt.log" 2>&1; then
		t_fail "chromium is installed (apt-get install chromium)" "$(tail -n 20 "$T_TMP/apt.log")"
		t_done
	fi
fi
if [[ ! -d $JS/node_modules/playwright-core ]]; then
	echo "# npm install in tests/browser (once)"
	if ! (cd "$JS" && npm install --no-audit --no-fund --no-package-lock) >"$T_TMP/npm.log" 2>&1; then
		t_fail "npm install in tests/browser" "$(tail -n 20 "$T_TMP/npm.log")"
		t_done
	fi
fi
rm -f -- "$SHOT"
out=$(cd "$JS" && timeout 180 node upload.mjs "$VINGEST_URL" "$VINGEST_API_KEY" "$FIX/clip-2s.mp4" "$SHOT" 2>"$T_TMP/node.err" | tail -n 1)
echo "# browser: $out"
if ! jq -e . >/dev/null 2>&1 <<<"$out"; then
	t_fail "the browser script ran" "$(tail -n 20 "$T_TMP/node.err")"
	t_done
fi
t_eq "the browser ran without an error" "$(jq -r '.error // ""' <<<"$out")" ""
t_eq "Chromium loaded index.html (200)" "$(jq -r .index_status <<<"$out")" 200
# (the 401 challenge and the retry with credentials happen inside Chromium;
# the page sees the final answer)
t_eq "the browser's form post (with Basic credentials) was answered 303" "$(jq -r '.posts | last' <<<"$out")" 303
bid=$(jq -r .id <<<"$out")
t_match "the browser followed the redirect to /vingest/status.html?id=<new video>" "$(jq -r .final_url <<<"$out")" \
	"/vingest/status\\.html\\?id=$bid\$"
t_eq "the status page shows processed" "$(jq -r .status_text <<<"$out")" processed
t_eq "the status page shows the title typed in the form" "$(jq -r .title_text <<<"$out")" "Uploaded from a browser"
if valid_id "$bid"; then
	t_eq "in SQL: the browser's video is processed, with its title and filename" \
		"$(sql "SELECT status, title, filename FROM videos WHERE id = '$bid'")" \
		"processed	Uploaded from a browser	clip-2s.mp4"
else
	t_fail "the browser's upload produced a video id" "id: '$bid'"
fi
t_ok "the screenshot was saved as the test's artifact ($SHOT)" test -s "$SHOT"

t_done
