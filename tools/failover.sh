# shellcheck shell=bash
# tools/failover.sh - `./dev failover SHARD`: the replica of a shard becomes
# its primary, with MariaDB's own statements, and vingest follows without a
# restart. The steps (docs/operations.md, "Replicas and failover"):
#
#   1. fence the old primary: SIGKILL it if it still runs, and move its data
#      directory aside (it may hold commits that were never acknowledged;
#      it comes back only as a fresh copy of the new primary);
#   2. on the replica: STOP SLAVE IO_THREAD, then MASTER_GTID_WAIT for every
#      transaction it received (Gtid_IO_Pos) to be applied: semi-sync with
#      AFTER_SYNC put every acknowledged commit in its relay log, and the SQL
#      thread must have run them all before anything new is written;
#   3. STOP SLAVE; RESET SLAVE ALL; read_only off; semi-sync off at the new
#      primary (it has no replica yet: waiting for one would stall writes);
#   4. move the shard's address (run/mysql[-K].sock, a symbolic link) to the
#      new primary's socket. vingest-fcgi and the workers lose their
#      connections to the dead server and reconnect to the same name, as
#      after any restart of MariaDB; nobody is restarted or signalled.
#
# `./dev up` afterwards gives the shard a new replica (a mariabackup copy).

cmd_failover() {
	local k=${1:-} p r rsock ppid io gtid got dd aside
	[[ $k =~ ^[0-7]$ ]] || die "failover: needs a shard number (./dev failover 0)"
	stack_paths
	((REPLICAS)) || die "failover: the stack has no replicas (./dev up --replicas 1)"
	((k < SHARDS)) || die "failover: the stack has $SHARDS shard(s), no shard $k"
	p=$(shard_primary "$k")
	r=$(other_member "$p")
	rsock=$(member_sock "$k" "$r")
	running_pid "$(member_pid "$k" "$r")" >/dev/null ||
		die "failover: shard $k's replica ($r) is not running; nothing to promote"
	[[ -n $(slave_field "$rsock" Master_Host) ]] ||
		die "failover: shard $k's member $r is not a replica (already promoted?)"
	say "shard $k: failing over from $p to $r"
	SECONDS=0

	# 1. fence
	if ppid=$(running_pid "$(member_pid "$k" "$p")"); then
		info "fencing the old primary: SIGKILL (pid $ppid)"
		kill -KILL "$ppid" 2>/dev/null || true
		while kill -0 "$ppid" 2>/dev/null && [[ $(sed 's/^.*) //' "/proc/$ppid/stat" 2>/dev/null) != Z* ]]; do
			sleep 0.1
		done
	else
		info "the old primary ($p) is not running"
	fi
	rm -f -- "$(shard_addr "$k")" "$(member_pid "$k" "$p")"
	dd=$(member_datadir "$k" "$p")
	if [[ -e $dd ]]; then
		aside=$dd.fenced-$(date -u +%Y%m%dT%H%M%SZ)
		mv -- "$dd" "$aside"
		info "the old primary's data directory is now $aside (delete it when done)"
	fi

	# 2. apply everything received
	msql "$rsock" "STOP SLAVE IO_THREAD" || die "failover: STOP SLAVE IO_THREAD failed on $rsock"
	info "the replica's IO thread stopped (${SECONDS} s)"
	if [[ $(slave_field "$rsock" Slave_SQL_Running) != Yes ]]; then
		die "failover: the replica's SQL thread is not running ($(slave_field "$rsock" Last_SQL_Error)); it may lack acknowledged commits: not promoted"
	fi
	gtid=$(slave_field "$rsock" Gtid_IO_Pos)
	if [[ -n $gtid ]]; then
		info "waiting for the replica to apply all it received (Gtid_IO_Pos $gtid)"
		got=$(msql "$rsock" "SELECT MASTER_GTID_WAIT('$gtid', 120)")
		[[ $got == 0 ]] || die "failover: the replica did not apply up to $gtid within 120 s (gtid_slave_pos $(msql "$rsock" 'SELECT @@gtid_slave_pos')): not promoted"
		info "applied (${SECONDS} s)"
	fi

	# 3. promote
	msql "$rsock" "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF;
		SET GLOBAL rpl_semi_sync_master_enabled = OFF" ||
		die "failover: promoting $rsock failed"
	echo "$r" >"$VAR/mysql$(shard_sfx "$k").primary"
	io=$(msql "$rsock" "SELECT @@gtid_current_pos")

	# 4. move the address
	point_addr "$k"
	info "the address $(shard_addr "$k") names $r's socket now (${SECONDS} s)"
	stack_paths # shard 0's pid file is the new primary's now
	[[ -f $DEV_ENV && -s $DEMO_KEY ]] && write_dev_env
	info "shard $k: $r is the primary (gtid_current_pos $io)"
	warn "shard $k has one copy until it has a replica again: ./dev up"
}
