# shellcheck shell=bash
# tools/messages.sh - how ./dev and what it sources speak: progress lines
# (say, info), warnings and fatal errors (warn, die), and the tail of a log
# when something fails (tail_log). tests/run.sh and tests/fuzz/run.sh, sourced
# by ./dev, use them too.

say() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'dev: warning: %s\n' "$*" >&2; }
die() {
	printf 'dev: error: %s\n' "$*" >&2
	exit 1
}

# Prints the last lines of a log file, indented, to stderr.
tail_log() {
	local file=$1 n=${2:-30}
	if [[ -s $file ]]; then
		printf -- '--- last %s lines of %s ---\n' "$n" "$file" >&2
		tail -n "$n" "$file" | sed 's/^/    /' >&2
		printf -- '---\n' >&2
	else
		printf '(%s is empty or missing)\n' "$file" >&2
	fi
}
