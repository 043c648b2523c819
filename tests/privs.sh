#!/usr/bin/env bash
# Started as root with --user, the master binds, then every process runs
# as that user. Skipped (exit 77) when not root or the user is missing.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "no user nobody: skipped"; exit 77; }
chmod 0777 "$tmp"
start_server --workers 2 --user nobody
uid=$(id -u nobody)
for pid in "$server_pid" $(workers); do
	got=$(awk '/^Uid:/ { print $2 "," $3 "," $4 "," $5 }' "/proc/$pid/status")
	[ "$got" = "$uid,$uid,$uid,$uid" ] || fail "pid $pid runs as $got"
done
[ "$(ask 'PRIME 10')" = 29 ] || fail "not serving as nobody"
stop_server
[ "$server_status" = 0 ] || fail "exit status $server_status"
echo "1 passed, 0 failed"
