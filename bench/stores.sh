#!/usr/bin/env bash
# stores.sh - what each store backend costs: the same multipart uploads
# against a stack with store.backend = fs, db and s3 (s3rver on loopback),
# one after the other, same load generator and payloads. Writes
# bench/STORES.md. Run by `./dev bench --stores` (about 3 minutes).
#
# For db it also reports what the database grows by per stored byte
# (object_chunks data_length from information_schema, after ANALYZE TABLE).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
V=$REPO/var/bench-stores
N=${STORES_REQUESTS:-150}
CONNS=${STORES_CONNS:-8}
out=$REPO/bench/STORES.md
export VINGEST_VAR=$V VINGEST_HTTP_PORT=28280 VINGEST_MEMCACHED_PORT=31281 VINGEST_STUB_PORT=28290 \
	VINGEST_S3_PORT=28269 VINGEST_DEV_WORKERS=0
say() { printf '==> %s\n' "$*"; }
kv() { grep -o "\\b$2=[^ ]*" <<<"$1" | head -n1 | cut -d= -f2; }
make_mp4() {
	local bytes=$1 dst=$2 head payload size
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
	} >"$dst"
}
cleanup() { "$REPO/dev" down >/dev/null 2>&1 || true; }
trap cleanup EXIT

mkdir -p "$REPO/var/bench-stores-bin"
B=$REPO/var/bench-stores-bin
# shellcheck disable=SC2046 # pkg-config prints words
cc -std=c11 -O2 -Wall -Wextra -Werror -o "$B/loadgen" "$REPO/bench/loadgen.c" $(pkg-config --cflags --libs libcurl)
make_mp4 65536 "$B/64k.mp4"
make_mp4 1048576 "$B/1m.mp4"
make_mp4 10485760 "$B/10m.mp4"

declare -A R
for store in fs db s3; do
	cleanup
	rm -rf -- "$V"
	say "store $store: a fresh stack under var/bench-stores"
	"$REPO/dev" up --store "$store" >"$REPO/var/bench-stores-$store-up.log" 2>&1 || {
		tail -n 20 "$REPO/var/bench-stores-$store-up.log"
		exit 1
	}
	# shellcheck source=/dev/null
	. "$V/dev.env"
	for size in 64k 1m 10m; do
		n=$N
		[[ $size == 10m ]] && n=$((N / 3))
		line=$("$B/loadgen" multipart "$VINGEST_URL/v1/videos" "$B/$size.mp4" -c "$CONNS" -n "$n" \
			-H "Authorization: Bearer $VINGEST_API_KEY")
		R[$store.$size]=$line
		printf '    %-4s %-4s %s\n' "$store" "$size" "$line"
	done
	if [[ $store == db ]]; then
		mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -uroot vingest -e "ANALYZE TABLE object_chunks" >/dev/null
		R[db.grow]=$(mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -uroot vingest -e "
			SELECT ROUND(t.data_length / NULLIF(s.b, 0), 3), s.b, t.data_length
			FROM information_schema.tables t,
			     (SELECT SUM(bytes) AS b FROM object_chunks) s
			WHERE t.table_schema = 'vingest' AND t.table_name = 'object_chunks'")
	fi
done

{
	echo "# Store backends compared"
	echo
	echo "Written by \`./dev bench --stores\` (bench/stores.sh) on $(date -u +%F) ($(uname -m), $(nproc) cores; MariaDB with innodb_flush_log_at_trx_commit=1; s3 is s3rver from npm on loopback). Multipart uploads through lighttpd, $CONNS connections, $N requests per point ($((N / 3)) at 10 MiB), a fresh stack per backend, workers off. Noisy: compare within one run."
	echo
	echo "| payload | fs uploads/s | db uploads/s | s3 uploads/s | db / fs | s3 / fs | fs p50 ms | db p50 ms | s3 p50 ms |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for size in 64k 1m 10m; do
		f=$(kv "${R[fs.$size]}" req_per_s) d=$(kv "${R[db.$size]}" req_per_s) s=$(kv "${R[s3.$size]}" req_per_s)
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$size" "$f" "$d" "$s" \
			"$(awk -v a="$d" -v b="$f" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
			"$(awk -v a="$s" -v b="$f" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
			"$(kv "${R[fs.$size]}" p50_ms)" "$(kv "${R[db.$size]}" p50_ms)" "$(kv "${R[s3.$size]}" p50_ms)"
	done
	echo
	read -r ratio bytes length <<<"${R[db.grow]:-- - -}"
	echo "db store: object_chunks holds $bytes bytes of video in $length bytes of table data ($ratio x)."
	echo
	echo "Raw lines:"
	echo
	echo '```'
	for k in "${!R[@]}"; do printf '%s %s\n' "$k" "${R[$k]}"; done | sort
	echo '```'
} >"$out"
say "wrote bench/STORES.md"
