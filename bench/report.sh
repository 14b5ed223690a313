# bench/report.sh - turns the figures bench/run.sh gathered (the R array of
# raw result lines) into bench/RESULTS.md: a summary table with the ratios
# vingest / peer and vingest / limit against the targets of the benchmark
# issue, then every raw line. Sourced by bench/run.sh, not run alone.
# shellcheck shell=bash
# shellcheck disable=SC2153,SC2154 # the globals of bench/run.sh

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
	for s in 1m 10m; do
		for c in 8 64; do echo "steps_tus_post_${s}_$c" "steps_tus_patch_${s}_$c" | tr ' ' '\n'; done
	done
}

# One row of a comparison: vingest vs peer vs limit for one upload point.
upload_row() { # LABEL VG_LINE PEER_LINE LIMIT_KIND TARGET
	local label=$1 vg=$2 peer=$3 kind=$4 target=$5 vr pr vm limit ratio_peer ratio_limit ok=-
	vr=$(kv "$vg" req_per_s)
	pr=$(kv "$peer" req_per_s)
	vm=$(kv "$vg" mib_per_s)
	if [[ -z $vr ]]; then
		printf '| %s | - | %s | - | - | - | %s | - |\n' "$label" "${pr:--}" "$target"
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
	[[ $target != - ]] && ok=$(met "$ratio_peer" '>=' 2)
	[[ $(kv "$vg" failed) != 0 || $(kv "$peer" failed) != 0 ]] && label="$label (failures, see raw)"
	printf '| %s | %s/s (%s MiB/s) | %s/s | %s | %s | %s | %s | %s |\n' "$label" "$vr" "$vm" \
		"${pr:--}" "$ratio_peer" "$limit" "$ratio_limit" "$target" "$ok"
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
	echo "Uploads: completed uploads per second (2xx only). vingest and the peer ran the"
	echo "same payload file with the same client (bench/loadgen.c) and $CHILDREN server processes"
	echo "each. Limit: 64 KiB against 64 KiB file write+fsync with 8 processes; larger sizes"
	echo "as MiB/s against dd conv=fsync (vingest writes each byte twice: lighttpd's spool,"
	echo "then the store)."
	echo
	echo "| upload | vingest | peer | vingest/peer | limit | vingest/limit | target | met |"
	echo "|---|---|---|---|---|---|---|---|"
	for s in "${SIZES[@]}"; do
		for c in 8 64; do
			key=${s}_$c
			[[ -n ${R[mp_vg_$key]:-} || -n ${R[mp_php_$key]:-} ]] || continue
			target=-
			[[ $s == 64k || $s == 1m ]] && target="≥ 2× PHP"
			upload_row "multipart ${LABEL[$s]} ×$c vs PHP" "${R[mp_vg_$key]:-}" "${R[mp_php_$key]:-}" \
				"$([[ $s == 64k ]] && echo fsync || echo dd)" "$target"
		done
	done
	for s in 1m 10m; do
		for c in 8 64; do
			key=${s}_$c
			[[ -n ${R[tus_vg_$key]:-} ]] || continue
			upload_row "tus ${LABEL[$s]} ×$c vs @tus/server" "${R[tus_vg_$key]}" "${R[tus_node_$key]:-}" dd "≥ 2× @tus/server"
		done
	done
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
	echo "Server CPU per completed upload (web server and app processes, from /proc;"
	echo "MariaDB and the client not counted). All of it runs on this one machine,"
	echo "so a server that spends more CPU per upload cannot be faster by more than"
	echo "the other's share of the cores allows."
	echo
	echo "| point | vingest ms/upload | peer ms/upload | vingest/peer |"
	echo "|---|---|---|---|"
	local vc pc
	for s in "${SIZES[@]}"; do
		for c in 8 64; do
			vc=$(kv "${R[cpu_mp_vg_${s}_$c]:-}" server_cpu_ms_per_upload || true)
			pc=$(kv "${R[cpu_mp_php_${s}_$c]:-}" server_cpu_ms_per_upload || true)
			[[ -n $vc$pc ]] || continue
			printf '| multipart %s ×%s vs PHP | %s | %s | %s |\n' "${LABEL[$s]}" "$c" "${vc:--}" "${pc:--}" "$(calc "${vc:-0}" "${pc:-0}")"
		done
	done
	for s in 1m 10m; do
		for c in 8 64; do
			vc=$(kv "${R[cpu_tus_vg_${s}_$c]:-}" server_cpu_ms_per_upload || true)
			pc=$(kv "${R[cpu_tus_node_${s}_$c]:-}" server_cpu_ms_per_upload || true)
			[[ -n $vc$pc ]] || continue
			printf '| tus %s ×%s vs @tus/server | %s | %s | %s |\n' "${LABEL[$s]}" "$c" "${vc:--}" "${pc:--}" "$(calc "${vc:-0}" "${pc:-0}")"
		done
	done
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
	echo "| jobs/s, commit to done (instant stub) | ${jps:--} | ${probe:--} (raw claim+complete, batch $JOBS_BATCH, 8 processes) | $(calc "${jps:-0}" "${probe:-0}") | ≥ 0.80 | $(met "$(calc "${jps:-0}" "${probe:-0}")" '>=' 0.8) |"
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
	echo "## Raw"
	echo
	echo "Commands (from the repository, as ./dev bench ran them; \$B is var/bench):"
	echo
	echo '```'
	echo "dd if=/dev/zero of=\$B/dd.bin bs=1M count=$dd_mib conv=fsync"
	echo "\$B/bin/probe fsync \$B/fsync-probe $fs_secs {1,8} 65536"
	echo "\$B/bin/probe claim \$SOCKET bench_probe N 8 {1,$JOBS_BATCH}"
	echo "\$B/bin/loadgen multipart \$URL/v1/videos \$B/payloads/SIZE.mp4 -c {8,64} -n N -t $POINT_SECONDS -K \$B/keys -S 127.0.1"
	echo "\$B/bin/loadgen multipart http://127.0.0.1:$PHP_PORT/upload.php \$B/payloads/SIZE.mp4 -c {8,64} -n N -t $POINT_SECONDS -S 127.0.1 -H 'Authorization: Bearer …'"
	echo "\$B/bin/loadgen tus \$URL/v1/uploads \$B/payloads/SIZE.mp4 -c {8,64} -n N -t $POINT_SECONDS -K \$B/keys -S 127.0.1"
	echo "\$B/bin/loadgen tus http://127.0.0.1:$TUS_PORT/files \$B/payloads/SIZE.mp4 -c {8,64} -n N -t $POINT_SECONDS -S 127.0.1"
	echo "\$B/bin/loadgen {multipart,tus} {\$URL,http://127.0.0.1:\$((PORT + 1))}/v1/{videos,uploads} \$B/payloads/SIZE.mp4 -c 8 -n N -t $ab_secs -K \$B/keys -S 127.0.1   # the fronts, in turns"
	echo "bench/jobs.sh $jobs_n $jobs_m"
	echo '```'
	echo
	echo "Payload sizes in bytes: $(for s in "${SIZES[@]}"; do printf '%s=%s ' "$s" "${BYTES[$s]}"; done)(300m is 300 MiB − 64 KiB:"
	echo "with the multipart framing a whole 300 MiB would pass limits.max_upload_bytes)."
	echo "Requests per point: at most $(for s in "${SIZES[@]}"; do printf '%s=%s ' "$s" "${NREQ[$s]}"; done)or $POINT_SECONDS s, whichever"
	echo "comes first; 300 MiB: one upload per connection."
	echo
	echo '```'
	for key in dd fsync1 fsync8 claim1 "claim$JOBS_BATCH"; do
		printf '%s\n' "${R[$key]:-}"
	done
	for s in "${SIZES[@]}"; do
		for c in 8 64; do
			for key in "mp_vg_${s}_$c" "mp_php_${s}_$c"; do
				[[ -n ${R[$key]:-} ]] && printf '%-16s %s\n' "${key#mp_}" "${R[$key]}"
			done
		done
	done
	for s in 1m 10m; do
		for c in 8 64; do
			for key in "tus_vg_${s}_$c" "tus_node_${s}_$c"; do
				[[ -n ${R[$key]:-} ]] && printf '%-16s %s\n' "$key" "${R[$key]}"
			done
		done
	done
	for key in $(printf '%s\n' "${!R[@]}" | grep '^ab_' | sort); do
		printf '%-28s %s\n' "$key" "${R[$key]}"
	done
	steps_keys | while read -r key; do
		[[ -n ${R[$key]:-} ]] && printf '%-24s %s\n' "$key" "${R[$key]}"
	done
	for key in $(printf '%s\n' "${!R[@]}" | grep '^cpu_' | sort); do
		printf '%-24s %s\n' "$key" "${R[$key]}"
	done
	printf '%s\n' "${R[rss]:-}" "${R[jobs]:-}" "${R[latency]:-}" "${R[worker]:-}"
	echo '```'
}
