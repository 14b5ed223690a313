#!/bin/sh
# check_format.sh - every C source and header in the tree reads as
# .clang-format says (clang-format --dry-run -Werror), so style is applied,
# not only written down. One check a directory, printed "ok - ..." or
# "not ok - ..."; `./dev test` runs it before the unit tests (not make check:
# building the package must not need a formatter). clang-format-14 is
# Debian 12's and a package `./dev test` installs; another version formats
# a little differently, so it is the one used when present. Without any
# clang-format the check fails rather than skips. Fix a failure with
#   clang-format-14 -i FILE...
src=${VG_SRCDIR:-$(dirname "$0")/..}
fmt=${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || echo clang-format)}
if ! command -v "$fmt" >/dev/null 2>&1; then
	echo "not ok - clang-format is installed (apt-get install clang-format-14)"
	exit 1
fi
# Every .c and .h in the tree but build trees, state and npm's packages.
files=$(cd "$src" && find . \( -name 'build*' -o -name var -o -name node_modules \
	-o -name .git -o -name autom4te.cache \) -prune -o -name '*.[ch]' -print | sort)
if [ -z "$files" ]; then
	echo "not ok - there are C files to check under $src"
	exit 1
fi
failed=0
for dir in $(printf '%s\n' "$files" | sed 's|/[^/]*$||' | sort -u); do
	bad=
	for f in $(printf '%s\n' "$files" | grep "^$dir/[^/]*$"); do
		(cd "$src" && "$fmt" --style=file --dry-run -Werror "$f" >/dev/null 2>&1) ||
			bad="$bad ${f#./}"
	done
	if [ -z "$bad" ]; then
		echo "ok - ${dir#./}/ is formatted as .clang-format says"
	else
		echo "not ok - ${dir#./}/ is formatted as .clang-format says"
		for b in $bad; do echo "#   $fmt -i $b"; done
		failed=1
	fi
done
exit $failed
