#!/usr/bin/env bash
# SIGHUP re-reads the config file: a new listener starts serving and a
# removed one stops; a broken file is logged and the running config stays.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

a=$(free_port) || fail "no free port"
b=$a
while [ "$b" = "$a" ]; do b=$(free_port) || fail "no free port"; done
conf="$tmp/primed.conf"
printf 'workers = 2\nlisten = prime=127.0.0.1:%s\n' "$a" >"$conf"
# The CLI gives no --listen, so the file's listeners count.
"$PRIMED" --config "$conf" --port-file "$tmp/port" --log-level info \
    2>>"$tmp/server.log" >/dev/null &
server_pid=$!
for _ in $(seq 1 500); do [ -s "$tmp/port" ] && break; sleep 0.02; done
[ "$(ask 'PRIME 10' "$a")" = 29 ] || fail "not serving on $a"

# Move to port b: b serves, a stops once the old workers are gone.
printf 'workers = 2\nlisten = prime=127.0.0.1:%s\n' "$b" >"$conf"
kill -HUP "$server_pid"
for _ in $(seq 1 300); do
	[ "$(ask 'PRIME 10' "$b" 2>/dev/null)" = 29 ] && break
	sleep 0.02
done
[ "$(ask 'PRIME 10' "$b")" = 29 ] || fail "not serving on $b after reload"
for _ in $(seq 1 300); do
	ask PING "$a" >/dev/null 2>&1 || break
	sleep 0.02
done
ask PING "$a" >/dev/null 2>&1 && fail "still listening on $a"
grep -q "prime 127.0.0.1:$b" "$tmp/port" || fail "port file not updated"

# A broken file: logged, and the running configuration keeps serving.
before=$(workers)
printf 'workers = 2\nwrokers = 3\n' >"$conf"
kill -HUP "$server_pid"
for _ in $(seq 1 500); do
	grep -q "primed.conf:2" "$tmp/server.log" && break
	sleep 0.02
done
grep -q "primed.conf:2" "$tmp/server.log" || fail "bad config not logged"
[ "$(workers)" = "$before" ] || fail "workers replaced on a bad config"
[ "$(ask 'PRIME 10' "$b")" = 29 ] || fail "not serving after a bad reload"
stop_server
[ "$server_status" = 0 ] || fail "exit status $server_status"
echo "1 passed, 0 failed"
