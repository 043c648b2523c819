#!/usr/bin/env bash
# primed-load against a real primed: its counts match the server's STATS,
# and --raw, --oneshot and --pipeline work.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# stat KEY: a counter from the server's STATS.
stat() {
	ask STATS | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}

start_server --workers 2 --threads 1 \
    --listen upper=127.0.0.1:0 --listen prime=127.0.0.1:0,framing=raw
upper_port=$(awk '$1 == "upper" { n = split($2, a, ":"); print a[n] }' "$tmp/port")
# The raw prime listener: the port file names each listener's framing.
raw_port=$(awk '$1 == "prime" && $3 == "framing=raw" { n = split($2, a, ":"); print a[n] }' "$tmp/port")

# Exactly 5000 requests: the server answered exactly that many more.
before=$(stat requests)
"$PRIMED_LOAD" --port "$port" -c 10 -n 5000 -q --expect 29 \
    --request 'PRIME 10' --json >"$tmp/a.json" || fail "closed loop run failed"
after=$(stat requests)
[ "$(json_num "$tmp/a.json" completed)" = 5000 ] || fail "completed != 5000"
# The two STATS requests of this script are counted too.
[ $((after - before)) -eq 5001 ] ||
    fail "server answered $((after - before)), not 5001"

# Pipelined: replies still in order, all of them good.
"$PRIMED_LOAD" --port "$port" -c 4 --pipeline 16 -n 20000 -q --expect 29 \
    --request 'PRIME 10' --json >"$tmp/p.json" || fail "pipelined run failed"
[ "$(json_num "$tmp/p.json" ok)" = 20000 ] || fail "pipelined: not 20000 ok"

# Raw framing, as the lesson's plain clients do it, on a listener of its own.
"$PRIMED_LOAD" --port "$raw_port" --raw -c 5 -n 1000 -q --request 1 --expect 2 \
    --json >"$tmp/r.json" || fail "raw run failed"
[ "$(json_num "$tmp/r.json" ok)" = 1000 ] || fail "raw: not 1000 ok"

# One-shot connections to the upper service: 300 waits of 100 ms overlap.
"$PRIMED_LOAD" --port "$upper_port" --oneshot -c 300 -q --request hello \
    --expect HELLO --json >"$tmp/o.json" || fail "oneshot run failed"
[ "$(json_num "$tmp/o.json" ok)" = 300 ] || fail "oneshot: not 300 ok"
wall=$(json_num "$tmp/o.json" wall_s)
awk -v w="$wall" 'BEGIN { exit !(w > 0.09 && w < 10) }' ||
    fail "oneshot wall time $wall s"

# A server error reply is counted as such, and exits 1 only when asked.
"$PRIMED_LOAD" --port "$port" -c 1 -n 10 -q --request 'PRIME 0' --json \
    >"$tmp/e.json" || fail "err_reply alone should not fail the run"
grep -q '"err_reply":10' "$tmp/e.json" || fail "err_reply not counted"
if "$PRIMED_LOAD" --port "$port" -c 1 -n 10 -q --request 'PRIME 0' \
    --fail-on-err-reply >/dev/null 2>&1; then
	fail "--fail-on-err-reply did not fail"
fi
stop_server
echo "1 passed, 0 failed"
