# shellcheck shell=bash
# tools/paths.sh - where a stack lives: every path of it (state, run
# directory, sockets, pid files, logs, rendered configuration) derived from
# the environment (stack_env, in ./dev) and from what the stack remembers in
# its state directory (store backend, web server, topology, build). Every
# command that acts on a stack calls stack_paths first, once.

# Sets every path of the stack from the environment. Called once per command.
# (Its variables are read in the other tools/ files, where shellcheck, reading
# this file alone, does not see them.)
# shellcheck disable=SC2034
stack_paths() {
	stack_env

	# A unix socket path must fit in sockaddr_un.sun_path (108 bytes with the
	# NUL). When the state directory is too deep, the run directory (sockets
	# and pid files) moves to a short path under /tmp named by a hash of $VAR.
	RUN=$VAR/run
	RUN_MOVED=0
	local longest=$RUN/mysql.sock
	if ((${#longest} > 107)); then
		RUN=/tmp/vingest-$(id -u)-$(printf '%s' "$VAR" | sha256sum | cut -c1-12)
		RUN_MOVED=1
	fi

	LOG=$VAR/log
	CONF=$VAR/vingest.conf
	DATADIR=$VAR/mysql
	STORE=$VAR/store
	MYSQL_SOCK=$RUN/mysql.sock
	MYSQL_PID=$RUN/mariadb.pid
	MC_PID=$RUN/memcached.pid
	FCGI_SOCK=$RUN/fcgi.sock
	FCGI_PID=$RUN/vingest-fcgi.pid
	LIGHTTPD_CONF=$VAR/lighttpd.conf
	LIGHTTPD_VINGEST_CONF=$VAR/lighttpd-vingest.conf
	LIGHTTPD_PID=$RUN/lighttpd.pid
	APACHE_DIR=$VAR/apache
	APACHE_CONF=$APACHE_DIR/apache2.conf
	APACHE_VHOST=$APACHE_DIR/vingest.conf
	APACHE_PID=$RUN/apache2.pid
	# Apache will not serve as root: its children run as www-data, which must
	# be able to connect to vingest-fcgi's socket (mode 0660: its group).
	APACHE_USER=www-data
	APACHE_GROUP=www-data
	# The web server in front (lighttpd or apache): chosen by `up --web`,
	# remembered here so that a later up, down or status acts on it.
	WEB_FILE=$VAR/web
	WEB=lighttpd
	if [[ -s $WEB_FILE ]]; then
		WEB=$(<"$WEB_FILE")
		[[ $WEB == lighttpd || $WEB == apache ]] || die "$WEB_FILE says '$WEB', not lighttpd or apache"
	fi
	DEMO_KEY=$VAR/demo.key
	URL_SECRET=$VAR/url.secret
	STUB_PID=$RUN/vingest-stub.pid
	WORKERS_PID=$RUN/vingest-workers.pid
	DEV_ENV=$VAR/dev.env

	# The object store: fs (files under $STORE), s3 (an s3rver of its own on
	# VINGEST_S3_PORT, unless VINGEST_STORE_S3_ENDPOINT names a store) or db.
	# `up --store NAME` chooses; the stack remembers it in $VAR/store-backend.
	STORE_BACKEND=fs
	if [[ -f $VAR/store-backend ]]; then
		STORE_BACKEND=$(<"$VAR/store-backend")
	fi
	S3_DIR=$VAR/s3
	S3_PID=$RUN/s3rver.pid
	S3_BUCKET=vingest

	# The topology (`up --shards N --memcached N --nodes N`, remembered in
	# $VAR/topology): metadata shards (shard 0 is the MariaDB above; shard k
	# has mysql-K/ and mysql-K.sock), memcached servers (ports MC_PORT + j)
	# and nodes (node 0 is the stack above; node n has its own vingest-fcgi,
	# lighttpd on HTTP_PORT + n and supervisor, config and logs in node-N/).
	# A fourth field, REPLICAS (`up --replicas 1`): each shard a pair of
	# servers, primary and semi-synchronous replica (tools/replica.sh).
	TOPOLOGY_FILE=$VAR/topology
	SHARDS=1 MEMCACHEDS=1 NODES=1 REPLICAS=0
	if [[ -s $TOPOLOGY_FILE ]]; then
		read -r SHARDS MEMCACHEDS NODES REPLICAS <"$TOPOLOGY_FILE" || true
		REPLICAS=${REPLICAS:-0}
		[[ $SHARDS =~ ^[1-8]$ && $MEMCACHEDS =~ ^[1-8]$ && $NODES =~ ^[1-4]$ && $REPLICAS =~ ^[01]$ ]] ||
			die "$TOPOLOGY_FILE is not 'SHARDS MEMCACHEDS NODES [REPLICAS]' (1-8 1-8 1-4 0-1)"
	fi
	# The replication listeners (127.0.0.1, with replicas only): shard K's
	# servers on REPL_PORT + 2K and REPL_PORT + 2K + 1.
	REPL_PORT=${VINGEST_REPL_PORT:-13306}
	[[ $REPL_PORT =~ ^[0-9]+$ ]] || die "VINGEST_REPL_PORT must be a port number, not '$REPL_PORT'"
	# With replicas, shard 0's pid file is its primary's (which one is in
	# $VAR/mysql.primary; failover changes it).
	((REPLICAS)) && MYSQL_PID=$(member_pid 0 "$(shard_primary 0)")

	# The build the stack runs from (`up --asan` records build-asan).
	BUILD=$REPO/build
	if [[ -f $VAR/build-dir ]]; then
		BUILD=$(<"$VAR/build-dir")
	fi
}
