#!/usr/bin/env bash
# bench/run.sh - every benchmark of bench/README.md in one run, on one machine,
# with one load generator and one set of payloads; writes bench/RESULTS.md.
# ./dev bench runs it (after installing php-fpm and building nothing else);
# run it by hand only through ./dev bench, which sets the environment below.
#
#   bench/run.sh [--quick]
#
# Environment (./dev bench sets it): VINGEST_VAR (the bench stack's state
# directory, wiped at the start), VINGEST_HTTP_PORT, VINGEST_MEMCACHED_PORT,
# VINGEST_STUB_PORT, and the VINGEST_* overrides the stack runs with.
#
# Order: the raw limits first (idle machine), then uploads (workers stopped,
# so vingest and PHP both only take uploads), tus, the FastCGI child's memory
# through one 300 MiB upload, then the job path with workers started, and
# last one worker holding 500 slow calls.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1

: "${VINGEST_VAR:?run through ./dev bench}"
B=$VINGEST_VAR
PHP_PORT=28100 # lighttpd + php-fpm, one port per pool: PHP_PORT + its index in PHP_POOLS
TUS_PORT=28110
OUT=$REPO/bench/RESULTS.md
CHILDREN=16 # vingest-fcgi's http.processes (its shipped default)
# php-fpm's children: the baseline gets its best pool, so every multipart
# point runs PHP with each of these (static pools, side by side) and vingest
# is compared against the faster.
PHP_POOLS=(4 16)
BENCH_KEYS=512 # users the load comes from, one API key each (see loadgen -K)

say() { printf '==> %s\n' "$*"; }
point() { printf '    %-44s %s\n' "$1" "$2"; }
die() {
	printf 'bench: error: %s\n' "$*" >&2
	exit 1
}
# kv LINE KEY: the value of KEY=value in a loadgen/probe line (nothing, and
# success all the same, when it has none: a missing figure is a "-" in the
# report, not the end of the run).
kv() { grep -o "\\b$2=[^ ]*" <<<"$1" | head -n1 | cut -d= -f2 || true; }
# kvd LINE KEY: the same, "-" when missing.
kvd() {
	local v
	v=$(kv "$1" "$2")
	echo "${v:--}"
}
# calc EXPR: floating point, two decimals ("-" when a figure is missing).
calc() { awk "BEGIN { if ($2 == 0) print \"-\"; else printf \"%.2f\", ($1) / ($2) }" 2>/dev/null || echo -; }

# ---------------------------------------------------------------- stack

stack_up() { # extra VINGEST_* settings for this start
	env "$@" "$REPO/dev" up >>"$REPO/var/bench-up.log" 2>&1 || {
		tail -n 30 "$REPO/var/bench-up.log" >&2
		die "the bench stack did not start (log: var/bench-up.log)"
	}
}

stop_pid() { # PIDFILE [SECONDS]
	local f=$1 pid i
	[[ -f $f ]] || return 0
	pid=$(tr -dc '0-9' <"$f")
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < ${2:-10} * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f -- "$f"
}

PEERS_RUN=$B/peers
stop_php() {
	local p
	for p in "${PHP_POOLS[@]}"; do
		stop_pid "$PEERS_RUN/php$p-lighttpd.pid" 5
		stop_pid "$PEERS_RUN/php$p-fpm.pid" 5
	done
}
cleanup() {
	stop_pid "$PEERS_RUN/tus-server.pid" 5
	stop_pid "$PEERS_RUN/lighttpd-old.pid" 5
	stop_php
	"$REPO/dev" down >>"$REPO/var/bench-up.log" 2>&1 || true
}

sql() { mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -uroot "$@"; }

# Server-side CPU: every point runs on this one machine, so on 2 cores a
# server's CPU per upload bounds its uploads/s. cpu_ticks REGEX...: for each
# REGEX, the CPU time (clock ticks, children reaped included) of the
# processes whose command line matches it, in one pass over /proc and with
# builtins only (a fork per process makes a pass take seconds on a busy
# machine).
cpu_ticks() {
	local p cmd st i a f re=("$@") tot=()
	for i in "${!re[@]}"; do tot[i]=0; done
	for p in /proc/[0-9]*; do
		mapfile -d '' -t a 2>/dev/null <"$p/cmdline" || continue
		cmd=${a[*]}
		st=
		for i in "${!re[@]}"; do
			[[ $cmd =~ ${re[i]} ]] || continue
			if [[ -z $st ]]; then
				read -r st 2>/dev/null <"$p/stat" || continue 2
				read -r -a f <<<"${st##*) }"
			fi
			tot[i]=$((tot[i] + f[11] + f[12] + f[13] + f[14]))
		done
	done
	echo "${tot[*]}"
}
TICK_MS=$((1000 / $(getconf CLK_TCK)))
# The web server and the app of each server, MariaDB, the job path.
CPU_VG="^vingest-fcgi|^lighttpd -f $VINGEST_VAR/lighttpd\\.conf"
declare -A CPU_PHP
for p in "${PHP_POOLS[@]}"; do
	CPU_PHP[$p]="^php-fpm: (master process .*/php$p-fpm\\.conf|pool php$p( |\$))|^lighttpd -f $PEERS_RUN/php$p-lighttpd\\.conf"
done
CPU_NODE="tus-server/server\\.js"
CPU_DB="^mariadbd .*--datadir=$VINGEST_VAR/"
CPU_JOBS="^vingest-workers|vingest-stub|^memcached .*-p $VINGEST_MEMCACHED_PORT "
# per_item TICKS N: milliseconds of CPU per item
per_item() { awk -v t="$1" -v ms="$TICK_MS" -v n="$2" 'BEGIN { printf "%.3f", t * ms / n }'; }
# per_upload COUNT N: COUNT / N, two decimals
per_upload() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.2f", c / n }'; }

# MariaDB's side of an upload, from its global counters (bench/README.md,
# "Database work"): the bench stack's MariaDB serves vingest and the PHP
# baseline (database bench_php), and with the workers stopped only the
# server being measured talks to it during a point. db_snap prints, in one
# statement: Questions (statements from clients, prepared statement
# executions included), Com_stmt_execute, Com_stmt_prepare, trx_rw_commits
# (INNODB_METRICS, enabled below), Innodb_log_writes (one redo log write and
# fdatasync of ib_logfile0 per durable group commit here) and
# Innodb_data_fsyncs (every InnoDB fsync: the log's, and the tablespaces').
db_snap() {
	sql -e "SELECT (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'QUESTIONS'),
		(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COM_STMT_EXECUTE'),
		(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COM_STMT_PREPARE'),
		(SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rw_commits'),
		(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_LOG_WRITES'),
		(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_DATA_FSYNCS')"
}
# db_line SNAP_BEFORE SNAP_AFTER UPLOADS: the deltas, and per upload. The
# snapshot's own statements (its SELECT and the client's QUIT: SNAP_Q,
# measured at the start) are not the server's.
db_line() {
	local a b n=$3 q
	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	q=$((b[0] - a[0] - SNAP_Q))
	printf 'db: uploads=%s statements=%s stmt_executes=%s stmt_prepares=%s rw_commits=%s log_fsyncs=%s data_fsyncs=%s' \
		"$n" "$q" $((b[1] - a[1])) $((b[2] - a[2])) $((b[3] - a[3])) $((b[4] - a[4])) $((b[5] - a[5]))
	printf ' statements_per_upload=%s rw_commits_per_upload=%s log_fsyncs_per_upload=%s data_fsyncs_per_upload=%s\n' \
		"$(per_upload "$q" "$n")" "$(per_upload $((b[3] - a[3])) "$n")" \
		"$(per_upload $((b[4] - a[4])) "$n")" "$(per_upload $((b[5] - a[5])) "$n")"
}
# db_settle: wait (up to 10 s) until InnoDB has purged what the last point
# left (trx_rseg_history_len below 100), so that a point's MariaDB CPU is
# neither the one before's purge nor, measured after it, missing its own.
db_settle() {
	local i h
	for ((i = 0; i < 50; i++)); do
		h=$(sql -e "SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'") || return 0
		((h < 100)) && return 0
		sleep 0.2
	done
}

# measure KEY SERVER_REGEX DB LOADGEN_ARGS...: one upload point. R[KEY] is
# the load generator's line. Over the same window, R[cpu_KEY] has the CPU
# per completed upload of the server (SERVER_REGEX) and, when DB is 1, of
# MariaDB and their sum; R[db_KEY] MariaDB's counters per completed upload,
# read right before and right after the load generator (the CPU window
# opens before and closes after those, once MariaDB has purged).
measure() {
	local key=$1 srv=$2 db=$3 out ok d0="" d1="" c0 c1
	shift 3
	db_settle
	read -r -a c0 <<<"$(cpu_ticks "$srv" "$CPU_DB")"
	((db)) && d0=$(db_snap)
	out=$("$LOADGEN" "$@") || true
	if ((db)); then
		d1=$(db_snap)
		db_settle
	fi
	read -r -a c1 <<<"$(cpu_ticks "$srv" "$CPU_DB")"
	R[$key]=$out
	ok=$(kv "$out" ok)
	[[ -n $ok && $ok != 0 ]] || return 0
	if ((db)); then
		R[cpu_$key]="cpu: uploads=$ok server_cpu_ms_per_upload=$(per_upload $(((c1[0] - c0[0]) * TICK_MS)) "$ok") mariadb_cpu_ms_per_upload=$(per_upload $(((c1[1] - c0[1]) * TICK_MS)) "$ok") total_cpu_ms_per_upload=$(per_upload $(((c1[0] - c0[0] + c1[1] - c0[1]) * TICK_MS)) "$ok")"
		R[db_$key]=$(db_line "$d0" "$d1" "$ok")
	else
		R[cpu_$key]="cpu: uploads=$ok server_cpu_ms_per_upload=$(per_upload $(((c1[0] - c0[0]) * TICK_MS)) "$ok")"
	fi
}

# ---------------------------------------------------------------- payloads

# make_mp4 BYTES FILE: a real MP4 the app accepts (clip-2s.mp4 plus a
# trailing `free` box of random bytes) of exactly BYTES bytes, as
# tests/integration/lib.sh makes them.
make_mp4() {
	local bytes=$1 out=$2 head payload size
	head=$(stat -c %s "$REPO/tests/fixtures/clip-2s.mp4")
	payload=$((bytes - head - 8))
	size=$((payload + 8))
	{
		cat "$REPO/tests/fixtures/clip-2s.mp4"
		# shellcheck disable=SC2059 # the format is the four escaped bytes
		printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(((size >> 24) & 255)) \
			$(((size >> 16) & 255)) $(((size >> 8) & 255)) $((size & 255)))"
		printf 'free'
		head -c "$payload" /dev/urandom
	} >"$out"
}

# The sizes: 64 KiB, 1 MiB, 10 MiB and 300 MiB minus 64 KiB (a 300 MiB file
# plus the multipart framing would be over limits.max_upload_bytes, 300 MiB).
SIZES=(64k 1m 10m 300m)
declare -A BYTES=([64k]=65536 [1m]=1048576 [10m]=10485760 [300m]=$((314572800 - 65536)))
declare -A LABEL=([64k]="64 KiB" [1m]="1 MiB" [10m]="10 MiB" [300m]="300 MiB")
# Each point stops at N requests or T seconds, whichever comes first (the
# uploads in flight then finish). 300 MiB: one upload per connection; at 64
# connections (19 GiB spooled, then stored) uploads still in flight after
# HARD_300M seconds are abandoned, so the point counts those that finished.
if ((QUICK)); then
	declare -A NREQ=([64k]=200 [1m]=100 [10m]=24 [300m]=8)
	POINT_SECONDS=3
else
	declare -A NREQ=([64k]=3000 [1m]=1500 [10m]=300 [300m]=8)
	POINT_SECONDS=10
fi
HARD_300M=200

# ---------------------------------------------------------------- start

mkdir -p "$REPO/var"
: >"$REPO/var/bench-up.log"
say "bench: a fresh stack under ${B#"$REPO"/} (workers stopped for the upload benchmarks)"
"$REPO/dev" down >>"$REPO/var/bench-up.log" 2>&1 || true
rm -rf -- "$B"
trap cleanup EXIT
stack_up VINGEST_DEV_WORKERS=0
set -a
# shellcheck source=/dev/null
. "$B/dev.env"
set +a
mkdir -p "$B/bin" "$B/payloads" "$PEERS_RUN"
for tool in loadgen probe; do
	libs=libcurl
	[[ $tool == probe ]] && libs=libmariadb
	# shellcheck disable=SC2046 # pkg-config prints words
	cc -std=c11 -O2 -Wall -Wextra -Werror -o "$B/bin/$tool" "$REPO/bench/$tool.c" \
		$(pkg-config --cflags --libs "$libs") || die "bench/$tool.c does not build"
done
LOADGEN=$B/bin/loadgen
PROBE=$B/bin/probe
for s in "${SIZES[@]}"; do
	make_mp4 "${BYTES[$s]}" "$B/payloads/$s.mp4"
done

MACHINE="$(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
MARIADB_VERSION=$(mariadbd --version | grep -o '[0-9]*\.[0-9]*\.[0-9]*' | head -n1)
JOBS_BATCH=${VINGEST_JOBS_BATCH:-$(awk -F' *= *' '/^\[/ {s=$0} s=="[jobs]" && $1=="batch" {print $2}' "$REPO/etc/vingest.conf")}
declare -A R # every raw result line, by name

# MariaDB's counters for the upload points: trx_rw_commits is off by default.
# A snapshot's own statements (SNAP_Q: its SELECT and the client's QUIT) are
# taken out of every delta; and with the workers stopped nothing else may
# talk to MariaDB: 2 s of an idle stack must show no statements.
sql -e "SET GLOBAL innodb_monitor_enable = 'trx_rw_commits'"
read -r -a s0 <<<"$(db_snap)"
read -r -a s1 <<<"$(db_snap)"
SNAP_Q=$((s1[0] - s0[0]))
sleep 2
read -r -a s2 <<<"$(db_snap)"
R[db_idle]="db: idle_seconds=2 statements=$((s2[0] - s1[0] - SNAP_Q)) rw_commits=$((s2[3] - s1[3])) log_fsyncs=$((s2[4] - s1[4])) snapshot_statements=$SNAP_Q"
point "MariaDB, 2 s of the idle stack" "${R[db_idle]}"

# ---------------------------------------------------------------- raw limits

say "bench: raw limits of this machine"
dd_mib=$((QUICK ? 256 : 1024))
dd_out=$(dd if=/dev/zero of="$B/dd.bin" bs=1M count="$dd_mib" conv=fsync 2>&1 | tail -n1)
rm -f -- "$B/dd.bin"
dd_secs=$(awk -F', ' '{print $3}' <<<"$dd_out" | awk '{print $1}')
R[dd]="dd: mib=$dd_mib seconds=$dd_secs mib_per_s=$(calc "$dd_mib" "$dd_secs")"
point "dd 1 MiB blocks, conv=fsync" "${R[dd]}"
fs_secs=$((QUICK ? 2 : 5))
mkdir -p "$B/fsync-probe"
for p in 1 8; do
	R[fsync$p]=$("$PROBE" fsync "$B/fsync-probe" "$fs_secs" "$p" 65536)
	point "64 KiB file write+fsync, $p process(es)" "${R[fsync$p]}"
done
for batch in 1 "$JOBS_BATCH"; do
	n=$((batch == 1 ? (QUICK ? 1000 : 5000) : (QUICK ? 4000 : 20000)))
	t0=$(cpu_ticks "$CPU_DB")
	R[claim$batch]=$("$PROBE" claim "$VINGEST_DB_SOCKET" bench_probe "$n" 8 "$batch")
	R[cpu_claim$batch]="cpu: jobs=$n mariadb_cpu_ms_per_job=$(per_item $(($(cpu_ticks "$CPU_DB") - t0)) "$n")"
	point "SKIP LOCKED claim+complete, batch $batch" "${R[claim$batch]}"
done

# ---------------------------------------------------------------- peers

say "bench: peers: lighttpd + php-fpm (${PHP_POOLS[*]} children, ports $PHP_PORT-$((PHP_PORT + ${#PHP_POOLS[@]} - 1))), @tus/server (port $TUS_PORT)"
sql -e 'CREATE DATABASE IF NOT EXISTS bench_php CHARACTER SET utf8mb4'
sql bench_php <"$REPO/bench/php/schema.sql"
PHP_STORE=$B/php-store
mkdir -p "$PHP_STORE" "$B/php-tmp" "$B/php-spool" "$B/log"
render() { # TEMPLATE OUT CHILDREN PORT
	sed -e "s|@RUN@|$PEERS_RUN|g" -e "s|@LOG@|$B/log|g" -e "s|@CHILDREN@|$3|g" \
		-e "s|@POOL@|php$3|g" -e "s|@PORT@|$4|g" \
		-e "s|@DB_SOCKET@|$VINGEST_DB_SOCKET|g" -e "s|@STORE@|$PHP_STORE|g" -e "s|@TMP@|$B/php-tmp|g" \
		-e "s|@DOCUMENT_ROOT@|$REPO/bench/php|g" -e "s|@UPLOAD_DIR@|$B/php-spool|g" \
		-e "s|@MAX_REQUEST_SIZE_KIB@|$(((314572800 + 1048576) / 1024))|g" "$1" >"$2"
	! grep -n '@[A-Z_]*@' "$2" >&2 || die "placeholders left in $2"
}
PHP_FPM=$(command -v php-fpm8.2 || command -v php-fpm || true)
[[ -n $PHP_FPM ]] || die "php-fpm is not installed"
# One php-fpm and one lighttpd per pool size, each on its own port; only
# the one being measured has work.
declare -A PHP_URL
for i in "${!PHP_POOLS[@]}"; do
	p=${PHP_POOLS[i]}
	render "$REPO/bench/php/php-fpm.conf" "$PEERS_RUN/php$p-fpm.conf" "$p" $((PHP_PORT + i))
	render "$REPO/bench/php/lighttpd.conf" "$PEERS_RUN/php$p-lighttpd.conf" "$p" $((PHP_PORT + i))
	"$PHP_FPM" -R -y "$PEERS_RUN/php$p-fpm.conf" || die "php-fpm ($p children) did not start (log: $B/log/php$p-fpm.log)"
	lighttpd -f "$PEERS_RUN/php$p-lighttpd.conf" || die "lighttpd for PHP ($p children) did not start"
	PHP_URL[$p]=http://127.0.0.1:$((PHP_PORT + i))/upload.php
done

if [[ ! -d $REPO/bench/tus-server/node_modules/@tus/file-store ]]; then
	(cd "$REPO/bench/tus-server" && npm ci --no-audit --no-fund >"$B/log/npm.log" 2>&1) ||
		die "npm ci in bench/tus-server failed (log: $B/log/npm.log)"
fi
mkdir -p "$B/tus-files"
setsid node "$REPO/bench/tus-server/server.js" "$TUS_PORT" "$B/tus-files" \
	</dev/null >"$B/log/tus-server.log" 2>&1 &
echo $! >"$PEERS_RUN/tus-server.pid"
TUS_URL=http://127.0.0.1:$TUS_PORT/files
for ((i = 0; i < 100; i++)); do
	curl -s -o /dev/null -X OPTIONS "$TUS_URL" && break
	sleep 0.1
done

VG_AUTH="Authorization: Bearer $VINGEST_API_KEY"
PHP_AUTH="Authorization: Bearer bench-php-key"
# vingest runs its shipped limits, which are per key and per client address:
# the load comes from BENCH_KEYS users (each upload the next key) on as many
# loopback addresses as connections (loadgen -K, -S), as real load would.
# The peers get the same client; they have no such limits.
say "bench: $BENCH_KEYS users with an API key each"
for ((i = 0; i < BENCH_KEYS; i++)); do
	"$VINGEST_CTL" -c "$VINGEST_CONFIG" user add "bench-$i" >/dev/null &&
		"$VINGEST_CTL" -c "$VINGEST_CONFIG" key create "bench-$i"
done >"$B/keys" 2>"$B/log/keys.log" || die "could not create the bench users (log: $B/log/keys.log)"
VG_CLIENT=(-K "$B/keys" -S 127.0.1)
PEER_CLIENT=(-S 127.0.1)
# Warm up: one upload each (PHP's opcache, the persistent connections).
"$LOADGEN" multipart "$VINGEST_URL/v1/videos" "$B/payloads/64k.mp4" -c 1 -n 2 -H "$VG_AUTH" >/dev/null ||
	die "vingest does not take the 64 KiB payload"
for p in "${PHP_POOLS[@]}"; do
	"$LOADGEN" multipart "${PHP_URL[$p]}" "$B/payloads/64k.mp4" -c 1 -n 2 -H "$PHP_AUTH" >/dev/null ||
		die "the PHP baseline ($p children) does not take the 64 KiB payload (logs: $B/log/php*.log)"
done
"$LOADGEN" tus "$TUS_URL" "$B/payloads/64k.mp4" -c 1 -n 2 >/dev/null ||
	die "@tus/server does not take the 64 KiB payload (log: $B/log/tus-server.log)"

# Stored objects are removed after each point: 64 uploads of 300 MiB are 19 GiB.
# After a point that abandoned uploads the servers may still be working on
# them (lighttpd's spool files are there until a request ends): wait, up to
# a minute, until both spools are empty, so the next point starts on idle
# servers.
clean_stores() {
	local i
	for ((i = 0; i < 600; i++)); do
		[[ -z $(find "$VINGEST_VAR/lighttpd-uploads" "$B/php-spool" -mindepth 1 -print -quit 2>/dev/null) ]] && break
		sleep 0.1
	done
	rm -rf -- "$VINGEST_VAR/store/videos" "$PHP_STORE/videos" "$B/tus-files" 2>/dev/null ||
		rm -rf -- "$VINGEST_VAR/store/videos" "$PHP_STORE/videos" "$B/tus-files" 2>/dev/null || true
	mkdir -p "$B/tus-files"
}

# Where vingest's time goes: the access log times each durable step of an
# upload (docs/operations.md, Logs). steps FROM_LINE STATUS: the mean of
# duration_ms and of each step over the access lines with STATUS written
# after line FROM_LINE.
FCGI_LOG=$VINGEST_VAR/log/vingest-fcgi.log
log_lines() { wc -l <"$FCGI_LOG"; }
steps() {
	tail -n +"$(($1 + 1))" "$FCGI_LOG" | grep " msg=request .* status=$2 " | awk '
		{ n++; for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[1] ~ /_ms$/) s[kv[1]] += kv[2] }
		END {
			if (!n) exit
			printf "requests=%d", n
			split("duration_ms mark_ms fsync_ms publish_ms commit_ms", k, " ")
			for (j = 1; j <= 5; j++) if (k[j] in s) printf " %s=%.2f", k[j], s[k[j]] / n
			printf "\n"
		}'
}

# ---------------------------------------------------------------- multipart

say "bench: multipart uploads through lighttpd, vingest ($CHILDREN processes) vs lighttpd + php-fpm (${PHP_POOLS[*]} children)"
for s in "${SIZES[@]}"; do
	for c in 8 64; do
		n=${NREQ[$s]}
		hard=()
		if [[ $s == 300m ]]; then
			n=$c
			((c == 64)) && hard=(-T "$HARD_300M")
			if ((QUICK && c == 64)); then
				continue
			fi
			need=$((3 * c * BYTES[$s] / 1073741824 + 2))
			free=$(df -P -BG "$B" | awk 'NR == 2 {print $4 + 0}')
			if ((free < need)); then
				point "300 MiB x$c" "skipped: $free GiB free, needs $need GiB"
				continue
			fi
		fi
		from=$(log_lines)
		measure "mp_vg_${s}_$c" "$CPU_VG" 1 multipart "$VINGEST_URL/v1/videos" "$B/payloads/$s.mp4" \
			-c "$c" -n "$n" -t "$POINT_SECONDS" "${hard[@]}" "${VG_CLIENT[@]}"
		point "vingest ${LABEL[$s]} x$c" "${R[mp_vg_${s}_$c]}"
		R[steps_mp_${s}_$c]=$(steps "$from" 201)
		clean_stores
		for p in "${PHP_POOLS[@]}"; do
			measure "mp_php${p}_${s}_$c" "${CPU_PHP[$p]}" 1 multipart "${PHP_URL[$p]}" "$B/payloads/$s.mp4" \
				-c "$c" -n "$n" -t "$POINT_SECONDS" "${hard[@]}" "${PEER_CLIENT[@]}" -H "$PHP_AUTH"
			point "php ($p children) ${LABEL[$s]} x$c" "${R[mp_php${p}_${s}_$c]}"
			clean_stores
		done
	done
done

# ---------------------------------------------------------------- tus

say "bench: tus (creation POST + one PATCH of the whole file), vingest vs @tus/server"
for s in 64k 1m 10m; do
	for c in 8 64; do
		n=${NREQ[$s]}
		from=$(log_lines)
		measure "tus_vg_${s}_$c" "$CPU_VG" 1 tus "$VINGEST_URL/v1/uploads" "$B/payloads/$s.mp4" \
			-c "$c" -n "$n" -t "$POINT_SECONDS" "${VG_CLIENT[@]}"
		point "vingest tus ${LABEL[$s]} x$c" "${R[tus_vg_${s}_$c]}"
		R[steps_tus_post_${s}_$c]=$(steps "$from" 201)
		R[steps_tus_patch_${s}_$c]=$(steps "$from" 204)
		clean_stores
		# @tus/server has no database: its CPU alone.
		measure "tus_node_${s}_$c" "$CPU_NODE" 0 tus "$TUS_URL" "$B/payloads/$s.mp4" \
			-c "$c" -n "$n" -t "$POINT_SECONDS" "${PEER_CLIENT[@]}"
		point "@tus/server ${LABEL[$s]} x$c" "${R[tus_node_${s}_$c]}"
		clean_stores
	done
done
stop_pid "$PEERS_RUN/tus-server.pid" 5
stop_php

# ---------------------------------------------------------------- the abuse defences' cost

# What the front's defences against slow and anonymous clients cost
# (docs/operations.md, "Abuse and limits"): the shipped lighttpd (every body
# first put to vingest-fcgi as a FastCGI Authorizer, tus bodies spooled)
# against the same lighttpd without the authorizer and with tus PATCHes
# streamed (stream-request-body = 1), the front as it was before them, both
# in front of the one vingest-fcgi. Without the authorizer the responder
# makes the same checks itself, so both do the same work but for the extra
# FastCGI exchange and the spooled PATCH. Run in turns, three times each.
say "bench: the abuse defences' cost (authorizer, spooled tus), shipped front vs the old one"
OLD_PORT=$((VINGEST_HTTP_PORT + 1))
awk -v port="$OLD_PORT" -v run="$PEERS_RUN" '
	/^\$HTTP\["request-method"\]/ { skip = 1 }
	skip { if ($0 == "}") skip = 0; next }
	/^server.port/ { print "server.port = " port; next }
	/^server.pid-file/ { print "server.pid-file = \"" run "/lighttpd-old.pid\""; next }
	{ print }
	END { print "$HTTP[\"url\"] =^ \"/v1/uploads\" {\n\tserver.stream-request-body = 1\n}" }' \
	"$VINGEST_VAR/lighttpd.conf" >"$PEERS_RUN/lighttpd-old.conf"
lighttpd -f "$PEERS_RUN/lighttpd-old.conf" || die "the old front (lighttpd without the authorizer) did not start"
OLD_URL=http://127.0.0.1:$OLD_PORT
for ((i = 0; i < 100; i++)); do
	curl -sf -o /dev/null "$OLD_URL/healthz" && break
	sleep 0.1
done
ab_secs=$((QUICK ? 2 : 8))
for point in "multipart 64k" "multipart 10m" "tus 10m"; do
	read -r mode s <<<"$point"
	path=/v1/videos
	[[ $mode == tus ]] && path=/v1/uploads
	for rep in 1 2 3; do
		for front in new old; do
			url=$VINGEST_URL
			[[ $front == old ]] && url=$OLD_URL
			R[ab_${front}_${mode}_${s}_$rep]=$("$LOADGEN" "$mode" "$url$path" "$B/payloads/$s.mp4" \
				-c 8 -n "${NREQ[$s]}" -t "$ab_secs" "${VG_CLIENT[@]}") || true
			point "$front front, $mode ${LABEL[$s]} x8 ($rep)" "${R[ab_${front}_${mode}_${s}_$rep]}"
			clean_stores
		done
	done
done
stop_pid "$PEERS_RUN/lighttpd-old.pid" 5

# ---------------------------------------------------------------- FastCGI child memory

say "bench: vingest-fcgi children's RSS through one 300 MiB upload"
fcgi_master=$(tr -dc '0-9' <"$VINGEST_FCGI_PID_FILE")
"$LOADGEN" multipart "$VINGEST_URL/v1/videos" "$B/payloads/300m.mp4" -c 1 -n 1 -H "$VG_AUTH" \
	>"$B/rss-upload.out" 2>&1 &
lg=$!
: >"$B/rss.samples"
mapfile -t kids < <(pgrep -P "$fcgi_master" | sed 's|.*|/proc/&/status|')
while kill -0 "$lg" 2>/dev/null; do
	awk '/^VmRSS:/ { split(FILENAME, f, "/"); print f[3], $2 }' "${kids[@]}" 2>/dev/null >>"$B/rss.samples" || true
	sleep 0.05
done
wait "$lg" || true
# The child that served the upload is the one whose RSS moved most.
R[rss]="rss: $(awk '{ if (!($1 in min) || $2 < min[$1]) min[$1] = $2; if ($2 > max[$1]) max[$1] = $2; n[$1]++ }
	END { best = ""; for (p in n) if (best == "" || max[p] - min[p] > max[best] - min[best]) best = p;
	      printf "child=%s samples=%d min_kib=%d max_kib=%d delta_kib=%d", best, n[best], min[best], max[best], max[best] - min[best] }' "$B/rss.samples") $(cat "$B/rss-upload.out")"
point "vingest-fcgi child RSS, 300 MiB upload" "${R[rss]}"
clean_stores

# ---------------------------------------------------------------- job path

say "bench: job path (bench/jobs.sh), workers started"
# The uploads above left ready jobs; they are not part of this measurement.
sql vingest -e "UPDATE jobs SET state = 'cancelled', finished_at = UTC_TIMESTAMP(6) WHERE state = 'ready'"
stack_up VINGEST_DEV_WORKERS=1
jobs_n=$((QUICK ? 4000 : 20000)) # as many as the probe's batch run
jobs_m=$((QUICK ? 60 : 300))
read -r t0 t1 <<<"$(cpu_ticks "$CPU_DB" "$CPU_JOBS")"
jobs_out=$("$REPO/bench/jobs.sh" "$jobs_n" "$jobs_m" 2>"$B/log/jobs.log") || true
read -r u0 u1 <<<"$(cpu_ticks "$CPU_DB" "$CPU_JOBS")"
R[cpu_jobs]="cpu: jobs=$((jobs_n + jobs_m)) mariadb_cpu_ms_per_job=$(per_item $((u0 - t0)) $((jobs_n + jobs_m))) workers_stub_memcached_cpu_ms_per_job=$(per_item $((u1 - t1)) $((jobs_n + jobs_m)))"
R[jobs]=$(grep '^throughput:' <<<"$jobs_out" || true)
R[latency]=$(grep '^latency:' <<<"$jobs_out" || true)
point "jobs.sh $jobs_n $jobs_m" "${R[jobs]}"
point "" "${R[latency]}"

# ---------------------------------------------------------------- one worker, 500 slow calls

say "bench: one worker process holding 500 slow calls"
stop_pid "$VINGEST_WORKERS_PID_FILE" 90
curl -sf -d '{"mode":"ok","delay_ms":120000,"reset_counters":true,"fetch":false}' "$VINGEST_STUB_URL/control" >/dev/null
stack_up VINGEST_DEV_WORKERS=1 VINGEST_WORKERS_MIN=1 VINGEST_WORKERS_MAX=1 \
	VINGEST_WORKERS_CONCURRENCY=500 VINGEST_WORKERS_DRAIN_SECONDS=1 VINGEST_PROCESSOR_TIMEOUT_SECONDS=300
user=$(sql vingest -e "SELECT id FROM users WHERE name = 'demo'")
prefix=01BNCS$(printf '%04d' $(($(date +%s) % 10000)))
sql vingest -e "INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, container, duration_ms, created_at, expires_at)
	SELECT CONCAT('$prefix', LPAD(seq, 16, '0')), $user, CONCAT('videos/00/00/$prefix', LPAD(seq, 16, '0')),
	       1, REPEAT('0', 64), 'mp4', 1000, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 1 DAY FROM seq_1_to_500;
     INSERT INTO jobs (video_id, run_after, max_attempts, created_at)
	SELECT CONCAT('$prefix', LPAD(seq, 16, '0')), UTC_TIMESTAMP(6), 5, UTC_TIMESTAMP(6) FROM seq_1_to_500;"
inflight=0
for ((i = 0; i < 600; i++)); do
	inflight=$(curl -sf "$VINGEST_STUB_URL/control" | jq -r .in_flight)
	((inflight >= 500)) && break
	sleep 0.1
done
sup=$(tr -dc '0-9' <"$VINGEST_WORKERS_PID_FILE")
worker=$(pgrep -P "$sup" | head -n1 || true)
win=$((QUICK ? 5 : 15))
if [[ -n $worker ]] && ((inflight >= 500)); then
	ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
	hz=$(getconf CLK_TCK)
	t0=$(ticks "$worker")
	sleep "$win"
	t1=$(ticks "$worker")
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$worker/status")
	calls=$(curl -sf "$VINGEST_STUB_URL/control" | jq -r .in_flight)
	R[worker]="worker: pid=$worker in_flight=$calls window_s=$win cpu_pct=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v w="$win" 'BEGIN {printf "%.2f", 100 * d / hz / w}') rss_kib=$rss"
else
	R[worker]="worker: not measured (in_flight=$inflight after 60 s, worker pid '${worker:-none}')"
fi
point "one worker, 500 calls in flight" "${R[worker]}"
curl -sf -d '{"mode":"ok","delay_ms":0}' "$VINGEST_STUB_URL/control" >/dev/null || true

# ---------------------------------------------------------------- the archive

# Last: it loads millions of rows (10 M: the load and the janitor's archive
# take tens of minutes on 2 cores; --quick: 100 000).
archive_n=$((QUICK ? 100000 : 10000000))
say "bench: the archive (bench/archive.sh), $archive_n finished jobs"
R[archive]=$("$REPO/bench/archive.sh" "$archive_n" 2>"$B/log/archive.log") || true
point "archive.sh $archive_n" "$(tail -n1 <<<"${R[archive]}")"

say "bench: stopping the bench stack"
trap - EXIT
cleanup

# ---------------------------------------------------------------- RESULTS.md

# shellcheck source=SCRIPTDIR/report.sh
source "$REPO/bench/report.sh"
write_report >"$OUT.tmp"
mv -f -- "$OUT.tmp" "$OUT"
say "bench: wrote ${OUT#"$REPO"/}"
sed -n '/^## Summary/,/^## Raw/p' "$OUT" | sed '$d'
