#!/usr/bin/env bash
# bench/archive-report.sh - the "Archive" section of bench/RESULTS.md from
# what bench/archive.sh printed. bench/report.sh sources it (archive_section);
# run on its own it reads archive.sh's output on stdin and prints the section
# (for a run of archive.sh alone: bench/archive.sh N | bench/archive-report.sh).

# archive_section OUTPUT [NOTE]: the section; NOTE, if any, says how it was run.
archive_section() {
	local out=$1 note=${2:-} ph n load arch
	v() { grep -o "\\b$2=[^ ]*" <<<"$1" | head -n1 | cut -d= -f2; }
	n=$(v "$(grep '^load:' <<<"$out")" jobs)
	load=$(grep '^load:' <<<"$out")
	arch=$(grep '^archive:' <<<"$out")
	echo "## Archive: the claim and GET /v1/videos/{id} with ${n:-?} finished jobs"
	echo
	echo "bench/archive.sh ${n:-N}: the workers' claim statement (LIMIT 10, READ COMMITTED,"
	echo "rolled back; mean of a run in one client session, round trips included) and"
	echo "GET /v1/videos/{id} over HTTP (300 distinct finished videos a phase, one"
	echo "keep-alive connection, no status cache hit) with the live tables small, with"
	echo "${n:-N} finished jobs and their attempts loaded into them by SQL, and after the"
	echo "janitor moved those to jobs_archive (retention.archive_after_days = 30). In the"
	echo "last phase the GETs' jobs are archived: the answer comes through the archive"
	echo "fallback. The loaded jobs have no videos rows (the archive changes jobs, not"
	echo "videos). MariaDB's buffer pool is the dev stack's 256 MiB."
	[[ -z $note ]] || {
		echo
		echo "$note"
	}
	echo
	echo "| live tables | jobs rows | jobs MiB | claim, mean | GET p50 | GET p99 | GET mean |"
	echo "|---|---|---|---|---|---|---|"
	for ph in small loaded archived; do
		local line
		line=$(grep "^phase=$ph " <<<"$out" || true)
		[[ -n $line ]] || continue
		printf '| %s | %s | %s | %s ms | %s ms | %s ms | %s ms |\n' \
			"$(case $ph in small) echo "small (before the load)" ;; loaded) echo "${n:-N} finished jobs in them" ;; archived) echo "small again (archived)" ;; esac)" \
			"$(v "$line" live_jobs)" "$(v "$line" jobs_mib)" "$(v "$line" claim_ms)" \
			"$(v "$line" get_p50_ms)" "$(v "$line" get_p99_ms)" "$(v "$line" get_mean_ms)"
	done
	echo
	echo "Load by SQL: $(v "$load" jobs) jobs + $(v "$load" attempts) attempts in $(v "$load" seconds) s."
	echo "The janitor's archive: $(v "$arch" jobs) jobs + $(v "$arch" attempts) attempts in $(v "$arch" batches) batches,"
	echo "$(v "$arch" seconds) s wall ($(v "$arch" busy_ms) ms inside the passes), $(v "$arch" jobs_per_s) jobs/s."
	echo
	echo '```'
	grep -E '^(phase=|load:|archive:|recent:)' <<<"$out"
	echo '```'
	echo
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	archive_section "$(cat)" "${1:-}"
fi
