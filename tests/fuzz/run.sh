# shellcheck shell=bash
# tests/fuzz/run.sh - builds and runs the libFuzzer harnesses (./dev fuzz,
# and a short run in ./dev test). Sourced; uses dev's say, info, die,
# tail_log and configure_build, and t_result from tests/run.sh.
#
# The harnesses are built by the build system, in build-fuzz/: configure
# --enable-fuzzing (libFuzzer with ASan + UBSan) with the first clang found
# (clang, else the newest clang-N on the PATH), then `make fuzzers`; which
# sources each harness is built from is Makefile.am's business. Every
# tests/fuzz/fuzz_NAME.c is a harness. Each runs on a corpus kept under
# var/fuzz/corpus/NAME (seeded from tests/fuzz/corpus/NAME, and the fixtures
# for media); an input that crashes one is kept in var/fuzz/crashes/.

FUZZ_BUILD=$REPO/build-fuzz
FUZZ_DIR=$REPO/var/fuzz

# The C compiler with libFuzzer: clang if there is one, else the newest
# clang-N on the PATH. Prints its name; status 1 if there is none.
fuzz_cc() {
	local c
	if command -v clang >/dev/null; then
		echo clang
		return 0
	fi
	c=$(compgen -c clang- | grep -E '^clang-[0-9]+$' | sort -t- -k2,2nr -u | head -n 1)
	[[ -n $c ]] || return 1
	echo "$c"
}

# The harnesses' names (fuzz_NAME.c: NAME), one a line.
fuzz_names() {
	local f
	for f in "$REPO"/tests/fuzz/fuzz_*.c; do
		f=${f##*/fuzz_}
		echo "${f%.c}"
	done
}

# run_fuzzers SECONDS: builds every harness, runs each for SECONDS; one ok /
# not ok line each (t_result). Status 1 if one did not build or found
# something.
run_fuzzers() {
	local secs=$1 cc f out rc execs seeds failed=0 log=$FUZZ_DIR/build.log
	mkdir -p "$FUZZ_DIR/crashes"
	if ! cc=$(fuzz_cc); then
		t_result fail "fuzzers: a clang to build them with (none on the PATH)"
		return 1
	fi
	if ! configure_build "$FUZZ_BUILD" "$log" CC="$cc" --enable-fuzzing --enable-werror >/dev/null ||
		! make -C "$FUZZ_BUILD" -j2 fuzzers >>"$log" 2>&1; then
		tail_log "$log" 30
		t_result fail "fuzzers: build in build-fuzz/ with $cc (log: ${log#"$REPO"/})"
		return 1
	fi
	for f in $(fuzz_names); do
		mkdir -p "$FUZZ_DIR/corpus/$f"
		seeds=("$REPO/tests/fuzz/corpus/$f")
		[[ $f == media ]] && seeds=("$REPO/tests/fixtures")
		[[ -d ${seeds[0]} ]] || seeds=()
		rc=0
		out=$("$FUZZ_BUILD/tests/fuzz/fuzz_$f" -max_total_time="$secs" -print_final_stats=1 \
			-timeout=10 -artifact_prefix="$FUZZ_DIR/crashes/$f-" "$FUZZ_DIR/corpus/$f" \
			"${seeds[@]}" 2>&1) || rc=$?
		printf '%s\n' "$out" >"$FUZZ_DIR/run-$f.log"
		execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' <<<"$out" | grep -o '[0-9]*$' || echo 0)
		if ((rc == 0)); then
			t_result ok "fuzz_$f: ${execs} executions in ${secs} s, no finding"
		else
			grep -E 'ERROR|SUMMARY|Test unit written' <<<"$out" | head -5 | sed 's/^/    /'
			t_result fail "fuzz_$f: a finding (var/fuzz/run-$f.log, var/fuzz/crashes/)"
			failed=1
		fi
	done
	return "$failed"
}
