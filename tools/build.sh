# shellcheck shell=bash
# tools/build.sh - configure and build a build tree (build/, build-asan/,
# build-fault/, build-fuzz/): ./autogen.sh when there is no configure, configure
# once per tree with that tree's options, then an incremental make -j2 on every
# call so edits are always picked up. Output goes to a log; its tail is shown
# on failure.

# configure_build DIR LOGFILE [configure args...]: autogen if needed, and
# configure DIR if it has no Makefile yet.
configure_build() {
	local dir=$1 log=$2
	shift 2
	mkdir -p "$(dirname "$log")"
	: >"$log"
	if [[ ! -x $REPO/configure ]]; then
		info "running ./autogen.sh"
		if ! ./autogen.sh >>"$log" 2>&1; then
			tail_log "$log" 40
			echo "dev: error: ./autogen.sh failed (full log: $log)" >&2
			return 1
		fi
	fi
	if [[ ! -f $dir/Makefile ]]; then
		info "configuring $(basename "$dir")/ ($*)"
		mkdir -p "$dir"
		if ! (cd "$dir" && ../configure "$@") >>"$log" 2>&1; then
			tail_log "$log" 40
			echo "dev: error: configure failed in $dir (full log: $log; see also $dir/config.log)" >&2
			return 1
		fi
	fi
}

# build DIR LOGFILE [configure args...]: configure_build, then make -j2
# (incremental, so edits are always picked up).
build() {
	local dir=$1 log=$2
	configure_build "$@" || return 1
	info "make -j2 in $(basename "$dir")/ (log: ${log#"$REPO"/})"
	if ! make -C "$dir" -j2 >>"$log" 2>&1; then
		tail_log "$log" 40
		echo "dev: error: build failed in $dir (full log: $log)" >&2
		return 1
	fi
}
