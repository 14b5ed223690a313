# shellcheck shell=bash
# tools/daemons.sh - the stack's processes by their pid files: whether one
# runs (running_pid), stopping one with SIGTERM then SIGKILL after a time-out
# (stop_pidfile), and starting a foreground daemon detached into its own
# session with its pid file and log (start_daemon). No systemd here: ./dev
# runs everything as root from var/, so a pid file is the whole bookkeeping.

# pid of a running process from a pid file, or nothing (exit 1).
running_pid() {
	local file=$1 pid
	[[ -f $file ]] || return 1
	pid=$(tr -dc '0-9' <"$file")
	[[ -n $pid ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# A process killed outright stays a zombie until its parent (here often
	# init, which may be slow) reaps it: it answers kill -0 but is gone.
	[[ $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) == Z* ]] && return 1
	printf '%s\n' "$pid"
}

# Sends SIGTERM to the process in a pid file, waits up to SECONDS for it to
# exit, then SIGKILLs it (and its process group when it leads one).
stop_pidfile() {
	local name=$1 file=$2 seconds=$3 pid i
	if ! pid=$(running_pid "$file"); then
		info "$name: not running"
		rm -f -- "$file"
		return 0
	fi
	printf '    %s: stopping (pid %s) ' "$name" "$pid"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < seconds * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		((i % 10 == 9)) && printf '.'
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		printf ' still alive after %ss, SIGKILL\n' "$seconds"
		if [[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]]; then
			kill -KILL -- "-$pid" 2>/dev/null || true
		else
			kill -KILL "$pid" 2>/dev/null || true
		fi
		sleep 0.2
	else
		printf 'stopped\n'
	fi
	rm -f -- "$file"
}

# Starts a daemon that stays in the foreground, with its pid file and log.
start_daemon() { # NAME PIDFILE LOG CMD...
	local name=$1 pidfile=$2 log=$3 pid
	shift 3
	printf '\n=== %s: ./dev up starts %s\n' "$(date -u +%FT%TZ)" "$name" >>"$log"
	setsid "$@" </dev/null >>"$log" 2>&1 &
	pid=$!
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$pidfile"
	sleep 0.3
	if ! kill -0 "$pid" 2>/dev/null; then
		tail_log "$log"
		rm -f -- "$pidfile"
		die "$name exited during start-up (log: $log)"
	fi
	info "$name: started (pid $pid)"
}
