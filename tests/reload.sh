#!/usr/bin/env bash
# Zero-loss reload: 50 connections of PRIME 1 while the master gets five
# SIGHUPs a second apart. The client loses and fails nothing, every reload
# replaces the workers, and the server still serves at the end.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_server --workers 2 --threads 1
"$PRIMED_LOAD" --port "$port" -c 50 -d 7 -q --expect 2 --json \
    >"$tmp/load.json" 2>"$tmp/load.err" &
load=$!
sleep 1
# replaced: true when the workers are 2 new ones, none of $before.
replaced() {
	local after
	after=$(workers)
	[ "$(echo "$after" | wc -l)" -eq 2 ] &&
	    [ -z "$(comm -12 <(echo "$before") <(echo "$after"))" ]
}
for i in 1 2 3 4 5; do
	before=$(workers)
	kill -HUP "$server_pid"
	for _ in $(seq 1 500); do replaced && break; sleep 0.02; done
	replaced || fail "reload $i did not replace the workers"
	sleep 1
done
wait "$load"
rc=$?
cat "$tmp/load.json"
echo
[ "$rc" -eq 0 ] || fail "primed-load exited $rc"
completed=$(json_num "$tmp/load.json" completed)
lost=$(json_num "$tmp/load.json" lost)
errors=$(json_num "$tmp/load.json" errors_total)
[ "${completed:-0}" -gt 1000 ] || fail "only $completed requests completed"
[ "$lost" = 0 ] || fail "$lost requests lost"
[ "$errors" = 0 ] || fail "$errors failed requests"
[ "$(ask 'PRIME 10')" = 29 ] || fail "not serving after the reloads"
[ "$(workers | wc -l)" -eq 2 ] || fail "not 2 workers after the reloads"
stop_server
[ "$server_status" = 0 ] || fail "exit status $server_status"
echo "1 passed, 0 failed"
