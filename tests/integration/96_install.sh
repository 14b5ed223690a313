#!/usr/bin/env bash
# 96_install: `make install DESTDIR=...` from the stack's build directory lays
# out the FHS tree (binaries, a valid configuration that a reinstall does not
# overwrite, the state directory, systemd units, sysusers/tmpfiles snippets,
# man pages), `systemd-analyze verify` accepts the units, every man page
# renders without warnings and documents every option its binary's --help
# lists, and `make uninstall` keeps an edited configuration.
. "$(dirname "$0")/lib.sh"

BUILD=$(cd "$(dirname "$VINGEST_FCGI_BIN")/.." && pwd)
ROOT=$T_TMP/root
t_ok "the stack's build directory has a Makefile ($BUILD)" test -f "$BUILD/Makefile"

# The directories configure chose, as make expands them (the Makefile
# brought up to date first: its regeneration talks).
make -s -C "$BUILD" Makefile >/dev/null 2>&1
mkvar() {
	printf 'vg-print-var:\n\t@echo $(%s)\n' "$1" |
		make -s --no-print-directory -C "$BUILD" -f Makefile -f - vg-print-var | tail -n 1
}
bindir=$(mkvar bindir)
sysconfdir=$(mkvar sysconfdir)
localstatedir=$(mkvar localstatedir)
mandir=$(mkvar mandir)
unitdir=$(mkvar systemdsystemunitdir)
sysusersdir=$(mkvar sysusersdir)
tmpfilesdir=$(mkvar tmpfilesdir)
printf '# bindir=%s sysconfdir=%s localstatedir=%s unitdir=%s\n' "$bindir" "$sysconfdir" "$localstatedir" "$unitdir"
prefix=$(mkvar prefix)
t_eq "the unit directory follows the prefix" "$unitdir" "$prefix/lib/systemd/system"

out=$(make -C "$BUILD" install DESTDIR="$ROOT" 2>&1)
rc=$?
t_eq "make install DESTDIR=... exits 0" "$rc" 0
((rc == 0)) || printf '%s\n' "$out" | tail -20 | sed 's/^/#   /'

# --- binaries

for b in vingest-fcgi vingest-workers vingestctl vingest-upload; do
	t_ok "$b is installed executable in \$(bindir)" test -x "$ROOT$bindir/$b"
done
t_ok "the installed vingestctl runs (--help)" "$ROOT$bindir/vingestctl" --help

# --- configuration and state directory

conf=$ROOT$sysconfdir/vingest/vingest.conf
t_ok "the configuration is installed as \$(sysconfdir)/vingest/vingest.conf" test -f "$conf"
t_eq "the configuration is not world-readable (mode 640: it holds secrets)" "$(stat -c %a "$conf")" 640
t_ok "the installed configuration is valid (vingest-fcgi -t)" \
	env -u VINGEST_DB_SOCKET -u VINGEST_DB_NAME -u VINGEST_DB_USER -u VINGEST_STORE_BACKEND \
	"$ROOT$bindir/vingest-fcgi" -c "$conf" -t
t_match "its fs store is under \$(localstatedir)/lib/vingest" "$(grep '^fs_root' "$conf")" \
	"^fs_root = $localstatedir/lib/vingest/store\$"
t_ok "the state directory \$(localstatedir)/lib/vingest/store exists" test -d "$ROOT$localstatedir/lib/vingest/store"
t_ok "the default configuration is kept for reference in the docs" \
	test -f "$ROOT$(mkvar docdir)/examples/vingest.conf.dist"

# --- systemd units

fcgi_unit=$ROOT$unitdir/vingest-fcgi.service
workers_unit=$ROOT$unitdir/vingest-workers.service
for u in "$fcgi_unit" "$workers_unit"; do
	n=$(basename "$u" .service)
	t_ok "$n.service is installed in \$(systemdsystemunitdir)" test -f "$u"
	t_eq "$n: ExecStart runs the installed binary with the installed config" \
		"$(grep '^ExecStart=' "$u")" "ExecStart=$bindir/$n -c $sysconfdir/vingest/vingest.conf"
	rw="ReadWritePaths=-$localstatedir/lib/vingest"
	[[ $n == vingest-fcgi ]] && rw+=" -/run/vingest"
	for line in Type=notify Restart=on-failure 'ExecReload=/bin/kill -HUP $MAINPID' KillMode=mixed \
		ProtectSystem=strict "$rw" ProtectHome=yes \
		PrivateTmp=yes NoNewPrivileges=yes User=vingest; do
		if grep -qxF -- "$line" "$u"; then
			t_pass "$n: $line"
		else
			t_fail "$n: $line" "not in $u"
		fi
	done
	t_eq "$n: no @placeholder@ left" "$(grep -c '@[a-z]*@' "$u")" 0
done
t_ok "the sysusers.d snippet creates the vingest user" grep -q '^u vingest ' "$ROOT$sysusersdir/vingest.conf"
t_ok "the tmpfiles.d snippet creates the state directory" \
	grep -q "^d $localstatedir/lib/vingest " "$ROOT$tmpfilesdir/vingest.conf"
# The socket's directory is the web server's group's, setgid: the socket is
# that group's too, and the web server need not join the vingest group,
# which reads vingest.conf. Not the unit's RuntimeDirectory= (the vingest
# group's).
t_ok "the tmpfiles.d snippet makes /run/vingest setgid www-data for the socket" \
	grep -qx 'd /run/vingest 2750 vingest www-data -' "$ROOT$tmpfilesdir/vingest.conf"
t_eq "vingest-fcgi.service has no RuntimeDirectory= (it would take /run/vingest back)" \
	"$(grep -c '^RuntimeDirectory' "$fcgi_unit")" 0
t_ok "the tmpfiles.d snippet makes vingest.conf root:vingest 0640" \
	grep -qx "z $sysconfdir/vingest/vingest.conf 0640 root vingest -" "$ROOT$tmpfilesdir/vingest.conf"

# systemd-analyze verify wants the ExecStart binaries at their paths and looks
# up Documentation=man: pages with man(1); no systemd runs here. So it checks
# copies whose binary paths point into DESTDIR, with MANPATH at the installed
# pages (so the man: references are checked too). Any output is a complaint.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T_TMP/units"
	for u in "$fcgi_unit" "$workers_unit"; do
		sed "s|^ExecStart=$bindir/|ExecStart=$ROOT$bindir/|" "$u" >"$T_TMP/units/$(basename "$u")"
	done
	out=$(MANPATH=$ROOT$mandir: systemd-analyze verify "$T_TMP/units/vingest-fcgi.service" \
		"$T_TMP/units/vingest-workers.service" 2>&1)
	rc=$?
	t_eq "systemd-analyze verify accepts both units (exit status)" "$rc" 0
	t_eq "systemd-analyze verify has nothing to say about them" "$out" ""
	# Its check is real: an unknown key is reported.
	sed 's/^Type=notify/Type=notify\nNoSuchKey=1/' "$T_TMP/units/vingest-fcgi.service" >"$T_TMP/bad.service"
	mkdir -p "$T_TMP/bad" && mv "$T_TMP/bad.service" "$T_TMP/bad/vingest-fcgi.service"
	t_match "systemd-analyze verify does report a bad unit (the check works)" \
		"$(MANPATH=$ROOT$mandir: systemd-analyze verify "$T_TMP/bad/vingest-fcgi.service" 2>&1)" 'NoSuchKey'
else
	t_fail "systemd-analyze is installed (Debian package systemd)"
fi

# --- man pages

pages=(man8/vingest-fcgi.8 man8/vingest-workers.8 man8/vingestctl.8 man1/vingest-upload.1 man5/vingest.conf.5)
for p in "${pages[@]}"; do
	f=$ROOT$mandir/$p
	[[ -f $f ]] || f=$f.gz
	if [[ ! -f $f ]]; then
		t_fail "$(basename "$p") is installed in \$(mandir)"
		continue
	fi
	t_pass "$(basename "$p") is installed in \$(mandir)"
	warn=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
	t_eq "$(basename "$p") renders with man -l without warnings" "$warn" ""
	t_lt "$(basename "$p") renders to text" 20 "$(MANWIDTH=80 man -l "$f" 2>/dev/null | wc -l)"
done

# Every option a binary's --help lists is in its page.
page_text() { MANWIDTH=200 man -l "$ROOT$mandir/$1" 2>/dev/null | sed 's/‐/-/g'; }
help_options() { "$@" 2>&1 | grep -oE '(^|[ ,(])--?[a-z][a-z-]*' | sed 's/^[ ,(]*//' | sort -u; }
for b in vingest-fcgi:man8/vingest-fcgi.8 vingest-workers:man8/vingest-workers.8 \
	vingestctl:man8/vingestctl.8 vingest-upload:man1/vingest-upload.1; do
	bin=${b%%:*}
	text=$(page_text "${b#*:}")
	missing=()
	for o in $(help_options "$ROOT$bindir/$bin" -h); do
		grep -qF -- "$o" <<<"$text" || missing+=("$o")
	done
	t_eq "$bin(page) documents every option of $bin -h" "${missing[*]}" ""
done
text=$(page_text man8/vingestctl.8)
missing=()
while read -r cmd; do
	grep -qF -- "$cmd" <<<"$text" || missing+=("'$cmd'")
done < <("$ROOT$bindir/vingestctl" -h | sed -n 's/^  \([a-z][a-z]*\( [a-z][a-z]*\)\?\) .*/\1/p' | sed 's/ [A-Z]*$//')
t_eq "vingestctl(8) documents every command of vingestctl -h" "${missing[*]}" ""

# --- a reinstall keeps the administrator's configuration; uninstall too

printf '; edited by the administrator\n' >>"$conf"
out=$(make -C "$BUILD" install DESTDIR="$ROOT" 2>&1)
t_match "a second make install says it keeps the configuration" "$out" 'keeping .*vingest\.conf'
t_eq "a second make install keeps the edited configuration" "$(tail -n 1 "$conf")" '; edited by the administrator'
out=$(make -C "$BUILD" uninstall DESTDIR="$ROOT" 2>&1)
t_eq "make uninstall DESTDIR=... exits 0" "$?" 0
t_eq "make uninstall removes the binaries, units and pages" \
	"$(find "$ROOT" -type f ! -path "$conf" | wc -l)" 0
t_ok "make uninstall keeps the edited configuration" test -f "$conf"

t_done
