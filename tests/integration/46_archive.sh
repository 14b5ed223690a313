#!/usr/bin/env bash
# 46_archive: the janitor moves jobs finished more than
# retention.archive_after_days ago, with their attempts, from jobs and
# job_attempts to jobs_archive and job_attempts_archive, in batches of
# retention.archive_batch, the rows unchanged; unfinished and recent jobs stay.
# GET /v1/videos/{id} and the list still answer an archived video's final
# state, v_jobs_all sees live and archived jobs together, vingestctl jobs
# retry says an archived job is archived, and the move back of docs/dba.md
# works. Runs in the fs pass only (nothing here depends on the store).
. "$(dirname "$0")/lib.sh"

if [[ $STORE_BACKEND != fs ]]; then
	echo "# 46_archive: does not depend on the store; it runs in the fs pass (./dev test --store fs)"
	t_done
fi

export VINGEST_DEV_WORKERS=1
WLOG=$VINGEST_VAR/log/vingest-workers.log
"$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1 || t_fail "./dev up" "$(tail -n 20 "$T_TMP/up.log")"

upload() {
	api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" -F "title=$1"
	[[ $API_STATUS == 201 ]] && json .id
}
old=$(upload old)
recent=$(upload recent)
dead=$(upload dead)
processed() { [[ $(sql "SELECT COUNT(*) FROM jobs WHERE video_id IN ('$old', '$recent', '$dead') AND state = 'done'") == 3 ]]; }
t_ok "the three uploads are processed" wait_until 60 processed
user=$(sql "SELECT user_id FROM videos WHERE id = '$old'")
old_job=$(sql "SELECT id FROM jobs WHERE video_id = '$old'")
dead_job=$(sql "SELECT id FROM jobs WHERE video_id = '$dead'")

# The janitor stops while the rows are aged and seeded (its supervisor drains).
sup=$(tr -dc '0-9' <"$VINGEST_WORKERS_PID_FILE")
kill -TERM "$sup"
stopped() { ! kill -0 "$sup" 2>/dev/null; }
t_ok "the supervisor stopped" wait_until 30 stopped

# 250 done jobs with one attempt, 50 dead with two, finished 40 days ago (past
# the default 30); a done job finished 10 days ago and a ready job created 40
# days ago (both must stay); the uploaded "old" video's job aged 40 days, and
# the "dead" one's made dead 40 days ago.
P=01ARCHV000
# The stack is shared with the tests after this one, which wait for an idle
# queue: the seeded rows go when it ends (the ready job waits a day).
unseed() {
	sql "DELETE a FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.video_id LIKE '$P%';
	     DELETE FROM jobs WHERE video_id LIKE '$P%';
	     DELETE FROM job_attempts_archive WHERE job_id IN (SELECT id FROM jobs_archive WHERE video_id LIKE '$P%');
	     DELETE FROM jobs_archive WHERE video_id LIKE '$P%';
	     DELETE FROM videos WHERE id LIKE '$P%';" >/dev/null 2>&1
	rm -rf -- "$T_TMP"
}
trap unseed EXIT
sql "INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, container, status, created_at, expires_at)
	SELECT CONCAT('$P', LPAD(seq, 16, '0')), $user, CONCAT('videos/00/00/$P', LPAD(seq, 16, '0')), 1,
	       REPEAT('0', 64), 'mp4', IF(seq <= 250, 'processed', IF(seq <= 300, 'failed', 'queued')),
	       UTC_TIMESTAMP(6) - INTERVAL 41 DAY, UTC_TIMESTAMP(6) + INTERVAL 1 DAY FROM seq_1_to_302;
     INSERT INTO jobs (video_id, state, run_after, attempts, max_attempts, last_error, last_http_status,
	       created_at, finished_at)
	SELECT CONCAT('$P', LPAD(seq, 16, '0')),
	       CASE WHEN seq <= 250 OR seq = 301 THEN 'done' WHEN seq <= 300 THEN 'dead' ELSE 'ready' END,
	       IF(seq = 302, UTC_TIMESTAMP(6) + INTERVAL 1 DAY, UTC_TIMESTAMP(6) - INTERVAL 41 DAY),
	       IF(seq BETWEEN 251 AND 300, 2, 1), 2, IF(seq BETWEEN 251 AND 300, CONCAT('boom ', seq), NULL),
	       IF(seq BETWEEN 251 AND 300, 422, 200), UTC_TIMESTAMP(6) - INTERVAL 41 DAY,
	       CASE WHEN seq <= 300 THEN UTC_TIMESTAMP(6) - INTERVAL 40 DAY + INTERVAL seq SECOND
		    WHEN seq = 301 THEN UTC_TIMESTAMP(6) - INTERVAL 10 DAY END
	FROM seq_1_to_302;
     INSERT INTO job_attempts (job_id, attempt, worker, lease_token, started_at, finished_at, outcome, http_status, error)
	SELECT j.id, s.seq, 'seed:1', MD5(CONCAT(j.id, '/', s.seq)), j.created_at, j.finished_at,
	       IF(j.state = 'dead' AND s.seq = 1, 'retry', j.state), j.last_http_status, j.last_error
	FROM jobs j JOIN seq_1_to_2 s ON s.seq <= j.attempts WHERE j.video_id LIKE '$P%' AND j.state <> 'ready';
     UPDATE jobs SET finished_at = UTC_TIMESTAMP(6) - INTERVAL 40 DAY WHERE id = $old_job;
     UPDATE job_attempts SET finished_at = UTC_TIMESTAMP(6) - INTERVAL 40 DAY WHERE job_id = $old_job;
     UPDATE jobs SET state = 'dead', max_attempts = 1, last_error = 'seeded', finished_at = UTC_TIMESTAMP(6) - INTERVAL 40 DAY
	WHERE id = $dead_job;
     UPDATE job_attempts SET outcome = 'dead', finished_at = UTC_TIMESTAMP(6) - INTERVAL 40 DAY WHERE job_id = $dead_job;
     UPDATE videos SET status = 'failed' WHERE id = '$dead';"

# Every column of a job or an attempt, summed as checksums: equal before and after the move.
JC="id, video_id, kind, state, priority, run_after, attempts, max_attempts, lease_owner, lease_token, lease_expires_at, last_error, last_http_status, status_url, accepted_at, created_at, updated_at, finished_at"
AC="id, job_id, attempt, worker, lease_token, started_at, finished_at, outcome, http_status, error"
moving="(video_id LIKE '$P%' AND finished_at < UTC_TIMESTAMP(6) - INTERVAL 30 DAY) OR id IN ($old_job, $dead_job)"
sum_jobs() { sql "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', $JC))) FROM $1 WHERE $moving"; }
sum_attempts() { sql "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', $AC))) FROM $1 WHERE job_id IN (SELECT id FROM $2 WHERE $moving)"; }
jobs_before=$(sum_jobs jobs)
attempts_before=$(sum_attempts job_attempts jobs)
t_match "302 jobs are due for the archive" "$jobs_before" '^302	'
t_match "with 352 attempts" "$attempts_before" '^352	'
stay="video_id IN ('$recent', '${P}0000000000000301', '${P}0000000000000302')"
stay_before=$(sql "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', $JC))) FROM jobs WHERE $stay")

# Back with batches of 100: the 302 take four transactions.
wlog_lines=$(wc -l <"$WLOG")
VINGEST_RETENTION_ARCHIVE_BATCH=100 "$VINGEST_DEV" up >"$T_TMP/up2.log" 2>&1 ||
	t_fail "./dev up" "$(tail -n 20 "$T_TMP/up2.log")"
archived() { [[ $(sql "SELECT COUNT(*) FROM jobs_archive WHERE $moving") == 302 ]]; }
t_ok "the janitor archived the 302 old finished jobs" wait_until 30 archived
t_eq "none of them is left in jobs" "$(sql "SELECT COUNT(*) FROM jobs WHERE $moving")" 0
t_eq "the archived jobs are the same rows, every column" "$(sum_jobs jobs_archive)" "$jobs_before"
t_eq "their attempts moved with them, every column" "$(sum_attempts job_attempts_archive jobs_archive)" "$attempts_before"
t_eq "no attempt of theirs is left in job_attempts" \
	"$(sql "SELECT COUNT(*) FROM job_attempts WHERE job_id IN (SELECT id FROM jobs_archive)")" 0
t_eq "archived_at is set on every archived job and attempt" \
	"$(sql "SELECT (SELECT COUNT(*) FROM jobs_archive WHERE archived_at IS NULL) + (SELECT COUNT(*) FROM job_attempts_archive WHERE archived_at IS NULL)")" 0
t_eq "the recent done job, the unfinished old job and the recent upload's job stay live, unchanged" \
	"$(sql "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', $JC))) FROM jobs WHERE $stay")" "$stay_before"
passes=$(tail -n +$((wlog_lines + 1)) "$WLOG" | grep 'msg="finished jobs archived"' |
	awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); t[kv[1]] += kv[2] } } END { print t["jobs"], t["attempts"], t["batches"] }')
t_eq "the janitor logged its passes: 302 jobs, 352 attempts, in four batches of 100" "$passes" "302 352 4"
metric() { curl -sf "$VINGEST_URL/metrics" | grep -q '^vingest_jobs_archived_total 302$'; }
t_ok "vingest_jobs_archived_total counts them" wait_until 10 metric
# The janitor's lock statement (archive_lock_sql in workers/janitor.c), as
# it sends it: it pins the index, since statistics would scan a table this
# small; the plan must then be a range on it with no sort.
plan=$(sql "EXPLAIN SELECT finished_at, id FROM jobs FORCE INDEX (ix_jobs_finished) WHERE finished_at < UTC_TIMESTAMP(6) - INTERVAL 30 DAY AND state IN ('done', 'dead', 'cancelled') ORDER BY finished_at, id LIMIT 1000 FOR UPDATE")
t_match "a batch is found by a range on ix_jobs_finished" "$plan" 'range.*ix_jobs_finished'
t_lt "no filesort" "$(grep -c filesort <<<"$plan")" 1

# The API answers an archived video's final state as before.
api GET "/v1/videos/$old"
t_eq "GET of the archived video answers 200" "$API_STATUS" 200
t_eq "its status is processed" "$(json .status)" processed
t_eq "its processing state (from jobs_archive) is done" "$(json .processing.state)" done
t_eq "with its attempts" "$(json .processing.attempts)" 1
t_match "and its finished_at, 40 days ago" "$(json .processing.finished_at)" \
	"^$(sql "SELECT DATE_FORMAT(finished_at, '%Y-%m-%dT%H:%i:%s') FROM jobs_archive WHERE id = $old_job")"
api GET "/v1/videos?limit=100"
t_eq "the list shows the archived video's processing state too" \
	"$(jq -r --arg id "$old" '.videos[] | select(.id == $id) | .processing.state' "$API_BODY")" done
api GET "/v1/videos/$recent"
t_eq "a live job's video answers from jobs as before" "$(json .processing.state)" done

t_eq "v_jobs_all sees the live and the archived job" \
	"$(sql "SELECT GROUP_CONCAT(CONCAT(video_id = '$old', ':', archived_at IS NOT NULL) ORDER BY video_id = '$old') FROM v_jobs_all WHERE video_id IN ('$old', '$recent')")" "0:0,1:1"
t_eq "v_job_attempts_all sees the archived attempts" \
	"$(sql "SELECT COUNT(*) FROM v_job_attempts_all WHERE archived_at IS NOT NULL AND job_id IN (SELECT id FROM jobs_archive WHERE $moving)")" 352

# A dead job in the archive: retry says so; the move back of docs/dba.md
# (one transaction, requeue included) brings it back to work.
out=$("$VINGEST_CTL" -c "$VINGEST_CONFIG" jobs retry "$dead_job" 2>&1)
t_match "vingestctl jobs retry of an archived job says it is archived" "$out" "job $dead_job is archived"
sql "SET time_zone = '+00:00';
START TRANSACTION;
INSERT INTO jobs ($JC) SELECT $JC FROM jobs_archive WHERE id = $dead_job;
INSERT INTO job_attempts ($AC) SELECT $AC FROM job_attempts_archive WHERE job_id = $dead_job;
DELETE FROM job_attempts_archive WHERE job_id = $dead_job;
DELETE FROM jobs_archive WHERE id = $dead_job;
UPDATE jobs j JOIN videos v ON v.id = j.video_id
   SET j.state = 'ready', j.run_after = UTC_TIMESTAMP(6), j.max_attempts = j.attempts + 10,
       j.lease_owner = NULL, j.lease_token = NULL, j.lease_expires_at = NULL, j.finished_at = NULL,
       v.status = 'queued'
 WHERE j.id = $dead_job AND j.state = 'dead' AND v.status <> 'deleted';
COMMIT;"
redone() { [[ $(sql "SELECT state FROM jobs WHERE id = $dead_job") == done ]]; }
t_ok "the job moved back is claimed and processed again" wait_until 60 redone
t_eq "with its old attempt and a new one" "$(sql "SELECT GROUP_CONCAT(outcome ORDER BY attempt) FROM job_attempts WHERE job_id = $dead_job")" dead,done
t_eq "and it is no longer in the archive" "$(sql "SELECT COUNT(*) FROM jobs_archive WHERE id = $dead_job")" 0
t_done
