#!/usr/bin/env bash
# 84_disk_full: a store whose filesystem fills up answers 507
# insufficient_storage and keeps nothing of the upload - no partial file, no
# row - and serves the next upload that fits. A vingest-fcgi of its own runs
# with store.fs_root on a 1 MiB tmpfs (with the s3 and db backends that is
# where uploads are staged, so the same holds).
. "$(dirname "$0")/lib.sh"

hport=$((18400 + PORT_OFF + RANDOM % 100))
dir=$T_TMP/full
root=$dir/store
mkdir -p "$dir/uploads" "$root"
if ! mount -t tmpfs -o size=1m tmpfs "$root" 2>"$dir/mount.err"; then
	t_fail "a 1 MiB tmpfs can be mounted for the store (root needed)" "$(cat "$dir/mount.err")"
	t_done
fi
cleanup() {
	spawn_stop
	# lighttpd's vingest-fcgi may still be leaving the tmpfs
	wait_until 10 umount "$root"
	rm -rf -- "$T_TMP"
}
trap cleanup EXIT
spawn_instance "$dir" "$hport" VINGEST_HTTP_PROCESSES=1 "VINGEST_STORE_FS_ROOT=$root" \
	VINGEST_STORE_MIN_FREE_BYTES=2097152
VINGEST_URL=$SPAWN_URL

api GET /readyz
t_eq "/readyz with less free space than store.min_free_bytes: 503" "$API_STATUS" 503
t_eq "naming the part: store_low_space" "$(json .error.code)" store_low_space
t_match "with the free bytes in the message" "$(json .error.message)" 'has [0-9]+ bytes free'
BEFORE=$(snap)
api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
expect_error "below store.min_free_bytes even an upload that would fit is refused" 507 insufficient_storage
spawn_stop

# The disk itself filling up: no free-space floor, so uploads go on until a
# write fails.
spawn_instance "$dir" "$hport" VINGEST_HTTP_PROCESSES=1 "VINGEST_STORE_FS_ROOT=$root" \
	VINGEST_STORE_MIN_FREE_BYTES=0
VINGEST_URL=$SPAWN_URL

make_mp4 $((2 * 1024 * 1024)) "$T_TMP/two-mib.mp4"
rows_before=$(sql "SELECT (SELECT COUNT(*) FROM videos), (SELECT COUNT(*) FROM uploads)")
api POST /v1/videos -F "file=@$T_TMP/two-mib.mp4"
t_eq "a 2 MiB upload into a 1 MiB store: 507" "$API_STATUS" 507
t_eq "code insufficient_storage" "$(json .error.code)" insufficient_storage
t_eq "no partial file is left in the store" "$(find "$root" -type f | wc -l)" 0
t_eq "no videos row and no uploads row" "$(sql "SELECT (SELECT COUNT(*) FROM videos), (SELECT COUNT(*) FROM uploads)")" "$rows_before"

api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
t_eq "an upload that fits is stored after that: 201" "$API_STATUS" 201
fitkey=$(sql "SELECT object_key FROM videos WHERE id = '$(json .id)'")
if [[ $STORE_BACKEND == fs ]]; then
	t_ok "its object is in the small store" test -f "$root/$fitkey"
else # s3, db: only staging is on the small filesystem; the object went to the store
	t_ok "its object is in the $STORE_BACKEND store" store_has "$fitkey"
	t_eq "and its staging file is gone" "$(find "$root" -type f | wc -l)" 0
fi

# tus: a PATCH that does not fit is refused and appends nothing.
api POST /v1/uploads -H "Tus-Resumable: 1.0.0" -H "Content-Length: 0" -H "Upload-Length: $((2 * 1024 * 1024))"
loc=$(header Location)
api PATCH "$loc" -H "Tus-Resumable: 1.0.0" -H "Content-Type: application/offset+octet-stream" \
	-H "Upload-Offset: 0" --data-binary "@$T_TMP/two-mib.mp4"
t_eq "a tus PATCH that fills the store: 507" "$API_STATUS" 507
api HEAD "$loc" -H "Tus-Resumable: 1.0.0"
t_eq "and nothing was appended (offset 0)" "$(header Upload-Offset)" 0
t_done
