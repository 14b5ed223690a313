# shellcheck shell=bash
# tools/replica.sh - `./dev up --replicas 1`: every metadata shard a pair of
# MariaDB servers, a primary and a replica, with MariaDB's own replication:
# GTID, row-based binary logs on both, and semi-synchronous replication
# with rpl_semi_sync_master_wait_point = AFTER_SYNC, so no commit is
# acknowledged to vingest before the replica has it in its relay log.
#
# A shard's two servers are its members "a" and "b" (a: var/mysql[-K], the
# datadir of a stack without replicas; b: var/mysql[-K]-b). Which one is the
# primary is in $VAR/mysql[-K].primary (a at first; ./dev failover changes
# it). Each listens on its own socket (run/mysql[-K]-a.sock, -b.sock) and on
# 127.0.0.1:REPL_PORT + 2K (+ 1 for b), the port replication uses. What vingest
# connects to, run/mysql[-K].sock, the shard's address in vingest.conf, is a
# symbolic link to the primary's socket: the name that moves on failover,
# as a VIP or a DNS name does in production (docs/operations.md, "Replicas
# and failover"). The failover itself is tools/failover.sh.

REPL_USER=vingest_repl

# shard_sfx K: "" for shard 0, -K for the others (the names of today's files).
shard_sfx() { (($1 > 0)) && printf -- '-%s' "$1"; return 0; }

# shard_primary K: a or b.
shard_primary() {
	local f
	f=$VAR/mysql$(shard_sfx "$1").primary
	if [[ -s $f ]]; then
		cat "$f"
	else
		echo a
	fi
}
other_member() { [[ $1 == a ]] && echo b || echo a; }
shard_replica() { other_member "$(shard_primary "$1")"; }
shard_addr() { printf '%s\n' "$RUN/mysql$(shard_sfx "$1").sock"; }
member_datadir() {
	if [[ $2 == a ]]; then
		printf '%s\n' "$VAR/mysql$(shard_sfx "$1")"
	else
		printf '%s\n' "$VAR/mysql$(shard_sfx "$1")-b"
	fi
}
member_sock() { printf '%s\n' "$RUN/mysql$(shard_sfx "$1")-$2.sock"; }
member_pid() { printf '%s\n' "$RUN/mariadb$(shard_sfx "$1")-$2.pid"; }
member_port() { if [[ $2 == a ]]; then echo $((REPL_PORT + 2 * $1)); else echo $((REPL_PORT + 2 * $1 + 1)); fi; }
member_server_id() { if [[ $2 == a ]]; then echo $((100 * ($1 + 1) + 1)); else echo $((100 * ($1 + 1) + 2)); fi; }
member_name() { printf 'mariadb (shard %s, %s %s)\n' "$1" "$3" "$2"; }

# shard_pid K: the pid file of shard K's server vingest uses (its primary).
shard_pid() {
	if ((REPLICAS)); then
		member_pid "$1" "$(shard_primary "$1")"
	elif (($1 == 0)); then
		printf '%s\n' "$RUN/mariadb.pid"
	else
		printf '%s\n' "$RUN/mariadb-$1.pid"
	fi
}

# msql SOCKET SQL: one statement as root, no column names.
msql() { mariadb --no-defaults --socket="$1" -uroot -N -B -e "$2"; }

# The status variable or SHOW SLAVE STATUS field NAME on SOCKET.
mstatus() { msql "$1" "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | cut -f2; }
slave_field() {
	mariadb --no-defaults --socket="$1" -uroot -e 'SHOW SLAVE STATUS\G' 2>/dev/null |
		sed -n "s/^ *$2: //p"
}

# How long a primary waits for its replica's acknowledgement before it
# gives up and goes on asynchronously (rpl_semi_sync_master_timeout, ms).
# An hour: in practice the primary stalls rather than quietly acknowledging
# commits that exist on one server only (docs/operations.md).
semisync_timeout_ms() {
	local t=${VINGEST_REPL_SEMISYNC_TIMEOUT_MS:-3600000}
	[[ $t =~ ^[0-9]+$ ]] || die "VINGEST_REPL_SEMISYNC_TIMEOUT_MS must be a number of milliseconds, not '$t'"
	echo "$t"
}

# The replication user's password: made once, kept.
repl_password() {
	local f=$VAR/repl.secret
	if [[ ! -s $f ]]; then
		(umask 077 && head -c 24 /dev/urandom | sha256sum | cut -c1-32 >"$f")
	fi
	cat "$f"
}

# mariadbd's options for member M of shard K in ROLE (primary | replica).
member_options() {
	local k=$1 m=$2 role=$3
	printf '%s\n' --port="$(member_port "$k" "$m")" --bind-address=127.0.0.1 \
		--server-id="$(member_server_id "$k" "$m")" --log-bin=mysql-bin --binlog-format=ROW \
		--sync-binlog=1 --log-slave-updates=ON --gtid-strict-mode=ON --relay-log=relay-bin \
		--rpl-semi-sync-master-wait-point=AFTER_SYNC \
		--rpl-semi-sync-master-timeout="$(semisync_timeout_ms)"
	if [[ $role == primary ]]; then
		echo --rpl-semi-sync-master-enabled=ON
	else
		# (root has READ ONLY ADMIN and is not held back by read_only; the
		# replica is safe because nothing of vingest's is pointed at it)
		printf '%s\n' --read-only=ON --rpl-semi-sync-slave-enabled=ON
	fi
}

# seed_replica K M: member M's datadir as a copy of the primary's, taken with
# mariabackup while the primary runs; prints the GTID position of the copy.
seed_replica() {
	local k=$1 m=$2 p dd tmp log gtid f
	p=$(other_member "$m")
	dd=$(member_datadir "$k" "$m")
	tmp=$dd.seed
	log=$LOG/mariabackup$(shard_sfx "$k")-$m.log
	rm -rf -- "$tmp"
	: >"$log"
	if ! mariabackup --backup --user=root --socket="$(member_sock "$k" "$p")" \
		--target-dir="$tmp" >>"$log" 2>&1 ||
		! mariabackup --prepare --target-dir="$tmp" >>"$log" 2>&1; then
		tail_log "$log"
		die "mariabackup could not copy shard $k's primary (log: $log)"
	fi
	for f in "$tmp/mariadb_backup_binlog_info" "$tmp/xtrabackup_binlog_info"; do
		[[ -s $f ]] && { gtid=$(awk '{print $3}' "$f"); break; }
	done
	mv -- "$tmp" "$dd"
	printf '%s\n' "${gtid:-}"
}

# start_member K M ROLE: starts member M of shard K as ROLE; a new replica is
# either empty (its primary has nothing yet: replication carries all of it)
# or a mariabackup copy of the primary, and is pointed at the primary.
start_member() {
	local k=$1 m=$2 role=$3 dd sock pid new=0 seeded='' gtid='' psock opts
	dd=$(member_datadir "$k" "$m")
	sock=$(member_sock "$k" "$m")
	pid=$(member_pid "$k" "$m")
	if running_pid "$pid" >/dev/null; then
		info "$(member_name "$k" "$m" "$role"): already running (pid $(running_pid "$pid"))"
		return 0
	fi
	if [[ ! -d $dd/mysql && $role == replica ]]; then
		psock=$(member_sock "$k" "$(other_member "$m")")
		if [[ -n $(msql "$psock" "SELECT @@gtid_binlog_pos") ||
			-n $(msql "$psock" "SHOW DATABASES LIKE 'vingest'") ]]; then
			info "$(member_name "$k" "$m" "$role"): seeding $dd from the primary with mariabackup"
			gtid=$(seed_replica "$k" "$m") || exit 1
			seeded=1
		fi
		new=1
	fi
	mapfile -t opts < <(member_options "$k" "$m" "$role")
	run_mariadbd "$(member_name "$k" "$m" "$role")" "$dd" "$sock" "$pid" \
		"$(shard_sfx "$k")-$m" "${opts[@]}"
	# The replication account, on every server (either may be primary one
	# day), kept out of the binary log.
	msql "$sock" "SET sql_log_bin = 0;
		CREATE USER IF NOT EXISTS '$REPL_USER'@'127.0.0.1' IDENTIFIED BY '$(repl_password)';
		GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN ON *.* TO '$REPL_USER'@'127.0.0.1'" ||
		die "could not create the replication user on $sock"
	if ((new)); then
		[[ -n $seeded ]] && { msql "$sock" "SET GLOBAL gtid_slave_pos = '$gtid'" ||
			die "could not set gtid_slave_pos on $sock"; }
		msql "$sock" "CHANGE MASTER TO MASTER_HOST = '127.0.0.1',
			MASTER_PORT = $(member_port "$k" "$(other_member "$m")"), MASTER_USER = '$REPL_USER',
			MASTER_PASSWORD = '$(repl_password)', MASTER_USE_GTID = slave_pos,
			MASTER_CONNECT_RETRY = 1; START SLAVE" ||
			die "could not point shard $k's replica at its primary"
		info "$(member_name "$k" "$m" "$role"): replicating from 127.0.0.1:$(member_port "$k" "$(other_member "$m")")"
	fi
}

# point_addr K: the shard's address (its socket name in vingest.conf) at
# its primary's socket, atomically (rename over the old link).
point_addr() {
	local k=$1 addr
	addr=$(shard_addr "$k")
	ln -sfn -- "$(basename "$(member_sock "$k" "$(shard_primary "$k")")")" "$addr.new"
	mv -fT -- "$addr.new" "$addr"
}

# start_shard_pair K: shard K's primary and replica, the replica connected
# and acknowledging, semi-sync on at the primary.
start_shard_pair() {
	local k=$1 p r i sock
	p=$(shard_primary "$k")
	r=$(other_member "$p")
	if [[ ! -d $(member_datadir "$k" "$p")/mysql && -d $(member_datadir "$k" "$r")/mysql ]]; then
		die "shard $k: its primary ($p) has no data directory but its replica ($r) has one; promote the replica first: ./dev failover $k"
	fi
	start_member "$k" "$p" primary
	start_member "$k" "$r" replica
	point_addr "$k"
	sock=$(member_sock "$k" "$p")
	for ((i = 0; ; i++)); do
		[[ $(mstatus "$sock" Rpl_semi_sync_master_clients) -ge 1 ]] 2>/dev/null && break
		if ((i >= 300)); then
			die "shard $k: the replica does not acknowledge after 30 s (its IO thread: $(slave_field "$(member_sock "$k" "$r")" Last_IO_Error))"
		fi
		sleep 0.1
	done
	# (a failover leaves the promoted primary without semi-sync: no replica)
	msql "$sock" "SET GLOBAL rpl_semi_sync_master_enabled = ON" ||
		die "could not turn semi-sync on at shard $k's primary"
	info "shard $k: primary $p, replica $r, semi-sync $(mstatus "$sock" Rpl_semi_sync_master_status) (clients $(mstatus "$sock" Rpl_semi_sync_master_clients))"
}

# One line per shard for ./dev status.
replica_status() {
	local k p r psock rsock
	for ((k = 0; k < SHARDS; k++)); do
		p=$(shard_primary "$k")
		r=$(other_member "$p")
		psock=$(member_sock "$k" "$p")
		rsock=$(member_sock "$k" "$r")
		if running_pid "$(member_pid "$k" "$r")" >/dev/null; then
			printf '%-14s %s (pid %s) replicating io=%s sql=%s behind=%ss; primary %s semi-sync %s clients %s\n' \
				"replica $k:" "$r" "$(running_pid "$(member_pid "$k" "$r")")" \
				"$(slave_field "$rsock" Slave_IO_Running)" "$(slave_field "$rsock" Slave_SQL_Running)" \
				"$(slave_field "$rsock" Seconds_Behind_Master)" "$p" \
				"$(mstatus "$psock" Rpl_semi_sync_master_status)" \
				"$(mstatus "$psock" Rpl_semi_sync_master_clients)"
		else
			printf '%-14s %s stopped; primary %s alone (semi-sync %s)\n' "replica $k:" "$r" "$p" \
				"$(mstatus "$psock" Rpl_semi_sync_master_status)"
		fi
	done
}
