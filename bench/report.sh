# bench/report.sh - turns the figures bench/run.sh gathered (the R array of
# raw result lines) into bench/RESULTS.md: a summary table with the ratios
# vingest / peer and vingest / limit against the targets of the benchmark
# issue, then every raw line. Sourced by bench/run.sh, not run alone.
# shellcheck shell=bash
# shellcheck disable=SC2153,SC2154 # the globals of bench/run.sh

# shellcheck source=SCRIPTDIR/archive-report.sh
source "$REPO/bench/archive-report.sh"

# rate LINE: "N/s", the uploads per second of a loadgen line ("-" when missing).
rate() {
	local r
	r=$(kv "$1" req_per_s)
	if [[ -n $r ]]; then echo "$r/s"; else echo -; fi
}

# met VALUE OP BOUND: "yes" or "**no**" ("-" when VALUE is missing).
met() {
	[[ $1 == - || -z $1 ]] && {
		echo -
		return
	}
	if awk -v v="$1" -v b="$3" "BEGIN { exit !(v $2 b) }"; then echo yes; else echo '**no**'; fi
}

# The keys of the step timings, in the order of the points.
steps_keys() {
	local s c
	for s in "${SIZES[@]}"; do
		for c in 8 64; do echo "steps_mp_${s}_$c"; done
	done
	for s in 64k 1m 10m; do
		for c in 8 64; do echo "steps_tus_post_${s}_$c" "steps_tus_patch_${s}_$c" | tr ' ' '\n'; done
	done
}

# php_best POINT (e.g. 64k_8): the php-fpm pool size that completed the
# most uploads per second at that multipart point; vingest is compared
# against it.
php_best() {
	local p r best="" bestr=-1
	for p in "${PHP_POOLS[@]}"; do
		r=$(kv "${R[mp_php${p}_$1]:-}" req_per_s)
		[[ -n $r ]] || continue
		if awk -v a="$r" -v b="$bestr" 'BEGIN { exit !(a > b) }'; then
			best=$p
			bestr=$r
		fi
	done
	echo "$best"
}

# One row of a comparison: vingest vs peer vs limit for one upload point.
# PEER_CELLS: the peers' columns, ready made (" | x | y | z"). TARGET: the
# least vingest/peer ("-": none); LIMIT_TARGET: the least vingest/limit.
upload_row() { # LABEL VG_LINE PEER_LINE LIMIT_KIND TARGET PEER_CELLS LIMIT_TARGET PEER_NAME
	local label=$1 vg=$2 peer=$3 kind=$4 target=$5 cells=$6 lt=${7:--} pn=${8:-peer} vr pr vm vf pf limit ratio_peer ratio_limit ok=- t=()
	[[ $target != - ]] && t+=("≥ $target× $pn")
	[[ $lt != - ]] && t+=("≥ $lt× limit")
	local tt
	tt=$(IFS=';'; echo "${t[*]:--}" | sed 's/;/, /g')
	vr=$(kv "$vg" req_per_s)
	pr=$(kv "$peer" req_per_s)
	vm=$(kv "$vg" mib_per_s)
	if [[ -z $vr ]]; then
		printf '| %s | -%s | - | - | - | %s | - |\n' "$label" "$cells" "$tt"
		return
	fi
	ratio_peer=$(calc "$vr" "${pr:-0}")
	if [[ $kind == fsync ]]; then
		limit="$(kv "${R[fsync8]}" files_per_s) files/s"
		ratio_limit=$(calc "$vr" "$(kv "${R[fsync8]}" files_per_s)")
	else
		limit="$(kv "${R[dd]}" mib_per_s) MiB/s"
		ratio_limit=$(calc "$vm" "$(kv "${R[dd]}" mib_per_s)")
	fi
	local m=()
	[[ $target != - ]] && m+=("$(met "$ratio_peer" '>=' "$target")")
	[[ $lt != - ]] && m+=("$(met "$ratio_limit" '>=' "$lt")")
	((${#m[@]})) && ok=$(IFS=';'; echo "${m[*]}" | sed 's/;/, /g')
	vf=$(kv "$vg" failed)
	pf=$(kv "$peer" failed)
	[[ ${vf:-0} != 0 || ${pf:-0} != 0 ]] && label="$label (failures, see raw)"
	printf '| %s | %s/s (%s MiB/s)%s | %s | %s | %s | %s | %s |\n' "$label" "$vr" "$vm" \
		"$cells" "$ratio_peer" "$limit" "$ratio_limit" "$tt" "$ok"
}

# upload_points: every upload point as "KIND POINT VG_KEY PEER_KEY PEER_NAME"
# (multipart against the faster PHP pool, tus against @tus/server), in order.
upload_points() {
	local s c best
	for s in "${SIZES[@]}"; do
		for c in 8 64; do
			[[ -n ${R[mp_vg_${s}_$c]:-} ]] || continue
			best=$(php_best "${s}_$c")
			echo "multipart ${s}_$c mp_vg_${s}_$c ${best:+mp_php${best}_${s}_$c} ${best:+php$best}"
		done
	done
	for s in 64k 1m 10m; do
		for c in 8 64; do
			[[ -n ${R[tus_vg_${s}_$c]:-} ]] || continue
			echo "tus ${s}_$c tus_vg_${s}_$c tus_node_${s}_$c node"
		done
	done
}
# point_label KIND POINT: "multipart 64 KiB ×8"
point_label() { echo "$1 ${LABEL[${2%_*}]} ×${2##*_}"; }
# peer_name NAME: "PHP, 16 children", "@tus/server"
peer_name() {
	case $1 in
	php*) echo "PHP, ${1#php} children" ;;
	node) echo "@tus/server" ;;
	*) echo - ;;
	esac
}

write_report() {
	local s c key target
	echo "# Benchmark results"
	echo
	echo "Written by \`./dev bench$( ((QUICK)) && echo ' --quick')\` on $(date -u '+%F %H:%M UTC')."
	echo "Machine: $MACHINE; MariaDB $MARIADB_VERSION (innodb_flush_log_at_trx_commit=1),"
	echo "lighttpd $(lighttpd -v 2>/dev/null | grep -o '[0-9]*\.[0-9]*\.[0-9]*' | head -n1), PHP $(php -r 'echo PHP_VERSION;' 2>/dev/null || echo '?'),"
	echo "node $(node --version), @tus/server $(jq -r .version "$REPO/bench/tus-server/node_modules/@tus/server/package.json"), @tus/file-store $(jq -r .version "$REPO/bench/tus-server/node_modules/@tus/file-store/package.json")."
	echo "Load: $(uptime | sed 's/.*load average/load average/') at the end of the run."
	echo
	echo "Noisy: the machine may have been shared; only ratios within one run mean anything."
	echo "How each figure is made: bench/README.md."
	echo
	echo "## Summary"
	echo
	echo "Uploads: completed uploads per second (2xx only). vingest ($CHILDREN FastCGI processes)"
	echo "and the peers ran the same payload file with the same client (bench/loadgen.c);"
	echo "PHP ran once with each php-fpm pool ($(printf '%s, ' "${PHP_POOLS[@]}" | sed 's/, $//') children) and vingest/peer is"
	echo "against the faster of them. Limit: 64 KiB against 64 KiB file write+fsync with 8"
	echo "processes; larger sizes as MiB/s against dd conv=fsync (vingest writes each byte"
	echo "twice: lighttpd's spool, then the store)."
	echo
	local hdr="" sep="" p cells kind pt vk pk pn lt
	for p in "${PHP_POOLS[@]}"; do
		hdr+=" PHP, $p children |"
		sep+="---|"
	done
	echo "| upload | vingest |$hdr @tus/server | vingest/peer | limit | vingest/limit | target | met |"
	echo "|---|---|$sep---|---|---|---|---|---|"
	while read -r kind pt vk pk pn; do
		s=${pt%_*}
		cells=
		for p in "${PHP_POOLS[@]}"; do
			if [[ $kind == multipart ]]; then
				cells+=" | $(rate "${R[mp_php${p}_$pt]:-}")"
			else
				cells+=" |"
			fi
		done
		if [[ $kind == multipart ]]; then
			cells+=" |"
			# The issue's targets: 2× PHP at every size; 0.5 of the 8-process
			# small-file fsync rate at 64 KiB, 0.7 of dd at 10 and 300 MiB.
			case $s in 64k) lt=0.5 ;; 10m | 300m) lt=0.7 ;; *) lt=- ;; esac
			upload_row "$(point_label "$kind" "$pt")" "${R[$vk]:-}" "${R[${pk:-none}]:-}" \
				"$([[ $s == 64k ]] && echo fsync || echo dd)" 2 "$cells" "$lt" PHP
		else
			cells+=" | $(rate "${R[$pk]:-}")"
			upload_row "$(point_label "$kind" "$pt")" "${R[$vk]:-}" "${R[$pk]:-}" \
				"$([[ $s == 64k ]] && echo fsync || echo dd)" 2 "$cells" - "@tus/server"
		fi
	done < <(upload_points)
	echo
	echo "Where a vingest upload's time goes: the mean per request of the access log's"
	echo "durable steps (docs/operations.md, Logs) at each point; the rest of"
	echo "duration_ms is reading the body, checking it and answering. A tus upload is"
	echo "its creation POST and its PATCH."
	echo
	echo "| point | requests | duration_ms | mark_ms | fsync_ms | publish_ms | commit_ms |"
	echo "|---|---|---|---|---|---|---|"
	local line
	steps_keys | while read -r key; do
		line=${R[$key]:-}
		[[ -n $line ]] || continue
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${key#steps_}" "$(kv "$line" requests)" \
			"$(kv "$line" duration_ms)" "$(kv "$line" mark_ms)" "$(kv "$line" fsync_ms)" \
			"$(kv "$line" publish_ms)" "$(kv "$line" commit_ms)"
	done
	echo
	echo "Database work per completed upload, from MariaDB's global counters read"
	echo "right before and right after each point (the one MariaDB serves vingest and"
	echo "PHP; nothing else talks to it meanwhile): statements (Questions, prepared"
	echo "statement executions included), read-write transaction commits"
	echo "(trx_rw_commits) and redo log fsyncs (Innodb_log_writes: one write and one"
	echo "fdatasync per durable group commit). The target reads \"at most one durable"
	echo "commit per upload, amortised\" as log fsyncs. PHP: the pool vingest is"
	echo "compared against (the faster); @tus/server has no database."
	echo
	echo "| point | peer | statements vingest | statements peer | rw commits vingest | rw commits peer | log fsyncs vingest | log fsyncs peer | target | met |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	local vd pd lf
	while read -r kind pt vk pk pn; do
		vd=${R[db_$vk]:-}
		pd=
		[[ $kind == multipart ]] && pd=${R[db_${pk:-none}]:-}
		lf=$(kv "$vd" log_fsyncs_per_upload)
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | ≤ 1 | %s |\n' "$(point_label "$kind" "$pt")" "$(peer_name "$pn")" \
			"$(kvd "$vd" statements_per_upload)" "$(kvd "$pd" statements_per_upload)" \
			"$(kvd "$vd" rw_commits_per_upload)" "$(kvd "$pd" rw_commits_per_upload)" \
			"${lf:--}" "$(kvd "$pd" log_fsyncs_per_upload)" "$(met "${lf:--}" '<=' 1)"
	done < <(upload_points)
	echo
	echo "CPU per completed upload, from /proc over the same window: the server's (web"
	echo "server and app processes: lighttpd and vingest-fcgi; lighttpd and php-fpm;"
	echo "node) and MariaDB's (mariadbd, background threads included, until it has"
	echo "purged what the point left). The client is not counted. All of it runs on"
	echo "this one machine, so a server that spends more CPU per upload cannot be"
	echo "faster by more than the other's share of the cores allows."
	echo
	echo "| point | peer | vingest server | vingest MariaDB | vingest total | peer server | peer MariaDB | peer total | vingest/peer total | target | met |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	local vc pc vt pt_ ratio ok
	while read -r kind pt vk pk pn; do
		vc=${R[cpu_$vk]:-}
		pc=${R[cpu_${pk:-none}]:-}
		vt=$(kv "$vc" total_cpu_ms_per_upload)
		pt_=$(kv "$pc" total_cpu_ms_per_upload)
		[[ -z $pt_ && $kind == tus ]] && pt_=$(kv "$pc" server_cpu_ms_per_upload)
		ratio=$(calc "${vt:-0}" "${pt_:-0}")
		target=-
		ok=-
		if [[ $kind == multipart ]]; then
			target="≤ 0.5× PHP"
			ok=$(met "$ratio" '<=' 0.5)
		fi
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(point_label "$kind" "$pt")" "$(peer_name "$pn")" \
			"$(kvd "$vc" server_cpu_ms_per_upload)" "$(kvd "$vc" mariadb_cpu_ms_per_upload)" "${vt:--}" \
			"$(kvd "$pc" server_cpu_ms_per_upload)" "$(kvd "$pc" mariadb_cpu_ms_per_upload)" "${pt_:--}" \
			"$ratio" "$target" "$ok"
	done < <(upload_points)
	echo
	local jps probe p50 p99 rssd cpu
	jps=$(kv "${R[jobs]}" jobs_per_s)
	probe=$(kv "${R[claim$JOBS_BATCH]}" jobs_per_s)
	p50=$(kv "${R[latency]}" commit_to_call_p50_ms)
	p99=$(kv "${R[latency]}" commit_to_call_p99_ms)
	rssd=$(kv "${R[rss]}" delta_kib)
	cpu=$(kv "${R[worker]}" cpu_pct)
	echo "| figure | vingest | limit | vingest/limit | target | met |"
	echo "|---|---|---|---|---|---|"
	echo "| jobs/s, commit to done (instant stub) | ${jps:--} | ${probe:--} (raw claim+complete, batch $JOBS_BATCH, 8 processes) | $(calc "${jps:-0}" "${probe:-0}") | ≥ 0.90 | $(met "$(calc "${jps:-0}" "${probe:-0}")" '>=' 0.9) |"
	echo "| COMMIT → call p50 | ${p50:--} ms | | | < 100 ms | $(met "${p50:--}" '<' 100) |"
	echo "| COMMIT → call p99 | ${p99:--} ms | | | < 1000 ms | $(met "${p99:--}" '<' 1000) |"
	echo "| vingest-fcgi child RSS, max − min through a 300 MiB upload | ${rssd:--} KiB ($(kv "${R[rss]}" min_kib) → $(kv "${R[rss]}" max_kib) KiB) | | | ≤ 2048 KiB | $(met "${rssd:--}" '<=' 2048) |"
	echo "| one worker, 500 calls in flight: CPU of one core | ${cpu:--} % (RSS $(kv "${R[worker]}" rss_kib) KiB) | | | < 5 % | $(met "${cpu:--}" '<' 5) |"
	echo
	echo "What the defences against slow and anonymous clients cost (docs/operations.md,"
	echo "\"Abuse and limits\"): the shipped front (every body first put to vingest-fcgi as"
	echo "a FastCGI Authorizer; tus bodies spooled) against the front before them (no"
	echo "authorizer, tus PATCHes streamed), the same vingest-fcgi behind both, 8"
	echo "connections, in turns; the median of three runs each."
	echo
	echo "| point | shipped front | old front | shipped/old |"
	echo "|---|---|---|---|"
	local point mode sz med_new med_old
	for point in "multipart 64k" "multipart 10m" "tus 10m"; do
		read -r mode sz <<<"$point"
		med_new=$(for rep in 1 2 3; do kv "${R[ab_new_${mode}_${sz}_$rep]:-}" req_per_s; done | sort -g | sed -n 2p)
		med_old=$(for rep in 1 2 3; do kv "${R[ab_old_${mode}_${sz}_$rep]:-}" req_per_s; done | sort -g | sed -n 2p)
		printf '| %s %s ×8 | %s/s | %s/s | %s |\n' "$mode" "${LABEL[$sz]}" "${med_new:--}" "${med_old:--}" \
			"$(calc "${med_new:-0}" "${med_old:-0}")"
	done
	echo
	echo "CPU per job on the job path (from /proc): MariaDB's, and the rest of the"
	echo "path's (workers, the stub answering, memcached), which the raw probe does not have."
	echo
	echo "| | MariaDB ms/job | workers + stub + memcached ms/job |"
	echo "|---|---|---|"
	echo "| raw claim+complete probe, batch $JOBS_BATCH | $(kv "${R[cpu_claim$JOBS_BATCH]:-}" mariadb_cpu_ms_per_job) | - |"
	echo "| vingest, bench/jobs.sh | $(kv "${R[cpu_jobs]:-}" mariadb_cpu_ms_per_job) | $(kv "${R[cpu_jobs]:-}" workers_stub_memcached_cpu_ms_per_job) |"
	echo
	[[ -z ${R[archive]:-} ]] || archive_section "${R[archive]}"
	echo "## Raw"
	echo
	echo "Commands (from the repository, as ./dev bench ran them; \$B is var/bench):"
	echo
	echo '```'
	echo "dd if=/dev/zero of=\$B/dd.bin bs=1M count=$dd_mib conv=fsync"
	echo "\$B/bin/probe fsync \$B/fsync-probe $fs_secs {1,8} 65536"
	echo "\$B/bin/probe claim \$SOCKET bench_probe N 8 {1,$JOBS_BATCH}"
	echo "\$B/bin/loadgen multipart \$URL/v1/videos \$B/payloads/SIZE.mp4 -c {8,64} -n N -t $POINT_SECONDS -K \$B/keys -S 127.0.1"
	echo "\$B/bin/loadgen multipart http://127.0.0.1:{$(for i in "${!PHP_POOLS[@]}"; do printf '%s' "$((PHP_PORT + i))"; ((i + 1 < ${#PHP_POOLS[@]})) && printf ,; done)}/upload.php \$B/payloads/SIZE.mp4 -c {8,64} -n N -t $POINT_SECONDS -S 127.0.1 -H 'Authorization: Bearer …'   # php-fpm with {$(printf '%s,' "${PHP_POOLS[@]}" | sed 's/,$//')} children"
	echo "\$B/bin/loadgen tus \$URL/v1/uploads \$B/payloads/SIZE.mp4 -c {8,64} -n N -t $POINT_SECONDS -K \$B/keys -S 127.0.1"
	echo "\$B/bin/loadgen tus http://127.0.0.1:$TUS_PORT/files \$B/payloads/SIZE.mp4 -c {8,64} -n N -t $POINT_SECONDS -S 127.0.1"
	echo "\$B/bin/loadgen {multipart,tus} {\$URL,http://127.0.0.1:\$((PORT + 1))}/v1/{videos,uploads} \$B/payloads/SIZE.mp4 -c 8 -n N -t $ab_secs -K \$B/keys -S 127.0.1   # the fronts, in turns"
	echo "bench/jobs.sh $jobs_n $jobs_m"
	[[ -z ${R[archive]:-} ]] || echo "bench/archive.sh $archive_n"
	echo '```'
	echo
	echo "Payload sizes in bytes: $(for s in "${SIZES[@]}"; do printf '%s=%s ' "$s" "${BYTES[$s]}"; done)(300m is 300 MiB − 64 KiB:"
	echo "with the multipart framing a whole 300 MiB would pass limits.max_upload_bytes)."
	echo "Requests per point: at most $(for s in "${SIZES[@]}"; do printf '%s=%s ' "$s" "${NREQ[$s]}"; done)or $POINT_SECONDS s, whichever"
	echo "comes first; 300 MiB: one upload per connection."
	echo
	echo '```'
	for key in dd fsync1 fsync8 claim1 "claim$JOBS_BATCH" db_idle; do
		printf '%s\n' "${R[$key]:-}"
	done
	for s in "${SIZES[@]}"; do
		for c in 8 64; do
			for p in vg "${PHP_POOLS[@]/#/php}"; do
				key=mp_${p}_${s}_$c
				[[ -z ${R[$key]:-} ]] || printf '%-16s %s\n' "${key#mp_}" "${R[$key]}"
			done
		done
	done
	for s in 64k 1m 10m; do
		for c in 8 64; do
			for key in "tus_vg_${s}_$c" "tus_node_${s}_$c"; do
				[[ -z ${R[$key]:-} ]] || printf '%-16s %s\n' "$key" "${R[$key]}"
			done
		done
	done
	for key in $(printf '%s\n' "${!R[@]}" | grep '^ab_' | sort); do
		printf '%-28s %s\n' "$key" "${R[$key]}"
	done
	steps_keys | while read -r key; do
		[[ -z ${R[$key]:-} ]] || printf '%-24s %s\n' "$key" "${R[$key]}"
	done
	for key in $(printf '%s\n' "${!R[@]}" | grep '^cpu_' | sort); do
		printf '%-24s %s\n' "$key" "${R[$key]}"
	done
	for key in $(printf '%s\n' "${!R[@]}" | grep '^db_[mt]' | sort); do
		printf '%-24s %s\n' "$key" "${R[$key]}"
	done
	printf '%s\n' "${R[rss]:-}" "${R[jobs]:-}" "${R[latency]:-}" "${R[worker]:-}"
	echo '```'
}
