#!/usr/bin/env bash
# 82_orphans: an upload whose request died between staging and COMMIT leaves
# an `uploads` row; after retention.orphan_grace_seconds the janitor removes
# its staged and published bytes and the row - and nothing younger, and
# nothing a committed video owns.
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

# Clean up the young one as its request would have.
sql "DELETE FROM uploads WHERE id = '$new_id'"
rm -f -- "$STAGING/$new_id.part"
store_rm "$(key_of "$new_id")"
t_done
