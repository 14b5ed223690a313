#!/usr/bin/env bash
# 82_orphans: an upload whose request died between staging and COMMIT leaves
# its staging file (a multipart upload's only mark) or an `uploads` row (a
# tus upload's, or one from before multipart uploads stopped writing rows);
# after retention.orphan_grace_seconds the janitor removes its staged and
# published bytes and the row - and nothing younger, and nothing a committed
# video owns.
. "$(dirname "$0")/lib.sh"

export VINGEST_DEV_WORKERS=1
"$VINGEST_DEV" up >"$T_TMP/up.log" 2>&1 || t_fail "./dev up" "$(tail -n 20 "$T_TMP/up.log")"
user=$(sql "SELECT id FROM users WHERE name = 'demo'")

# Two ids as vingest makes them (26 Crockford characters), their keys.
old_id=01ORPHANAAAAAAAAAAAAAAAAAA
new_id=01ORPHANBBBBBBBBBBBBBBBBBB
old_id=${old_id//O/0}
new_id=${new_id//O/0}
key_of() { echo "videos/${1:24:2}/${1:22:2}/$1"; }
echo published >"$T_TMP/published"
for id in "$old_id" "$new_id"; do
	echo staged >"$STAGING/$id.part"
	store_put "$(key_of "$id")" "$T_TMP/published"
done
sql "INSERT INTO uploads (id, user_id, kind, object_key, created_at)
     VALUES ('$old_id', $user, 'multipart', '$(key_of "$old_id")', UTC_TIMESTAMP(6) - INTERVAL 2 HOUR),
            ('$new_id', $user, 'multipart', '$(key_of "$new_id")', UTC_TIMESTAMP(6))"

gone() { [[ $(sql "SELECT COUNT(*) FROM uploads WHERE id = '$old_id'") == 0 ]]; }
for ((i = 0; i < 75; i++)); do gone && break; sleep 0.2; done
t_ok "the janitor collects an uploads row older than the grace period" gone
t_ok "its staged file is removed" test ! -e "$STAGING/$old_id.part"
t_ok "its published object is removed" store_lacks "$(key_of "$old_id")"
t_ok "it logged what it removed" grep -q "orphaned upload removed.*upload_id=$old_id" "$VINGEST_VAR/log/vingest-workers.log"
t_eq "a young uploads row (a request still running) is left alone" \
	"$(sql "SELECT COUNT(*) FROM uploads WHERE id = '$new_id'")" 1
t_ok "with its staged bytes" test -e "$STAGING/$new_id.part"
t_ok "and its published object" store_has "$(key_of "$new_id")"

# A staging file with no uploads row at all (a COMMIT whose outcome was
# unknown but landed, with the s3 or db store): gone once older than the grace.
lone_old=01STAGE0NLYAAAAAAAAAAAAAAA
lone_new=01STAGE0NLYBBBBBBBBBBBBBBB
echo left >"$STAGING/$lone_old.part"
echo left >"$STAGING/$lone_new.part"
touch -d '2 hours ago' "$STAGING/$lone_old.part"
for ((i = 0; i < 75; i++)); do [[ -e $STAGING/$lone_old.part ]] || break; sleep 0.2; done
t_ok "a staging file with no uploads row, older than the grace, is removed" test ! -e "$STAGING/$lone_old.part"
t_ok "and logged" grep -q "staging file without an uploads row removed.*name=$lone_old" "$VINGEST_VAR/log/vingest-workers.log"
t_ok "a young one is left alone" test -e "$STAGING/$lone_new.part"
rm -f -- "$STAGING/$lone_new.part"

# A multipart upload that died after publishing, before COMMIT: its staging
# file and an object under its id's key, no row, no video. Ids on this
# stack's shard: a real video's, and two made from it by another tail.
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "a video to take ids from" "$API_STATUS" 201
vid=$(json .id)
dead=${vid:0:20}ZZZZZZ
young=${vid:0:20}YYYYYY
for id in "$dead" "$young"; do
	echo staged >"$STAGING/$id.part"
	store_put "$(key_of "$id")" "$T_TMP/published"
done
echo left >"$STAGING/$vid.part" # what a commit leaves if a crash loses the unlink
touch -d '2 hours ago' "$STAGING/$dead.part" "$STAGING/$vid.part"
for ((i = 0; i < 75; i++)); do [[ -e $STAGING/$dead.part || -e $STAGING/$vid.part ]] || break; sleep 0.2; done
t_ok "an old staging file with no row and no video is removed" test ! -e "$STAGING/$dead.part"
t_ok "with the object under its id's key" store_lacks "$(key_of "$dead")"
t_ok "and logged with that key" grep -q "staging file without an uploads row removed.*name=$dead object_key=$(key_of "$dead")" \
	"$VINGEST_VAR/log/vingest-workers.log"
t_ok "an old staging file of a committed video is removed" test ! -e "$STAGING/$vid.part"
t_ok "but never the video's object" store_has "$(key_of "$vid")"
t_eq "nor its row" "$(sql "SELECT COUNT(*) FROM videos WHERE id = '$vid'")" 1
t_ok "a young staging file (a request still running) is left alone" test -e "$STAGING/$young.part"
t_ok "with its object" store_has "$(key_of "$young")"
rm -f -- "$STAGING/$young.part"
store_rm "$(key_of "$young")"

# Clean up the young one as its request would have.
sql "DELETE FROM uploads WHERE id = '$new_id'"
rm -f -- "$STAGING/$new_id.part"
store_rm "$(key_of "$new_id")"
t_done
