#!/usr/bin/env bash
# 99_php_example: examples/php, the site a client developer starts from, run
# end to end under php-fpm behind lighttpd against the stack. The site's PHP
# asks for an upload URL with its key and renders a page that knows only
# that URL; a visitor (curl, no credentials) uploads through the page's
# form action and, resumably, through tus-js-client at the same kind of URL;
# vingest's webhooks reach the site's webhook.php, which checks every
# signature, keeps each event once, and refuses a forged or replayed-late
# one; status.php shows what the site was told. Runs in the fs pass (it
# tests the example, not the store).
. "$(dirname "$0")/lib.sh"

if [[ $STORE_BACKEND != fs ]]; then
	echo "# 99_php_example: does not depend on the store; it runs in the fs pass (./dev test --store fs)"
	t_done
fi
PHP_FPM=$(command -v php-fpm8.2 || command -v php-fpm || true)
t_ok "php-fpm and php are installed (tools/packages.sh)" test -x "$PHP_FPM" -a -x "$(command -v php)"

export VINGEST_DEV_WORKERS=1
EX=$T_REPO/examples/php
D=$T_TMP/php
mkdir -p "$D/data" "$D/up"
SITE_PORT=$((18600 + PORT_OFF))
supervisor() { tr -dc '0-9' <"$VINGEST_WORKERS_PID_FILE" 2>/dev/null; }
restart_workers() { # VAR=value...: the workers again, with these settings
	local sup
	sup=$(supervisor)
	if [[ -n $sup ]]; then
		kill -TERM "$sup"
		wait_until 30 eval '! kill -0 '"$sup"' 2>/dev/null' || return 1
	fi
	env "$@" "$VINGEST_DEV" up >>"$T_TMP/up.log" 2>&1 || return 1
	wait_until 15 eval '[[ -n $(supervisor) && $(supervisor) != "$sup" ]]'
}
stop_site() {
	kill "$(cat "$D/fpm.pid" 2>/dev/null)" "$(cat "$D/lighttpd.pid" 2>/dev/null)" 2>/dev/null
}
trap 'stop_site; restart_workers >/dev/null 2>&1' EXIT

# The site's user and key; the webhook endpoint on the site, on loopback,
# which the workers reach only with webhooks.allow_private = 1.
KEY=$(new_user phpsite)
t_ok "the workers restart with webhooks.allow_private = 1" restart_workers VINGEST_WEBHOOKS_ALLOW_PRIVATE=1
SECRET=$(VINGEST_API=$VINGEST_URL VINGEST_API_KEY=$KEY EXAMPLE_DATA_DIR=$D/data \
	php "$EX/register-webhook.php" "http://127.0.0.1:$SITE_PORT/webhook.php")
t_match "register-webhook.php prints the new signing secret" "$SECRET" '^whsec_[0-9a-f]{64}$'

cat >"$D/fpm.conf" <<CONF
[global]
pid = $D/fpm.pid
error_log = $D/fpm.log
daemonize = yes
[site]
listen = $D/fpm.sock
pm = static
pm.max_children = 2
clear_env = yes
env[VINGEST_API] = $VINGEST_URL
env[VINGEST_API_KEY] = $KEY
env[VINGEST_WEBHOOK_SECRET] = $SECRET
env[EXAMPLE_DATA_DIR] = $D/data
catch_workers_output = yes
CONF
cat >"$D/lighttpd.conf" <<CONF
server.modules = ("mod_fastcgi")
server.document-root = "$EX"
server.bind = "127.0.0.1"
server.port = $SITE_PORT
server.pid-file = "$D/lighttpd.pid"
server.errorlog = "$D/lighttpd.err"
server.upload-dirs = ("$D/up")
index-file.names = ("index.php")
fastcgi.server = (".php" => (("socket" => "$D/fpm.sock", "check-local" => "enable")))
CONF
t_ok "php-fpm starts (as root: -R, a test only)" "$PHP_FPM" -R -y "$D/fpm.conf"
t_ok "lighttpd starts in front of it" lighttpd -f "$D/lighttpd.conf"
SITE=http://127.0.0.1:$SITE_PORT
t_ok "the site answers" wait_until 10 curl -sf -o /dev/null "$SITE/status.php?id=00000000000000000000000000"

# ---- the page: an upload URL, and nothing of the key
page=$T_TMP/page.html
st=$(curl -s -o "$page" -w '%{http_code}' "$SITE/index.php?title=From%20the%20PHP%20site")
t_eq "the upload page renders" "$st" 200
url=$(sed -n 's/.*<form id="plain" method="post" action="\([^"]*\)".*/\1/p' "$page" | sed 's/&amp;/\&/g')
vid=$(sed -n 's/.*<code id="video-id">\([0-9A-Z]*\)<\/code>.*/\1/p' "$page")
t_match "the form posts to the upload URL vingest handed out" "$url" "^$VINGEST_URL/v1/upload-urls/$vid\\.[0-9a-f]{64}\$"
t_ok "the page holds the tus endpoint too" grep -qF "const endpoint = \"$url\"" "$page"
t_ok "the page does not hold the key" eval '! grep -qF "$KEY" "$page"'
t_eq "vingest has the grant, for the site's user, with the page's title" \
	"$(sql "SELECT CONCAT(u.name, '|', g.title) FROM upload_grants g JOIN users u ON u.id = g.user_id WHERE g.id = '$(sqlq "$vid")'")" \
	"phpsite|From the PHP site"

# ---- a visitor uploads with the form: no credentials
st=$(curl -s -o "$T_TMP/up.json" -w '%{http_code}' -F "file=@$FIX/clip-2s.mp4;type=video/mp4" "$url")
t_eq "the form's upload answers 201 with the promised id" "$st $(jq -r .id "$T_TMP/up.json")" "201 $vid"
t_ok "the site is told video.stored and video.processed, signatures checked" \
	wait_until 60 eval '[[ $(curl -s "$SITE/status.php?id=$vid" | jq -r "[.events[].type] | sort | join(\",\")") == video.processed,video.stored ]]'
t_eq "status.php asks vingest with the key: processed, titled by the page" \
	"$(curl -s "$SITE/status.php?id=$vid" | jq -r .status)|$(API_KEY=$KEY api GET "/v1/videos/$vid" && json .title)" \
	"processed|From the PHP site"
t_eq "a second upload through the same page is refused" \
	"$(curl -s -o /dev/null -w '%{http_code}' -F "file=@$FIX/clip-2s.mp4;type=video/mp4" "$url")" 410

# ---- resumably: tus-js-client at a fresh page's URL
curl -s -o "$page" "$SITE/index.php"
url2=$(sed -n 's/.*const endpoint = "\([^"]*\)".*/\1/p' "$page")
vid2=$(sed -n 's/.*<code id="video-id">\([0-9A-Z]*\)<\/code>.*/\1/p' "$page")
TUSJS=$T_REPO/tests/tus-js
if [[ ! -d $TUSJS/node_modules/tus-js-client ]]; then
	(cd "$TUSJS" && npm ci --no-audit --no-fund >"$T_TMP/npm.log" 2>&1)
fi
# interrupted at 40 % and resumed from the offset the URL's upload reports
tusout=$(TUS_ENDPOINT=$url2 node "$TUSJS/upload.mjs" "$VINGEST_URL" - "$FIX/clip-15s.mp4" 8192 40 2>"$T_TMP/tus-js.err")
t_ok "tus-js-client uploads through the page's URL, no credentials, resumed after an abort" \
	eval '[[ $(jq -r ".phase2.resume_offset > 0" <<<"$tusout" 2>/dev/null) == true ]]'
t_eq "the video is the file, under the id the page promised" \
	"$(sql "SELECT sha256 FROM videos WHERE id = '$(sqlq "$vid2")'")" "$(sha256sum <"$FIX/clip-15s.mp4" | cut -d' ' -f1)"
t_ok "and the site hears of it" \
	wait_until 60 eval 'curl -s "$SITE/status.php?id=$vid2" | jq -e "[.events[].type] | index(\"video.stored\")" >/dev/null'

# ---- webhook.php believes only what is signed, and keeps each event once
ev=$(ls "$D/data/events" | head -n 1)
body=$(cat "$D/data/events/$ev")
sign() { printf '%s.%s' "$1" "$2" | openssl dgst -sha256 -hmac "$SECRET" | awk '{ print $NF }'; }
post() { curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H "Vingest-Signature: $1" --data-binary "$2" "$SITE/webhook.php"; }
now=$(date +%s)
t_eq "an event signed under another secret: 400" "$(post "t=$now,v1=$(SECRET=whsec_other sign "$now" "$body")" "$body")" 400
t_eq "a body changed after signing: 400" "$(post "t=$now,v1=$(sign "$now" "$body")" "${body/video./video.x}")" 400
old=$((now - 3600))
t_eq "a signature an hour old (a replay): 400" "$(post "t=$old,v1=$(sign "$old" "$body")" "$body")" 400
t_eq "no signature: 400" "$(post "" "$body")" 400
n=$(ls "$D/data/events" | wc -l)
t_eq "the same event again, signed now: acknowledged (200), not kept twice" \
	"$(post "t=$now,v1=$(sign "$now" "$body")" "$body") $(ls "$D/data/events" | wc -l)" "200 $n"
t_eq "vingest's own repeat would be acknowledged too: each event file once per id" \
	"$(cat "$D/data/videos/"*.log | awk '{ print $2 }' | sort | uniq -d)" ""
t_done
