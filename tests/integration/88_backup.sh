#!/usr/bin/env bash
# 88_backup: `./dev backup` under load and `./dev restore` into a fresh stack
# keep the database and the store consistent. Uploads run on a stack of
# their own while the backup is taken; a video is deleted between the
# database snapshot and the store copy (BACKUP_HOOK), and uploads that start
# after the snapshot commit before the copy. The restored stack then has
# every live video's object with the row's sha256 and no object without its
# video, every upload acknowledged before the backup began, the deleted
# video deleted, and tests/fault/check (acked, objects, jobs, orphans,
# final) passes on it; it serves GET /v1/videos/{id} with the old key. Two
# broken backups prove the restore's check can fail: one made the wrong way
# round (the store copied BEFORE the snapshot), one without its list of
# videos deleted during the backup; the restore refuses both, naming the
# videos without their object.
# Runs in the fs pass (stacks of their own; the fs store is the one copied).
. "$(dirname "$0")/lib.sh"

if [[ $STORE_BACKEND != fs ]]; then
	echo "# 88_backup: stacks of its own with the fs store; runs in the fs pass (./dev test --store fs)"
	exit 0
fi

SV=$VINGEST_VAR-bsrc # the stack backed up
RV=$VINGEST_VAR-brst # the good backup restored
BV=$VINGEST_VAR-bbad # the bad backup restored
NV=$VINGEST_VAR-bnod # the backup without its deleted list restored
ASAN_FLAG=
[[ $(cat "$VINGEST_VAR/build-dir" 2>/dev/null) == */build-asan ]] && ASAN_FLAG=--asan
# stk VAR BASE [VAR=VALUE...] -- ./dev ARGS: ./dev for one of this test's
# stacks (ports BASE + PORT_OFF, memcached 3000 above), in a clean
# environment: nothing of the test stack's VINGEST_* may leak into it.
stk() {
	local var=$1 base=$(($2 + PORT_OFF)) extra=()
	shift 2
	while [[ $1 != -- ]]; do
		extra+=("$1")
		shift
	done
	shift
	env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" VINGEST_VAR="$var" VINGEST_HTTP_PORT="$base" \
		VINGEST_FCGI_PORT=$((base + 10)) VINGEST_STUB_PORT=$((base + 20)) \
		VINGEST_MEMCACHED_PORT=$((base + 3000)) STUB_DELAY_MS=0 VINGEST_DEV_WORKERS=0 \
		VINGEST_LIMITS_UPLOADS_PER_MINUTE=0 VINGEST_RETENTION_JANITOR_INTERVAL_SECONDS=1 \
		"${extra[@]}" "$T_REPO/dev" "$@"
}
src() { stk "$SV" 19600 "$@"; }
rst() { stk "$RV" 19650 "$@"; }
bad() { stk "$BV" 19700 "$@"; } # (these two only restore: MariaDB on a socket)
nod() { stk "$NV" 19730 "$@"; }
LOADPID='' BADPID='' NODPID='' SRCDOWN=''
cleanup() {
	[[ -n $LOADPID ]] && kill -TERM -- "-$LOADPID" 2>/dev/null
	[[ -n $BADPID ]] && wait "$BADPID" 2>/dev/null
	[[ -n $NODPID ]] && wait "$NODPID" 2>/dev/null
	[[ -n $SRCDOWN ]] && wait "$SRCDOWN" 2>/dev/null
	src -- down >/dev/null 2>&1 &
	rst -- down >/dev/null 2>&1 &
	bad -- down >/dev/null 2>&1 &
	nod -- down >/dev/null 2>&1 &
	wait
	rm -rf -- "$SV" "$RV" "$BV" "$NV" "$T_TMP"
}
trap cleanup EXIT
rm -rf -- "$SV" "$RV" "$BV" "$NV"
# The restores use the test stack's build (./dev restore keeps a build-dir
# it finds; up --asan below moves the restored stack to build-asan/ anyway).
for v in "$RV" "$BV" "$NV"; do
	mkdir -p "$v"
	cp -- "$VINGEST_VAR/build-dir" "$v/" 2>/dev/null
done

if ! src -- up $ASAN_FLAG >"$T_TMP/up-src.log" 2>&1; then
	t_fail "a stack to back up starts" "$(tail -n 30 "$T_TMP/up-src.log")"
	t_done
fi
env_of() { (. "$1/dev.env" && eval "printf '%s' \"\$$2\""); }
URL=$(env_of "$SV" VINGEST_URL)
KEY=$(env_of "$SV" VINGEST_API_KEY)
ssql() { mariadb --no-defaults -N -B --socket="$(env_of "$SV" VINGEST_DB_SOCKET)" -uroot vingest -e "$1"; }
rsql() { mariadb --no-defaults -N -B --socket="$(env_of "$RV" VINGEST_DB_SOCKET)" -uroot vingest -e "$1"; }

# ---- the load: 2 uploads at a time (half multipart, half tus), its own
# process group so that it can be stopped; the client's ledger in LOG.
LOG=$T_TMP/client.log
: >"$LOG"
mkdir -p "$T_TMP/load"
TMPDIR=$T_TMP/load VINGEST_URL=$URL VINGEST_API_KEY=$KEY \
	setsid bash "$T_REPO/tests/fault/load.sh" 1000 2 "$LOG" </dev/null >/dev/null 2>&1 &
LOADPID=$!
acks() { awk '$1 == 201 || ($1 == 204 && $4 == "tus")' "$LOG"; }
nacks() { acks | wc -l; }
some_acks() { (($(nacks) >= 4)); }
t_ok "uploads are acknowledged under load" wait_until 30 some_acks

# The store copied BEFORE the snapshot (the wrong order), for the bad backup;
# then at least one more video committed that this copy lacks.
cp -a -- "$SV/store/videos" "$T_TMP/early-videos"
(cd "$T_TMP/early-videos/.." && find early-videos -type f | sed 's|^early-||') | sort >"$T_TMP/early-keys"
newer_row() { ssql "SELECT object_key FROM videos" | sort | comm -23 - "$T_TMP/early-keys" | grep -q .; }
t_ok "a video commits after the early store copy" wait_until 30 newer_row

# Acknowledged before the backup begins: all of them must be restored. The
# first is deleted between the snapshot and the store copy.
acks >"$T_TMP/acked-before"
victim=$(awk 'NR == 1 { print $2 }' "$T_TMP/acked-before")
grep -v " $victim " "$T_TMP/acked-before" >"$T_TMP/expected"
# The hook: DELETE the victim (row marked, then its object removed), then
# wait for 3 more acknowledgements: with 2 uploads at a time, the third
# started after the snapshot, so its object is in the copy and its row is not.
cat >"$T_TMP/hook" <<EOF
n0=\$(awk '\$1 == 201 || (\$1 == 204 && \$4 == "tus")' '$LOG' | wc -l)
code=\$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H 'Authorization: Bearer $KEY' '$URL/v1/videos/$victim')
[[ \$code == 204 ]] || { echo "DELETE answered \$code"; exit 1; }
for ((i = 0; i < 150; i++)); do
	(( \$(awk '\$1 == 201 || (\$1 == 204 && \$4 == "tus")' '$LOG' | wc -l) >= n0 + 3 )) && exit 0
	sleep 0.2
done
echo "no upload finished after the snapshot"; exit 1
EOF
BK=$T_TMP/backup
t_ok "./dev backup under load (a DELETE between the snapshot and the store copy)" \
	src BACKUP_HOOK="bash $T_TMP/hook" -- backup "$BK"
kill -TERM -- "-$LOADPID" 2>/dev/null
wait "$LOADPID" 2>/dev/null
LOADPID=
src -- down >/dev/null 2>&1 &
SRCDOWN=$!
t_ok "the backup lists the video deleted while it ran" grep -q "^$victim"$'\t' "$BK/deleted"
t_eq "the victim's object is not in the store copy" "$(find "$BK/store" -name "$victim" | wc -l)" 0

# ---- Two broken backups, each restored into a stack of its own while the
# good backup is: the wrong order (the snapshot with the early store copy),
# and the right order without the list of videos deleted meanwhile.
mkdir -p "$T_TMP/bad/store" "$T_TMP/nod"
cp -a -- "$BK/db-0" "$BK/deleted" "$BK/manifest" "$T_TMP/bad/"
mv -- "$T_TMP/early-videos" "$T_TMP/bad/store/videos"
cp -a -- "$BK/db-0" "$BK/store" "$BK/manifest" "$T_TMP/nod/"
: >"$T_TMP/nod/deleted"
restore_bg() { # NAME: restores $T_TMP/NAME with NAME (bad, nod); NAME.out, NAME.rc
	local rc=0
	"$1" -- restore "$T_TMP/$1" >"$T_TMP/$1.out" 2>&1 || rc=$?
	echo "$rc" >"$T_TMP/$1.rc"
	"$1" -- down >/dev/null 2>&1
}
restore_bg bad &
BADPID=$!
restore_bg nod &
NODPID=$!

# ---- the backup restored into a fresh stack.
rc=0
out=$(rst -- restore "$BK" 2>&1) || rc=$?
if ((rc == 0)); then
	t_pass "./dev restore into a fresh stack succeeds"
else
	t_fail "./dev restore into a fresh stack succeeds" "$(tail -n 20 <<<"$out")"
fi
t_match "it deleted the video deleted during the backup again" "$out" 'deleted again: 1'
t_match "it removed objects newer than the snapshot" "$out" 'removed: [1-9]'
if ! rst VINGEST_DEV_WORKERS=1 -- up $ASAN_FLAG >"$T_TMP/up-rst.log" 2>&1; then
	t_fail "the restored stack starts" "$(tail -n 30 "$T_TMP/up-rst.log")"
	t_done
fi

# Checked here from the files and rows themselves, not through the restore.
rsql "SELECT object_key, sha256 FROM videos WHERE deleted_at IS NULL" | sort >"$T_TMP/live"
bad_objects=0
while IFS=$'\t' read -r key sha; do
	[[ -f $RV/store/$key && $(sha256sum <"$RV/store/$key" | cut -d' ' -f1) == "$sha" ]] ||
		bad_objects=$((bad_objects + 1))
done <"$T_TMP/live"
t_lt "the restored stack has videos" 0 "$(wc -l <"$T_TMP/live")"
t_eq "every live video has its object, with the row's sha256" "$bad_objects" 0
t_eq "every object has its live video" \
	"$(cd "$RV/store" && find videos -type f | sort | comm -23 - <(cut -f1 "$T_TMP/live") | wc -l)" 0
t_eq "the victim is deleted, its object gone" \
	"$(rsql "SELECT status FROM videos WHERE id = '$victim'") $(find "$RV/store" -name "$victim" | wc -l)" "deleted 0"
missing=0
while read -r _ id _; do
	[[ $(rsql "SELECT COUNT(*) FROM videos WHERE id = '$id' AND deleted_at IS NULL") == 1 ]] || missing=$((missing + 1))
done <"$T_TMP/expected"
t_lt "uploads were acknowledged before the backup began" 0 "$(wc -l <"$T_TMP/expected")"
t_eq "every upload acknowledged before the backup began is restored" "$missing" 0

# The invariant checker of the fault suite, once the restored queue drained.
drained() { [[ $(rsql "SELECT COUNT(*) FROM videos WHERE status IN ('queued', 'processing')") == 0 ]]; }
t_ok "the restored stack processes every restored video" wait_until 40 drained
out=$(env -i PATH="$PATH" HOME="${HOME:-/root}" VINGEST_VAR="$RV" bash "$T_REPO/tests/fault/check" "$T_TMP/expected" 2>&1)
t_match "tests/fault/check on the restored stack: the acknowledged uploads" "$out" 'check acked +ok'
t_match "no object without a video, no uploads row, no staging file (orphans: 0)" "$out" \
	'check orphans +ok uploads rows: 0, staging files: 0, objects without a video: 0'
t_match "every video's object, one job each, every video finished" "$out" \
	'check objects +ok.*check jobs +ok.*check final +ok'
t_match "verdict ok" "$out" 'verdict=ok'

wait "$BADPID" "$NODPID"
BADPID='' NODPID=''
out=$(cat "$T_TMP/bad.out")
t_eq "a backup whose store was copied before the snapshot: the restore fails" "$(cat "$T_TMP/bad.rc")" 1
t_match "and says why" "$out" 'live video\(s\) without their object or with other bytes: this backup is not consistent'
t_match "naming a video without its object" "$out" "[0-9A-Z]{26}: no object videos/"
out=$(cat "$T_TMP/nod.out")
t_eq "a backup without its list of deletions: the restore fails" "$(cat "$T_TMP/nod.rc")" 1
t_match "naming the video deleted during the backup" "$out" "$victim: no object videos/"

id=$(awk 'NR == 1 { print $2 }' "$T_TMP/expected")
sha=$(awk 'NR == 1 { print $3 }' "$T_TMP/expected")
body=$(curl -s -H "Authorization: Bearer $KEY" "$(env_of "$RV" VINGEST_URL)/v1/videos/$id")
t_eq "the restored stack serves GET /v1/videos/{id} with the old key" \
	"$(jq -r '[.id, .sha256] | join(" ")' <<<"$body" 2>/dev/null)" "$id $sha"
t_done
