#!/usr/bin/env bash
# 96_install: `make install DESTDIR=...` from the stack's build directory lays
# out the FHS tree (binaries, a valid configuration that a reinstall does not
# overwrite, the state directory, systemd units, sysusers/tmpfiles snippets,
# man pages, the web servers' configuration where Debian's lighttpd and
# apache2 look, the upload page, the SQL), `systemd-analyze verify` accepts
# the units, lighttpd and Apache accept their installed configuration, every
# man page renders without warnings and documents every option its binary's
# --help lists, and `make uninstall` keeps an edited configuration.
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

# --- the web servers' configuration, the upload page, the SQL

datadir=$(mkvar datadir)
lt_conf=$ROOT$sysconfdir/lighttpd/conf-available/50-vingest.conf
ap_conf=$ROOT$sysconfdir/apache2/conf-available/vingest.conf
t_ok "lighttpd's configuration is installed as \$(sysconfdir)/lighttpd/conf-available/50-vingest.conf" \
	test -f "$lt_conf"
t_ok "Apache's as \$(sysconfdir)/apache2/conf-available/vingest.conf" test -f "$ap_conf"
t_eq "... both filled in (no placeholder left)" "$(cat "$lt_conf" "$ap_conf" | grep -c '@[A-Z_]*@')" 0
t_eq "... without the templates' own notes (#@ lines)" "$(cat "$lt_conf" "$ap_conf" | grep -c '^#@')" 0
t_ok "lighttpd's says what lighty-enable-mod must enable with it" \
	grep -qx '# -\*- depends: fastcgi, setenv, extforward, accesslog -\*-' "$lt_conf"
t_ok "... and routes to the socket vingest.conf names" \
	grep -qF "\"socket\"      => \"$(sed -n 's/^listen = unix://p' "$conf")\"" "$lt_conf"
t_ok "... with the authorizer for bodies" grep -qF '"mode"        => "authorizer"' "$lt_conf"
t_ok "... and the page from \$(datadir)/vingest/htdocs" grep -qF "\"/vingest/\" => \"$datadir/vingest/htdocs/\"" "$lt_conf"
t_ok "Apache's reaches vingest-fcgi on loopback TCP (mod_authnz_fcgi speaks TCP only)" \
	grep -qx 'AuthnzFcgiDefineProvider authn vingest fcgi://127.0.0.1:9000/' "$ap_conf"
t_ok "... logs to Debian's Apache log directory" grep -qF '${APACHE_LOG_DIR}/vingest-access.log' "$ap_conf"
t_ok "... and trusts no proxy until told (the remoteip lines commented out)" \
	grep -qx '#RemoteIPTrustedProxy 10.0.0.5 10.0.0.6' "$ap_conf"
for f in index.html status.html status.js vingest.css; do
	t_ok "the upload page's $f is installed in \$(datadir)/vingest/htdocs" test -f "$ROOT$datadir/vingest/htdocs/$f"
done
t_ok "the schema for DBAs is installed in \$(datadir)/vingest/sql" test -f "$ROOT$datadir/vingest/sql/schema.sql"
t_eq "... with every migration" "$(find "$ROOT$datadir/vingest/sql/migrations" -name '*.sql' | wc -l)" \
	"$(find "$T_REPO/sql/migrations" -name '*.sql' | wc -l)"

# Both servers take their installed file as it is, pointed at the installed
# page (\$(datadir) under DESTDIR) and a log of the test's: lighttpd from a server of a few lines
# that loads what Debian's lighttpd.conf and the depends line give it,
# Apache from the dev server configuration (www-conf/apache/apache2.conf).
mkdir -p "$T_TMP/web/www" "$T_TMP/web/run"
sed -e "s|$datadir/vingest/htdocs|$ROOT$datadir/vingest/htdocs|g" \
	-e "s|^\([[:space:]]*accesslog.filename = \).*|\1\"$T_TMP/web/access.log\"|" "$lt_conf" \
	>"$T_TMP/web/lt-vingest.conf"
cat >"$T_TMP/web/lighttpd.conf" <<CONF
server.modules = ( "mod_access", "mod_alias", "mod_redirect", "mod_fastcgi", "mod_setenv",
	"mod_extforward", "mod_accesslog" )
server.document-root = "$T_TMP/web/www"
server.port = $((19560 + PORT_OFF))
include "$T_TMP/web/lt-vingest.conf"
CONF
out=$(lighttpd -tt -f "$T_TMP/web/lighttpd.conf" 2>&1)
t_eq "lighttpd accepts the installed 50-vingest.conf" "$?" 0
[[ -z $out ]] || printf '%s\n' "$out" | sed 's/^/#   /'
sed -e "s|$datadir/vingest/htdocs|$ROOT$datadir/vingest/htdocs|g" \
	-e "s|\${APACHE_LOG_DIR}|$T_TMP/web|g" "$ap_conf" >"$T_TMP/web/ap-vingest.conf"
sed -e '/^#@/d' -e "s|@SERVER_ROOT@|$T_TMP/web|g" -e "s|@RUN_DIR@|$T_TMP/web/run|g" \
	-e "s|@PID_FILE@|$T_TMP/web/run/apache2.pid|g" -e "s|@LISTEN@|127.0.0.1:$((19561 + PORT_OFF))|g" \
	-e "s|@LOG_DIR@|$T_TMP/web|g" -e "s|@DOCUMENT_ROOT@|$T_TMP/web/www|g" -e "s|@USER@|www-data|g" \
	-e "s|@GROUP@|www-data|g" -e "s|@MODULES@|/usr/lib/apache2/modules|g" \
	-e "s|@VINGEST_CONF@|$T_TMP/web/ap-vingest.conf|g" "$T_REPO/www-conf/apache/apache2.conf" \
	>"$T_TMP/web/apache2.conf"
out=$(apache2 -t -f "$T_TMP/web/apache2.conf" 2>&1)
t_eq "Apache accepts the installed vingest.conf" "$?" 0
printf '%s\n' "$out" | grep -v '^Syntax OK$' | sed 's/^/#   /'

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
printf '# edited by the administrator\n' >>"$lt_conf"
out=$(make -C "$BUILD" install DESTDIR="$ROOT" 2>&1)
t_match "a second make install says it keeps the configuration" "$out" 'keeping .*/vingest/vingest\.conf'
t_eq "a second make install keeps the edited configuration" "$(tail -n 1 "$conf")" '; edited by the administrator'
t_eq "... and the edited lighttpd configuration" "$(tail -n 1 "$lt_conf")" '# edited by the administrator'
t_match "... and says so of Apache's (unchanged, but the administrator's all the same)" "$out" \
	'keeping .*/apache2/conf-available/vingest\.conf'
out=$(make -C "$BUILD" uninstall DESTDIR="$ROOT" 2>&1)
t_eq "make uninstall DESTDIR=... exits 0" "$?" 0
t_eq "make uninstall removes the binaries, units, pages and the unchanged Apache configuration" \
	"$(find "$ROOT" -type f ! -path "$conf" ! -path "$lt_conf" | wc -l)" 0
t_ok "make uninstall keeps the edited configuration" test -f "$conf"
t_ok "... and the edited lighttpd configuration" test -f "$lt_conf"

t_done
