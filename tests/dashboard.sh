#!/usr/bin/env bash
# The status page (GET /) in a real headless Chromium: primed with two
# workers computing on their loops (--compute inline --kernel trial),
# primed-load sending PRIMEs at a steady rate, and tests/dashboard.py
# loading the page through HAProxy in front of this server and a second
# one (the page must get its data through the proxy and keep the two
# apart; left out, and said so, without haproxy), then from the server
# itself: what it shows against /stats, then one worker stalled by a
# PRIME that takes hours, which the page must name while the other goes
# on. Screenshots through the proxy, before and during the stall go to
# tests/dashboard.out/ (with Chromium's log); DASHBOARD_PNG=FILE
# copies the stall's there too (docs/dashboard.png is made so). Skipped
# (77) only when Chromium or python3 is missing and cannot be installed.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

need_packages chromium=chromium python3=python3 haproxy=haproxy \
    >/dev/null 2>&1 || true
chromium=$(command -v chromium || command -v chromium-browser) ||
    { echo "SKIP: no chromium (Debian's chromium) and cannot install it"; exit 77; }
command -v python3 >/dev/null ||
    { echo "SKIP: no python3 and cannot install it"; exit 77; }
# The Debian launcher is a script; the protocol pipe wants the browser.
[ -x /usr/lib/chromium/chromium ] && chromium=/usr/lib/chromium/chromium

out=${DASHBOARD_OUT:-tests/dashboard.out}
rm -rf "$out"
mkdir -p "$out" || fail "cannot make $out"
out=$(cd "$out" && pwd)

load_pid=""
py_pid=""
hap_pid=""
second_pid=""
# Everything, by PID: Chromium runs in a process group of its own, killed
# whole; the load's report is not wanted (it would wait for the replies
# the stalled worker owes), so it is killed too.
stop_all() {
	local pgid
	[ -z "$py_pid" ] || stop_pid "$py_pid" 5
	if [ -s "$out/chromium.pid" ]; then
		pgid=$(cat "$out/chromium.pid")
		kill -KILL -- "-$pgid" 2>/dev/null || true
	fi
	if [ -n "$load_pid" ]; then
		kill -KILL "$load_pid" 2>/dev/null
		wait "$load_pid" 2>/dev/null
	fi
	[ -z "$hap_pid" ] || stop_pid "$hap_pid" 5
	[ -z "$second_pid" ] || stop_pid "$second_pid" 15
	hap_pid=""
	second_pid=""
	stop_server
	load_pid=""
	py_pid=""
	rm -rf "$out/profile"
}
trap 'stop_all; cleanup' EXIT

# The stalled worker cannot take a SIGTERM: the master kills it after 1 s.
start_server --workers 2 --compute inline --kernel trial \
    --shutdown-timeout 1 --listen http=127.0.0.1:0
http=$(primed_port_of http)
[ -n "$http" ] || fail "no http port"

# A steady open-loop load, spread over 16 connections (so over both
# workers); bounded in time, stopped by PID.
"$PRIMED_LOAD" --port "$port" -c 16 --rate 200 -d 90 --request "PRIME 20" \
    --timeout 60000 -q >"$out/load.log" 2>&1 &
load_pid=$!

# HAProxy in front of this server and a second one, as in
# contrib/haproxy/primed.cfg's HTTP backend: least connections, a request
# whose client gives up dropped, keep-alive on both sides.
proxy=""
if command -v haproxy >/dev/null; then
	primed_spawn "$out/second.log" "$out/second.port" --workers 1 \
	    --listen http=127.0.0.1:0
	second_pid=$primed_pid
	primed_ready || fail "the second server: $primed_error"
	http2=$(primed_port_of http)
	proxy=$(free_port) || fail "no free port"
	cat >"$out/haproxy.cfg" <<EOF
defaults
	mode http
	timeout connect 2s
	timeout client 30s
	timeout server 310s
	timeout http-request 10s
frontend page
	bind 127.0.0.1:$proxy
	default_backend primed_http
backend primed_http
	balance leastconn
	option abortonclose
	retry-on all-retryable-errors
	server primed1 127.0.0.1:$http
	server primed2 127.0.0.1:$http2
EOF
	haproxy -db -f "$out/haproxy.cfg" >"$out/haproxy.log" 2>&1 &
	hap_pid=$!
	for _ in $(seq 1 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$proxy") 2>/dev/null && break
		alive "$hap_pid" || { cat "$out/haproxy.log"; fail "haproxy died"; }
		sleep 0.05
	done
else
	echo "no haproxy: the page is not tried through a proxy"
fi

# A picture for people gets a history to show.
[ -z "${DASHBOARD_PNG:-}" ] || export DASHBOARD_HISTORY=${DASHBOARD_HISTORY:-20}
# shellcheck disable=SC2086 # no proxy: no argument
python3 "$here/dashboard.py" "$chromium" "$http" "$port" "$out" $proxy &
py_pid=$!
wait "$py_pid"
rc=$?
py_pid=""
[ "$rc" -eq 0 ] || {
	grep -E "CONSOLE|Content Security Policy" "$out/chromium.log" | tail -n 5
	fail "the page in Chromium (exit $rc); see $out"
}
# Chromium's own log too: the page writes nothing to its console, so any
# line of it (an error, a refusal by the policy) is a fault.
if grep -E "CONSOLE|Content Security Policy|Uncaught" "$out/chromium.log"
then
	fail "Chromium logged messages of the page"
fi
for f in before.png stall.png; do
	[ -s "$out/$f" ] || fail "no screenshot $f"
done
! sanitizer_report "$out/second.log" || fail "a sanitizer report in second.log"
[ -z "${DASHBOARD_PNG:-}" ] || cp "$out/stall.png" "$DASHBOARD_PNG" ||
    fail "cannot copy to $DASHBOARD_PNG"
stop_all
echo "PASS: the status page; screenshots in $out"
