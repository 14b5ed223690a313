# shellcheck shell=bash
# tools/stack-web.sh - the web server in front of vingest-fcgi: lighttpd (a
# unix socket to vingest-fcgi) or Apache (loopback TCP, mod_authnz_fcgi),
# rendered from the same templates in www-conf/ that make turns into the
# installed configuration, so the dev stack runs what a host would. Each is
# started directly with a configuration of its own under var/ (nothing of
# /etc is used) and is up once /healthz answers 200 through it.

# The web server's request cap, in bytes: the app's upload limit plus 1 MiB
# of multipart overhead, so the app (not the web server) answers the JSON 413
# for a file just over the limit.
web_max_request_bytes() {
	local bytes=${VINGEST_LIMITS_MAX_UPLOAD_BYTES:-$DEFAULT_MAX_UPLOAD_BYTES}
	[[ $bytes =~ ^[0-9]+$ ]] || die "VINGEST_LIMITS_MAX_UPLOAD_BYTES must be a number of bytes, not '$bytes'"
	echo $((bytes + 1048576))
}

# lighttpd's server.max-request-size is in KiB.
lighttpd_max_request_kib() {
	local bytes
	bytes=$(web_max_request_bytes)
	echo $(((bytes + 1023) / 1024))
}

# extforward.forwarder entries for $TRUSTED_PROXIES: "A" => "trust", ...
lighttpd_trusted() {
	local a out=
	for a in ${TRUSTED_PROXIES//,/ }; do
		out+="${out:+, }\"$a\" => \"trust\""
	done
	printf '%s' "$out"
}

# mod_remoteip lines for $TRUSTED_PROXIES (none without: mod_remoteip with a
# header and no proxy list would believe every client).
apache_remoteip() {
	if [[ -n $TRUSTED_PROXIES ]]; then
		printf 'RemoteIPHeader X-Forwarded-For\\nRemoteIPTrustedProxy %s' "${TRUSTED_PROXIES//,/ }"
	else
		printf '# (no trusted proxies: X-Forwarded-For is not believed)'
	fi
}

# Renders www-conf/lighttpd/{server,vingest}.conf into var/: the server for
# ./dev, which includes vingest's part (the file the packages install as
# conf-available/50-vingest.conf, made from the same template by make).
render_lighttpd_conf() {
	local tmpl=$REPO/www-conf/lighttpd kib f out
	[[ -f $tmpl/server.conf && -f $tmpl/vingest.conf ]] || die "missing lighttpd templates in $tmpl"
	kib=$(lighttpd_max_request_kib)
	mkdir -p "$VAR/lighttpd-uploads" "$VAR/www"
	for f in server.conf vingest.conf; do
		out=$LIGHTTPD_CONF
		[[ $f == vingest.conf ]] && out=$LIGHTTPD_VINGEST_CONF
		sed -e '/^#@/d' \
			-e "s|@PORT@|$HTTP_PORT|g" \
			-e "s|@FCGI_SOCKET@|$FCGI_SOCK|g" \
			-e "s|@UPLOAD_DIR@|$VAR/lighttpd-uploads|g" \
			-e "s|@LOG_DIR@|$LOG|g" \
			-e "s|@ACCESS_LOG@|$LOG/lighttpd-access.log|g" \
			-e "s|@PID_FILE@|$LIGHTTPD_PID|g" \
			-e "s|@DOCUMENT_ROOT@|$VAR/www|g" \
			-e "s|@HTDOCS@|$REPO/www-conf/htdocs|g" \
			-e "s|@MAX_REQUEST_SIZE_KIB@|$kib|g" \
			-e "s|@TRUSTED_PROXIES@|$(lighttpd_trusted)|g" \
			-e "s|@VINGEST_CONF@|$LIGHTTPD_VINGEST_CONF|g" \
			"$tmpl/$f" >"$out.tmp"
		if grep -n '@[A-Z_]*@' "$out.tmp" >&2; then
			die "placeholders left unsubstituted in $out.tmp (see above)"
		fi
		mv -f -- "$out.tmp" "$out"
	done
}

start_lighttpd() {
	local pid i code
	render_lighttpd_conf
	if pid=$(running_pid "$LIGHTTPD_PID"); then
		info "lighttpd: already running (pid $pid) on $URL"
	else
		if ! lighttpd -tt -f "$LIGHTTPD_CONF" >"$LOG/lighttpd-check.log" 2>&1; then
			cat "$LOG/lighttpd-check.log" >&2
			die "lighttpd refused $LIGHTTPD_CONF (see above)"
		fi
		rm -f -- "$LIGHTTPD_PID"
		if ! lighttpd -f "$LIGHTTPD_CONF" </dev/null >>"$LOG/lighttpd.out" 2>&1; then
			tail_log "$LOG/lighttpd.out"
			tail_log "$LOG/lighttpd-error.log"
			die "lighttpd failed to start on $URL (port taken?)"
		fi
		info "lighttpd: started on $URL"
	fi
	for ((i = 0; ; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz" || true)
		[[ $code == 200 ]] && break
		if ((i >= 200)); then
			tail_log "$LOG/lighttpd-error.log"
			tail_log "$LOG/vingest-fcgi.log"
			die "$URL/healthz did not answer 200 within 20 s (last status: $code)"
		fi
		sleep 0.1
	done
	info "lighttpd: $URL/healthz answers 200"
}

# Renders www-conf/apache/{apache2,vingest}.conf into var/apache/.
render_apache_conf() {
	local tmpl=$REPO/www-conf/apache bytes f
	[[ -f $tmpl/apache2.conf && -f $tmpl/vingest.conf ]] || die "missing Apache templates in $tmpl"
	bytes=$(web_max_request_bytes)
	mkdir -p "$APACHE_DIR" "$RUN/apache" "$VAR/www"
	for f in apache2.conf vingest.conf; do
		sed -e '/^#@/d' \
			-e "s|@LISTEN@|127.0.0.1:$HTTP_PORT|g" \
			-e "s|@FCGI_ADDR@|127.0.0.1:$FCGI_PORT|g" \
			-e "s|^\([[:space:]]*\)@REMOTEIP@[[:space:]]*\$|\1$(apache_remoteip)|" \
			-e "s|@LOG_DIR@|$LOG|g" \
			-e "s|@ACCESS_LOG@|$LOG/apache-access.log|g" \
			-e "s|@DOCUMENT_ROOT@|$VAR/www|g" \
			-e "s|@HTDOCS@|$REPO/www-conf/htdocs|g" \
			-e "s|@LIMIT_REQUEST_BODY@|$bytes|g" \
			-e "s|@SERVER_ROOT@|$APACHE_DIR|g" \
			-e "s|@RUN_DIR@|$RUN/apache|g" \
			-e "s|@PID_FILE@|$APACHE_PID|g" \
			-e "s|@USER@|$APACHE_USER|g" \
			-e "s|@GROUP@|$APACHE_GROUP|g" \
			-e "s|@MODULES@|/usr/lib/apache2/modules|g" \
			-e "s|@VINGEST_CONF@|$APACHE_VHOST|g" \
			"$tmpl/$f" >"$APACHE_DIR/$f.tmp"
		if grep -n '@[A-Z_]*@' "$APACHE_DIR/$f.tmp" >&2; then
			die "placeholders left unsubstituted in $APACHE_DIR/$f.tmp (see above)"
		fi
		mv -f -- "$APACHE_DIR/$f.tmp" "$APACHE_DIR/$f"
	done
}

# Apache's children run as $APACHE_USER: give the socket (mode 0660) its
# group, and make sure that user can reach the socket's directory at all.
# Apache spools request bodies into $TMPDIR (apr_temp_dir_get) as its
# children's user: give it a directory of the stack's own, on disk.
apache_spool_dir() {
	local dir=$VAR/apache-spool
	mkdir -p "$dir"
	chown "$APACHE_USER:$APACHE_GROUP" "$dir" && chmod 0700 "$dir" || die "could not give $dir to $APACHE_USER"
	if ! runuser -u "$APACHE_USER" -- test -w "$dir"; then
		die "$APACHE_USER cannot reach $dir (a parent directory is closed to it?); use a VINGEST_VAR it can traverse"
	fi
	printf '%s\n' "$dir"
}

# apache2 is run directly with a configuration file of its own, not through
# apache2ctl and /etc/apache2/envvars: nothing of Debian's /etc/apache2 is
# used, and every path (pid file, logs, mutexes) is under the stack.
start_apache() {
	local pid i code
	local spool
	render_apache_conf
	spool=$(apache_spool_dir) || exit 1
	if pid=$(running_pid "$APACHE_PID"); then
		info "apache2: already running (pid $pid) on $URL"
	else
		if ! apache2 -t -f "$APACHE_CONF" >"$LOG/apache-check.log" 2>&1; then
			cat "$LOG/apache-check.log" >&2
			die "apache2 refused $APACHE_CONF (see above)"
		fi
		rm -f -- "$APACHE_PID"
		if ! TMPDIR=$spool apache2 -f "$APACHE_CONF" -k start </dev/null >>"$LOG/apache.out" 2>&1; then
			tail_log "$LOG/apache.out"
			tail_log "$LOG/apache-error.log"
			die "apache2 failed to start on $URL (port taken?)"
		fi
		info "apache2: started on $URL"
	fi
	for ((i = 0; ; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz" || true)
		[[ $code == 200 ]] && break
		if ((i >= 200)); then
			tail_log "$LOG/apache-error.log"
			tail_log "$LOG/vingest-fcgi.log"
			die "$URL/healthz did not answer 200 within 20 s (last status: $code)"
		fi
		sleep 0.1
	done
	info "apache2: $URL/healthz answers 200"
}

# The web server in front of vingest-fcgi: the one chosen for this stack.
# The other one is stopped first when it still runs (it holds the port).
start_web() {
	case $WEB in
	lighttpd)
		running_pid "$APACHE_PID" >/dev/null && stop_pidfile apache2 "$APACHE_PID" 10
		start_lighttpd
		;;
	apache)
		running_pid "$LIGHTTPD_PID" >/dev/null && stop_pidfile lighttpd "$LIGHTTPD_PID" 10
		start_apache
		;;
	esac
}
