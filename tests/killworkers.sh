#!/usr/bin/env bash
# kill -9 of a random worker every second for 5 s under 50 connections of
# PRIME 1: the port stays served, and the only requests lost are those in
# flight on a killed worker (at most one per connection per kill).
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

conns=50
start_server --workers 2 --threads 1
"$PRIMED_LOAD" --port "$port" -c "$conns" -d 7 -q --expect 2 --json \
    >"$tmp/load.json" 2>"$tmp/load.err" &
load=$!
sleep 1
kills=0
for _ in 1 2 3 4 5; do
	victim=$(workers | shuf -n 1)
	[ -n "$victim" ] && kill -KILL "$victim" && kills=$((kills + 1))
	sleep 1
done
wait "$load"
cat "$tmp/load.json"
echo
completed=$(json_num "$tmp/load.json" completed)
lost=$(json_num "$tmp/load.json" lost)
[ "${completed:-0}" -gt 1000 ] || fail "only $completed requests completed"
[ "${lost:-0}" -le $((kills * conns)) ] ||
    fail "$lost lost for $kills kills of $conns connections"
[ "$(ask 'PRIME 10')" = 29 ] || fail "not serving after the kills"
[ "$(workers | wc -l)" -eq 2 ] || fail "not 2 workers after the kills"
echo "killed $kills workers: lost $lost of $completed requests"
stop_server
[ "$server_status" = 0 ] || fail "exit status $server_status"
echo "1 passed, 0 failed"
