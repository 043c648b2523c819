# Shared by the shell tests: start a real primed on port 0, stop it by PID
# (the starting and stopping are scripts/lib.sh's, shared with scripts/).
# shellcheck shell=bash

PRIMED=${PRIMED:-./primed}
PRIMED_LOAD=${PRIMED_LOAD:-./primed-load}
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/primed-test.XXXXXX")
server_pid=""
server_status=""
port=""
export tmp port server_pid server_status

# start_server ARGS...: primed on 127.0.0.1 port 0; sets $server_pid, $port.
start_server() {
	primed_spawn "$tmp/server.log" "$tmp/port" \
	    --listen prime=127.0.0.1:0 "$@"
	server_pid=$primed_pid
	primed_ready || fail "$primed_error"
	port=$primed_port
}

# stop_server: TERM, then KILL after 15 s; sets $server_status.
stop_server() {
	[ -n "$server_pid" ] || return 0
	stop_pid "$server_pid" 15
	server_status=$stopped_status
	server_pid=""
	if sanitizer_report "$tmp/server.log"; then
		cat "$tmp/server.log"
		echo "FAIL: a sanitizer reported an error"
		exit 1
	fi
}

cleanup() {
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	[ -f "$tmp/server.log" ] && sed 's/^/  server: /' "$tmp/server.log" | tail -n 20
	exit 1
}

# workers: the pids of the server's worker processes.
workers() {
	child_pids "$server_pid"
}

# json_num FILE KEY: a top-level number from primed-load's JSON.
json_num() {
	grep -o "\"$2\":[0-9.]*" "$1" | head -n 1 | cut -d: -f2
}
