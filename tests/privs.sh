#!/usr/bin/env bash
# Started as root with --user, the master stays root and every worker runs
# as that user (all its ids, no other group, no way back). So a reload can
# bind a port below 1024, fork more workers and rewrite the port file, and
# every listening socket belongs to root, where no process of that user
# can join its SO_REUSEPORT group. A worker whose master dies stops.
# Skipped (exit 77) when not root or the user is missing.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "no user nobody: skipped"; exit 77; }
uid=$(id -u nobody)
gid=$(id -g nobody)

# status_ids PID: "uids/gids/groups" as /proc tells them.
status_ids() {
	awk '/^Uid:/ { u = $2 "," $3 "," $4 "," $5 }
	    /^Gid:/ { g = $2 "," $3 "," $4 "," $5 }
	    /^Groups:/ { $1 = ""; gr = $0 }
	    END { print u "/" g "/" gr }' "/proc/$1/status"
}

# expect_ids: the master is root, each worker is nobody through and through.
expect_ids() {
	local pid got
	got=$(status_ids "$server_pid")
	[ "${got%%/*}" = "0,0,0,0" ] || fail "master runs as $got"
	for pid in $(workers); do
		got=$(status_ids "$pid")
		[ "$got" = "$uid,$uid,$uid,$uid/$gid,$gid,$gid,$gid/ $gid" ] ||
		    fail "worker $pid runs as $got"
	done
}

# socket_owners PORT: the owners (uid) of the listening sockets on PORT.
socket_owners() {
	local hex
	printf -v hex '%04X' "$1"
	awk -v p=":$hex" '$2 ~ p "$" && $4 == "0A" { print $8 }' \
	    /proc/net/tcp | sort -u
}

# low_port: a loopback port below 1024 that no socket uses.
low_port() {
	local p hex
	for p in $(shuf -i 600-1023); do
		printf -v hex '%04X' "$p"
		grep -q ":$hex " /proc/net/tcp /proc/net/tcp6 || { echo "$p"; return 0; }
	done
	return 1
}

# wait_for COMMAND...: true once COMMAND is, within 10 s.
wait_for() {
	for _ in $(seq 1 500); do
		"$@" && return 0
		sleep 0.02
	done
	return 1
}

nworkers() {
	[ "$(workers | wc -l)" -eq "$1" ]
}

conf="$tmp/primed.conf"
printf 'workers = 2\nuser = nobody\nlisten = prime=127.0.0.1:0\n' >"$conf"
"$PRIMED" --config "$conf" --port-file "$tmp/port" --log-level info \
    2>>"$tmp/server.log" >/dev/null &
server_pid=$!
wait_for test -s "$tmp/port" || fail "primed did not start"
port=$(awk 'NR == 1 { n = split($2, a, ":"); print a[n] }' "$tmp/port")
primed_port=$port	# for ask
expect_ids
[ "$(ask 'PRIME 10')" = 29 ] || fail "not serving as nobody"
[ "$(socket_owners "$port")" = 0 ] || fail "sockets owned by $(socket_owners "$port")"

# A reload that needs the privilege: a port below 1024 and more workers.
low=$(low_port) || fail "no free port below 1024"
printf 'workers = 3\nuser = nobody\nlisten = prime=127.0.0.1:0\nlisten = echo=127.0.0.1:%s\n' \
    "$low" >"$conf"
kill -HUP "$server_pid"
wait_for grep -q "echo 127.0.0.1:$low" "$tmp/port" ||
    fail "port file not rewritten with the new listener"
wait_for nworkers 3 || fail "not 3 workers after the reload"
expect_ids
[ "$(ask 'PRIME 10')" = 29 ] || fail "not serving after the reload"
exec 3<>"/dev/tcp/127.0.0.1/$low" || fail "not listening on $low"
printf 'ping\n' >&3
IFS= read -r -t 5 echoed <&3
exec 3<&-
[ "$echoed" = ping ] || fail "echo on $low said \"$echoed\""
[ "$(socket_owners "$low")" = 0 ] || fail "new sockets owned by $(socket_owners "$low")"
[ "$(socket_owners "$port")" = 0 ] || fail "sockets owned by $(socket_owners "$port")"

# The master dies: its workers, no longer root, still follow it.
pids=$(workers)
kill -KILL "$server_pid"
# (bash would report the kill on stderr)
exec 4>&2 2>/dev/null
wait "$server_pid"
exec 2>&4 4>&-
server_pid=""
gone() {
	local pid
	for pid in $pids; do kill -0 "$pid" 2>/dev/null && return 1; done
	return 0
}
wait_for gone || fail "workers outlived their master: $pids"
echo "1 passed, 0 failed"
