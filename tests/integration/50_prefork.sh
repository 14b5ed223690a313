#!/usr/bin/env bash
# 50_prefork: the vingest-fcgi master keeps http.processes children, replaces
# one that dies, and a child streams a 50 MiB upload in bounded memory.
. "$(dirname "$0")/lib.sh"

master=$(tr -dc '0-9' <"$VINGEST_FCGI_PID_FILE" 2>/dev/null)
if [[ -z $master ]] || ! kill -0 "$master" 2>/dev/null; then
	t_fail "vingest-fcgi master is running" "pid file: $VINGEST_FCGI_PID_FILE"
	t_done
fi
want=${VINGEST_HTTP_PROCESSES:-$(awk -F' *= *' '/^\[/{s=$0} s=="[http]" && $1=="processes"{print $2}' "$VINGEST_CONFIG")}
want=${want:-16} # not in the file: the shipped default
want=${want:-4}

children() { pgrep -P "$master" | sort -n; }

# Children may still be starting right after ./dev up: give them a moment.
for ((i = 0; i < 50; i++)); do
	[[ $(children | wc -l) == "$want" ]] && break
	sleep 0.1
done
before=$(children)
t_eq "master has http.processes ($want) children" "$(grep -c . <<<"$before")" "$want"

# --- a child killed with SIGKILL is replaced

victim=$(head -n 1 <<<"$before")
kill -KILL "$victim"
replaced=0
for ((i = 0; i < 50; i++)); do
	now=$(children)
	if [[ $(grep -c . <<<"$now") == "$want" ]] && ! grep -qx "$victim" <<<"$now"; then
		replaced=1
		break
	fi
	sleep 0.1
done
t_eq "a SIGKILLed child is replaced within 5 s" "$replaced" 1
t_eq "the master survives a child's death" "$(kill -0 "$master" 2>/dev/null && echo alive)" alive
for _ in 1 2 3 4 5 6; do
	api POST /v1/videos -F "file=@$FIX/clip-2s.mp4"
	[[ $API_STATUS == 201 ]] || break
done
t_eq "uploads keep working after the replacement (6 in a row answer 201)" "$API_STATUS" 201

# --- memory: a 50 MiB upload must stream, not be buffered in a child

# /proc/PID/status fields in kB, read with builtins only so that sampling
# every 50 ms stays cheap. VmHWM is the kernel's high-water mark of the RSS:
# a peak between two samples is not missed.
status_kb() { # status_kb PID FIELD
	local k v _
	while read -r k v _; do
		[[ $k == "$2:" ]] && {
			printf '%s\n' "$v"
			return 0
		}
	done <"/proc/$1/status" 2>/dev/null
	return 1
}
rss_kb() { status_kb "$1" VmRSS; }
hwm_kb() { status_kb "$1" VmHWM; }
# The master's children, cheaply (falls back to pgrep).
kids() {
	local f=/proc/$master/task/$master/children pids
	if [[ -r $f ]]; then
		read -ra pids <"$f"
		printf '%s\n' "${pids[@]}"
	else
		children
	fi
}

big=$T_TMP/big-50MiB.mp4
make_mp4 $((50 * 1024 * 1024)) "$big"
big_sha=$(sha256sum "$big" | cut -d' ' -f1)

declare -A idle peak hwm0
for p in $(children); do
	idle[$p]=$(rss_kb "$p")
	peak[$p]=${idle[$p]}
	hwm0[$p]=$(hwm_kb "$p")
done

sample() {
	local p r
	for p in $(kids); do
		r=$(rss_kb "$p") || continue
		[[ -n $r ]] || continue
		[[ -n ${idle[$p]:-} ]] || idle[$p]=$r # a child born during the upload
		((r > ${peak[$p]:-0})) && peak[$p]=$r
	done
}

API_STATUS=
(
	api POST /v1/videos -F "file=@$big"
	printf '%s\n' "$API_STATUS" >"$T_TMP/big.status"
	cp "$API_BODY" "$T_TMP/big.body"
) &
curl_pid=$!
samples=0
t0=$(date +%s%N)
while kill -0 "$curl_pid" 2>/dev/null; do
	sample
	samples=$((samples + 1))
	sleep 0.05
done
printf '# 50 MiB upload took %s ms; RSS sampled %s times meanwhile\n' \
	$((($(date +%s%N) - t0) / 1000000)) "$samples"
wait "$curl_pid"
for ((i = 0; i < 10; i++)); do # and for a moment after the answer
	sample
	sleep 0.05
done

status=$(cat "$T_TMP/big.status" 2>/dev/null)
t_eq "50 MiB upload answers 201" "$status" 201
[[ $status == 201 ]] || head -c 300 "$T_TMP/big.body" | sed 's/^/#   body: /'
t_eq "50 MiB upload: answer sha256 matches the file" "$(json .sha256 "$T_TMP/big.body")" "$big_sha"

worst=0
for p in "${!peak[@]}"; do
	inc=$((peak[$p] - idle[$p]))
	hwm=$(hwm_kb "$p")
	hwm_inc=0
	[[ -n ${hwm0[$p]:-} && -n $hwm ]] && hwm_inc=$((hwm - hwm0[$p]))
	printf '# rss pid=%s idle=%skB peak=%skB increase=%skB; VmHWM before=%skB after=%skB increase=%skB\n' \
		"$p" "${idle[$p]}" "${peak[$p]}" "$inc" "${hwm0[$p]:-?}" "${hwm:-?}" "$hwm_inc"
	((inc > worst)) && worst=$inc
	((hwm_inc > worst)) && worst=$hwm_inc
done
printf '# rss worst increase during a 50 MiB upload (sampled VmRSS or VmHWM): %s kB\n' "$worst"
if [[ $STORE_BACKEND == db && $(cat "$VINGEST_VAR/build-dir" 2>/dev/null) == */build-asan ]]; then
	# The db store hands each 1 MiB chunk to the client library, which
	# allocates and frees a request buffer per chunk; ASan's quarantine keeps
	# every freed block (up to 256 MiB), so on that build the RSS grows with
	# the object whatever the code does. The 8 MiB bound is checked in the
	# full run's db pass, on the plain build; here (about 1.2 times the
	# object measured), that it is not held whole twice.
	t_lt "no child's RSS grows by twice the upload's size (ASan build, db store)" "$worst" $((2 * 50 * 1024))
else
	t_lt "no child's RSS grows by 8 MiB or more during a 50 MiB upload" "$worst" 8192
fi
rm -f -- "$big"

t_done
