#!/usr/bin/env bash
# bench/jobs.sh - the job path: jobs/s from COMMIT to `done` with an instant
# processing service, and the latency from a job's COMMIT to its call.
#
# Runs against the stack named by VINGEST_VAR (./dev bench starts one under
# var/bench). Throughput: N jobs committed at once (a burst of N uploads), the
# time until all are done. Latency: M jobs committed one by one, 20 ms apart
# (a steady trickle, the queue never backed up), and for each the time from
# its COMMIT (jobs.created_at) to its claim just before the call
# (job_attempts.started_at). Timings are read back from the database.
#
#   VINGEST_VAR=var/bench bench/jobs.sh [N] [M]
set -euo pipefail
N=${1:-5000}
M=${2:-300}
: "${VINGEST_VAR:?set VINGEST_VAR to a running stack (./dev bench does)}"
set -a
. "$VINGEST_VAR/dev.env"
set +a
sql() { mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -u"$VINGEST_DB_USER" "$VINGEST_DB_NAME" -e "$1"; }

curl -sf -d '{"mode":"ok","delay_ms":0,"reset_counters":true,"forget_keys":true,"fetch":false}' "$VINGEST_STUB_URL/control" >/dev/null
run=$(date +%s)
prefix=$(printf '01BNCH%04d' $((run % 10000)))
user=$(sql "SELECT id FROM users WHERE name = 'demo'")
sql "INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, container, duration_ms, created_at, expires_at)
	SELECT CONCAT('$prefix', LPAD(seq, 16, '0')), $user, CONCAT('videos/00/00/$prefix', LPAD(seq, 16, '0')),
	       1, REPEAT('0', 64), 'mp4', 1000, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 1 DAY FROM seq_1_to_$N;
     INSERT INTO jobs (video_id, run_after, max_attempts, created_at)
	SELECT CONCAT('$prefix', LPAD(seq, 16, '0')), UTC_TIMESTAMP(6), 5, UTC_TIMESTAMP(6) FROM seq_1_to_$N;"
while :; do
	done_n=$(sql "SELECT COUNT(*) FROM jobs WHERE video_id LIKE '$prefix%' AND state IN ('done', 'dead')")
	printf '\r  %d / %d done' "$done_n" "$N" >&2
	((done_n >= N)) && break
	sleep 0.5
done
dead=$(sql "SELECT COUNT(*) FROM jobs WHERE video_id LIKE '$prefix%' AND state = 'dead'")
((dead == 0)) || { echo "bench: $dead jobs went dead (see the workers' log)" >&2; exit 1; }
echo >&2
secs=$(sql "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(created_at), MAX(finished_at)) / 1e6 FROM jobs WHERE video_id LIKE '$prefix%'")
dups=$(curl -sf "$VINGEST_STUB_URL/control" | jq -r .duplicates)
printf 'throughput: jobs=%d seconds=%.2f jobs_per_s=%.0f duplicate_calls=%s\n' \
	"$N" "$secs" "$(echo "$N / $secs" | bc -l)" "$dups"

# Latency: one job per autocommit INSERT, 20 ms apart.
prefix2=$(printf '01BNCL%04d' $((run % 10000)))
for ((i = 1; i <= M; i++)); do
	vid=$(printf '%s%016d' "$prefix2" "$i")
	printf "INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, container, duration_ms, created_at, expires_at) VALUES ('%s', %s, 'videos/00/00/%s', 1, REPEAT('0', 64), 'mp4', 1000, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 1 DAY);\n" "$vid" "$user" "$vid"
	printf "INSERT INTO jobs (video_id, run_after, max_attempts, created_at) VALUES ('%s', UTC_TIMESTAMP(6), 5, UTC_TIMESTAMP(6));\nDO SLEEP(0.02);\n" "$vid"
done | mariadb --no-defaults --socket="$VINGEST_DB_SOCKET" -u"$VINGEST_DB_USER" "$VINGEST_DB_NAME"
while (($(sql "SELECT COUNT(*) FROM jobs WHERE video_id LIKE '$prefix2%' AND state IN ('done', 'dead')") < M)); do
	sleep 0.5
done
dead=$(sql "SELECT COUNT(*) FROM jobs WHERE video_id LIKE '$prefix2%' AND state = 'dead'")
((dead == 0)) || { echo "bench: $dead latency jobs went dead (see the workers' log)" >&2; exit 1; }
lat=$(sql "SELECT TIMESTAMPDIFF(MICROSECOND, j.created_at, a.started_at) / 1000 AS ms FROM jobs j
	JOIN job_attempts a ON a.job_id = j.id AND a.attempt = 1 WHERE j.video_id LIKE '$prefix2%' ORDER BY ms")
p50=$(awk -v n="$M" 'NR == int(n * 0.50) + 1 { print; exit }' <<<"$lat")
p99=$(awk -v n="$M" 'NR == int(n * 0.99) + 1 { print; exit }' <<<"$lat")
printf 'latency: jobs=%d commit_to_call_p50_ms=%.1f commit_to_call_p99_ms=%.1f\n' "$M" "$p50" "$p99"
