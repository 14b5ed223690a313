#!/usr/bin/env bash
# 89_replica: a shard's primary lost for good, and nothing acknowledged lost.
# A stack of its own from `./dev up --replicas 1`: the shard is a MariaDB
# primary and a replica with semi-synchronous replication (AFTER_SYNC).
#   - the replica is connected and acknowledging (Rpl_semi_sync_master_*),
#     and the schema reached it by replication;
#   - with the replica's IO thread stopped, a commit at the primary waits for
#     an acknowledgement instead of being acknowledged from one server (and
#     with semi-sync off it is acknowledged from the primary alone);
#   - uploads run (tests/fault/load.sh keeps the client's ledger); the
#     primary is killed with SIGKILL mid-load and its data directory removed;
#     `./dev failover 0` promotes the replica; uploads go on;
#   - then tests/fault/check: every acknowledged upload has its row with the
#     client's sha256, its object and exactly one job, every job done, no
#     effect twice at the processing service (the stub's call log); and the
#     same vingest-fcgi master and supervisor as before: they reconnected by
#     themselves;
#   - `./dev up` seeds a new replica from the promoted primary (mariabackup)
#     and semi-sync is on again.
# Runs in the fs pass of ./dev test (its own stack; the pass's store does not
# matter to it).
. "$(dirname "$0")/lib.sh"

if [[ $STORE_BACKEND != fs ]]; then
	echo "# 89_replica: a stack of its own; runs in the fs pass (./dev test --store fs)"
	exit 0
fi

TV=$VINGEST_VAR-replica
ASAN_FLAG=
[[ $(cat "$VINGEST_VAR/build-dir" 2>/dev/null) == */build-asan ]] && ASAN_FLAG=--asan
# ./dev for this stack, in a clean environment (nothing of the test stack's
# VINGEST_* may leak into it); its ports derived from the test port offset.
rs() {
	env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
		VINGEST_VAR="$TV" VINGEST_HTTP_PORT=$((19700 + PORT_OFF)) \
		VINGEST_MEMCACHED_PORT=$((22700 + PORT_OFF)) VINGEST_STUB_PORT=$((19790 + PORT_OFF)) \
		VINGEST_REPL_PORT=$((24700 + PORT_OFF)) STUB_DELAY_MS=0 VINGEST_DEV_WORKERS=1 \
		VINGEST_JOBS_LEASE_SECONDS=6 VINGEST_WORKERS_HEARTBEAT_TIMEOUT_SECONDS=3 \
		VINGEST_PROCESSOR_TIMEOUT_SECONDS=10 VINGEST_JOBS_MAX_ATTEMPTS=50 \
		VINGEST_JOBS_BACKOFF_BASE_SECONDS=1 VINGEST_JOBS_BACKOFF_MAX_SECONDS=2 \
		VINGEST_PROCESSOR_MAX_RPS=0 VINGEST_RETENTION_JANITOR_INTERVAL_SECONDS=1 \
		VINGEST_WORKERS_MIN=2 VINGEST_WORKERS_CONCURRENCY=4 VINGEST_HTTP_PROCESSES=3 \
		"$T_REPO/dev" "$@"
}
cleanup() {
	[[ -n ${LOAD_PID:-} ]] && kill "$LOAD_PID" 2>/dev/null
	[[ -n ${BLOCKED:-} ]] && kill "$BLOCKED" 2>/dev/null
	rs down >"$T_TMP/down.log" 2>&1
	rm -rf -- "$TV" "$T_TMP"
}
trap cleanup EXIT
rm -rf -- "$TV"

t0=$SECONDS
if ! rs up $ASAN_FLAG --replicas 1 >"$T_TMP/up.log" 2>&1; then
	t_fail "./dev up --replicas 1 starts a primary and a replica" "$(tail -n 30 "$T_TMP/up.log")"
	t_done
fi
t_pass "./dev up --replicas 1 starts a primary and a replica"
echo "# up took $((SECONDS - t0)) s"
tv() { (. "$TV/dev.env" && eval "printf '%s' \"\$$1\""); }
PSOCK=$(tv VINGEST_DB_SOCKET)
RSOCK=$(tv VINGEST_REPLICA_SOCKETS)
PPID_FILE=$(tv VINGEST_SHARD_PID_FILES)
PDIR=$(tv VINGEST_SHARD_DATADIRS)
q() { mariadb --no-defaults --socket="$1" -uroot -N -B vingest -e "$2"; }
var() { q "$1" "SHOW GLOBAL STATUS LIKE '$2'" | cut -f2; }
slave() { mariadb --no-defaults --socket="$1" -uroot -e 'SHOW SLAVE STATUS\G' | sed -n "s/^ *$2: //p"; }

# ---- semi-sync is on and the replica acknowledges
t_eq "the primary runs semi-sync (Rpl_semi_sync_master_status)" "$(var "$PSOCK" Rpl_semi_sync_master_status)" ON
t_eq "one semi-sync replica is connected (Rpl_semi_sync_master_clients)" "$(var "$PSOCK" Rpl_semi_sync_master_clients)" 1
t_eq "the primary waits AFTER_SYNC" "$(q "$PSOCK" 'SELECT @@rpl_semi_sync_master_wait_point')" AFTER_SYNC
t_eq "the replica's semi-sync is on (Rpl_semi_sync_slave_status)" "$(var "$RSOCK" Rpl_semi_sync_slave_status)" ON
t_eq "the replica's IO and SQL threads run" "$(slave "$RSOCK" Slave_IO_Running) $(slave "$RSOCK" Slave_SQL_Running)" "Yes Yes"
t_eq "the replica is read-only" "$(q "$RSOCK" 'SELECT @@read_only')" 1
t_eq "the schema reached the replica by replication" \
	"$(q "$RSOCK" "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'vingest' AND table_name IN ('videos', 'jobs', 'uploads')")" 3

# ---- without the replica's acknowledgement, a commit waits
q "$PSOCK" "CREATE TABLE t89 (x INT PRIMARY KEY)"
q "$RSOCK" "STOP SLAVE IO_THREAD"
q "$PSOCK" "INSERT INTO t89 VALUES (1)" >"$T_TMP/blocked.out" 2>&1 &
BLOCKED=$!
waiting() { [[ $(q "$PSOCK" "SELECT COUNT(*) FROM information_schema.processlist WHERE state LIKE '%semi-sync%' AND info LIKE 'INSERT INTO t89%'") == 1 ]]; }
if wait_until 20 waiting && kill -0 "$BLOCKED" 2>/dev/null; then
	t_pass "with the replica's IO thread stopped, a commit waits for its acknowledgement"
else
	t_fail "with the replica's IO thread stopped, a commit waits for its acknowledgement" \
		"$(q "$PSOCK" 'SELECT state, info FROM information_schema.processlist')" "$(cat "$T_TMP/blocked.out")"
fi
q "$RSOCK" "START SLAVE IO_THREAD"
wait "$BLOCKED"
rc=$?
BLOCKED=
has_row() { [[ $(q "$RSOCK" 'SELECT COUNT(*) FROM t89' 2>/dev/null) == 1 ]]; }
wait_until 20 has_row
t_eq "the replica back, the commit returns, and the replica has its row" "$rc $(has_row && echo 1)" "0 1"
# The same without semi-sync: the commit returns at once, and exists on the
# primary alone (lost with it): what semi-sync is there to prevent.
q "$PSOCK" "SET GLOBAL rpl_semi_sync_master_enabled = OFF"
q "$RSOCK" "STOP SLAVE IO_THREAD"
timeout 10 mariadb --no-defaults --socket="$PSOCK" -uroot vingest -e "INSERT INTO t89 VALUES (2)"
t_eq "without semi-sync, a commit returns with the replica's IO thread stopped, and the replica lacks it" \
	"$? $(q "$RSOCK" 'SELECT COUNT(*) FROM t89 WHERE x = 2')" "0 0"
q "$RSOCK" "START SLAVE IO_THREAD"
q "$PSOCK" "SET GLOBAL rpl_semi_sync_master_enabled = ON"
q "$PSOCK" "DROP TABLE t89"
acking() { [[ $(var "$PSOCK" Rpl_semi_sync_master_clients) == 1 ]]; }
wait_until 20 acking ||
	t_fail "the replica acknowledges again" "$(slave "$RSOCK" Last_IO_Error)"

# ---- uploads, the primary lost, the replica promoted
FCGI_MASTER=$(tr -dc '0-9' <"$(tv VINGEST_FCGI_PID_FILE)")
SUPERVISOR=$(tr -dc '0-9' <"$(tv VINGEST_WORKERS_PID_FILE)")
LEDGER=$T_TMP/ledger
: >"$LEDGER"
load() { env VINGEST_URL="$(tv VINGEST_URL)" VINGEST_API_KEY="$(tv VINGEST_API_KEY)" bash "$T_REPO/tests/fault/load.sh" "$@"; }
acked() { grep -cE '^(201|204) ' "$LEDGER"; }
load 30 4 "$LEDGER" &
LOAD_PID=$!
some_acked() { (($(acked) >= 6)); }
wait_until 30 some_acked || t_fail "uploads are acknowledged before the failover" "$(head -n 5 "$LEDGER")"
kill -9 "$(tr -dc '0-9' <"$PPID_FILE")"
rm -rf -- "$PDIR"
before=$(acked)
t0=$SECONDS
if rs failover 0 >"$T_TMP/failover.log" 2>&1; then
	t_pass "./dev failover 0 promotes the replica"
else
	t_fail "./dev failover 0 promotes the replica" "$(cat "$T_TMP/failover.log")"
fi
echo "# failover took $((SECONDS - t0)) s:"
sed 's/^/#   /' "$T_TMP/failover.log"
wait "$LOAD_PID"
LOAD_PID=
# Uploads after the failover: acknowledged through the same processes.
load 6 3 "$LEDGER"
after=$(acked)
t_lt "uploads are acknowledged after the failover ($before before it, $after in all)" "$((before + 2))" "$after"
echo "# ledger: $(cut -d' ' -f1 "$LEDGER" | sort | uniq -c | tr '\n' ' ')"
NSOCK=$(tv VINGEST_DB_SOCKET)
t_eq "the new primary is writable, no longer a replica" \
	"$(q "$NSOCK" 'SELECT @@read_only')/$(slave "$NSOCK" Master_Host)" "0/"
t_eq "the same vingest-fcgi master serves (no restart)" "$(tr -dc '0-9' <"$(tv VINGEST_FCGI_PID_FILE)")" "$FCGI_MASTER"
t_eq "the same worker supervisor runs (no restart)" "$(tr -dc '0-9' <"$(tv VINGEST_WORKERS_PID_FILE)")" "$SUPERVISOR"

# ---- every job done, then the fault suite's checker on the ledger
drained() { [[ $(q "$NSOCK" "SELECT COUNT(*) FROM videos WHERE status IN ('queued', 'processing')") == 0 ]]; }
wait_until 60 drained || t_fail "every job finishes after the failover" \
	"$(q "$NSOCK" "SELECT status, COUNT(*) FROM videos GROUP BY status")"
# What the uploads table and staging still hold is an orphan now (no request
# is in flight): aged past the grace period, the janitor takes it.
q "$NSOCK" "UPDATE uploads SET created_at = created_at - INTERVAL 1 DAY,
	expires_at = LEAST(expires_at, UTC_TIMESTAMP(6) - INTERVAL 8 DAY)"
find "$TV/store" -path '*staging*' -type f -exec touch -d '1 day ago' {} + 2>/dev/null
no_uploads() { [[ $(q "$NSOCK" 'SELECT COUNT(*) FROM uploads') == 0 ]]; }
wait_until 30 no_uploads
out=$(env -i PATH="$PATH" HOME="${HOME:-/root}" VINGEST_VAR="$TV" bash "$T_REPO/tests/fault/check" "$LEDGER" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
t_eq "every acknowledged upload is there with its job, no effect twice, every job done" "$rc" 0

# ---- ./dev up gives the shard a new replica: a mariabackup copy of the new
# primary, acknowledging again
t0=$SECONDS
if rs up >"$T_TMP/up2.log" 2>&1; then
	t_pass "./dev up seeds a new replica from the promoted primary"
else
	t_fail "./dev up seeds a new replica from the promoted primary" "$(tail -n 20 "$T_TMP/up2.log")"
fi
echo "# re-seeding took $((SECONDS - t0)) s"
RSOCK=$(tv VINGEST_REPLICA_SOCKETS)
t_eq "the promoted primary has a semi-sync replica again" \
	"$(var "$NSOCK" Rpl_semi_sync_master_status) $(var "$NSOCK" Rpl_semi_sync_master_clients)" "ON 1"
load 2 2 "$LEDGER"
same() { [[ $(q "$RSOCK" 'SELECT COUNT(*) FROM videos') == $(q "$NSOCK" 'SELECT COUNT(*) FROM videos') ]]; }
wait_until 20 same
t_eq "the new replica has every video of the primary" "$(q "$RSOCK" 'SELECT COUNT(*) FROM videos')" \
	"$(q "$NSOCK" 'SELECT COUNT(*) FROM videos')"
t_done
