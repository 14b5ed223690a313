#!/usr/bin/env bash
# 83_retention: videos past expires_at (created_at + retention.days) are
# deleted by the janitor - object first, then the row marked deleted - and a
# crash between the two is repaired on the next pass; `vingestctl retention
# --dry-run` lists them and changes nothing.
. "$(dirname "$0")/lib.sh"

export VINGEST_DEV_WORKERS=1
"$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1 || t_fail "./dev up" "$(tail -n 20 "$T_TMP/up.log")"

upload() { api POST /v1/videos -F "file=@$FIX/clip-2s.mp4" -F "title=$1"; json .id; }
keep=$(upload keep)
old=$(upload old)
half=$(upload half)
key_of() { sql "SELECT object_key FROM videos WHERE id = '$(sqlq "$1")'"; }
okey=$(key_of "$old")
hkey=$(key_of "$half")
api GET "/v1/videos/$keep"
t_match "expires_at is created_at + retention.days (1826 days: 2031)" "$(json .expires_at)" '^203[01]-'

# Stop the janitor from acting while we look (its supervisor drains), then age two videos.
sup=$(tr -dc '0-9' <"$VINGEST_WORKERS_PID_FILE")
kill -TERM "$sup"
for ((i = 0; i < 100; i++)); do kill -0 "$sup" 2>/dev/null || break; sleep 0.2; done
sql "UPDATE videos SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 DAY WHERE id IN ('$old', '$half')"
# "half": a crash between the two steps - the object is gone, the row still live.
store_rm "$hkey"

BEFORE=$(snap)
out=$("$VINGEST_CTL" -c "$VINGEST_CONFIG" retention --dry-run 2>&1)
t_match "retention --dry-run lists the expired video" "$out" "would delete $old"
t_match "and the half-deleted one" "$out" "would delete $half"
t_eq "and changes nothing" "$(snap)" "$BEFORE"
t_ok "the object is still there" store_has "$okey"

"$VINGEST_DEV" up >"$T_TMP/up2.log" 2>&1 # the janitor is back
gone() { [[ $(sql "SELECT COUNT(*) FROM videos WHERE id IN ('$old', '$half') AND status = 'deleted' AND deleted_at IS NOT NULL") == 2 ]]; }
for ((i = 0; i < 75; i++)); do gone && break; sleep 0.2; done
t_ok "the janitor deleted both expired videos (rows marked deleted)" gone
t_ok "the expired object is removed from the store" store_lacks "$okey"
t_eq "the half-deleted one was repaired (row now deleted)" "$(sql "SELECT status FROM videos WHERE id = '$half'")" deleted
t_eq "their client fields are cleared" "$(sql "SELECT COUNT(*) FROM videos WHERE id IN ('$old', '$half') AND title IS NULL")" 2
api GET "/v1/videos/$old"
t_eq "GET shows deleted" "$(json .status)" deleted
t_eq "a video within its retention is untouched" "$(sql "SELECT status <> 'deleted' FROM videos WHERE id = '$keep'")" 1
t_ok "its object is there" store_has "$(key_of "$keep")"
t_ok "the janitor logged the deletions" grep -q "video past its retention deleted\" video_id=$old" "$VINGEST_VAR/log/vingest-workers.log"

# The sweep reads the retention index, not the years of deleted rows.
plan=$(sql "EXPLAIN SELECT id FROM videos FORCE INDEX (ix_videos_retention) WHERE deleted_at IS NULL AND expires_at < UTC_TIMESTAMP(6) ORDER BY deleted_at, expires_at LIMIT 100")
t_match "the sweep is a range on ix_videos_retention" "$plan" 'range.*ix_videos_retention'
t_done
