# shellcheck shell=bash
# tools/stack-db.sh - the stack's MariaDB: one server per metadata shard
# (shard 0 under var/mysql, shard K under var/mysql-K), on a unix socket only
# (--skip-networking, so no port to collide on), durable settings as in
# production (innodb_flush_log_at_trx_commit=1); then the schema, applied by
# vingestctl migrate with the migrations it was built with. With
# `up --replicas 1` each shard is a primary and a replica, both also on
# 127.0.0.1 for replication (tools/replica.sh).

# start_mariadb [K]: shard K's server (default 0, the stack's own); with
# replicas, its primary and replica (start_shard_pair, tools/replica.sh).
start_mariadb() {
	local k=${1:-0} DATADIR=$DATADIR MYSQL_SOCK=$MYSQL_SOCK MYSQL_PID=$MYSQL_PID sfx='' name=mariadb
	if ((REPLICAS)); then
		start_shard_pair "$k"
		MYSQL_SOCK=$(shard_addr "$k")
	else
		if ((k > 0)); then
			DATADIR=$VAR/mysql-$k MYSQL_SOCK=$RUN/mysql-$k.sock MYSQL_PID=$RUN/mariadb-$k.pid
			sfx=-$k name="mariadb (shard $k)"
		fi
		# After a failover the shard's data is the other member's.
		[[ $(shard_primary "$k") == a ]] ||
			die "shard $k's primary is $VAR/mysql$sfx-b (after ./dev failover): keep --replicas 1"
		run_mariadbd "$name" "$DATADIR" "$MYSQL_SOCK" "$MYSQL_PID" "$sfx" --skip-networking
	fi
	mariadb --no-defaults --socket="$MYSQL_SOCK" -uroot \
		-e 'CREATE DATABASE IF NOT EXISTS vingest CHARACTER SET utf8mb4' ||
		die "could not create database vingest"
}

# run_mariadbd NAME DATADIR SOCKET PIDFILE LOGSUFFIX [OPTION...]: one server,
# its data directory created if new, unless it runs already; returns once it
# answers on SOCKET.
run_mariadbd() {
	local name=$1 DATADIR=$2 MYSQL_SOCK=$3 MYSQL_PID=$4 sfx=$5 pid i
	shift 5
	if pid=$(running_pid "$MYSQL_PID"); then
		info "$name: already running (pid $pid)"
		return 0
	fi
	if [[ ! -d $DATADIR/mysql ]]; then
		info "$name: creating a new data directory in $DATADIR"
		mkdir -p "$DATADIR"
		if ! mariadb-install-db --no-defaults --datadir="$DATADIR" \
			--auth-root-authentication-method=normal --user=root \
			>"$LOG/mariadb$sfx-install.log" 2>&1; then
			tail_log "$LOG/mariadb$sfx-install.log"
			die "mariadb-install-db failed (log: $LOG/mariadb$sfx-install.log)"
		fi
	fi
	rm -f -- "$MYSQL_SOCK" "$MYSQL_SOCK.lock" "$MYSQL_PID"
	setsid mariadbd --no-defaults --datadir="$DATADIR" --socket="$MYSQL_SOCK" \
		--user=root "$@" \
		--innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=256M \
		--log-error="$LOG/mariadb$sfx.err" --pid-file="$MYSQL_PID" \
		</dev/null >>"$LOG/mariadb$sfx.out" 2>&1 &
	pid=$!
	disown "$pid" 2>/dev/null || true
	printf '    %s: starting (pid %s) ' "$name" "$pid"
	for ((i = 0; ; i++)); do
		if [[ -S $MYSQL_SOCK ]] && mariadb --no-defaults --socket="$MYSQL_SOCK" -uroot \
			-e 'select 1' >/dev/null 2>&1; then
			break
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			printf 'exited\n'
			tail_log "$LOG/mariadb$sfx.err"
			die "mariadbd exited during start-up (log: $LOG/mariadb$sfx.err)"
		fi
		if ((i >= 600)); then
			printf 'timeout\n'
			tail_log "$LOG/mariadb$sfx.err"
			die "mariadbd did not answer on $MYSQL_SOCK within 60 s (log: $LOG/mariadb$sfx.err)"
		fi
		((i % 10 == 9)) && printf '.'
		sleep 0.1
	done
	printf 'ready\n'
	# mariadbd writes its pid file itself; make sure it is there.
	[[ -s $MYSQL_PID ]] || echo "$pid" >"$MYSQL_PID"
}

migrate() {
	info "vingestctl migrate"
	"$BUILD/ctl/vingestctl" -c "$CONF" migrate 2>&1 | sed 's/^/      /' ||
		die "vingestctl migrate failed"
}
