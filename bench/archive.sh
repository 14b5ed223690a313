#!/usr/bin/env bash
# bench/archive.sh - the claim query and GET /v1/videos/{id} with N finished
# jobs (10 million by default) in the live tables, against the same with the
# live tables small because the janitor archived them.
#
# Runs against the stack named by VINGEST_VAR (./dev bench starts one under
# var/bench); it stops that stack's supervisor and starts it again with its
# janitor archiving. Three phases on one database:
#   small    nothing loaded: jobs holds only the probe rows below
#   loaded   N finished jobs (one attempt each, finished 40 days ago) loaded
#            by SQL into jobs and job_attempts, in chunks of 1 M rows
#   archived the janitor (retention.archive_after_days = 30, interval 1 s,
#            archive_batch = B) moved them to the archive; jobs small again
# In each: the claim statement the workers run (VG_CLAIM_SQL, LIMIT 10, in a
# READ COMMITTED transaction, rolled back) C times in one client session
# against 100 due ready jobs, and one GET /v1/videos/{id} of each of 300
# videos whose job is finished (a different 300 each phase, so memcached's
# status cache never answers; in `archived` their jobs are in jobs_archive),
# on one keep-alive connection, 80 a second (under
# limits.requests_per_second_per_ip). The N jobs' videos rows are not loaded
# (foreign_key_checks=0 for the load): the archive changes the size of jobs
# and job_attempts, not of videos.
#
#   VINGEST_VAR=var/bench bench/archive.sh [N] [C] [B]
#
# Prints one line per phase (phase=... live_jobs=... claim_ms=... get_p50_ms=
# ...), a load= line and an archive= line; the last line is a table row.
set -euo pipefail
N=${1:-10000000}
C=${2:-2000}
BATCH=${3:-5000}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${VINGEST_VAR:?set VINGEST_VAR to a running stack (./dev bench does)}"
set -a
. "$VINGEST_VAR/dev.env"
set +a
sql() { mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -u"$VINGEST_DB_USER" "$VINGEST_DB_NAME" -e "$1"; }
now_ms() { date +%s%3N; }
log() { printf '  archive: %s\n' "$*" >&2; }

stop_supervisor() {
	local pid i
	[[ -f $VINGEST_WORKERS_PID_FILE ]] || return 0
	pid=$(tr -dc '0-9' <"$VINGEST_WORKERS_PID_FILE")
	[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "bench: the supervisor ($pid) did not stop" >&2
	exit 1
}
stop_supervisor

run=$(date +%s)
P=$(printf '01BNAR%04d' $((run % 10000))) # probe videos: 1200 done, 100 ready
user=$(sql "SELECT id FROM users WHERE name = 'demo'")
sql "SET time_zone = '+00:00';
INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, container, status, created_at, expires_at)
	SELECT CONCAT('$P', LPAD(seq, 16, '0')), $user, CONCAT('videos/00/00/$P', LPAD(seq, 16, '0')), 1,
	       REPEAT('0', 64), 'mp4', IF(seq <= 1200, 'processed', 'queued'),
	       UTC_TIMESTAMP(6) - INTERVAL 41 DAY, UTC_TIMESTAMP(6) + INTERVAL 1 DAY FROM seq_1_to_1300;
INSERT INTO jobs (video_id, state, run_after, attempts, max_attempts, last_http_status, created_at, finished_at)
	SELECT CONCAT('$P', LPAD(seq, 16, '0')), IF(seq <= 1200, 'done', 'ready'),
	       UTC_TIMESTAMP(6) - INTERVAL 41 DAY, IF(seq <= 1200, 1, 0), 5, IF(seq <= 1200, 200, NULL),
	       UTC_TIMESTAMP(6) - INTERVAL 41 DAY,
	       CASE WHEN seq <= 900 THEN UTC_TIMESTAMP(6) - INTERVAL 40 DAY
		    WHEN seq <= 1200 THEN UTC_TIMESTAMP(6) END
	FROM seq_1_to_1300;"
# The 100 ready jobs are parked (not due) while the supervisor runs, so its
# workers leave them for the claim measurements.
park() { sql "UPDATE jobs SET run_after = UTC_TIMESTAMP(6) + INTERVAL $1 DAY WHERE video_id LIKE '$P%' AND state = 'ready'"; }

claim_sql=$(sed -n '/#define VG_CLAIM_SQL/,/^$/p' "$REPO/lib/vg_queue.h" | grep -o '"[^"]*"' | tr -d '"' | tr -d '\n')
claim_sql=${claim_sql/LIMIT \?/LIMIT 10}
claim_ms() { # mean ms of one claim transaction, C in one session
	local t0 t1
	t0=$(now_ms)
	{
		echo "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;"
		for ((i = 0; i < C; i++)); do
			echo "START TRANSACTION; $claim_sql; ROLLBACK;"
		done
	} | mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -u"$VINGEST_DB_USER" "$VINGEST_DB_NAME" >/dev/null
	t1=$(now_ms)
	awk -v t=$((t1 - t0)) -v n="$C" 'BEGIN { printf "%.3f", t / n }'
}
get_ms() { # FROM TO: p50 p99 mean ms of GET of probe videos FROM..TO, one connection
	local urls=() i
	for ((i = $1; i <= $2; i++)); do
		urls+=(-o /dev/null "$VINGEST_URL/v1/videos/$(printf '%s%016d' "$P" "$i")")
	done
	# 80/s: under limits.requests_per_second_per_ip (100), so none is a 429.
	curl -s --rate 80/s -H "Authorization: Bearer $VINGEST_API_KEY" \
		-w '%{http_code} %{time_total}\n' "${urls[@]}" |
		awk '$1 != 200 { bad++; next } { print $2 * 1000 }
		     END { if (bad) printf "bench: %d GETs did not answer 200\n", bad > "/dev/stderr" }' |
		sort -n | awk '{ v[NR] = $1; s += $1 }
		END { printf "%.2f %.2f %.2f", v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1], s / NR }'
}
jobs_mib() {
	sql "SELECT ROUND((data_length + index_length) / 1048576) FROM information_schema.tables
	     WHERE table_schema = DATABASE() AND table_name = '$1'"
}
phase() { # NAME FROM TO
	local live c g
	sql "ANALYZE TABLE jobs, job_attempts" >/dev/null
	park -1
	live=$(sql "SELECT COUNT(*) FROM jobs")
	c=$(claim_ms)
	read -r p50 p99 mean <<<"$(get_ms "$2" "$3")"
	echo "phase=$1 live_jobs=$live jobs_mib=$(jobs_mib jobs) archive_mib=$(jobs_mib jobs_archive) claim_ms=$c get_p50_ms=$p50 get_p99_ms=$p99 get_mean_ms=$mean"
}

small=$(phase small 1 300)
echo "$small"

log "loading $N finished jobs by SQL"
t0=$(now_ms)
chunk=1000000
for ((k = 0; k * chunk < N; k++)); do
	n=$((N - k * chunk < chunk ? N - k * chunk : chunk))
	before=$(sql "SELECT COALESCE(MAX(id), 0) FROM jobs")
	sql "SET foreign_key_checks = 0; SET unique_checks = 0;
	INSERT INTO jobs (video_id, state, run_after, attempts, max_attempts, last_http_status, created_at, updated_at, finished_at)
		SELECT CONCAT('01BNAL', LPAD($((k * chunk)) + seq, 20, '0')), 'done',
		       UTC_TIMESTAMP(6) - INTERVAL 41 DAY, 1, 5, 200,
		       UTC_TIMESTAMP(6) - INTERVAL 41 DAY, UTC_TIMESTAMP(6) - INTERVAL 40 DAY,
		       UTC_TIMESTAMP(6) - INTERVAL 40 DAY + INTERVAL seq MICROSECOND
		FROM seq_1_to_$n;
	INSERT INTO job_attempts (job_id, attempt, worker, lease_token, started_at, finished_at, outcome, http_status)
		SELECT id, 1, 'bench:1', REPEAT('b', 32), created_at, finished_at, 'done', 200 FROM jobs
		WHERE id > $before;"
	log "$(((k * chunk) + n)) loaded"
done
t1=$(now_ms)
load="load: jobs=$N attempts=$N seconds=$(awk -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", t / 1000 }')"
echo "$load"

loaded=$(phase loaded 301 600)
echo "$loaded"

log "the janitor archives (batch $BATCH)"
park 1
wlog=$VINGEST_VAR/log/vingest-workers.log
lines=$(wc -l <"$wlog" 2>/dev/null || echo 0)
t0=$(now_ms)
VINGEST_DEV_WORKERS=1 VINGEST_RETENTION_JANITOR_INTERVAL_SECONDS=1 VINGEST_RETENTION_ARCHIVE_AFTER_DAYS=30 \
	VINGEST_RETENTION_ARCHIVE_BATCH="$BATCH" "$REPO/dev" up >>"$VINGEST_VAR/bench-archive-up.log" 2>&1
left() { sql "SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE finished_at < UTC_TIMESTAMP(6) - INTERVAL 30 DAY LIMIT 1) x"; }
while (($(left) > 0)); do
	sleep 5
	log "about $(sql "SELECT table_rows FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'jobs_archive'") archived"
done
t1=$(now_ms)
stop_supervisor
moved=$(tail -n +$((lines + 1)) "$wlog" | grep 'msg="finished jobs archived"' |
	awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); t[kv[1]] += kv[2] } }
	     END { printf "jobs=%d attempts=%d batches=%d busy_ms=%d", t["jobs"], t["attempts"], t["batches"], t["ms"] }')
secs=$(awk -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", t / 1000 }')
archive="archive: $moved seconds=$secs jobs_per_s=$(awk -v n="$(grep -o 'jobs=[0-9]*' <<<"$moved" | cut -d= -f2)" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')"
echo "$archive"

archived=$(phase archived 601 900)
echo "$archived"
recent=$(get_ms 901 1200)
echo "recent: get_p50_ms=${recent%% *} (videos whose job is live, finished now, after the archive)"

kvv() { grep -o "\\b$2=[^ ]*" <<<"$1" | cut -d= -f2; }
printf '| %s | %s ms | %s ms | %s ms | %s / %s / %s ms | %s / %s / %s ms | %s s | %s/s |\n' \
	"$N" "$(kvv "$small" claim_ms)" "$(kvv "$loaded" claim_ms)" "$(kvv "$archived" claim_ms)" \
	"$(kvv "$small" get_p50_ms)" "$(kvv "$loaded" get_p50_ms)" "$(kvv "$archived" get_p50_ms)" \
	"$(kvv "$small" get_p99_ms)" "$(kvv "$loaded" get_p99_ms)" "$(kvv "$archived" get_p99_ms)" \
	"$(kvv "$load" seconds)" "$(kvv "$archive" jobs_per_s)"
