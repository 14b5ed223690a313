# shellcheck shell=bash
# tools/stack.sh - the stack and the commands that act on it: up (memcached,
# s3rver, vingest-fcgi, the web server, the processing-service stub,
# vingest-workers, extra nodes, after MariaDB), down, status, ctl and sql.
# Each component is started only when its pid file names no live process,
# so `./dev up` on a running stack starts what is missing and leaves the
# rest; down stops in the reverse order, every node, shard and memcached
# that has a pid file.

# start_memcached [J]: memcached server J (default 0) on port MC_PORT + J.
start_memcached() {
	local pid i j=${1:-0} MC_PORT=$MC_PORT MC_PID=$MC_PID
	if ((j > 0)); then
		MC_PORT=$((MC_PORT + j)) MC_PID=$RUN/memcached-$j.pid
	fi
	if pid=$(running_pid "$MC_PID"); then
		info "memcached: already running (pid $pid) on 127.0.0.1:$MC_PORT"
		return 0
	fi
	rm -f -- "$MC_PID"
	if ! memcached -u root -l 127.0.0.1 -p "$MC_PORT" -U 0 -d -P "$MC_PID" \
		</dev/null >>"$LOG/memcached.log" 2>&1; then
		tail_log "$LOG/memcached.log"
		die "memcached failed to start on 127.0.0.1:$MC_PORT (log: $LOG/memcached.log)"
	fi
	for ((i = 0; i < 50; i++)); do
		pid=$(running_pid "$MC_PID") && break
		sleep 0.1
	done
	if [[ -z ${pid:-} ]]; then
		tail_log "$LOG/memcached.log"
		die "memcached did not start on 127.0.0.1:$MC_PORT (port taken? log: $LOG/memcached.log)"
	fi
	info "memcached: started (pid $pid) on 127.0.0.1:$MC_PORT"
}

# An S3-compatible store for store.backend = s3: s3rver (npm, installed into
# tests/s3/node_modules on first use), data under $VAR/s3.
start_s3() {
	local pid i dir=$REPO/tests/s3
	[[ $STORE_BACKEND == s3 && -z ${VINGEST_STORE_S3_ENDPOINT:-} ]] || return 0
	if pid=$(running_pid "$S3_PID"); then
		info "s3rver: already running (pid $pid) on 127.0.0.1:$S3_PORT"
		return 0
	fi
	if [[ ! -x $dir/node_modules/.bin/s3rver ]]; then
		info "s3rver: npm install in tests/s3 (once)"
		(cd "$dir" && npm install --no-audit --no-fund >"$LOG/s3-npm.log" 2>&1) ||
			die "npm install of s3rver failed (log: $LOG/s3-npm.log)"
	fi
	mkdir -p "$S3_DIR"
	start_daemon s3rver "$S3_PID" "$LOG/s3rver.log" node "$dir/node_modules/.bin/s3rver" \
		-d "$S3_DIR" -a 127.0.0.1 -p "$S3_PORT" --no-vhost-buckets \
		--configure-bucket "$S3_BUCKET"
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && return 0
		sleep 0.1
	done
	die "s3rver does not answer on 127.0.0.1:$S3_PORT (log: $LOG/s3rver.log)"
}

# 0 when vingest-fcgi accepts connections on LISTEN (unix:PATH or HOST:PORT).
fcgi_listening() {
	local listen=$1
	if [[ $listen == unix:* ]]; then
		[[ -S ${listen#unix:} ]]
	else
		(exec 3<>"/dev/tcp/${listen%:*}/${listen##*:}") 2>/dev/null
	fi
}

start_fcgi() {
	local pid i bin=$BUILD/app/vingest-fcgi listen was
	listen=$(fcgi_listen)
	if pid=$(running_pid "$FCGI_PID"); then
		was=$(cat "$FCGI_PID.listen" 2>/dev/null || true)
		if [[ -n $was && $was != "$listen" ]]; then
			# The web server in front changed (lighttpd: unix socket,
			# Apache: TCP): move vingest-fcgi to the other listener.
			info "vingest-fcgi: moving from $was to $listen"
			stop_pidfile vingest-fcgi "$FCGI_PID" 30
		else
			info "vingest-fcgi: already running (pid $pid)"
			if [[ $bin -nt $FCGI_PID ]]; then
				warn "vingest-fcgi was rebuilt after it started; run ./dev down && ./dev up to run the new binary"
			fi
			return 0
		fi
	fi
	if ! "$bin" -c "$CONF" -t >"$LOG/vingest-fcgi-check.log" 2>&1; then
		cat "$LOG/vingest-fcgi-check.log" >&2
		die "vingest-fcgi -t refused $CONF (see above)"
	fi
	rm -f -- "$FCGI_SOCK" "$FCGI_PID"
	printf '\n=== %s: ./dev up starts vingest-fcgi\n' "$(date -u +%FT%TZ)" >>"$LOG/vingest-fcgi.log"
	setsid "$bin" -c "$CONF" </dev/null >>"$LOG/vingest-fcgi.log" 2>&1 &
	pid=$!
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$FCGI_PID"
	echo "$listen" >"$FCGI_PID.listen"
	for ((i = 0; ; i++)); do
		fcgi_listening "$listen" && break
		if ! kill -0 "$pid" 2>/dev/null; then
			tail_log "$LOG/vingest-fcgi.log"
			rm -f -- "$FCGI_PID"
			die "vingest-fcgi exited during start-up (log: $LOG/vingest-fcgi.log)"
		fi
		if ((i >= 200)); then
			tail_log "$LOG/vingest-fcgi.log"
			die "vingest-fcgi does not listen on $listen after 20 s (log: $LOG/vingest-fcgi.log)"
		fi
		sleep 0.1
	done
	info "vingest-fcgi: started (pid $pid) on $listen"
}

start_stub() {
	local pid i
	if [[ -n ${VINGEST_PROCESSOR_URL:-} ]]; then
		info "processing service: $VINGEST_PROCESSOR_URL (VINGEST_PROCESSOR_URL; no stub)"
		return 0
	fi
	if pid=$(running_pid "$STUB_PID"); then
		info "vingest-stub: already running (pid $pid) on $STUB_URL"
		return 0
	fi
	# The stub answers after STUB_DELAY_MS (default here: 5 s, so a video is
	# seen "processing" for a moment; the real service takes about a minute).
	STUB_DELAY_MS=${STUB_DELAY_MS:-5000} start_daemon vingest-stub "$STUB_PID" "$LOG/vingest-stub.log" \
		"$BUILD/tests/stub/vingest-stub" -l "127.0.0.1:$STUB_PORT" -L "$LOG/stub-calls.log" -F
	for ((i = 0; i < 50; i++)); do
		curl -sf -o /dev/null "$STUB_URL/healthz" && return 0
		sleep 0.1
	done
	die "vingest-stub does not answer on $STUB_URL (log: $LOG/vingest-stub.log)"
}

start_workers() {
	local pid
	if [[ ${VINGEST_DEV_WORKERS:-1} == 0 ]]; then
		info "vingest-workers: not started (VINGEST_DEV_WORKERS=0)"
		return 0
	fi
	if pid=$(running_pid "$WORKERS_PID"); then
		info "vingest-workers: already running (pid $pid)"
		return 0
	fi
	if ! "$BUILD/workers/vingest-workers" -c "$CONF" -t >"$LOG/vingest-workers-check.log" 2>&1; then
		cat "$LOG/vingest-workers-check.log" >&2
		die "vingest-workers -t refused $CONF (see above)"
	fi
	start_daemon vingest-workers "$WORKERS_PID" "$LOG/vingest-workers.log" \
		"$BUILD/workers/vingest-workers" -c "$CONF"
}

# start_node N: another host's share of the stack (N >= 1): its own
# vingest-fcgi, lighttpd on HTTP_PORT + N and supervisor with its workers,
# against the same shards, memcached servers, store and processing service.
# Config and logs in $VAR/node-N/. (Extra nodes always use lighttpd.)
start_node() {
	local n=$1
	# (LIGHTTPD_*, WORKERS_PROM: read by start_lighttpd and render_config, in
	# tools/stack-web.sh and tools/stack-config.sh)
	# shellcheck disable=SC2034
	(
		NODE_DIR=$VAR/node-$n
		mkdir -p "$NODE_DIR/log"
		LOG=$NODE_DIR/log CONF=$NODE_DIR/vingest.conf
		HTTP_PORT=$((HTTP_PORT + n))
		URL=http://127.0.0.1:$HTTP_PORT
		FCGI_SOCK=$RUN/fcgi-$n.sock FCGI_PID=$RUN/vingest-fcgi-$n.pid WEB=lighttpd
		LIGHTTPD_CONF=$NODE_DIR/lighttpd.conf LIGHTTPD_PID=$RUN/lighttpd-$n.pid
		LIGHTTPD_VINGEST_CONF=$NODE_DIR/lighttpd-vingest.conf
		WORKERS_PID=$RUN/vingest-workers-$n.pid WORKERS_PROM=$NODE_DIR/workers.prom
		say "node $n: $URL"
		render_config
		start_fcgi
		start_lighttpd
		start_workers
	) || exit 1
}

# Stops what start_node N started.
stop_node() {
	local n=$1
	stop_pidfile "vingest-workers (node $n)" "$RUN/vingest-workers-$n.pid" 90
	stop_pidfile "lighttpd (node $n)" "$RUN/lighttpd-$n.pid" 10
	stop_pidfile "vingest-fcgi (node $n)" "$RUN/vingest-fcgi-$n.pid" 30
	rm -f -- "$RUN/fcgi-$n.sock"
}

cmd_up() {
	local asan=0 build_dir store= failpoints=0 web= shards= mcs= nodes= replicas= k
	while (($#)); do
		case $1 in
		--asan) asan=1 ;;
		--shards)
			[[ ${2:-} =~ ^[1-8]$ ]] || die "up: --shards needs 1 to 8"
			shards=$2
			shift
			;;
		--memcached)
			[[ ${2:-} =~ ^[1-8]$ ]] || die "up: --memcached needs 1 to 8"
			mcs=$2
			shift
			;;
		--nodes)
			[[ ${2:-} =~ ^[1-4]$ ]] || die "up: --nodes needs 1 to 4"
			nodes=$2
			shift
			;;
		--replicas)
			[[ ${2:-} =~ ^[01]$ ]] || die "up: --replicas needs 0 or 1"
			replicas=$2
			shift
			;;
		--failpoints) failpoints=1 ;;
		--store)
			[[ ${2:-} == @(fs|s3|db) ]] || die "up: --store needs fs, s3 or db"
			store=$2
			shift
			;;
		--web)
			(($# >= 2)) || die "up: --web needs lighttpd or apache"
			web=$2
			shift
			;;
		--web=*) web=${1#--web=} ;;
		*) die "up: unknown option '$1' (./dev help)" ;;
		esac
		shift
	done
	case $web in
	'' | lighttpd | apache) ;;
	*) die "up: --web must be lighttpd or apache, not '$web'" ;;
	esac
	stack_paths
	[[ -n $web ]] && WEB=$web
	install_packages

	# shellcheck disable=SC2153 # STORE is set by stack_paths (tools/paths.sh)
	mkdir -p "$VAR" "$RUN" "$LOG" "$STORE" "$VAR/tmp"
	if [[ -n $store && $store != "$STORE_BACKEND" ]]; then
		if running_pid "$FCGI_PID" >/dev/null; then
			die "up: the stack runs with store $STORE_BACKEND; ./dev down first to switch to $store"
		fi
		STORE_BACKEND=$store
	fi
	echo "$STORE_BACKEND" >"$VAR/store-backend"
	echo "$WEB" >"$WEB_FILE"
	if [[ -n $shards$mcs$nodes$replicas ]]; then
		local want="${shards:-$SHARDS} ${mcs:-$MEMCACHEDS} ${nodes:-$NODES} ${replicas:-$REPLICAS}"
		if [[ $want != "$SHARDS $MEMCACHEDS $NODES $REPLICAS" ]] && running_pid "$FCGI_PID" >/dev/null; then
			die "up: the stack runs with $SHARDS shard(s), $MEMCACHEDS memcached, $NODES node(s), $REPLICAS replica(s); ./dev down first to change it"
		fi
		read -r SHARDS MEMCACHEDS NODES REPLICAS <<<"$want"
	fi
	echo "$SHARDS $MEMCACHEDS $NODES $REPLICAS" >"$TOPOLOGY_FILE"
	((REPLICAS)) && MYSQL_PID=$(shard_pid 0)
	if ((failpoints)); then
		# The fault-test build: failpoints compiled in (never in production).
		build_dir=$REPO/build-fault
		say "building with failpoints in build-fault/"
		build "$build_dir" "$LOG/build-fault.log" --enable-failpoints --enable-werror || exit 1
	elif ((asan)); then
		build_dir=$REPO/build-asan
		say "building with sanitizers (ASan + UBSan) in build-asan/"
		build "$build_dir" "$LOG/build-asan.log" --enable-sanitizers --enable-werror || exit 1
	else
		build_dir=$REPO/build
		say "building in build/"
		build "$build_dir" "$LOG/build.log" --enable-werror || exit 1
	fi
	if [[ $BUILD != "$build_dir" ]] && running_pid "$FCGI_PID" >/dev/null; then
		warn "vingest-fcgi runs from $BUILD; ./dev down && ./dev up to switch to $build_dir"
	else
		BUILD=$build_dir
		echo "$BUILD" >"$VAR/build-dir"
	fi

	# Every daemon of a failpoint build reads its failpoints from this file
	# (tests/fault/ writes it; empty: none fire).
	mkdir -p "$VAR/failpoints"
	export VINGEST_FAILPOINTS_FILE=$VAR/failpoints/spec
	say "starting the stack under $VAR"
	if ((RUN_MOVED)); then
		info "(sockets and pid files in $RUN: $VAR/run is too long for a unix socket path)"
	fi
	start_mariadb
	for ((k = 1; k < SHARDS; k++)); do start_mariadb "$k"; done
	start_memcached
	for ((k = 1; k < MEMCACHEDS; k++)); do start_memcached "$k"; done
	start_s3
	render_config
	migrate
	start_fcgi
	start_web
	start_stub
	start_workers
	for ((k = 1; k < NODES; k++)); do start_node "$k"; done
	create_demo_user
	write_dev_env

	local rel_env=${DEV_ENV#"$REPO"/}
	say "vingest is up at $URL"
	cat <<EOF

  Upload a video:
    . $rel_env
    curl -H "Authorization: Bearer \$VINGEST_API_KEY" -F file=@tests/fixtures/clip-2s.mp4 \$VINGEST_URL/v1/videos

  Read it back (the id is in the answer and in its Location header); it goes
  queued -> processing -> processed as the workers hand it to the processing
  service ($PROCESSOR_URL):
    curl -H "Authorization: Bearer \$VINGEST_API_KEY" \$VINGEST_URL/v1/videos/ID
    curl -H "Authorization: Bearer \$VINGEST_API_KEY" \$VINGEST_URL/v1/videos

  Look inside:  ./dev status | ./dev sql 'SELECT * FROM v_queue' | ./dev ctl --help
  Logs:         $LOG/
  Stop:         ./dev down
EOF
}

cmd_down() {
	stack_paths
	local f n
	local -A nodes=()
	say "stopping the stack under $VAR"
	# Every extra node, shard and memcached that has a pid file, whatever the
	# topology says now.
	for f in "$RUN"/vingest-fcgi-*.pid "$RUN"/vingest-workers-*.pid "$RUN"/lighttpd-*.pid; do
		[[ -e $f ]] || continue
		n=${f##*-}
		n=${n%.pid}
		[[ $n =~ ^[0-9]+$ ]] && nodes[$n]=1
	done
	for n in "${!nodes[@]}"; do stop_node "$n"; done
	stop_pidfile vingest-workers "$WORKERS_PID" 90
	stop_pidfile vingest-stub "$STUB_PID" 10
	# The stack's web server, and the other one too if it still runs.
	if [[ $WEB == apache ]] || running_pid "$APACHE_PID" >/dev/null; then
		stop_pidfile apache2 "$APACHE_PID" 10
	fi
	if [[ $WEB == lighttpd ]] || running_pid "$LIGHTTPD_PID" >/dev/null; then
		stop_pidfile lighttpd "$LIGHTTPD_PID" 10
	fi
	stop_pidfile vingest-fcgi "$FCGI_PID" 30
	rm -f -- "$FCGI_SOCK" "$FCGI_PID.listen"
	stop_pidfile memcached "$MC_PID" 10
	for f in "$RUN"/memcached-*.pid; do
		[[ -e $f ]] && stop_pidfile "memcached ${f##*/}" "$f" 10
	done
	stop_pidfile mariadb "$MYSQL_PID" 60
	for f in "$RUN"/mariadb-*.pid; do
		[[ -e $f ]] && stop_pidfile "mariadb ${f##*/}" "$f" 60
	done
	stop_pidfile s3rver "$S3_PID" 10
}

cmd_status() {
	stack_paths
	local name file pid children
	printf 'stack:         %s\n' "$VAR"
	if ((RUN_MOVED)); then
		printf 'run dir:       %s (moved: %s/run is too long for a unix socket path)\n' "$RUN" "$VAR"
	fi
	local web_name=lighttpd
	[[ $WEB == apache ]] && web_name=apache2
	for name in mariadb memcached s3rver vingest-fcgi "$web_name" vingest-stub vingest-workers; do
		[[ $name == s3rver && $STORE_BACKEND != s3 ]] && continue
		case $name in
		mariadb) file=$MYSQL_PID ;;
		memcached) file=$MC_PID ;;
		vingest-fcgi) file=$FCGI_PID ;;
		lighttpd) file=$LIGHTTPD_PID ;;
		apache2) file=$APACHE_PID ;;
		vingest-stub) file=$STUB_PID ;;
		vingest-workers) file=$WORKERS_PID ;;
		s3rver) file=$S3_PID ;;
		esac
		if pid=$(running_pid "$file"); then
			case $name in
			vingest-fcgi)
				children=$(pgrep -P "$pid" | wc -l || true)
				printf '%-14s running (pid %s, %s children) %s\n' "$name:" "$pid" "$children" \
					"$(cat "$FCGI_PID.listen" 2>/dev/null || echo "unix:$FCGI_SOCK")"
				;;
			vingest-workers)
				children=$(pgrep -P "$pid" | wc -l || true)
				printf '%-14s running (supervisor pid %s, %s workers)\n' "$name:" "$pid" "$children"
				;;
			vingest-stub) printf '%-14s running (pid %s) %s\n' "$name:" "$pid" "$STUB_URL" ;;
			memcached) printf '%-14s running (pid %s) 127.0.0.1:%s\n' "$name:" "$pid" "$MC_PORT" ;;
			mariadb) printf '%-14s running (pid %s) %s\n' "$name:" "$pid" "$MYSQL_SOCK" ;;
			lighttpd | apache2) printf '%-14s running (pid %s) %s\n' "$name:" "$pid" "$URL" ;;
			*) printf '%-14s running (pid %s)\n' "$name:" "$pid" ;;
			esac
		else
			printf '%-14s stopped\n' "$name:"
		fi
	done
	local k
	for ((k = 1; k < SHARDS; k++)); do
		if pid=$(running_pid "$(shard_pid "$k")"); then
			printf '%-14s running (pid %s) %s\n' "shard $k:" "$pid" "$RUN/mysql-$k.sock"
		else
			printf '%-14s stopped\n' "shard $k:"
		fi
	done
	for ((k = 1; k < MEMCACHEDS; k++)); do
		if pid=$(running_pid "$RUN/memcached-$k.pid"); then
			printf '%-14s running (pid %s) 127.0.0.1:%s\n' "memcached $k:" "$pid" "$((MC_PORT + k))"
		else
			printf '%-14s stopped\n' "memcached $k:"
		fi
	done
	for ((k = 1; k < NODES; k++)); do
		local parts=() p
		for p in vingest-fcgi lighttpd vingest-workers; do
			if running_pid "$RUN/$p-$k.pid" >/dev/null; then parts+=("$p up"); else parts+=("$p DOWN"); fi
		done
		printf '%-14s %s, %s, %s; http://127.0.0.1:%s\n' "node $k:" "${parts[@]}" "$((HTTP_PORT + k))"
	done
	((REPLICAS)) && replica_status
	printf 'topology:      %s shard(s), %s memcached, %s node(s), %s replica(s)\n' "$SHARDS" "$MEMCACHEDS" "$NODES" "$REPLICAS"
	printf 'store:         %s\n' "$STORE_BACKEND"
	printf 'processor:     %s\n' "$PROCESSOR_URL"
	printf 'url:           %s\n' "$URL"
	if [[ -f $DEV_ENV ]]; then
		printf 'env:           . %s\n' "$DEV_ENV"
	fi
}

cmd_ctl() {
	stack_paths
	[[ -x $BUILD/ctl/vingestctl ]] || die "no $BUILD/ctl/vingestctl: run ./dev up first"
	[[ -f $CONF ]] || die "no $CONF: run ./dev up first"
	exec "$BUILD/ctl/vingestctl" -c "$CONF" "$@"
}

cmd_sql() {
	stack_paths
	running_pid "$MYSQL_PID" >/dev/null || die "mariadb is not running: ./dev up"
	if (($#)); then
		exec mariadb --no-defaults --socket="$MYSQL_SOCK" -uroot vingest -e "$*"
	fi
	exec mariadb --no-defaults --socket="$MYSQL_SOCK" -uroot vingest
}
