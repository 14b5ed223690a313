#!/usr/bin/env bash
# 98_debian: the Debian packages, installed as a hoster installs them.
#
# From the repository's files as a clean clone has them, `dpkg-buildpackage
# -us -uc -b` builds vingest (the server) and vingest-upload (the client);
# lintian reports no error and no warning, and every override says why;
# hardening-check passes for every program. `apt-get install ./….deb`
# installs them: vingest.conf a conffile, 0640 root:vingest; the vingest user
# made by systemd-sysusers; the units where systemd looks (accepted by
# systemd-analyze verify, neither enabled); the web servers' configuration in
# conf-available/ and the upload page in /usr/share/vingest/htdocs. Then, as
# an administrator would: the installed configuration is pointed at the test
# MariaDB (a database of its own), `vingestctl migrate` runs, both daemons
# start as their units start them (no systemd runs here: each unit's
# ExecStart, as its User and Group, with its UMask, in a clean environment),
# a lighttpd from Debian's own lighttpd.conf with `lighty-enable-mod vingest`
# takes a clip from the installed client and one from curl, and gives them
# back; Apache's configuration with `a2enconf vingest` and the modules it
# names passes apache2ctl configtest. `apt-get purge` then leaves nothing but
# what Debian policy keeps: the vingest user and group, and the stored videos
# (users' data). The machine is left as the test found it: the packages, the
# web servers' enabled modules, the database, the user.
#
# Runs in the fs pass of ./dev test only (it builds the packages once, and
# the pass's store does not matter to it). Needs root, as ./dev test runs.
. "$(dirname "$0")/lib.sh"

if [[ $STORE_BACKEND != fs ]]; then
	echo "# 98_debian: builds and installs the packages once; runs in the fs pass (./dev test --store fs)"
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	t_fail "98_debian runs as root (it installs packages)"
	t_done
fi

SRC=$T_TMP/src
OUT=$T_TMP
LOGDIR=$VINGEST_VAR/log
BUILD_LOG=$LOGDIR/98_debian-build.log
PORT=$((19550 + PORT_OFF))
URL=http://127.0.0.1:$PORT
DBNAME=vingest_deb
DBUSER=vingest_deb
DBPASS=p$RANDOM$RANDOM$RANDOM
CONF=/etc/vingest/vingest.conf
LT_CONF_ENABLED=/etc/lighttpd/conf-enabled
AP_DIR=/etc/apache2
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ACCESS_LOG=/var/log/lighttpd/vingest-access.log
export DEBIAN_FRONTEND=noninteractive

for tool in dpkg-buildpackage lintian hardening-check lighty-enable-mod a2enconf apache2ctl \
	systemd-analyze setpriv; do
	if ! command -v "$tool" >/dev/null; then
		t_fail "$tool is installed (./dev installs debhelper, lintian, devscripts, lighttpd, apache2, systemd)"
		t_done
	fi
done

# Never touch an installation that is not the test's own.
for p in vingest vingest-upload; do
	if dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^.[ic]'; then
		t_fail "no $p package is installed before the test (it installs and purges its own)" \
			"dpkg says: $(dpkg -l "$p" | tail -n 1)" "purge it (apt-get purge $p) and run the test again"
		t_done
	fi
done
if [[ -e /var/lib/vingest || -e /etc/vingest ]]; then
	t_fail "no /var/lib/vingest or /etc/vingest before the test" "left by an earlier run or install: remove them"
	t_done
fi

# ---- the machine as found, to leave it so

pkgs_state() { dpkg-query -W -f='${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\n' | sort; }
pkg_names() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 ~ /^.i/ { print $2 }' | sort; }
links_in() { find "$@" -maxdepth 1 -type l -printf '%p -> %l\n' 2>/dev/null | sort; }
# Names with "vingest" in them outside the places tests and builds use (the
# checkout's parent too: other checkouts beside this one may be at work).
T_REPO_PARENT=$(dirname "$T_REPO")
vingest_names() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path "$T_REPO_PARENT" -o -path /tmp \
		-o -path /var/tmp -o -path /root -o -path "$VINGEST_VAR" -o -path "$T_REPO" \) -prune \
		-o -name '*vingest*' -print 2>/dev/null | sort
}
PKGS_BEFORE=$(pkgs_state)
NAMES_PKG_BEFORE=$(pkg_names)
NEW_PKGS=
LT_BEFORE=$(links_in "$LT_CONF_ENABLED")
AP_BEFORE=$(links_in "$AP_DIR/mods-enabled" "$AP_DIR/conf-enabled" "$AP_DIR/sites-enabled")
AP_STATE_BEFORE=$(find /var/lib/apache2 -type f 2>/dev/null | sort)
NAMES_BEFORE=$(vingest_names)
USER_EXISTED=0
getent passwd vingest >/dev/null && USER_EXISTED=1
GROUP_EXISTED=0
getent group vingest >/dev/null && GROUP_EXISTED=1
# What Debian's lighttpd.conf logs to (the test's lighttpd writes there too).
LT_LOGS_BEFORE=$(find /var/log/lighttpd -type f 2>/dev/null | sort)
FCGI_PID=
WORKERS_PID=
# lighttpd opens its error log after it became www-data: a directory of the
# test's that www-data may enter.
LT_DIR=$T_TMP/lighttpd
LT_PID_FILE=$LT_DIR/lighttpd.pid

root_sql() {
	mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -uroot -e "$1"
}
deb_sql() {
	mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -uroot "$DBNAME" -e "$1"
}

stop_daemons() {
	local p
	if [[ -s $LT_PID_FILE ]]; then
		p=$(cat "$LT_PID_FILE")
		kill "$p" 2>/dev/null && wait_until 10 eval "! kill -0 $p"
		rm -f "$LT_PID_FILE"
	fi
	# As systemd stops them: SIGTERM (KillSignal) to the main process
	# alone (KillMode=mixed), which drains its children.
	for p in $FCGI_PID $WORKERS_PID; do
		kill -TERM "$p" 2>/dev/null
		wait_until 60 eval "! kill -0 $p" || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	FCGI_PID=
	WORKERS_PID=
}

# Everything the test changed, undone; run at the end and on any exit.
restore_machine() {
	local l
	stop_daemons
	if dpkg-query -W vingest vingest-upload >/dev/null 2>&1; then
		apt-get purge -y -q vingest vingest-upload >>"$T_TMP/restore.log" 2>&1
	fi
	# What the installation pulled in besides (Recommends the machine
	# lacked): the test's to remove too.
	if [[ -n $NEW_PKGS ]]; then
		# shellcheck disable=SC2086 # a list of package names
		apt-get purge -y -q $NEW_PKGS >>"$T_TMP/restore.log" 2>&1
		NEW_PKGS=
	fi
	# lighttpd's and Apache's modules the test enabled (and only those).
	while read -r l; do
		[[ -n $l ]] || continue
		grep -qxF -- "$l" <<<"$LT_BEFORE" || rm -f -- "${l%% -> *}"
	done <<<"$(links_in "$LT_CONF_ENABLED")"
	while read -r l; do
		[[ -n $l ]] || continue
		if ! grep -qxF -- "$l" <<<"$AP_BEFORE"; then
			l=${l%% -> *}
			case $l in
			*/mods-enabled/*.load) a2dismod -q -f -p "$(basename "$l" .load)" >/dev/null 2>&1 ;;
			*/mods-enabled/*.conf) ;;
			*/conf-enabled/*) a2disconf -q -p "$(basename "$l" .conf)" >/dev/null 2>&1 ;;
			esac
			rm -f -- "$l"
		fi
	done <<<"$(links_in "$AP_DIR/mods-enabled" "$AP_DIR/conf-enabled" "$AP_DIR/sites-enabled")"
	while read -r l; do
		[[ -n $l ]] || continue
		grep -qxF -- "$l" <<<"$AP_STATE_BEFORE" || rm -f -- "$l"
	done <<<"$(find /var/lib/apache2 -type f 2>/dev/null | sort)"
	while read -r l; do
		[[ -n $l ]] || continue
		grep -qxF -- "$l" <<<"$LT_LOGS_BEFORE" || rm -f -- "$l"
	done <<<"$(find /var/log/lighttpd -type f 2>/dev/null | sort)"
	while read -r l; do
		[[ -n $l ]] || continue
		grep -qxF -- "$l" <<<"$NAMES_BEFORE" || rm -f -- "$l"
	done <<<"$(vingest_names | grep '^/var/cache/man/')"
	rm -rf /var/lib/vingest /run/vingest
	((USER_EXISTED)) || userdel vingest >/dev/null 2>&1
	((GROUP_EXISTED)) || groupdel vingest >/dev/null 2>&1
	root_sql "DROP DATABASE IF EXISTS $DBNAME; DROP USER IF EXISTS '$DBUSER'@'localhost'" >/dev/null 2>&1
}
trap 'restore_machine; rm -rf -- "$T_TMP"' EXIT

# ---------------------------------------------------------------- build

# The tracked files (and new ones not ignored) as the work tree has them: what
# a clean clone holds, without build trees, var/ or node_modules. From a
# release tarball (no git), the unpacked tree minus what building made.
mkdir -p "$SRC" "$LOGDIR"
if git -C "$T_REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$T_REPO" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$SRC"
else
	(cd "$T_REPO" && tar --exclude=./build --exclude=./build-asan --exclude=./build-fault \
		--exclude=./var --exclude=node_modules --exclude=./autom4te.cache -cf - .) |
		tar -xf - -C "$SRC"
fi
t_ok "the source tree is copied from the repository's files" test -f "$SRC/debian/control"

started=$SECONDS
(cd "$SRC" && DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -us -uc -b) >"$BUILD_LOG" 2>&1
rc=$?
echo "# dpkg-buildpackage took $((SECONDS - started)) s (log: $BUILD_LOG)"
t_eq "dpkg-buildpackage -us -uc -b builds from a clean tree (exit status)" "$rc" 0
((rc == 0)) || tail -n 30 "$BUILD_LOG" | sed 's/^/#   /'
SERVER_DEB=$(find "$OUT" -maxdepth 1 -name 'vingest_*.deb' | head -n 1)
CLIENT_DEB=$(find "$OUT" -maxdepth 1 -name 'vingest-upload_*.deb' | head -n 1)
CHANGES=$(find "$OUT" -maxdepth 1 -name 'vingest_*.changes' | head -n 1)
if [[ -z $SERVER_DEB || -z $CLIENT_DEB || -z $CHANGES ]]; then
	t_fail "the server and client packages are built" "$(ls "$OUT")"
	t_done
fi
t_pass "the server and client packages are built ($(basename "$SERVER_DEB"), $(basename "$CLIENT_DEB"))"
t_match "the package build ran the unit tests, hardening checks included" \
	"$(grep -c '^PASS: tests/unit/check_hardening.sh' "$BUILD_LOG")" '^[1-9][0-9]*$'

contents() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\./|/|'; }
server_files=$(contents "$SERVER_DEB")
client_files=$(contents "$CLIENT_DEB")
for f in /usr/bin/vingest-fcgi /usr/bin/vingest-workers /usr/bin/vingestctl \
	/lib/systemd/system/vingest-fcgi.service /lib/systemd/system/vingest-workers.service \
	/usr/lib/sysusers.d/vingest.conf /usr/lib/tmpfiles.d/vingest.conf /etc/vingest/vingest.conf \
	/etc/lighttpd/conf-available/50-vingest.conf /etc/apache2/conf-available/vingest.conf \
	/usr/share/vingest/htdocs/index.html /usr/share/vingest/sql/schema.sql \
	/usr/share/man/man8/vingest-fcgi.8.gz /usr/share/man/man5/vingest.conf.5.gz; do
	t_ok "the server package holds $f" grep -qxF -- "$f" <<<"$server_files"
done
t_ok "the client package holds /usr/bin/vingest-upload" grep -qxF /usr/bin/vingest-upload <<<"$client_files"
t_ok "... and its man page" grep -qxF /usr/share/man/man1/vingest-upload.1.gz <<<"$client_files"
t_eq "the client package holds no server program" \
	"$(grep -cE '/(vingest-fcgi|vingest-workers|vingestctl)$' <<<"$client_files")" 0

# ---------------------------------------------------------------- lintian

lintian --display-info "$CHANGES" >"$T_TMP/lintian.out" 2>"$T_TMP/lintian.err"
sed 's/^/# lintian: /' "$T_TMP/lintian.out"
t_eq "lintian reports no errors and no warnings" "$(grep -E '^[EW]: ' "$T_TMP/lintian.out")" ""
t_eq "... and no override that matches nothing" \
	"$(grep -E 'unused-override|mismatched-override' "$T_TMP/lintian.out")" ""
# Every override line follows a comment saying why.
bare=$(awk 'FNR == 1 { prev = "" }
	/^[[:space:]]*$/ { prev = ""; next }
	/^#/ { prev = "#"; next }
	prev != "#" && prev != "o" { print FILENAME ": " $0 }
	{ prev = "o" }' "$SRC"/debian/*lintian-overrides 2>/dev/null)
t_eq "every lintian override has a comment saying why" "$bare" ""

# ---------------------------------------------------------------- hardening

mkdir -p "$T_TMP/x"
dpkg-deb -x "$SERVER_DEB" "$T_TMP/x" && dpkg-deb -x "$CLIENT_DEB" "$T_TMP/x"
# --nocfprotection: Debian 12's glibc start files (Scrt1.o, crti.o) carry no
# CET marker, so no program linked on Debian 12 gets one (lighttpd's and
# mariadbd's neither), whatever -fcf-protection compiled. That is the only
# property left out, and the check below proves it.
for b in vingest-fcgi vingest-workers vingestctl vingest-upload; do
	out=$(hardening-check --nocfprotection "$T_TMP/x/usr/bin/$b" 2>&1)
	rc=$?
	t_eq "hardening-check passes for $b" "$rc" 0
	((rc == 0)) || printf '%s\n' "$out" | sed 's/^/#   /'
	t_eq "... and without --nocfprotection it finds nothing else missing" \
		"$(hardening-check "$T_TMP/x/usr/bin/$b" 2>&1 | grep -E ': no' | grep -v 'Control flow integrity')" ""
done

# ---------------------------------------------------------------- install

out=$(apt-get install -y -q "$SERVER_DEB" "$CLIENT_DEB" 2>&1)
rc=$?
printf '%s\n' "$out" >"$T_TMP/install.log"
t_eq "apt-get install ./vingest_….deb ./vingest-upload_….deb exits 0" "$rc" 0
((rc == 0)) || tail -n 20 "$T_TMP/install.log" | sed 's/^/#   /'
for p in vingest vingest-upload; do
	t_eq "$p is installed" "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" "ii "
done
NEW_PKGS=$(comm -13 <(printf '%s\n' "$NAMES_PKG_BEFORE") <(pkg_names) | grep -vxE 'vingest|vingest-upload' | tr '\n' ' ')
[[ -z ${NEW_PKGS// /} ]] || echo "# the installation pulled in: $NEW_PKGS (purged at the end)"

conffiles=$(dpkg-query -W -f='${Conffiles}\n' vingest | awk '{print $1}')
for f in "$CONF" /etc/lighttpd/conf-available/50-vingest.conf /etc/apache2/conf-available/vingest.conf; do
	t_ok "$f is a conffile" grep -qxF -- "$f" <<<"$conffiles"
done
t_eq "vingest.conf is 0640 root:vingest (readable by root and the vingest group only)" \
	"$(stat -c '%a %U:%G' "$CONF")" "640 root:vingest"
t_ok "systemd-sysusers made the vingest system user" getent passwd vingest
t_match "... a system account with no login, at home in /var/lib/vingest" \
	"$(getent passwd vingest | cut -d: -f3,6,7)" '^[1-9][0-9]{0,2}:/var/lib/vingest:/usr/sbin/nologin$'
t_eq "the state directory is the vingest user's, 0750" "$(stat -c '%a %U:%G' /var/lib/vingest/store)" "750 vingest:vingest"
t_eq "the socket's directory is setgid www-data (the web server connects; the config stays private)" \
	"$(stat -c '%a %U:%G' /run/vingest 2>&1)" "2750 vingest:www-data"
t_ok "www-data cannot read vingest.conf" bash -c "! runuser -u www-data -- cat $CONF >/dev/null 2>&1"
for u in vingest-fcgi vingest-workers; do
	t_ok "$u.service is installed in /lib/systemd/system" test -f "/lib/systemd/system/$u.service"
	t_eq "... and not enabled: the configuration comes first" \
		"$(find /etc/systemd/system -name "$u.service" 2>/dev/null | wc -l)" 0
done
out=$(systemd-analyze verify /lib/systemd/system/vingest-fcgi.service \
	/lib/systemd/system/vingest-workers.service 2>&1)
rc=$?
t_eq "systemd-analyze verify accepts the installed units (exit status)" "$rc" 0
t_eq "systemd-analyze verify has nothing to say about them" "$out" ""
t_eq "the web servers' configuration is installed, not enabled (lighttpd)" \
	"$(links_in "$LT_CONF_ENABLED" | grep -c vingest)" 0
t_eq "... (Apache)" "$(links_in "$AP_DIR/conf-enabled" | grep -c vingest)" 0
t_eq "no placeholder is left in them" \
	"$(cat /etc/lighttpd/conf-available/50-vingest.conf /etc/apache2/conf-available/vingest.conf | grep -c '@[A-Z_]*@')" 0
t_ok "the upload page is in /usr/share/vingest/htdocs" test -f /usr/share/vingest/htdocs/index.html
t_ok "the installed vingest-upload runs" vingest-upload --help
t_ok "man vingest-upload finds the installed page" bash -c 'man -w vingest-upload | grep -q /usr/share/man/man1/'

# ---------------------------------------------------------------- configure

# An administrator's edit: KEY in [SECTION] set to VALUE (the keys exist).
setconf() {
	local section=$1 key=$2 value=$3
	awk -v s="[$section]" -v k="$key" -v v="$value" '
		/^\[/ { in_s = ($0 == s) }
		in_s && $0 ~ "^" k " =" { print k " = " v; next }
		{ print }' "$CONF" >"$CONF.new" && cat "$CONF.new" >"$CONF" && rm -f "$CONF.new"
}
root_sql "CREATE DATABASE $DBNAME CHARACTER SET utf8mb4;
	CREATE USER '$DBUSER'@'localhost' IDENTIFIED BY '$DBPASS';
	GRANT ALL ON $DBNAME.* TO '$DBUSER'@'localhost'"
t_eq "a database and a user of their own on the test MariaDB" "$?" 0
setconf db socket "$VINGEST_DB_SOCKET"
setconf db user "$DBUSER"
setconf db password "$DBPASS"
setconf db name "$DBNAME"
setconf cache servers "127.0.0.1:$VINGEST_MEMCACHED_PORT"
setconf processor url "$VINGEST_STUB_URL/process"
setconf store url_secret "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d " \n")"
setconf http public_url "$URL"
setconf http processes 3
setconf workers min 1
t_eq "the edited configuration keeps its owner and mode" "$(stat -c '%a %U:%G' "$CONF")" "640 root:vingest"

# The installed programs see the configuration alone: no VINGEST_* from the
# test stack's environment (systemd starts units with a clean one too).
as_unit_env() { env -i PATH="$CLEAN_PATH" LANG=C.UTF-8 "$@"; }
t_ok "vingest-fcgi -t, as the vingest user, finds the installed configuration valid" \
	as_unit_env setpriv --reuid=vingest --regid=vingest --init-groups -- vingest-fcgi -c "$CONF" -t
out=$(as_unit_env vingestctl migrate 2>&1)
rc=$?
t_eq "vingestctl migrate against the installed configuration exits 0" "$rc" 0
((rc == 0)) || printf '%s\n' "$out" | tail -n 5 | sed 's/^/#   /'
t_eq "... and applied every migration the package carries" \
	"$(deb_sql 'SELECT COUNT(*) FROM schema_migrations')" \
	"$(find /usr/share/vingest/sql/migrations -name '*.sql' | wc -l)"

# ---------------------------------------------------------------- start, as the units do

# unit_key UNIT KEY: the last KEY= line of an installed unit.
unit_key() { sed -n "s/^$2=//p" "/lib/systemd/system/$1.service" | tail -n 1; }
start_unit() {
	local unit=$1 user group umask exec nnp=() rd
	user=$(unit_key "$unit" User)
	group=$(unit_key "$unit" Group)
	umask=$(unit_key "$unit" UMask)
	exec=$(unit_key "$unit" ExecStart)
	[[ $(unit_key "$unit" NoNewPrivileges) == yes ]] && nnp=(--no-new-privs)
	if [[ -n $(unit_key "$unit" Environment)$(unit_key "$unit" EnvironmentFile) ]]; then
		echo "# $unit sets an environment this test does not pass on" >&2
	fi
	rd=$(unit_key "$unit" RuntimeDirectory)
	if [[ -n $rd ]]; then
		mkdir -p "/run/$rd" && chown "$user:$group" "/run/$rd" &&
			chmod "$(unit_key "$unit" RuntimeDirectoryMode || echo 0755)" "/run/$rd"
	fi
	# env, not as_unit_env: $! must be the daemon itself (env, setpriv and sh
	# exec it), not a subshell running a function.
	env -i PATH="$CLEAN_PATH" LANG=C.UTF-8 setpriv --reuid="$user" --regid="$group" --init-groups \
		"${nnp[@]}" -- sh -c "umask ${umask:-0022}; exec $exec" </dev/null >>"$LOGDIR/98_debian-$unit.log" 2>&1 &
	echo $!
}
t_eq "vingest-fcgi.service runs as vingest:vingest" "$(unit_key vingest-fcgi User):$(unit_key vingest-fcgi Group)" \
	vingest:vingest
FCGI_PID=$(start_unit vingest-fcgi)
WORKERS_PID=$(start_unit vingest-workers)
wait_until 20 test -S /run/vingest/fcgi.sock
t_ok "vingest-fcgi, started as its unit starts it, listens on /run/vingest/fcgi.sock" test -S /run/vingest/fcgi.sock
t_eq "... a socket for the web server's group only (0660 vingest:www-data)" \
	"$(stat -c '%a %U:%G' /run/vingest/fcgi.sock 2>&1)" "660 vingest:www-data"
t_eq "... running as vingest" "$(ps -o user= -p "$FCGI_PID" 2>/dev/null | tr -d ' ')" vingest
wait_until 20 test "$(deb_sql 'SELECT COUNT(*) FROM workers' 2>/dev/null || echo 0)" -gt 0
t_lt "vingest-workers, started as its unit starts it, is in the fleet (workers)" 0 \
	"$(deb_sql 'SELECT COUNT(*) FROM workers' 2>/dev/null || echo 0)"

# ---------------------------------------------------------------- lighttpd, Debian's configuration

out=$(lighty-enable-mod vingest 2>&1)
t_eq "lighty-enable-mod vingest exits 0" "$?" 0
printf '%s\n' "$out" | sed 's/^/# lighty-enable-mod: /'
t_ok "... and links conf-enabled/50-vingest.conf" test -L "$LT_CONF_ENABLED/50-vingest.conf"
for m in fastcgi setenv extforward accesslog; do
	t_ok "... with what it depends on: $m" bash -c "ls $LT_CONF_ENABLED/*-$m.conf >/dev/null 2>&1"
done
# Debian's lighttpd.conf as it is, but on a port of the test's own, on
# loopback, with a pid file and error log of its own (it is not the
# system's lighttpd); conf-enabled/ is Debian's, read from /etc.
mkdir -p "$LT_DIR" && chown www-data "$LT_DIR" && chmod o+x "$T_TMP"
sed -e "s|^server.port .*|server.port = $PORT\nserver.bind = \"127.0.0.1\"|" \
	-e "s|^server.pid-file .*|server.pid-file = \"$LT_PID_FILE\"|" \
	-e "s|^server.errorlog .*|server.errorlog = \"$LT_DIR/error.log\"|" \
	-e 's|^include_shell "/usr/share/lighttpd/use-ipv6.pl.*|# (no [::] listener: loopback only)|' \
	/etc/lighttpd/lighttpd.conf >"$T_TMP/lighttpd.conf"
t_eq "the test's lighttpd.conf differs from Debian's only in port, address, pid file, error log" \
	"$(diff /etc/lighttpd/lighttpd.conf "$T_TMP/lighttpd.conf" | grep -c '^>')" 5
out=$(lighttpd -tt -f "$T_TMP/lighttpd.conf" 2>&1)
t_eq "lighttpd accepts Debian's configuration with vingest enabled" "$?" 0
[[ -z $out ]] || printf '%s\n' "$out" | sed 's/^/#   /'
lighttpd -f "$T_TMP/lighttpd.conf" >"$LOGDIR/98_debian-lighttpd.out" 2>&1
wait_until 20 curl -sf -o /dev/null "$URL/healthz"
st=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
t_eq "through it, /healthz reaches vingest-fcgi (as www-data, over the socket)" "$st" 200
if [[ $st != 200 ]]; then
	tail -n 5 "$LOGDIR/98_debian-lighttpd.out" "$LT_DIR/error.log" "$LOGDIR/98_debian-vingest-fcgi.log" \
		2>&1 | sed 's/^/#   /'
fi

# A user and key, with the installed vingestctl.
as_unit_env vingestctl user add debtest >/dev/null 2>&1
KEY=$(as_unit_env vingestctl key create debtest 2>/dev/null)
t_match "vingestctl makes a user and an API key" "$KEY" '^[A-Za-z0-9_]{20,}$'
printf '%s\n' "$KEY" >"$T_TMP/key" && chmod 600 "$T_TMP/key"

# The authorizer sees a body's headers first: a bad key is refused before
# lighttpd takes any of the body (curl waits for 100 Continue and sends none).
head -c 2097152 /dev/zero >"$T_TMP/zero"
st=$(curl -s -o "$T_TMP/refused.json" -w '%{http_code} %{size_upload}' --expect100-timeout 10 \
	-H 'Authorization: Bearer vgk_wrong' -H 'Expect: 100-continue' -H 'Content-Type: video/mp4' \
	--data-binary @"$T_TMP/zero" "$URL/v1/videos")
t_eq "a post with a bad key: 401 before a byte of its body is sent (the authorizer)" "$st" "401 0"
t_eq "... as vingest's JSON" "$(jq -r .error.code "$T_TMP/refused.json" 2>/dev/null)" unauthorized

# The client package's program, tus through lighttpd: it checks the stored
# SHA-256 itself and waits until the processing service is done.
out=$(env -i PATH="$CLEAN_PATH" HOME="$T_TMP" vingest-upload -u "$URL" --key-file "$T_TMP/key" \
	--state-dir "$T_TMP/state" -q --wait -t "from the package" "$FIX/clip-2s.mp4" 2>"$T_TMP/client.err")
rc=$?
t_eq "the installed vingest-upload uploads a clip through lighttpd and sees it processed" "$rc" 0
((rc == 0)) || sed 's/^/#   /' "$T_TMP/client.err"
ID1=$(tail -n 1 <<<"$out")
# curl, a plain multipart post.
st=$(curl -s -o "$T_TMP/post.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
	-F "file=@$FIX/clip-2s.mp4" -F title=curl "$URL/v1/videos")
t_eq "a multipart post through lighttpd: 201" "$st" 201
ID2=$(jq -r .id "$T_TMP/post.json" 2>/dev/null)
want=$(sha256sum "$FIX/clip-2s.mp4" | cut -d' ' -f1)
for id in "$ID1" "$ID2"; do
	if ! valid_id "$id"; then
		t_fail "an upload gave a video id" "id: '$id'"
		continue
	fi
	st=$(curl -s -o "$T_TMP/v.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$URL/v1/videos/$id")
	t_eq "GET /v1/videos/$id through lighttpd: 200" "$st" 200
	t_eq "... with the clip's sha256" "$(jq -r .sha256 "$T_TMP/v.json")" "$want"
	key=$(deb_sql "SELECT object_key FROM videos WHERE id = '$id'")
	as_unit_env vingestctl store get "$key" "$T_TMP/back" >/dev/null 2>&1
	t_ok "... and the installed store gives back the clip's bytes" cmp "$FIX/clip-2s.mp4" "$T_TMP/back"
done
wait_until 30 test "$(deb_sql "SELECT status FROM videos WHERE id = '$ID2'")" = processed
t_eq "the installed vingest-workers had the processing service fetch and process it" \
	"$(deb_sql "SELECT status FROM videos WHERE id = '$ID2'")" processed

# The page and the log, as the installed snippet has them.
curl -s -o "$T_TMP/page.html" -D "$T_TMP/page.h" "$URL/vingest/"
t_ok "the upload page is served at /vingest/" grep -q 'action="/v1/videos"' "$T_TMP/page.html"
t_match "... with its Content-Security-Policy" "$(header Content-Security-Policy "$T_TMP/page.h")" \
	"frame-ancestors 'none'"
sig=sig$RANDOM$RANDOM
curl -s -o /dev/null -H "Authorization: Bearer $KEY" "$URL/v1/videos?limit=1&secret=$sig"
wait_until 10 grep -q "GET /v1/videos HTTP" "$ACCESS_LOG"
t_ok "vingest's requests are logged in $ACCESS_LOG" grep -q "GET /v1/videos HTTP" "$ACCESS_LOG"
t_eq "... without their query strings" "$(grep -c "$sig" "$ACCESS_LOG")" 0
stop_daemons
t_eq "once stopped as systemd stops them, no process of the vingest user is left" \
	"$(pgrep -c -u vingest)" 0

# ---------------------------------------------------------------- Apache, Debian's configuration

mods="proxy_fcgi authnz_fcgi authn_core authz_user headers setenvif env buffer rewrite reqtimeout alias"
out=$(grep -o 'a2enmod .*' /etc/apache2/conf-available/vingest.conf | head -n 1)
t_match "the Apache configuration names the modules it needs" "$out" 'a2enmod proxy_fcgi authnz_fcgi'
# shellcheck disable=SC2086 # a list of modules
out=$(a2enmod -q $mods 2>&1 && a2enconf -q vingest 2>&1)
t_eq "a2enmod (those modules) and a2enconf vingest exit 0" "$?" 0
out=$(apache2ctl -t 2>&1)
t_eq "apache2ctl configtest accepts Debian's configuration with vingest enabled" "$?" 0
printf '%s\n' "$out" | grep -v 'Syntax OK' | sed 's/^/#   /'

# ---------------------------------------------------------------- purge

out=$(apt-get purge -y -q vingest vingest-upload 2>&1)
rc=$?
printf '%s\n' "$out" >"$T_TMP/purge.log"
t_eq "apt-get purge vingest vingest-upload exits 0" "$rc" 0
t_match "... and says the stored videos are kept" "$out" '/var/lib/vingest holds stored videos'
for p in vingest vingest-upload; do
	t_eq "dpkg knows nothing more of $p (no config-files state)" \
		"$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" ""
done
t_eq "no link to vingest's configuration is left in lighttpd's conf-enabled/" \
	"$(links_in "$LT_CONF_ENABLED" | grep -c vingest)" 0
t_eq "... nor in Apache's" "$(links_in "$AP_DIR/conf-enabled" | grep -c vingest)" 0
t_eq "... and Apache's helper forgot it" "$(find /var/lib/apache2 -name vingest | wc -l)" 0
out=$(apache2ctl -t 2>&1)
t_eq "Apache's configuration still parses after the purge" "$?" 0
out=$(lighttpd -tt -f "$T_TMP/lighttpd.conf" 2>&1)
t_eq "lighttpd's too" "$?" 0
t_eq "no systemd state is left for the units" \
	"$(find /etc/systemd /var/lib/systemd -name '*vingest*' 2>/dev/null | wc -l)" 0
# Everything named vingest that the test did not find before, apart from what
# Debian policy keeps, the test's own lighttpd's log, and man-db's cache of
# formatted pages (made when systemd-analyze verify looked the units'
# Documentation= up; man-db expires it by itself).
left=$(comm -13 <(printf '%s\n' "$NAMES_BEFORE") <(vingest_names) |
	grep -vxF -e /var/lib/vingest -e "$ACCESS_LOG" | grep -v '^/var/cache/man/')
t_eq "nothing named vingest is left on the system but /var/lib/vingest" "$left" ""
t_ok "the vingest user is kept (Debian policy: its uid may own files elsewhere)" getent passwd vingest
stored=$(find /var/lib/vingest -type f | wc -l)
t_eq "the stored videos are kept, and nothing else under /var/lib/vingest" "$stored" 2
t_eq "... no empty directory of the package's is" "$(find /var/lib/vingest -type d -empty | wc -l)" 0
t_eq "no file elsewhere is owned by the vingest user or group" \
	"$(find / -xdev \( -path /proc -o -path /sys -o -path /var/lib/vingest -o -path "$T_REPO_PARENT" \
		-o -path "$T_REPO" -o -path "$VINGEST_VAR" \) -prune -o \( -user vingest -o -group vingest \) -print 2>/dev/null | head -n 5)" ""

# ---------------------------------------------------------------- the machine as it was

restore_machine
t_eq "the machine's packages are as before the test" "$(diff <(printf '%s\n' "$PKGS_BEFORE") <(pkgs_state))" ""
t_eq "lighttpd's enabled modules are as before" "$(links_in "$LT_CONF_ENABLED")" "$LT_BEFORE"
t_eq "Apache's enabled modules and configurations are as before" \
	"$(links_in "$AP_DIR/mods-enabled" "$AP_DIR/conf-enabled" "$AP_DIR/sites-enabled")" "$AP_BEFORE"
t_eq "Apache's module state is as before" "$(find /var/lib/apache2 -type f 2>/dev/null | sort)" "$AP_STATE_BEFORE"
t_eq "nothing named vingest is left that was not there before" "$(vingest_names)" "$NAMES_BEFORE"
t_eq "lighttpd's log directory is as before" "$(find /var/log/lighttpd -type f 2>/dev/null | sort)" "$LT_LOGS_BEFORE"
t_eq "the test's database is gone" "$(root_sql "SHOW DATABASES LIKE '$DBNAME'")" ""

t_done
