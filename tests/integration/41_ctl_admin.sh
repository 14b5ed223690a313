#!/usr/bin/env bash
# 41_ctl_admin: vingestctl's daily chores take effect at once through the web
# server: a revoked key and a disabled user's key are refused on the very next
# request; key listings never show a key; every listing has --json that jq
# parses; stats --json gives the same numbers as COUNT/SUM in SQL.
. "$(dirname "$0")/lib.sh"

CTL=("$VINGEST_CTL" -c "$VINGEST_CONFIG")

# status_with KEY: the status GET /v1/videos answers with that key (in $(...):
# API_BODY and the rest do not outlive it).
status_with() {
	API_KEY=$1 api GET "/v1/videos?limit=1"
	printf '%s' "$API_STATUS"
}

# --- key revoke

user="adm-$$-$RANDOM"
k1=$(new_user "$user")
k2=$("${CTL[@]}" key create "$user")
k3=$("${CTL[@]}" key create "$user")
t_eq "three fresh keys authenticate" "$(status_with "$k1") $(status_with "$k2") $(status_with "$k3")" "200 200 200"

id1=$(sql "SELECT id FROM api_keys WHERE key_hash = SHA2('$(sqlq "$k1")', 256)")
t_match "the first key has an id" "$id1" '^[0-9]+$'
t_ok "key revoke ID exits 0" "${CTL[@]}" key revoke "$id1"
API_KEY=$k1 api GET "/v1/videos?limit=1"
t_eq "a key revoked by id gets 401 on the next request" "$API_STATUS" 401
t_eq "the 401 is the JSON unauthorized error" "$(json .error.code)" unauthorized
t_eq "the user's other keys still work" "$(status_with "$k2") $(status_with "$k3")" "200 200"
t_ok "revoking a revoked key again is harmless (exit 0)" "${CTL[@]}" key revoke "$id1"

# By prefix: unique among unrevoked keys unless two keys share 16 random bits.
p2=${k2:0:8}
nsame=$(sql "SELECT COUNT(*) FROM api_keys WHERE key_prefix = '$(sqlq "$p2")' AND revoked_at IS NULL")
if [[ $nsame == 1 ]]; then
	t_ok "key revoke PREFIX exits 0" "${CTL[@]}" key revoke "$p2"
else
	printf '# prefix %s is shared by %s keys: revoking by the whole key instead\n' "$p2" "$nsame"
	t_ok "key revoke KEY exits 0" "${CTL[@]}" key revoke "$k2"
fi
t_eq "a key revoked by prefix gets 401 on the next request" "$(status_with "$k2")" 401
t_ok "key revoke with the whole key exits 0" "${CTL[@]}" key revoke "$k3"
t_eq "a key revoked by the whole key gets 401 on the next request" "$(status_with "$k3")" 401
t_eq "revoked_at is set on exactly the three keys" \
	"$(sql "SELECT COUNT(*) FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.name = '$user' AND k.revoked_at IS NOT NULL")" 3

out=$("${CTL[@]}" key revoke 999999999 2>&1)
rc=$?
t_eq "key revoke of an unknown id exits 1" "$rc" 1
t_match "key revoke of an unknown id says so" "$out" 'no key'
out=$("${CTL[@]}" key revoke 'not a key' 2>&1)
rc=$?
t_eq "key revoke of something that is no id, prefix or key exits 1" "$rc" 1
t_eq "the demo key still works after all that" "$(status_with "$VINGEST_API_KEY")" 200

# --- key list: ids and prefixes, never a key

k4=$("${CTL[@]}" key create "$user")
list=$T_TMP/keys.json
"${CTL[@]}" --json key list "$user" >"$list"
t_ok "key list --json USER parses with jq as an array" jq -e 'type == "array"' "$list"
t_eq "key list USER has the user's four keys" "$(jq 'length' "$list")" 4
t_eq "every listed key belongs to the user" "$(jq -r "[.[] | select(.user != \"$user\")] | length" "$list")" 0
t_eq "key list shows exactly these fields" \
	"$(jq -r '[.[0] | keys[]] | join(",")' "$list")" "active,created_at,id,prefix,revoked_at,user"
t_eq "three are revoked, one active" \
	"$(jq -r '[([.[] | select(.revoked_at != null)] | length), ([.[] | select(.active == 1)] | length)] | join(" ")' "$list")" "3 1"
t_eq "ids are JSON numbers" "$(jq -r '[.[] | .id | type] | unique | join(",")' "$list")" number
t_eq "the prefixes are the keys' first 8 characters" \
	"$(jq -r '[.[] | .prefix] | join(" ")' "$list")" "${k1:0:8} ${k2:0:8} ${k3:0:8} ${k4:0:8}"
"${CTL[@]}" --json key list >"$T_TMP/all.json"
"${CTL[@]}" key list >"$T_TMP/all.txt"
hashes=$(sql "SELECT key_hash FROM api_keys")
leak=0
for f in "$list" "$T_TMP/all.json" "$T_TMP/all.txt"; do
	for k in "$k1" "$k2" "$k3" "$k4" "$VINGEST_API_KEY" "${k4:8}" $hashes; do
		grep -qF -- "$k" "$f" && leak=$((leak + 1)) && printf '#   %s contains a secret\n' "$(basename "$f")"
	done
done
t_eq "no listing (json or text) contains a key, a key's secret part or a key hash" "$leak" 0
t_ok "key list --json (every user) parses with jq" jq -e 'type == "array" and length >= 5' "$T_TMP/all.json"
out=$("${CTL[@]}" key list "no-such-user-$$" 2>&1)
rc=$?
t_eq "key list of an unknown user exits 1" "$rc" 1

# --- user disable / enable

t_eq "the fourth key works" "$(status_with "$k4")" 200
t_ok "user disable NAME exits 0" "${CTL[@]}" user disable "$user"
t_eq "a disabled user's key is refused on the next request (401)" "$(status_with "$k4")" 401
t_match "disabled_at is set" "$(sql "SELECT disabled_at FROM users WHERE name = '$user'")" '^[0-9]{4}-'
t_ok "disabling again is harmless (exit 0)" "${CTL[@]}" user disable "$user"
out=$("${CTL[@]}" key create "$user" 2>&1)
rc=$?
t_eq "key create for a disabled user fails" "$rc" 1
"${CTL[@]}" --json user list >"$T_TMP/users.json"
t_eq "user list --json shows the user disabled" \
	"$(jq -r ".[] | select(.name == \"$user\") | .disabled_at != null" "$T_TMP/users.json")" true
t_eq "key list shows no active key for a disabled user" \
	"$("${CTL[@]}" --json key list "$user" | jq '[.[] | select(.active == 1)] | length')" 0
t_ok "user enable NAME exits 0" "${CTL[@]}" user enable "$user"
t_eq "after enable the unrevoked key works again" "$(status_with "$k4")" 200
t_eq "after enable the revoked keys stay refused" "$(status_with "$k1")" 401
out=$("${CTL[@]}" user disable "no-such-user-$$" 2>&1)
rc=$?
t_eq "user disable of an unknown user exits 1" "$rc" 1

# --- every listing has --json

for cmd in "jobs" "jobs dead" "workers" "user list" "key list" "stats"; do
	# shellcheck disable=SC2086 # the command is words
	if "${CTL[@]}" --json $cmd 2>"$T_TMP/err" | jq -e . >/dev/null; then
		t_pass "vingestctl --json $cmd prints JSON jq parses"
	else
		t_fail "vingestctl --json $cmd prints JSON jq parses" "$(cat "$T_TMP/err")"
	fi
done

# --- stats --json matches SQL

api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "an upload (so stats has something to count) answers 201" "$API_STATUS" 201
st=$T_TMP/stats.json
# The oldest due job's age in whole seconds just before and just after stats.
age_sql="SELECT COALESCE(TIMESTAMPDIFF(SECOND, MIN(run_after), UTC_TIMESTAMP(6)), -1) FROM jobs WHERE state = 'ready' AND run_after <= UTC_TIMESTAMP(6)"
age_before=$(sql "$age_sql")
"${CTL[@]}" --json stats >"$st"
age_after=$(sql "$age_sql")
t_ok "stats --json parses" jq -e 'type == "object"' "$st"
for s in queued processing processed failed deleted; do
	t_eq "stats videos.$s = COUNT(*) of videos with status $s" "$(jq -r ".videos.$s" "$st")" \
		"$(sql "SELECT COUNT(*) FROM videos WHERE status = '$s'")"
done
for s in ready running done dead cancelled; do
	t_eq "stats jobs.$s = COUNT(*) of jobs in state $s" "$(jq -r ".jobs.$s" "$st")" \
		"$(sql "SELECT COUNT(*) FROM jobs WHERE state = '$s'")"
done
t_lt "stats counts the new video as queued" 0 "$(jq -r .videos.queued "$st")"
t_eq "stats bytes_stored = SUM(size_bytes) of live videos" "$(jq -r .bytes_stored "$st")" \
	"$(sql "SELECT COALESCE(SUM(size_bytes), 0) FROM videos WHERE deleted_at IS NULL")"
t_eq "stats videos_stored = COUNT(*) of live videos" "$(jq -r .videos_stored "$st")" \
	"$(sql "SELECT COUNT(*) FROM videos WHERE deleted_at IS NULL")"
t_eq "stats uploads_in_progress = COUNT(*) of receiving uploads" "$(jq -r .uploads_in_progress "$st")" \
	"$(sql "SELECT COUNT(*) FROM uploads WHERE state = 'receiving'")"
t_eq "stats numbers are JSON numbers" \
	"$(jq -r '[.videos[], .jobs[], .bytes_stored, .videos_stored, .uploads_in_progress, .bytes_staged] | map(type) | unique | join(",")' "$st")" number
oldest=$(jq -r .oldest_ready_age_s "$st")
if ((age_after < 0)); then
	t_eq "stats oldest_ready_age_s is null with no due job" "$oldest" null
elif [[ $oldest =~ ^[0-9.]+$ ]] && ((${oldest%.*} >= age_before && ${oldest%.*} <= age_after)); then
	t_pass "stats oldest_ready_age_s is the oldest due ready job's age ($oldest s; SQL $age_before..$age_after s)"
else
	t_fail "stats oldest_ready_age_s is the oldest due ready job's age" "got $oldest, SQL before $age_before, after $age_after"
fi
text=$("${CTL[@]}" stats)
t_match "stats as text has one 'name value' line per number" "$text" $'videos.queued [0-9]+\n'

t_done
