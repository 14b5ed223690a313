#!/bin/sh
# check_hardening.sh - the installed programs are built hardened: a TAP test
# that `make check` runs from the build directory.
#
# configure turns on, where the toolchain takes them, the stack protector,
# _FORTIFY_SOURCE=2, PIE and full RELRO, and lists in VG_HARDENED (passed
# by Makefile.am) the ones the binaries must then show. A flag can be
# accepted and still come to nothing (a distribution's CFLAGS undoing it, a
# linker ignoring -z), so this reads each ELF with readelf:
#
#   pie      ELF type DYN and the PIE flag in FLAGS_1
#   relro    a GNU_RELRO segment
#   now      BIND_NOW (or NOW in FLAGS / FLAGS_1): the GOT is made read-only
#            after start-up, which is what makes RELRO "full"
#   ssp      __stack_chk_fail imported
#   fortify  some other __*_chk function imported (__snprintf_chk ...)
#
# What configure did not turn on (--disable-hardening, _FORTIFY_SOURCE under
# the sanitizers, a flag the toolchain refused) is reported as skipped.
# Debian's hardening-check (devscripts) is run too when it is installed.

programs="app/vingest-fcgi workers/vingest-workers ctl/vingestctl client/vingest-upload"
hardened=" ${VG_HARDENED-} "
n=0
failed=0

ok() { # COND-STATUS NAME [DIAG]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		[ -n "${3-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
}

skip() { # NAME REASON: a diagnostic, not a check (a skipped check is no pass)
	echo "# not checked: $1 ($2)"
}

wanted() {
	case $hardened in *" $1 "*) return 0 ;; esac
	return 1
}

if ! command -v readelf >/dev/null 2>&1; then
	echo "1..0 # SKIP readelf (binutils) is not installed"
	exit 0
fi
if [ "$hardened" = "  " ]; then
	echo "1..0 # SKIP configure turned no hardening on (--disable-hardening?)"
	exit 0
fi

# prop NAME DESCRIPTION TEST: TEST is a shell condition on $header, $dynamic,
# $segments and $symbols, the readelf outputs of the program $p.
prop() {
	if ! wanted "$1"; then
		skip "$p: $2" "configure did not turn it on"
		return
	fi
	eval "$3"
	ok $? "$p: $2"
}

for p in $programs; do
	if [ ! -f "$p" ]; then
		ok 1 "$p is built" "no $p in $(pwd)"
		continue
	fi
	header=$(readelf -hW "$p")
	dynamic=$(readelf -dW "$p")
	segments=$(readelf -lW "$p")
	symbols=$(readelf --dyn-syms -W "$p" | awk '$7 == "UND" { sub(/@.*/, "", $8); print $8 }')
	prop pie "PIE (ELF type DYN, FLAGS_1 PIE)" \
		'printf "%s\n" "$header" | grep -Eq "^ *Type: +DYN " &&
		 printf "%s\n" "$dynamic" | grep -Eq "\(FLAGS_1\).*[ :]PIE( |$)"'
	prop relro "RELRO (a GNU_RELRO segment)" \
		'printf "%s\n" "$segments" | grep -Eq "^ *GNU_RELRO "'
	prop now "full RELRO (BIND_NOW: no lazy binding)" \
		'printf "%s\n" "$dynamic" | grep -Eq "\(BIND_NOW\)|\(FLAGS\).*[ :]BIND_NOW( |$)|\(FLAGS_1\).*[ :]NOW( |$)"'
	prop ssp "stack protector (__stack_chk_fail imported)" \
		'printf "%s\n" "$symbols" | grep -qx "__stack_chk_fail"'
	prop fortify "_FORTIFY_SOURCE (__*_chk functions imported)" \
		'printf "%s\n" "$symbols" | grep -v "^__stack_chk_fail$" | grep -Eq "^__[a-z0-9_]+_chk$"'
done

# hardening-check (Debian's devscripts), told to skip what configure left off.
if command -v hardening-check >/dev/null 2>&1; then
	opts=
	wanted pie || opts="$opts --nopie"
	wanted ssp || opts="$opts --nostackprotector"
	wanted fortify || opts="$opts --nofortify"
	wanted relro || opts="$opts --norelro"
	wanted now || opts="$opts --nobindnow"
	# Newer versions check these too; configure does not promise them.
	help=$(hardening-check --help 2>&1)
	for o in --nocfprotection --nostackclash; do
		case $help in *"$o"*) opts="$opts $o" ;; esac
	done
	for p in $programs; do
		[ -f "$p" ] || continue
		# shellcheck disable=SC2086 # opts is a list of words
		out=$(hardening-check $opts "$p" 2>&1)
		ok $? "$p: hardening-check$opts" "$out"
	done
else
	skip "hardening-check" "not installed (Debian package devscripts)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
