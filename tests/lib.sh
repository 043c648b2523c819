# Shared by the shell tests: start a real primed on port 0, stop it by PID.
# shellcheck shell=bash

PRIMED=${PRIMED:-./primed}
PRIMED_LOAD=${PRIMED_LOAD:-./primed-load}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/primed-test.XXXXXX")
server_pid=""
server_status=""
port=""
export tmp port server_pid server_status

# start_server ARGS...: primed on 127.0.0.1 port 0; sets $server_pid, $port.
start_server() {
	"$PRIMED" --listen prime=127.0.0.1:0 --port-file "$tmp/port" \
	    --log-level warn "$@" 2>>"$tmp/server.log" &
	server_pid=$!
	for _ in $(seq 1 500); do
		[ -s "$tmp/port" ] && break
		kill -0 "$server_pid" 2>/dev/null || fail "primed did not start"
		sleep 0.02
	done
	[ -s "$tmp/port" ] || fail "primed did not write its port file"
	port=$(awk 'NR == 1 { n = split($2, a, ":"); print a[n] }' "$tmp/port")
}

# stop_server: TERM, then KILL after 15 s; sets $server_status.
stop_server() {
	[ -n "$server_pid" ] || return 0
	kill -TERM "$server_pid" 2>/dev/null
	for _ in $(seq 1 1500); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.01
	done
	kill -KILL "$server_pid" 2>/dev/null
	wait "$server_pid"
	server_status=$?
	server_pid=""
	# A worker that aborts is respawned: only its log tells.
	if grep -qE "Sanitizer|runtime error:" "$tmp/server.log" 2>/dev/null; then
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
	pgrep -P "$server_pid" | sort
}

# ask REQUEST [PORT]: one request on a fresh connection (to the server's
# first port unless told), its reply on stdout. A subshell, because a
# failed `exec` redirection ends the shell that runs it.
ask() (
	exec 3<>"/dev/tcp/127.0.0.1/${2:-$port}" || exit 1
	printf '%s\n' "$1" >&3
	IFS= read -r -t 5 reply <&3
	printf '%s\n' "$reply"
)

# free_port: a loopback TCP port no socket holds now (listening, connected
# or in TIME_WAIT), below the kernel's ephemeral range, where the client
# sockets of tests running alongside cannot take it between this check
# and the bind.
free_port() {
	local lo used p hex
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 12000 ] || lo=32768
	used=" $(awk 'NR > 1 { split($2, a, ":"); print a[2] }' \
	    /proc/net/tcp /proc/net/tcp6 | tr '\n' ' ')"
	for _ in $(seq 1 200); do
		p=$((10000 + RANDOM % (lo - 10000)))
		printf -v hex '%04X' "$p"
		case "$used" in *" $hex "*) continue ;; esac
		echo "$p"
		return 0
	done
	return 1
}

# json_num FILE KEY: a top-level number from primed-load's JSON.
json_num() {
	grep -o "\"$2\":[0-9.]*" "$1" | head -n 1 | cut -d: -f2
}
