#!/bin/sh
# check_dev_help.sh - `./dev help` names every command and every option that
# ./dev and its test runner take, so the help cannot fall behind the code.
#
# The commands are read from dev's main(), the options from the patterns of
# the argument parsing in dev, the files it sources (tools/*.sh),
# tests/run.sh and tests/fuzz/run.sh (`--name)` and `--name=*)`). TAP
# output; run by `make check`.
src=${VG_SRCDIR:-$(dirname "$0")/../..}
help=$(bash "$src/dev" help) || {
	echo "not ok 1 - ./dev help runs"
	echo "1..1"
	exit 1
}
n=0
failed=0
check() { # NAME WORD: WORD is in the help
	n=$((n + 1))
	if printf '%s\n' "$help" | grep -qe "$2"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		failed=1
	fi
}
commands=$(sed -n '/^main() {/,/^}/p' "$src/dev" | sed -n 's/^[[:space:]]*\([a-z][a-z |-]*\)) .*/\1/p' | tr '|' '\n' | tr -d ' ')
for c in $commands; do
	check "./dev help names the command $c" "\\(^  \\|(\\| \\)$c\\b"
done
options=$(cat "$src/dev" "$src"/tools/*.sh "$src/tests/run.sh" "$src/tests/fuzz/run.sh" |
	sed -n 's/^[[:space:]]*\(--[a-z][a-z-]*\)\(=\*\)\{0,1\})[[:space:]]*.*/\1/p' | sort -u)
for o in $options; do
	check "./dev help names the option $o" "$o\\b"
done
[ "$n" -ge 20 ] || { n=$((n + 1)); echo "not ok $n - found the commands and options ($n)"; failed=1; }
echo "1..$n"
exit $failed
