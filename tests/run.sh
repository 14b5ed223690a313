# shellcheck shell=bash
# tests/run.sh - the test runner behind `./dev test`: every test, from a
# fresh clone, ending with one line "N passed, N failed".
#
# ./dev sources this file (it uses dev's say, info, die, tail_log, build and
# install_packages) and calls run_tests with the arguments of `./dev test`.
# In order:
#
#   0. style: tests/check_format.sh (every C file as .clang-format says);
#   1. unit tests: `make check` in build/, then in build-asan/ (ASan + UBSan,
#      leaks checked), counted from automake's own summary (test-suite.log);
#   2. the integration suite (tests/integration/) against a private stack
#      under var/test, once per store backend, the web servers taking turns;
#   3. the fault suite (tests/fault/) on a stack built with failpoints;
#   4. a short run of every fuzzer (tests/fuzz/run.sh);
#   5. make distcheck, and a check that its tarball holds every file git
#      tracks (but a short list of git's own files, DIST_EXCLUDE below).
#
# Each check prints "ok - NAME" or "not ok - NAME" and counts once. The
# integration and fault scripts print such lines themselves; this file
# counts them, and says "not ok" for a script that exits non-zero without
# one, so nothing fails silently. The run ends with the tally even when it
# is aborted (ctrl-c, a dying stack): the abort is one more failure.
#
# Environment: VINGEST_TEST_VAR moves the test stack and its logs (default
# var/test and var/test-logs), VINGEST_TEST_PORT_OFFSET every port the
# tests use, so two runs can share a machine or a checkout; FAULT_ONLY
# narrows the fault suite (tests/fault/README.md).

# shellcheck source=tests/fuzz/run.sh
. "$REPO/tests/fuzz/run.sh"

T_PASSED=0
T_FAILED=0
TEST_VAR=${VINGEST_TEST_VAR:-$REPO/var/test}
TEST_LOGS=${TEST_VAR}-logs
TEST_ONLY=

t_result() { # t_result ok|fail NAME
	if [[ $1 == ok ]]; then
		T_PASSED=$((T_PASSED + 1))
		printf 'ok - %s\n' "$2"
	else
		T_FAILED=$((T_FAILED + 1))
		printf 'not ok - %s\n' "$2"
	fi
}

# t_count OUTPUT [INDENT]: adds the "ok" / "not ok" lines of a script's
# output (indented by INDENT) to the tally.
t_count() {
	local out=$1 indent=${2:-} p n
	p=$(grep -cE "^${indent}ok( |\$)" <<<"$out" || true)
	n=$(grep -cE "^${indent}not ok( |\$)" <<<"$out" || true)
	T_PASSED=$((T_PASSED + p))
	T_FAILED=$((T_FAILED + n))
	return $((n > 0))
}

t_summary_and_exit() {
	trap - EXIT INT TERM
	if ((TEST_STACK_UP)); then
		test_stack_down
	fi
	printf '# the run took %d min %d s\n' $((SECONDS / 60)) $((SECONDS % 60))
	printf '%d passed, %d failed\n' "$T_PASSED" "$T_FAILED"
	if ((T_FAILED == 0 && T_PASSED > 0)); then
		exit 0
	fi
	exit 1
}

# ./dev test always ends with the summary line, even when something aborts it
# (or on ctrl-c): the abort counts as a failure and the test stack is stopped.
TEST_STACK_UP=0
on_test_abort() {
	local rc=$?
	trap - EXIT INT TERM
	echo "dev: test run aborted (exit status $rc)" >&2
	t_result fail "./dev test ran to the end"
	t_summary_and_exit
}

# ---------------------------------------------------------------- unit tests

# count_unit DIR LABEL MAKE_STATUS: adds what `make check` in DIR found, as
# automake summed it up in DIR/test-suite.log (one result per TAP line, an
# ERROR for a test that crashed or broke its plan): PASS, XFAIL and SKIP
# passed, FAIL, XPASS and ERROR failed. Prints the failures.
count_unit() {
	local dir=$1 label=$2 make_rc=$3 log=$1/test-suite.log p=0 n=0 k v
	if [[ ! -f $log ]]; then
		t_result fail "$label: make check ran the tests (no test-suite.log; see ${TEST_LOGS#"$REPO"/}/$label-check.log)"
		return 1
	fi
	while read -r k v; do
		case $k in
		PASS: | XFAIL: | SKIP:) p=$((p + v)) ;;
		FAIL: | XPASS: | ERROR:) n=$((n + v)) ;;
		esac
	done < <(sed -n 's/^# \([A-Z]*:\) *\([0-9]*\)$/\1 \2/p' "$log")
	grep -E '^(FAIL|XPASS|ERROR): [^ ]+ .' "$log" | sed 's/^/    /' || true
	if ((make_rc != 0 && n == 0)); then
		n=1 # make check failed, but no test said why: count it
		echo "    make check failed without a failing test (see ${TEST_LOGS#"$REPO"/}/$label-check.log)"
	fi
	T_PASSED=$((T_PASSED + p))
	T_FAILED=$((T_FAILED + n))
	printf '    %s: %d passed, %d failed (automake: %s)\n' "$label" "$p" "$n" "${log#"$REPO"/}"
	((n == 0))
}

# test_unit DIR LABEL CONFIGURE-ARGS...: build, make check, count. Status 1
# only if DIR does not build (the run stops there).
test_unit() {
	local dir=$1 label=$2 rc=0
	shift 2
	if ! build "$dir" "$TEST_LOGS/$label-build.log" "$@" >/dev/null 2>"$TEST_LOGS/$label-build.err"; then
		cat "$TEST_LOGS/$label-build.err" >&2
		t_result fail "$label: build"
		return 1
	fi
	# a summary left by an earlier run must not stand in for this one
	rm -f "$dir/test-suite.log"
	make -C "$dir" -j2 check >"$TEST_LOGS/$label-check.log" 2>&1 || rc=$?
	if ((rc != 0)); then
		tail_log "$TEST_LOGS/$label-check.log" 30
	fi
	count_unit "$dir" "$label" "$rc" || true
}

# test_style: tests/check_format.sh, each of its lines counted once (a
# script that fails without saying "not ok" counts as one failure).
test_style() {
	local out rc=0 line bad=0
	out=$(sh "$REPO/tests/check_format.sh" 2>&1) || rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) t_result ok "${line#ok - }" ;;
		"not ok - "*) t_result fail "${line#not ok - }"; bad=1 ;;
		*) printf '    %s\n' "$line" ;;
		esac
	done <<<"$out"
	if ((rc != 0 && bad == 0)); then
		t_result fail "tests/check_format.sh exited $rc"
	fi
}

# ---------------------------------------------------------------- the test stack

# The integration stack: ports and limits chosen so it can run beside a
# developer's ./dev up stack. The upload limit is 64 MiB (lighttpd's cap is
# then 65 MiB); tests/integration/lib.sh documents how the tests use it.
# VINGEST_TEST_PORT_OFFSET moves every test port (these and the ones the
# tests pick for instances of their own) so two checkouts can test at once.
TEST_PORT_OFFSET=${VINGEST_TEST_PORT_OFFSET:-0}
TEST_HTTP_PORT=$((18080 + TEST_PORT_OFFSET))
TEST_MC_PORT=$((21211 + TEST_PORT_OFFSET))
TEST_STUB_PORT=$((18090 + TEST_PORT_OFFSET))
TEST_S3_PORT=$((18569 + TEST_PORT_OFFSET))
TEST_FCGI_PORT=$((18089 + TEST_PORT_OFFSET))
TEST_MAX_UPLOAD_BYTES=67108864
# Every other limit is the shipped one. The suite, though, is one client
# firing requests back to back from 127.0.0.1, faster than the shipped 100 a
# second any real client needs; 36_ratelimit tests the per-address limit on
# an instance of its own (10 a second).
TEST_REQUESTS_PER_SECOND_PER_IP=2000

# test_stack_env CMD...: CMD with the test stack's environment: its own
# ports, a 64 MiB upload limit (tests/integration/lib.sh relies on it), and
# job timings and a status-cache TTL short enough for retry, lease, drain and
# cache tests to finish in seconds. Workers start with tests that need them
# (80_*): the upload tests look at jobs as the upload left them.
test_stack_env() {
	VINGEST_VAR=$TEST_VAR VINGEST_HTTP_PORT=$TEST_HTTP_PORT \
		VINGEST_MEMCACHED_PORT=$TEST_MC_PORT VINGEST_STUB_PORT=$TEST_STUB_PORT \
		VINGEST_S3_PORT=$TEST_S3_PORT VINGEST_FCGI_PORT=$TEST_FCGI_PORT \
		VINGEST_TRUSTED_PROXIES=127.0.0.9 \
		VINGEST_HTTP_CORS_ORIGINS=http://127.0.0.1:$((18077 + TEST_PORT_OFFSET)) \
		VINGEST_STORE_S3_MULTIPART_BYTES=8388608 VINGEST_STORE_S3_PART_BYTES=5242880 \
		VINGEST_LIMITS_MAX_UPLOAD_BYTES=$TEST_MAX_UPLOAD_BYTES \
		VINGEST_LIMITS_REQUESTS_PER_SECOND_PER_IP=$TEST_REQUESTS_PER_SECOND_PER_IP \
		VINGEST_TEST_PORT_OFFSET=$TEST_PORT_OFFSET \
		VINGEST_DEV_WORKERS=${VINGEST_DEV_WORKERS:-0} STUB_DELAY_MS=0 \
		VINGEST_JOBS_LEASE_SECONDS=20 VINGEST_WORKERS_HEARTBEAT_TIMEOUT_SECONDS=10 \
		VINGEST_JOBS_BACKOFF_BASE_SECONDS=1 VINGEST_JOBS_BACKOFF_MAX_SECONDS=4 \
		VINGEST_JOBS_MAX_ATTEMPTS=5 VINGEST_PROCESSOR_TIMEOUT_SECONDS=10 \
		VINGEST_PROCESSOR_BREAKER_THRESHOLD=3 VINGEST_PROCESSOR_BREAKER_COOLDOWN_SECONDS=2 \
		VINGEST_WORKERS_MIN=2 VINGEST_WORKERS_MAX=4 VINGEST_WORKERS_CONCURRENCY=4 \
		VINGEST_WORKERS_IDLE_SECONDS=5 VINGEST_WORKERS_DRAIN_SECONDS=10 \
		VINGEST_CACHE_STATUS_TTL_SECONDS=3 \
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1 \
		"$@"
}

test_stack_down() {
	test_stack_env "$REPO/dev" down >>"$TEST_LOGS/integration-down.log" 2>&1 || true
	TEST_STACK_UP=0
}

# ---------------------------------------------------------------- integration

# test_integration ASAN STORE WEB: the integration suite against a fresh test
# stack with that build (1: ASan + UBSan), store backend (fs, s3, db) and web
# server (lighttpd, apache) in front of vingest-fcgi. Check names get a
# "[STORE, WEB]" suffix on every pass but fs through lighttpd.
test_integration() {
	local asan=$1 store=${2:-fs} web=${3:-lighttpd} t out rc name tag= label started
	local up_args=(--store "$store" --web "$web")
	[[ $asan == 1 ]] && up_args+=(--asan)
	[[ $store != fs || $web != lighttpd ]] && tag=" [$store, $web]"
	label=integration-$store-$web
	say "integration: a test stack under ${TEST_VAR#"$REPO"/} ($web on port $TEST_HTTP_PORT, store $store$( ((asan)) && echo ', ASan build'))"
	test_stack_down
	rm -rf -- "$TEST_VAR"
	TEST_STACK_UP=1
	if ! test_stack_env "$REPO/dev" up "${up_args[@]}" >"$TEST_LOGS/$label-up.log" 2>&1; then
		tail_log "$TEST_LOGS/$label-up.log" 40
		t_result fail "integration: the test stack starts$tag"
		test_stack_down
		return 1
	fi
	for t in "$REPO"/tests/integration/[0-9]*.sh; do
		[[ -f $t ]] || continue
		name=$(basename "$t" .sh)
		[[ -z $TEST_ONLY || ",$TEST_ONLY," == *",${name%%_*},"* || ",$TEST_ONLY," == *",$name,"* ]] || continue
		say "integration: $name$tag"
		rc=0
		started=$SECONDS
		out=$(test_stack_env bash "$t" 2>&1 | tee "$TEST_LOGS/$label-$name.log") || rc=$?
		printf '%s\n' "$out" | grep -E '^(ok|not ok)( |$)|^# ' | sed -E "/^(ok|not ok)/s/\$/$tag/" | sed 's/^/    /' || true
		printf '    # %s took %d s\n' "$name" $((SECONDS - started))
		if t_count "$out" && ((rc != 0)); then
			tail_log "$TEST_LOGS/$label-$name.log" 20
			t_result fail "$name: exited with status $rc without a failing check$tag"
		fi
	done
	say "integration$tag: stopping the test stack"
	test_stack_down
	local flog
	for flog in vingest-fcgi vingest-workers vingest-stub; do
		flog=$TEST_VAR/log/$flog.log
		if [[ -f $flog ]] && grep -qE 'ERROR: AddressSanitizer|runtime error:' "$flog"; then
			grep -nE -A15 'ERROR: AddressSanitizer|runtime error:' "$flog" | head -60 | sed 's/^/    /'
			t_result fail "integration: no sanitizer reports in $(basename "$flog")$tag"
		elif [[ $asan == 1 ]]; then
			t_result ok "integration: no sanitizer reports in $(basename "$flog")$tag"
		fi
	done
}

# ---------------------------------------------------------------- faults

# The fault suite's stack: the test stack with workers on, short leases and
# time-outs so recovery takes seconds, and no per-key upload rate (the suite
# runs hundreds of uploads a minute with the demo key; it is about what a
# crash loses, and the limits have tests of their own).
fault_env() {
	test_stack_env env VINGEST_DEV_WORKERS=1 VINGEST_JOBS_LEASE_SECONDS=6 \
		VINGEST_LIMITS_UPLOADS_PER_MINUTE=0 \
		VINGEST_WORKERS_HEARTBEAT_TIMEOUT_SECONDS=3 VINGEST_PROCESSOR_TIMEOUT_SECONDS=4 \
		VINGEST_JOBS_MAX_ATTEMPTS=50 VINGEST_JOBS_BACKOFF_BASE_SECONDS=1 \
		VINGEST_JOBS_BACKOFF_MAX_SECONDS=2 VINGEST_PROCESSOR_MAX_RPS=0 \
		VINGEST_RETENTION_JANITOR_INTERVAL_SECONDS=1 "$@"
}

# test_faults REPEATS [SET]: the fault suite (tests/fault/) against a fresh
# test stack built with failpoints. SET: all (the default: the failpoint
# scenarios here, the component faults at the same time on a second stack
# of their own, 200 ports up), fp or components. REPEATS > 1 also writes
# tests/fault/RESULTS.md.
test_faults() {
	local repeats=$1 set=${2:-all} out rc=0 args=(--repeats "$1") shard_pid= shard_out
	local table=$TEST_LOGS/faults-table.md
	case $set in
	fp) args+=(--only '^fp:') ;;
	components) args+=(--only '^[a-z_]+$' --no-self-test) ;;
	esac
	((repeats > 1)) && args+=(--results "$table")
	local shard=0
	if [[ $set == all ]]; then
		shard=1 # started below, once this stack has built build-fault/
		args+=(--only '^fp:')
	fi
	say "fault suite: every scenario $repeats time(s) (tests/fault/; log: ${TEST_LOGS#"$REPO"/}/faults.log)"
	test_stack_down
	rm -rf -- "$TEST_VAR"
	TEST_STACK_UP=1
	if ! fault_env "$REPO/dev" up --failpoints >"$TEST_LOGS/faults-up.log" 2>&1; then
		tail_log "$TEST_LOGS/faults-up.log" 40
		t_result fail "fault suite: the failpoint stack starts"
		test_stack_down
		return 1
	fi
	if ((shard)); then
		# Many repeats take long, mostly waiting (leases, back-offs): the
		# component faults run on a second stack of their own meanwhile.
		shard_out=$TEST_LOGS/faults-components.out
		VINGEST_TEST_VAR=${TEST_VAR}-faults2 VINGEST_TEST_PORT_OFFSET=$((TEST_PORT_OFFSET + 200)) \
			"$REPO/dev" test --only faults --faults "$repeats" --fault-set components >"$shard_out" 2>&1 &
		shard_pid=$!
	fi
	out=$(fault_env bash "$REPO/tests/fault/run.sh" "${args[@]}" 2>&1 | tee "$TEST_LOGS/faults.log") || rc=$?
	printf '%s\n' "$out" | grep -E '^(ok|not ok)( |$)|^#   ' | sed 's/^/    /' || true
	if t_count "$out" && ((rc != 0)); then
		tail_log "$TEST_LOGS/faults.log" 20
		t_result fail "fault suite: exited with status $rc without a failing check"
	fi
	test_stack_down
	if [[ -n $shard_pid ]]; then
		wait "$shard_pid" || true
		grep -E '^    (ok|not ok)( |$)' "$shard_out" || true
		t_count "$(<"$shard_out")" '    ' || true
		grep -q ' passed, ' "$shard_out" || t_result fail "fault suite: the component shard ran to the end"
	fi
	if [[ -n $shard_pid ]] && ((repeats > 1)); then
		{
			cat "$table"
			grep '^| `' "${TEST_VAR}-faults2-logs/faults-table.md" 2>/dev/null
			echo
			echo "Command: \`./dev test --faults $repeats\` (upload- and job-path failpoints on one"
			echo "stack, component faults on a second one at the same time)."
		} >"$REPO/tests/fault/RESULTS.md"
	fi
}

# ---------------------------------------------------------------- the release tarball

# Tracked files the release tarball leaves out on purpose (a trailing /: the
# whole directory). Everything else git tracks is shipped, so that the
# tarball builds, installs and tests like a clone (README.md, "The release
# tarball").
DIST_EXCLUDE=(
	.gitignore  # git's own list of what it leaves alone: a tarball is no git checkout
	.ci/        # the CI's entry point, which runs ./dev test on a clone
	m4/.gitkeep # keeps m4/ in git before autogen.sh fills it; the tarball has aclocal.m4
)

# dist_tarball BUILDDIR: the path of the tarball make dist writes there.
dist_tarball() {
	local dir=$1
	awk -v dir="$dir" '$1 == "PACKAGE" && $2 == "=" {p = $3}
		$1 == "VERSION" && $2 == "=" {v = $3}
		END {printf "%s/%s-%s.tar.gz\n", dir, p, v}' "$dir/Makefile"
}

# dist_ships_tracked TARBALL: in a git checkout, one ok / not ok line: every
# file git tracks (and the work tree has) is in TARBALL, but DIST_EXCLUDE's.
# The not ok line names the missing files (add them to EXTRA_DIST in
# Makefile.am). Outside a git checkout (an unpacked tarball) there is nothing
# to compare with, and no line.
dist_ships_tracked() {
	local tarball=$1 f x shipped missing=()
	if ! command -v git >/dev/null || ! git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		echo "# not a git checkout: no tracked files to compare the tarball with"
		return 0
	fi
	if [[ ! -f $tarball ]]; then
		t_result fail "distcheck ships every tracked file (no ${tarball#"$REPO"/})"
		return 1
	fi
	# the tarball's files, without the leading vingest-VERSION/
	shipped=$(tar tzf "$tarball" | sed -n 's|^[^/]*/||; /[^/]$/p') || {
		t_result fail "distcheck ships every tracked file (tar cannot read ${tarball#"$REPO"/})"
		return 1
	}
	while IFS= read -r -d '' f; do
		[[ -e $REPO/$f ]] || continue # deleted in the work tree, not yet in git
		for x in "${DIST_EXCLUDE[@]}"; do
			[[ $f == "$x" || ($x == */ && $f == "$x"*) ]] && continue 2
		done
		grep -qxF -- "$f" <<<"$shipped" || missing+=("$f")
	done < <(git -C "$REPO" ls-files -z)
	if ((${#missing[@]})); then
		t_result fail "distcheck ships every tracked file (missing: ${missing[*]})"
		return 1
	fi
	t_result ok "distcheck ships every tracked file"
}

# ---------------------------------------------------------------- ./dev test

run_tests() {
	local asan=1 stores=fs,s3,db webs=lighttpd,apache st faults=1 fault_set=all
	while (($#)); do
		case $1 in
		--no-asan) asan=0 ;;
		--web)
			[[ ${2:-} =~ ^(lighttpd|apache)(,(lighttpd|apache))*$ ]] || die "test: --web needs a list of lighttpd, apache"
			webs=$2
			shift
			;;
		--fault-set)
			[[ ${2:-} == @(all|fp|components) ]] || die "test: --fault-set needs all, fp or components"
			fault_set=$2
			shift
			;;
		--faults)
			[[ ${2:-} =~ ^[0-9]+$ ]] || die "test: --faults needs a number of repeats"
			faults=$2
			shift
			;;
		--store)
			[[ ${2:-} =~ ^(fs|s3|db)(,(fs|s3|db))*$ ]] || die "test: --store needs a list of fs, s3, db"
			stores=$2
			shift
			;;
		--only)
			[[ $# -ge 2 ]] || die "test: --only needs a list of integration tests (10,90_tus)"
			TEST_ONLY=$2
			shift
			;;
		*) die "test: unknown option '$1' (./dev help)" ;;
		esac
		shift
	done
	# Tests run against their own stack: drop VINGEST_* settings a sourced
	# dev.env (or anything else) left in this shell, so nothing points the
	# test binaries at the developer's stack.
	local v
	for v in $(compgen -e | grep '^VINGEST_' || true); do
		unset "$v"
	done
	trap on_test_abort EXIT
	trap 'exit 130' INT TERM
	install_packages
	mkdir -p "$TEST_LOGS"
	rm -f "$TEST_LOGS"/*.log "$TEST_LOGS"/*.err

	if [[ $TEST_ONLY == faults ]]; then
		test_faults "$faults" "$fault_set" || true
		t_summary_and_exit
	fi
	if [[ -n $TEST_ONLY ]]; then
		# A quick loop for one area: only the named integration tests
		# (./dev up builds what they need).
		# The passes get the builds they get in the full run: the first
		# one the sanitizer build, the others the plain one.
		local k=0 webs_o
		read -r -a webs_o <<<"${webs//,/ }"
		for st in ${stores//,/ }; do
			test_integration "$((k == 0 ? asan : 0))" "$st" "${webs_o[k % ${#webs_o[@]}]}" || true
			k=$((k + 1))
		done
		t_summary_and_exit
	fi

	say "style: every C file as .clang-format says (tests/check_format.sh)"
	test_style

	say "unit tests: build/ (make -j2, make check)"
	if ! test_unit "$REPO/build" unit --enable-werror; then
		t_summary_and_exit
	fi

	if ((asan)); then
		say "unit tests: build-asan/ (ASan + UBSan, detect_leaks=1)"
		if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
			test_unit "$REPO/build-asan" unit-asan --enable-sanitizers --enable-werror; then
			t_summary_and_exit
		fi
	fi

	# The whole suite once per store backend; the web servers take turns
	# (by default: fs through lighttpd on the sanitizer build, then s3
	# through Apache and db through lighttpd on the plain build, so every
	# backend and every web server sees every test; 80_jobs's sections
	# that do not touch the store, and 97_topology, run in the fs pass).
	local k=0 webs_a
	read -r -a webs_a <<<"${webs//,/ }"
	for st in ${stores//,/ }; do
		if ((k == 0)); then
			test_integration "$asan" "$st" "${webs_a[k % ${#webs_a[@]}]}" || true
		else
			test_integration 0 "$st" "${webs_a[k % ${#webs_a[@]}]}" || true
		fi
		k=$((k + 1))
	done

	test_faults "$faults" || true

	say "fuzzing: a short run of every harness (./dev fuzz SECONDS for a long one)"
	run_fuzzers 15 || true

	say "make distcheck (log: ${TEST_LOGS#"$REPO"/}/distcheck.log)"
	local tarball
	tarball=$(dist_tarball "$REPO/build")
	rm -f -- "$tarball" # an older one must not stand in for this one
	if make -C "$REPO/build" -j2 distcheck >"$TEST_LOGS/distcheck.log" 2>&1; then
		t_result ok distcheck
	else
		tail_log "$TEST_LOGS/distcheck.log" 40
		t_result fail distcheck
	fi
	dist_ships_tracked "$tarball" || true # counted; the summary must still come

	t_summary_and_exit
}
