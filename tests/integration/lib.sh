# shellcheck shell=bash
# lib.sh - helpers for the integration tests; each tests/integration/NN_*.sh
# sources this file first.
#
# The tests start nothing: `./dev test` starts a private stack and runs each
# script with VINGEST_VAR pointing at it (by hand: `VINGEST_VAR=var/test bash
# tests/integration/10_upload.sh` against a stack brought up with the same
# variables as ./dev test uses, below). Everything goes through the stack's
# web server with curl, and outcomes are checked in SQL and on disk.
#
# ./dev test runs the suite twice: through lighttpd, then through Apache
# (mod_proxy_fcgi). VINGEST_WEB (lighttpd | apache, from dev.env) says which;
# a check that only makes sense for one of them branches on it and says so
# with a "# SKIP" diagnostic on the other.
#
# Output is TAP-like: one "ok - NAME" or "not ok - NAME" line per check,
# "# ..." lines for diagnostics. ./dev test counts the ok / not ok lines.
#
# The test stack (see ./dev, test_stack_env):
#   VINGEST_HTTP_PORT=18080, VINGEST_MEMCACHED_PORT=21211
#   VINGEST_LIMITS_MAX_UPLOAD_BYTES=67108864 (64 MiB), so the web server's cap
#   is 64 MiB + 1 MiB (lighttpd's server.max-request-size = 66560 KiB, Apache's
#   Content-Length check 68157440). The tests rely on it:
#     - 30_errors: a 64 MiB + 512 KiB file gets the app's JSON 413 too_large
#       (the web server lets it through: it is under 65 MiB), and a declared
#       Content-Length over 65 MiB gets the web server's own 413
#     - 50_prefork: a 50 MiB upload fits
#   Use TEST_LIMIT_BYTES below, not literal numbers.
#   VINGEST_LIMITS_REQUESTS_PER_SECOND_PER_IP=2000: the suite fires requests
#   back to back from 127.0.0.1; every other limit is the shipped one.
#   VINGEST_TRUSTED_PROXIES=127.0.0.9: the web server takes X-Forwarded-For
#   from that address only (38_limits).
#   VINGEST_CACHE_STATUS_TTL_SECONDS=3: the status cache's TTL (85_status_cache
#   waits for it to pass).
#
# Helpers:
#   t_ok NAME CMD...        runs CMD; ok if it exits 0 (its output shown on failure)
#   t_eq NAME GOT WANT      ok if GOT equals WANT (string comparison)
#   t_match NAME GOT ERE    ok if GOT matches the extended regex ERE
#   t_lt NAME A B           ok if integer A < B
#   t_pass NAME / t_fail NAME [DIAG...]
#   sql "QUERY"             mariadb -N -B on the stack's database; prints the rows
#   api METHOD PATH [curl args...]
#                           request with the demo key (or $API_KEY if set; API_KEY=
#                           for no Authorization at all); sets API_STATUS, and
#                           API_BODY / API_HEADERS to files holding body and headers
#   json FILTER [FILE]      jq -r FILTER on FILE (default: the last API_BODY)
#   header NAME [FILE]      a response header's value (default: the last API_HEADERS)
#   store_files             objects in the store plus files in staging (any backend)
#   store_has / store_get / store_put / store_rm KEY [FILE]
#                           one object through vingestctl store, any backend
#   make_mp4 BYTES FILE     a real MP4 (clip-2s.mp4 + a trailing `free` box of
#                           random bytes) of exactly BYTES bytes
#   new_user NAME           creates a user with vingestctl, prints its new key
#   spawn_instance DIR PORT [VAR=VALUE...]
#                           a web server of its own on PORT in front of a vingest-fcgi of
#                           its own with these config overrides (and no other
#                           VINGEST_* variable); logs in DIR (fcgi.log); sets SPAWN_URL.
#                           lighttpd spawns it (bin-path: socket on fd 0) and sets
#                           SPAWN_LIGHTTPD_PID; Apache cannot spawn, so on the
#                           Apache pass the helper starts vingest-fcgi on TCP
#                           PORT + 500 and an Apache from www-conf/apache/ in
#                           front of it. spawn_stop stops it
#   snap                    rows in videos/jobs/uploads and files in the store, as one line
#   expect_error NAME STATUS [CODE] [BEFORE]
#                           the last response is a JSON error with STATUS (and CODE)
#                           and nothing changed since BEFORE (default $BEFORE, a snap)
#   wait_until SECONDS CMD...
#                           polls CMD every 0.2 s until it succeeds (status 1 after
#                           SECONDS): wait for a condition, never sleep a fixed time
#                           before a check (a loaded machine is slower than any guess)
#   conn_port FD PORT       the local port of this shell's /dev/tcp connection on FD
#   conn_read PORT LPORT    0 once the server on PORT has read all that LPORT sent
#   conn_closed PORT LPORT  0 once the server on PORT has closed its end (it is done
#                           with the request), for checks after a client hangs up
#   t_done                  prints the summary; exit status 1 if a check failed

set -uo pipefail

: "${VINGEST_VAR:?VINGEST_VAR must name the state directory of the running stack, as ./dev test sets it}"
if [[ ! -r $VINGEST_VAR/dev.env ]]; then
	echo "not ok - stack is up (no $VINGEST_VAR/dev.env: run ./dev up with the same VINGEST_VAR)"
	exit 1
fi
# Exported so vingestctl and vingest-fcgi -t, run from tests, see the same
# settings (VINGEST_DB_* are config overrides that match the stack's config).
set -a
# shellcheck source=/dev/null
. "$VINGEST_VAR/dev.env"
set +a
VINGEST_WEB=${VINGEST_WEB:-lighttpd}

T_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FIX=$T_REPO/tests/fixtures
STORE=$VINGEST_VAR/store
# fs, s3 or db (./dev up --store; dev.env says which)
STORE_BACKEND=${VINGEST_STORE_BACKEND:-fs}
# shellcheck disable=SC2034 # used by the test scripts
STAGING=$STORE/staging
# shellcheck disable=SC2034
TEST_LIMIT_BYTES=${VINGEST_LIMITS_MAX_UPLOAD_BYTES:-67108864}
# Added to every port a test picks for an instance of its own (./dev test
# moves the whole test stack by VINGEST_TEST_PORT_OFFSET).
# shellcheck disable=SC2034
PORT_OFF=${VINGEST_TEST_PORT_OFFSET:-0}

T_N=0
T_FAILED=0
T_NAME=$(basename "$0" .sh)
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vingest-$T_NAME.XXXXXX")
trap 'rm -rf -- "$T_TMP"' EXIT

# ---------------------------------------------------------------- checks

t_pass() {
	T_N=$((T_N + 1))
	printf 'ok - %s\n' "$1"
}

t_fail() {
	local name=$1
	shift
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	printf 'not ok - %s\n' "$name"
	local d
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/#   /'
	done
}

t_ok() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		t_pass "$name"
	else
		t_fail "$name" "command: $*" "exit: $?" "${out:0:2000}"
	fi
}

t_eq() {
	if [[ $2 == "$3" ]]; then
		t_pass "$1"
	else
		t_fail "$1" "got:      '${2:0:2000}'" "expected: '${3:0:2000}'"
	fi
}

t_match() {
	if [[ $2 =~ $3 ]]; then
		t_pass "$1"
	else
		t_fail "$1" "got:      '${2:0:2000}'" "expected to match: $3"
	fi
}

t_lt() {
	if [[ $2 =~ ^-?[0-9]+$ && $3 =~ ^-?[0-9]+$ ]] && (($2 < $3)); then
		t_pass "$1"
	else
		t_fail "$1" "got:      $2" "expected: < $3"
	fi
}

# Prints the last response, for a failing check's context.
t_show_response() {
	printf '#   status %s\n' "${API_STATUS:-?}"
	[[ -n ${API_BODY:-} && -f $API_BODY ]] && head -c 600 "$API_BODY" | sed 's/^/#   body: /'
	echo
}

t_done() {
	printf '# %s: %d checks, %d failed\n' "$T_NAME" "$T_N" "$T_FAILED"
	((T_FAILED == 0))
	exit $?
}

# ---------------------------------------------------------------- the stack

# wait_until SECONDS CMD...: polls CMD every 0.2 s; status 0 once it succeeds.
# For what follows an answer (a log line, a counter): a loaded machine can be
# slower than any fixed sleep.
wait_until() {
	local limit=$(($1 * 5)) i
	shift
	for ((i = 0; i < limit; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# Raw requests (exec 3<>/dev/tcp/...) whose fate is decided by the server
# after the client hangs up: these say when the server has read what was
# sent, and when it has let the connection go, as ss(8) shows the server's
# socket.
conn_port() { # FD PORT
	ss -Htnp "( dport = :$2 )" 2>/dev/null |
		awk -v me="pid=$$,fd=$1)" 'index($0, me) { n = split($4, a, ":"); print a[n]; exit }'
}
conn_read() { # PORT LPORT: the server's receive queue and the client's send queue empty
	local server client
	server=$(ss -Htn state established "( sport = :$1 and dport = :$2 )" 2>/dev/null)
	client=$(ss -Htn state established "( sport = :$2 and dport = :$1 )" 2>/dev/null)
	[[ -n $server && -n $client ]] &&
		awk '{ exit !($1 == 0) }' <<<"$server" && awk '{ exit !($2 == 0) }' <<<"$client"
}
conn_closed() { # PORT LPORT: no socket of the server's for it open or half-closed
	[[ -z $(ss -Htn state established state close-wait "( sport = :$1 and dport = :$2 )" 2>/dev/null) ]]
}

sql() {
	mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -u"$VINGEST_DB_USER" \
		"$VINGEST_DB_NAME" -e "$1"
}

# Escapes a string for a single-quoted SQL literal.
sqlq() {
	local s=${1//\\/\\\\}
	printf '%s' "${s//\'/\'\'}"
}

T_API_SEQ=0
api() {
	local method=$1 path=$2
	shift 2
	T_API_SEQ=$((T_API_SEQ + 1))
	API_BODY=$T_TMP/body.$T_API_SEQ
	API_HEADERS=$T_TMP/headers.$T_API_SEQ
	local key=${API_KEY-$VINGEST_API_KEY} auth=()
	[[ -n $key ]] && auth=(-H "Authorization: Bearer $key")
	local verb=(-X "$method")
	[[ $method == HEAD ]] && verb=(--head) # curl must not wait for a body
	API_STATUS=$(curl -sS "${verb[@]}" "${auth[@]}" -o "$API_BODY" -D "$API_HEADERS" \
		-w '%{http_code}' --max-time 120 "$@" "$VINGEST_URL$path") || API_STATUS=000
}

json() {
	jq -r "$1" <"${2:-$API_BODY}" 2>/dev/null || echo "(not JSON)"
}

header() {
	local name=$1 file=${2:-$API_HEADERS}
	# Last header block only (curl writes one per response, 100-continue included).
	awk -v want="$(tr '[:upper:]' '[:lower:]' <<<"$name")" '
		/^HTTP\// { v = "" }
		{ sub(/\r$/, "") }
		{ i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == want) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v) } }
		END { print v }' "$file"
}

# Objects and staged files together, whatever the backend: files under the
# fs store; s3rver's object files plus staging; object_chunks keys plus
# staging. (Counted at the source, not through vingestctl, so a bug in the
# store layer cannot hide itself.)
store_files() {
	case $STORE_BACKEND in
	s3)
		echo $(($(find "$VINGEST_S3_DIR" -name '*._S3rver_object' 2>/dev/null | wc -l) +
			$(find "$STAGING" -type f 2>/dev/null | wc -l)))
		;;
	db)
		echo $(($(sql "SELECT COUNT(DISTINCT object_key) FROM object_chunks") +
			$(find "$STAGING" -type f 2>/dev/null | wc -l)))
		;;
	*) find "$STORE" -type f 2>/dev/null | wc -l ;;
	esac
}

# One object by key, through vingestctl (the store interface the daemons use):
#   store_has KEY          exit 0 if the object exists (store_lacks: if not)
#   store_get KEY FILE     its bytes into FILE
#   store_put KEY FILE     FILE stored as KEY
#   store_rm KEY           removed
store_ctl() { "$VINGEST_CTL" -c "$VINGEST_CONFIG" store "$@"; }
store_has() { store_ctl stat "$1" >/dev/null 2>&1; }
store_lacks() { ! store_has "$1"; }
store_get() { store_ctl get "$1" "$2" 2>/dev/null; }
store_put() { store_ctl put "$1" "$2"; }
store_rm() { store_ctl rm "$1"; }

make_mp4() {
	local bytes=$1 out=$2 head payload
	head=$(stat -c %s "$FIX/clip-2s.mp4")
	payload=$((bytes - head - 8))
	{
		cat "$FIX/clip-2s.mp4"
		# box header: 32-bit big-endian size (payload + 8), type "free"
		# shellcheck disable=SC2059 # the format is the four escaped bytes
		printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((((payload + 8) >> 24) & 255)) \
			$((((payload + 8) >> 16) & 255)) $((((payload + 8) >> 8) & 255)) $(((payload + 8) & 255)))"
		printf 'free'
		head -c "$payload" /dev/urandom
	} >"$out"
}

new_user() {
	local name=$1 out
	if ! out=$("$VINGEST_CTL" -c "$VINGEST_CONFIG" user add "$name" 2>&1); then
		printf '%s\n' "$out" | sed 's/^/#   user add: /'
		return 1
	fi
	"$VINGEST_CTL" -c "$VINGEST_CONFIG" key create "$name"
}

# A video's id as a SQL literal is safe only if it is a well-formed id.
valid_id() {
	[[ $1 =~ ^[0-9A-HJKMNP-TV-Z]{26}$ ]]
}

# Rows in videos, jobs, uploads and files under the store (staging included).
snap() {
	printf '%s files=%s' "$(sql "SELECT CONCAT('videos=', (SELECT COUNT(*) FROM videos),
		' jobs=', (SELECT COUNT(*) FROM jobs), ' uploads=', (SELECT COUNT(*) FROM uploads))")" \
		"$(store_files)"
}

# expect_error NAME STATUS [CODE] [BEFORE]: checks the last response is a JSON
# error with that status (and code), and that nothing changed since BEFORE
# (default: the snapshot in $BEFORE).
expect_error() {
	local name=$1 status=$2 code=${3:-} before=${4:-$BEFORE}
	t_eq "$name: answers $status" "$API_STATUS" "$status"
	t_match "$name: Content-Type is application/json" "$(header Content-Type)" '^application/json'
	if jq -e '(.error.code | type == "string" and test("^[a-z][a-z0-9_]*$"))
		and (.error.message | type == "string" and length > 0)' "$API_BODY" >/dev/null 2>&1; then
		t_pass "$name: body is {\"error\":{\"code\",\"message\"}}"
	else
		t_fail "$name: body is {\"error\":{\"code\",\"message\"}}" "body: $(head -c 300 "$API_BODY")"
	fi
	[[ -n $code ]] && t_eq "$name: error code is $code" "$(json .error.code)" "$code"
	t_eq "$name: changes nothing (rows, stored files)" "$(snap)" "$before"
	# (tus tests set TUS_IN_PROGRESS=1: their open uploads keep staged bytes;
	# snap, which counts every file in the store, still proves nothing was added)
	if [[ -z ${TUS_IN_PROGRESS:-} ]]; then
		t_eq "$name: staging directory is empty" "$(find "$STAGING" -type f 2>/dev/null | wc -l)" 0
	fi
}


# A private web server + vingest-fcgi, for tests that need other settings than
# the stack's (limits, a tiny store) or want to watch the spawn itself.
spawn_instance() {
	if [[ $VINGEST_WEB == apache ]]; then
		spawn_instance_apache "$@"
		return
	fi
	local dir=$1 port=$2 env="" kv i
	shift 2
	mkdir -p "$dir/uploads"
	# lighttpd execs bin-path itself (no shell): a wrapper sends the backend's
	# stderr to a file.
	cat >"$dir/run-fcgi" <<WRAP
#!/bin/sh
exec "$VINGEST_FCGI_BIN" -c "$VINGEST_CONFIG" 2>>"$dir/fcgi.log"
WRAP
	chmod +x "$dir/run-fcgi"
	# lighttpd does not pass its environment to what it spawns: name it all.
	for kv in "$@" "ASAN_OPTIONS=${ASAN_OPTIONS:-}"; do
		env+=$(printf '\t\t"%s" => "%s",\n' "${kv%%=*}" "${kv#*=}")$'\n'
	done
	cat >"$dir/lighttpd.conf" <<CONF
server.modules = ("mod_fastcgi")
server.document-root = "$dir"
server.bind = "127.0.0.1"
server.port = $port
server.pid-file = "$dir/lighttpd.pid"
server.errorlog = "$dir/lighttpd.err"
server.upload-dirs = ("$dir/uploads")
server.max-request-size = 66560
fastcgi.server = ( "/" => ((
	"socket" => "$dir/fcgi.sock",
	"bin-path" => "$dir/run-fcgi",
	"max-procs" => 1,
	"check-local" => "disable",
	"bin-environment" => (
$env	),
)) )
CONF
	lighttpd -f "$dir/lighttpd.conf" 2>"$dir/start.err"
	SPAWN_URL=http://127.0.0.1:$port
	for ((i = 0; i < 100; i++)); do
		curl -sf -o /dev/null "$SPAWN_URL/healthz" && break
		sleep 0.1
	done
	SPAWN_LIGHTTPD_PID=$(cat "$dir/lighttpd.pid" 2>/dev/null)
	SPAWN_DIR=$dir
}

# The Apache pass's spawn_instance: vingest-fcgi started here with only the
# given overrides in its environment (as lighttpd's bin-environment does),
# on loopback TCP at PORT + 500, and an Apache rendered from the same
# templates as ./dev renders (the authorizer included).
spawn_instance_apache() {
	local dir=$1 port=$2 i f fcgi
	shift 2
	mkdir -p "$dir/run" "$dir/www" "$dir/spool"
	# vingest-fcgi on loopback TCP (mod_authnz_fcgi speaks TCP only);
	# Apache's children run as www-data and spool bodies into $dir/spool.
	fcgi=127.0.0.1:$((port + 500))
	f=$dir
	while [[ $f == "$T_TMP"* ]]; do
		chmod o+x "$f"
		f=$(dirname "$f")
	done
	chown www-data "$dir/spool"
	env -i "PATH=$PATH" "ASAN_OPTIONS=${ASAN_OPTIONS:-}" "UBSAN_OPTIONS=${UBSAN_OPTIONS:-}" "$@" \
		"VINGEST_HTTP_LISTEN=$fcgi" \
		"$VINGEST_FCGI_BIN" -c "$VINGEST_CONFIG" </dev/null 2>>"$dir/fcgi.log" &
	SPAWN_FCGI_PID=$!
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$((port + 500))") 2>/dev/null && break
		sleep 0.1
	done
	for f in apache2.conf vingest.conf; do
		sed -e '/^#@/d' -e "s|@LISTEN@|127.0.0.1:$port|g" \
			-e "s|@FCGI_ADDR@|$fcgi|g" -e "s|@REMOTEIP@||g" -e "s|@LOG_DIR@|$dir|g" \
			-e "s|@ACCESS_LOG@|$dir/apache-access.log|g" -e "s|@HTDOCS@|$T_REPO/www-conf/htdocs|g" \
			-e "s|@DOCUMENT_ROOT@|$dir/www|g" -e "s|@LIMIT_REQUEST_BODY@|$((TEST_LIMIT_BYTES + 1048576))|g" \
			-e "s|@SERVER_ROOT@|$dir|g" -e "s|@RUN_DIR@|$dir/run|g" \
			-e "s|@PID_FILE@|$dir/run/apache2.pid|g" -e "s|@USER@|www-data|g" -e "s|@GROUP@|www-data|g" \
			-e "s|@MODULES@|/usr/lib/apache2/modules|g" -e "s|@VINGEST_CONF@|$dir/vingest.conf|g" \
			"$T_REPO/www-conf/apache/$f" >"$dir/$f"
	done
	TMPDIR=$dir/spool apache2 -f "$dir/apache2.conf" -k start </dev/null >"$dir/start.err" 2>&1
	SPAWN_URL=http://127.0.0.1:$port
	for ((i = 0; i < 100; i++)); do
		curl -sf -o /dev/null "$SPAWN_URL/healthz" && break
		sleep 0.1
	done
	SPAWN_APACHE_PID=$(cat "$dir/run/apache2.pid" 2>/dev/null)
	SPAWN_DIR=$dir
}

spawn_stop() {
	local p
	# Gone, not just told to go: a spawn_instance on the same port next
	# would otherwise find the old server still holding it.
	for p in ${SPAWN_LIGHTTPD_PID:-} ${SPAWN_APACHE_PID:-}; do
		kill "$p" 2>/dev/null
		wait_until 10 eval "! kill -0 $p"
	done
	SPAWN_LIGHTTPD_PID=
	SPAWN_APACHE_PID=
	if [[ -n ${SPAWN_FCGI_PID:-} ]]; then
		kill "$SPAWN_FCGI_PID" 2>/dev/null
		wait "$SPAWN_FCGI_PID" 2>/dev/null
	fi
	SPAWN_FCGI_PID=
}
