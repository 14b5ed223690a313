#!/usr/bin/env bash
# 55_master: vingest-fcgi on a TCP socket behind lighttpd; SIGHUP reloads
# the configuration and rolls the children (a bad file is refused and the
# old one kept); SIGTERM drains and exits, removing nothing it should keep.
. "$(dirname "$0")/lib.sh"

unset VINGEST_HTTP_PROCESSES VINGEST_HTTP_LISTEN # the file decides here
fport=$((19300 + PORT_OFF + RANDOM % 100))
hport=$((18300 + PORT_OFF + RANDOM % 100))
dir=$T_TMP/m
mkdir -p "$dir/uploads"
conf=$dir/vingest.conf
cp "$VINGEST_CONFIG" "$conf"
# Our own listen address and process count, in the file (SIGHUP re-reads it).
grep -q '^processes = ' "$conf" || sed -i '/^\[http\]/a processes = 16' "$conf"
sed -i -e "s|^listen = .*|listen = 127.0.0.1:$fport|" -e 's|^processes = .*|processes = 2|' "$conf"
cat >"$dir/lighttpd.conf" <<CONF
server.modules = ("mod_fastcgi")
server.document-root = "$dir"
server.bind = "127.0.0.1"
server.port = $hport
server.pid-file = "$dir/lighttpd.pid"
server.errorlog = "$dir/lighttpd.err"
server.upload-dirs = ("$dir/uploads")
fastcgi.server = ( "/" => (( "host" => "127.0.0.1", "port" => $fport, "check-local" => "disable" )) )
CONF
"$VINGEST_FCGI_BIN" -c "$conf" 2>"$dir/fcgi.log" &
master=$!
trap 'kill "$master" "$(cat "$dir/lighttpd.pid" 2>/dev/null)" 2>/dev/null; rm -rf -- "$T_TMP"' EXIT
for ((i = 0; i < 50; i++)); do
	ss -ltn | grep -q "127.0.0.1:$fport " && break
	sleep 0.1
done
lighttpd -f "$dir/lighttpd.conf"
VINGEST_URL=http://127.0.0.1:$hport
for ((i = 0; i < 50; i++)); do curl -sf -o /dev/null "$VINGEST_URL/healthz" && break; sleep 0.1; done

t_ok "the master listens on TCP 127.0.0.1:$fport" eval 'ss -ltnp | grep "127.0.0.1:$fport .*pid=$master," >/dev/null'
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "an upload through lighttpd over FastCGI-on-TCP: 201" "$API_STATUS" 201
kids() { pgrep -P "$master" | sort -n; }
wait_kids() { for ((i = 0; i < 50; i++)); do [[ $(kids | grep -c .) == "$1" ]] && return 0; sleep 0.1; done; return 1; }
t_ok "2 children (http.processes in the file)" wait_kids 2

# SIGHUP with a changed file: reloaded, children rolled over to it.
before=$(kids)
sed -i 's|^processes = .*|processes = 3|' "$conf"
kill -HUP "$master"
t_ok "after SIGHUP with processes = 3 there are 3 children" wait_kids 3
t_eq "none of the old children is left" "$(comm -12 <(echo "$before") <(kids) | grep -c .)" 0
t_ok "the master logged the reload" grep -q 'configuration reloaded; rolling children' "$dir/fcgi.log"

# SIGHUP with a broken file: refused, the running configuration kept.
sed -i 's|^processes = .*|processes = many|' "$conf"
kill -HUP "$master"
wait_until 10 grep -q "reload refused" "$dir/fcgi.log"
t_ok "a bad file on SIGHUP is refused with file, line, key and reason" \
	grep -q "reload refused.*$conf:[0-9]*: \[http\] processes: 'many' is not an integer" "$dir/fcgi.log"
t_eq "and the 3 children keep serving" "$(kids | grep -c .)" 3
api GET /healthz
t_eq "healthz still 200" "$API_STATUS" 200

# SIGTERM: drain, exit 0.
kill -TERM "$master"
rc=0
wait "$master" || rc=$?
t_eq "SIGTERM: the master drains and exits 0" "$rc" 0
t_ok "it logged the drain" grep -q 'msg="draining"' "$dir/fcgi.log"
t_eq "no child outlives it" "$(pgrep -P "$master" | grep -c . || true)" 0

# SIGKILL: the master cannot drain, yet no child outlives it (the kernel
# tells each one: PR_SET_PDEATHSIG).
sed -i 's|^processes = .*|processes = 2|' "$conf" # the broken value of above
"$VINGEST_FCGI_BIN" -c "$conf" 2>"$dir/fcgi2.log" &
master=$!
t_ok "a new master starts its children" wait_kids 2
orphans=$(kids)
kill -KILL "$master"
wait "$master" 2>/dev/null || true
alive() { for p in $orphans; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
t_ok "SIGKILL on the master: every child it had exits too" wait_until 10 eval '! alive'
t_done
