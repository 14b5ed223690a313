#!/usr/bin/env bash
# 45_claim_plan: the claim query reads the claim index as a range in index
# order - no filesort, and no scan of jobs that are not ready or not yet due
# (InnoDB locks every row it scans). Checked on a separate database of the
# same server, so no running worker changes the rows under the test.
. "$(dirname "$0")/lib.sh"

db=vingest_claim_plan
sql "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4"
ctl() { VINGEST_DB_NAME=$db "$VINGEST_CTL" -c "$VINGEST_CONFIG" "$@"; }
t_ok "migrate a fresh database" ctl migrate
q() { mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -u"$VINGEST_DB_USER" "$db" -e "$1"; }

q "INSERT INTO users (name) VALUES ('plan');
   INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, created_at, expires_at)
   VALUES ('01AAAAAAAAAAAAAAAAAAAAAAAA', 1, 'videos/AA/AA/01AAAAAAAAAAAAAAAAAAAAAAAA', 1,
           REPEAT('0', 64), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 1 DAY);"
# 3000 jobs: 1200 done, 800 dead, 600 ready in back-off (due in an hour), 400 running.
q "INSERT INTO jobs (video_id, state, run_after, max_attempts, created_at)
   SELECT '01AAAAAAAAAAAAAAAAAAAAAAAA',
          ELT(1 + (seq MOD 15 >= 6) + (seq MOD 15 >= 10) + (seq MOD 15 >= 13), 'done', 'dead', 'ready', 'running'),
          UTC_TIMESTAMP(6) + INTERVAL 1 HOUR, 10, UTC_TIMESTAMP(6)
   FROM seq_1_to_3000;
   ANALYZE TABLE jobs;" >/dev/null

plan() { ctl jobs explain --analyze; }

# Nothing due: the claim must read at most the one index entry past the due range.
p=$(plan)
t_match "no due job: the plan is a range scan" "$p" '"access_type": "range"'
t_match "no due job: it uses ix_jobs_claim" "$p" '"key": "ix_jobs_claim"'
t_eq "no due job: no filesort" "$(grep -c filesort <<<"$p")" 0
rows=$(grep -o '"r_rows": [0-9.]*' <<<"$p" | head -n1 | grep -o '[0-9.]*$')
t_lt "no due job: at most 1 row read of 3000 (read $rows)" "${rows%.*}" 2

# 25 due among the rest: a claim of jobs.batch (10) reads 10, not the queue.
q "UPDATE jobs SET run_after = UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE
   WHERE state = 'ready' ORDER BY id LIMIT 25"
p=$(plan)
t_match "25 due: range scan on ix_jobs_claim" "$p" '"key": "ix_jobs_claim"'
t_eq "25 due: no filesort" "$(grep -c filesort <<<"$p")" 0
rows=$(grep -o '"r_rows": [0-9.]*' <<<"$p" | head -n1 | grep -o '[0-9.]*$')
t_lt "25 due: the claim reads at most batch + 1 rows (read $rows)" "${rows%.*}" 12

# A tiny table is where optimizers like full scans: the plan must hold there too.
q "DELETE FROM jobs WHERE id > 5; UPDATE jobs SET state = 'ready', run_after = UTC_TIMESTAMP(6);
   ANALYZE TABLE jobs;" >/dev/null
p=$(plan)
t_match "5 jobs: still a range scan on ix_jobs_claim" "$p" '"key": "ix_jobs_claim"'
t_eq "5 jobs: still no filesort" "$(grep -c filesort <<<"$p")" 0

sql "DROP DATABASE $db"
t_done
