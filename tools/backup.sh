# shellcheck shell=bash
# tools/backup.sh - ./dev backup DIR and ./dev restore DIR: a backup of the
# stack whose database and store agree, and its restore into a fresh stack.
#
# The order is the whole argument (docs/operations.md, "Backup and restore"):
# an object is fsynced and renamed into place before its row commits, so the
# database snapshot is taken FIRST (mariadb-backup, every shard) and the
# store copied AFTER it: every row of the snapshot then finds its object in
# the copy, unless the video was deleted in between. Those are listed after
# the copy (deleted_at since the snapshot began, asked of the live shards)
# and the restore deletes them again. Objects newer than the snapshot have
# no row in it; the restore removes them. Then it checks every live video
# against its object's SHA-256 and fails loudly if one is missing or
# differs: a backup taken in the wrong order is caught there, not later.
#
# A backup directory:
#   db-K/       shard K's mariadb-backup, prepared (ready for --copy-back)
#   store/      the fs store's videos/ (nothing for the db store: its bytes
#               are in the shards; the s3 store is the bucket's business)
#   deleted     "id<TAB>deleted_at" of videos deleted while the backup ran
#   backup.log  mariadb-backup's output
#   manifest    written last: a directory without one is not a backup

# Shard K's data directory, socket and pid file (as start_mariadb names them).
shard_datadir() { if (($1 == 0)); then echo "$DATADIR"; else echo "$VAR/mysql-$1"; fi; }
shard_sock() { if (($1 == 0)); then echo "$MYSQL_SOCK"; else echo "$RUN/mysql-$1.sock"; fi; }
shard_pidfile() { if (($1 == 0)); then echo "$MYSQL_PID"; else echo "$RUN/mariadb-$1.pid"; fi; }
# shard_sql K QUERY: rows, tab separated, no header.
shard_sql() {
	mariadb --no-defaults -N -B --socket="$(shard_sock "$1")" -uroot vingest -e "$2"
}

backup_ctl() { "$BUILD/ctl/vingestctl" -c "$CONF" "$@"; }

backup_tools() {
	command -v mariadb-backup >/dev/null || install_packages
	command -v mariadb-backup >/dev/null || die "no mariadb-backup (Debian package mariadb-backup)"
}

cmd_backup() {
	(($# == 1)) || die "usage: ./dev backup DIR"
	local dir=$1 k t0 since=()
	stack_paths
	[[ $STORE_BACKEND != s3 ]] ||
		die "backup: the s3 store is kept by its bucket (versioning, replication), not copied here: docs/operations.md, \"Backup and restore\""
	backup_tools
	[[ ! -e $dir || -z $(ls -A -- "$dir" 2>/dev/null) ]] || die "backup: $dir exists and is not empty"
	for ((k = 0; k < SHARDS; k++)); do
		running_pid "$(shard_pidfile "$k")" >/dev/null || die "backup: shard $k's MariaDB is not running (./dev up)"
	done
	mkdir -p -- "$dir"
	dir=$(realpath -- "$dir")
	say "backing up the stack under $VAR into $dir"

	# 1. The database snapshot of every shard. Each shard's clock before its
	# backup starts bounds the deletions to replay (step 3).
	for ((k = 0; k < SHARDS; k++)); do
		t0=$(shard_sql "$k" 'SELECT UTC_TIMESTAMP(6)') || die "backup: shard $k does not answer"
		since+=("$t0")
		info "shard $k: mariadb-backup --backup (the snapshot begins after $t0)"
		if ! mariadb-backup --no-defaults --backup --target-dir="$dir/db-$k" \
			--datadir="$(shard_datadir "$k")" --socket="$(shard_sock "$k")" --user=root \
			>>"$dir/backup.log" 2>&1; then
			tail_log "$dir/backup.log"
			die "backup: mariadb-backup --backup failed on shard $k (log: $dir/backup.log)"
		fi
	done
	# (For tests: a step between the snapshot and the store copy, e.g. a
	# DELETE whose object goes before the copy can take it.)
	if [[ -n ${BACKUP_HOOK:-} ]]; then
		info "BACKUP_HOOK: $BACKUP_HOOK"
		bash -c "$BACKUP_HOOK" || die "backup: BACKUP_HOOK failed"
	fi

	# 2. The store, only now: every object a snapshot row names was durable
	# before that row committed, so it is in the store from here on unless
	# its video is deleted. Objects are written once and never changed, so
	# a plain copy of a live directory is a consistent one; staging/ (bytes
	# of uploads that have no row yet) is left out.
	mkdir -p "$dir/store"
	# shellcheck disable=SC2153 # STORE is set by stack_paths (tools/paths.sh)
	if [[ $STORE_BACKEND == fs && -d $STORE/videos ]]; then
		info "store: copying $STORE/videos"
		cp -a --reflink=auto -- "$STORE/videos" "$dir/store/" || die "backup: copying the store failed"
	fi

	# 3. Videos deleted since the snapshot began, asked only after the copy:
	# DELETE commits the row before it removes the object, so a video whose
	# object the copy missed is listed here. (Retention removes the object
	# first; a row it had not marked yet is past its expires_at, and the
	# restored janitor finishes it.)
	: >"$dir/deleted"
	for ((k = 0; k < SHARDS; k++)); do
		shard_sql "$k" "SELECT id, deleted_at FROM videos WHERE deleted_at >= '${since[k]}'" \
			>>"$dir/deleted" || die "backup: shard $k does not answer"
	done
	info "videos deleted while the backup ran: $(wc -l <"$dir/deleted")"

	# 4. Prepared now, so that the backup is known to restore.
	for ((k = 0; k < SHARDS; k++)); do
		info "shard $k: mariadb-backup --prepare"
		if ! mariadb-backup --no-defaults --prepare --target-dir="$dir/db-$k" >>"$dir/backup.log" 2>&1; then
			tail_log "$dir/backup.log"
			die "backup: mariadb-backup --prepare failed on shard $k (log: $dir/backup.log)"
		fi
	done
	{
		echo "format 1"
		echo "store $STORE_BACKEND"
		echo "shards $SHARDS"
		for ((k = 0; k < SHARDS; k++)); do echo "since $k ${since[k]}"; done
		echo "finished $(date -u +%FT%T.%NZ)"
	} >"$dir/manifest.tmp"
	mv -f -- "$dir/manifest.tmp" "$dir/manifest"
	say "backup done: $dir ($(du -sh -- "$dir" | cut -f1))"
}

cmd_restore() {
	(($# == 1)) || die "usage: ./dev restore DIR"
	[[ -s $1/manifest ]] || die "restore: $1 is not a complete backup (no manifest)"
	local dir k store shards
	dir=$(realpath -- "$1")
	stack_paths
	store=$(sed -n 's/^store //p' "$dir/manifest")
	shards=$(sed -n 's/^shards //p' "$dir/manifest")
	[[ $store == @(fs|db) && $shards =~ ^[1-8]$ ]] || die "restore: $dir/manifest names no fs or db store and 1-8 shards"
	for ((k = 0; k < 8; k++)); do
		if running_pid "$(shard_pidfile "$k")" >/dev/null; then
			die "restore: the stack under $VAR runs (./dev down)"
		fi
		if [[ -e $(shard_datadir "$k") ]]; then
			die "restore: $VAR has a database already ($(shard_datadir "$k")): restore into a fresh stack (move $VAR away, or set VINGEST_VAR)"
		fi
	done
	if [[ -n $(ls -A -- "$STORE/videos" 2>/dev/null) ]]; then
		die "restore: $STORE/videos is not empty"
	fi
	[[ -x $BUILD/ctl/vingestctl ]] || die "restore: no $BUILD/ctl/vingestctl (./dev up builds it)"
	backup_tools
	say "restoring $dir into $VAR"
	mkdir -p "$VAR" "$RUN" "$LOG" "$STORE/staging" "$VAR/tmp"
	STORE_BACKEND=$store SHARDS=$shards
	echo "$STORE_BACKEND" >"$VAR/store-backend"
	echo "$SHARDS $MEMCACHEDS $NODES" >"$TOPOLOGY_FILE"
	echo "$BUILD" >"$VAR/build-dir"
	for ((k = 0; k < SHARDS; k++)); do
		info "shard $k: mariadb-backup --copy-back"
		if ! mariadb-backup --no-defaults --copy-back --target-dir="$dir/db-$k" \
			--datadir="$(shard_datadir "$k")" >>"$LOG/restore.log" 2>&1; then
			tail_log "$LOG/restore.log"
			die "restore: mariadb-backup --copy-back failed for shard $k (log: $LOG/restore.log)"
		fi
	done
	if [[ -d $dir/store/videos ]]; then
		info "store: copying the objects into $STORE"
		cp -a --reflink=auto -- "$dir/store/videos" "$STORE/" || die "restore: copying the store failed"
	fi
	for ((k = 0; k < SHARDS; k++)); do start_mariadb "$k"; done
	render_config
	restore_reconcile "$dir"
	say "restored; ./dev up starts the rest (it applies any newer migrations)"
}

# restore_reconcile DIR: makes the restored shards and store agree, then
# proves it; status 1 (die) when a live video lacks its object or its
# object's SHA-256 differs. Through vingestctl's store commands, so it is
# the same for every backend.
restore_reconcile() {
	local dir=$1 k n id at key sha expired got tmp=$VAR/tmp/restore
	local dropped=0 marked=0 removed=0 due=0 checked=0 bad=()
	rm -rf -- "$tmp"
	mkdir -p "$tmp"
	say "reconciling the database and the store"

	# Uploads in progress at the snapshot have no bytes here (staging is not
	# backed up): their rows go, and a tus client that comes back is told 404
	# and starts again. Jobs a worker held belong to a fleet that cannot
	# renew their leases in this database: they expire now, and the janitor
	# hands them out again. The old fleet's workers rows go with it.
	for ((k = 0; k < SHARDS; k++)); do
		n=$(shard_sql "$k" "SELECT COUNT(*) FROM uploads")
		shard_sql "$k" "DELETE FROM uploads; DELETE FROM workers;
			UPDATE jobs SET lease_expires_at = UTC_TIMESTAMP(6) WHERE state = 'running'" ||
			die "restore: shard $k refused the clean-up"
		dropped=$((dropped + n))
	done

	# Videos deleted while the backup ran are deleted again, with their
	# deletion time: what vg_video_mark_deleted does (lib/vg_retention.c).
	while IFS=$'\t' read -r id at; do
		[[ $id =~ ^[0-9A-HJKMNP-TV-Z]{26}$ && $at =~ ^[0-9:.\ -]+$ ]] || continue
		for ((k = 0; k < SHARDS; k++)); do
			n=$(shard_sql "$k" "START TRANSACTION;
				UPDATE videos SET status = 'deleted', deleted_at = '$at', title = NULL,
					filename = NULL, metadata = NULL, result = NULL
				WHERE id = '$id' AND deleted_at IS NULL;
				SELECT ROW_COUNT();
				UPDATE jobs SET state = 'cancelled', finished_at = UTC_TIMESTAMP(6),
					lease_token = NULL, lease_expires_at = NULL,
					last_error = 'video deleted while the backup was taken'
				WHERE video_id = '$id' AND state IN ('ready', 'running');
				COMMIT") || die "restore: shard $k refused to mark $id deleted"
			marked=$((marked + n))
		done
	done <"$dir/deleted"

	# Objects and live videos, by key.
	backup_ctl store ls 2>/dev/null | cut -f1 | sort >"$tmp/objects" || die "restore: vingestctl store ls failed"
	for ((k = 0; k < SHARDS; k++)); do
		shard_sql "$k" "SELECT object_key, sha256, id, expires_at < UTC_TIMESTAMP(6)
			FROM videos WHERE deleted_at IS NULL" || die "restore: shard $k does not answer"
	done >"$tmp/live"
	cut -f1 "$tmp/live" | sort >"$tmp/keys"

	# An object without a live video: its upload committed after the
	# snapshot, or its video is deleted. The orphan collector's to remove;
	# done here, before anything serves.
	while read -r key; do
		backup_ctl store rm "$key" || die "restore: vingestctl store rm $key failed"
		removed=$((removed + 1))
	done < <(comm -23 "$tmp/objects" "$tmp/keys")

	# Every live video: its object, and the object's SHA-256 its row's.
	while IFS=$'\t' read -r key sha id expired; do
		if ! grep -qxF -- "$key" "$tmp/objects"; then
			if [[ $expired == 1 ]]; then
				due=$((due + 1)) # retention had removed it; the janitor marks the row
			else
				bad+=("$id: no object $key")
			fi
			continue
		fi
		got=$(backup_ctl store get "$key" | sha256sum | cut -d' ' -f1)
		if [[ $got != "$sha" ]]; then
			bad+=("$id: $key has sha256 $got, its row $sha")
		fi
		checked=$((checked + 1))
	done <"$tmp/live"

	info "uploads in progress at the snapshot, dropped: $dropped"
	info "videos deleted while the backup ran, deleted again: $marked"
	info "objects without a live video (committed after the snapshot, or deleted), removed: $removed"
	info "videos past retention without their object (the janitor finishes them): $due"
	info "videos whose object is present with their sha256: $checked"
	if ((${#bad[@]})); then
		printf '    %s\n' "${bad[@]:0:20}" >&2
		die "restore: ${#bad[@]} live video(s) without their object or with other bytes: this backup is not consistent (was the store copied before the database snapshot?)"
	fi
	rm -rf -- "$tmp"
}
