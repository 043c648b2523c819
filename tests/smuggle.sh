#!/usr/bin/env bash
# Request smuggling through HAProxy: one primed behind a real HAProxy with
# the shipped configuration's HTTP frontend and backend
# (contrib/haproxy/primed.cfg, its server line rewritten, without checks),
# and every input of tests/fuzz/corpus/hparse (the classic smuggling
# cases: CL.TE, TE.CL, obfuscated codings, doubled or signed lengths, bare
# CR or LF, folding, NUL, long lines; requests hidden in bodies) sent to
# HAProxy on a raw connection of its own, all at once. No request may be
# read two ways: primed takes exactly as many requests as HAProxy sent it,
# and no more of any route than HAProxy sent it for that route (so a
# request hidden in a body, such as the corpus's "GET /stats", is never
# taken unless HAProxy forwarded it as a request). Skipped (77) only if
# haproxy cannot be installed.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
corpus=$top/tests/fuzz/corpus/hparse

need_packages haproxy=haproxy python3=python3 >/dev/null 2>&1 || true
command -v haproxy >/dev/null || { echo "SKIP: cannot install haproxy"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }

hap_pid=""
# stop_all: HAProxy and primed, by PID; then the usual cleanup.
stop_all() {
	[ -z "$hap_pid" ] || stop_pid "$hap_pid" 5
	hap_pid=""
	cleanup
}
trap stop_all EXIT

start_server --workers 1 --threads 1 --listen http=127.0.0.1:0
http=$(primed_port_of http)
front=$(free_port) || fail "no free port"
sock=$(free_port) || fail "no free port"

# The shipped configuration's HTTP frontend and backend, on loopback, the
# log on stdout, one server without checks (a check would be a request
# HAProxy does not count as one).
awk -v http="$http" -v front="$front" -v sock="$sock" '
/^[a-z]/ { section = $1; name = $2 }
section == "frontend" && name != "http" { next }
section == "backend" && name != "primed_http" { next }
section == "global" && $1 ~ /^(chroot|user|group|daemon)$/ { next }
section == "global" && $1 == "log" {
	print "\tlog stdout format raw local0 info"; next
}
section == "global" && $1 == "stats" && $2 == "socket" {
	printf "\tstats socket ipv4@127.0.0.1:%s level admin\n", sock; next
}
section == "global" && $1 == "maxconn" { print "\tmaxconn 512"; next }
$1 == "bind" { printf "\tbind 127.0.0.1:%s\n", front; next }
$1 == "server" {
	if (!done) printf "\tserver primed1 127.0.0.1:%s\n", http
	done = 1; next
}
{ print }' "$top/contrib/haproxy/primed.cfg" >"$tmp/haproxy.cfg"
haproxy -c -q -f "$tmp/haproxy.cfg" >"$tmp/haproxy.check" 2>&1 ||
    { cat "$tmp/haproxy.check"; fail "haproxy -c refuses the configuration"; }
haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>"$tmp/haproxy.err" &
hap_pid=$!

# hap_cmd COMMAND: a command on HAProxy's stats socket, its answer.
hap_cmd() {
	# shellcheck disable=SC2016 # the inner shell expands it
	timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
	    printf "%s\n" "$2" >&3 && cat <&3' hap "$sock" "$1" 2>/dev/null ||
	    true
}

# hap_sent: the requests HAProxy sent to primed (the server's req_tot).
hap_sent() {
	hap_cmd "show stat" | awk -F, '
	NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) c[$i] = i; next }
	$1 == "primed_http" && $2 == "primed1" { print $c["req_tot"] + 0 }'
}

for _ in $(seq 1 100); do
	[ -n "$(hap_sent)" ] && break
	alive "$hap_pid" || break
	sleep 0.05
done
[ -n "$(hap_sent)" ] || { cat "$tmp/haproxy.err"; fail "HAProxy did not start"; }

# Every input on its own connection, all at once; each read until HAProxy
# closes it or sends nothing for 2 s, 8 s at most.
cat >"$tmp/send.py" <<'EOF'
import os, socket, sys, threading, time

port, corpus = int(sys.argv[1]), sys.argv[2]
names = sorted(n for n in os.listdir(corpus) if not n.startswith("README"))
got = {}

def send(name):
    data = open(os.path.join(corpus, name), "rb").read()
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    reply, end = b"", time.monotonic() + 8
    try:
        s.sendall(data)
        while time.monotonic() < end:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    except OSError:
        pass
    s.close()
    got[name] = reply

threads = [threading.Thread(target=send, args=(n,)) for n in names]
for t in threads:
    t.start()
for t in threads:
    t.join()
for n in names:
    first = got.get(n, b"").split(b"\r\n", 1)[0].decode("latin-1")
    print("%s %d %s" % (n, got.get(n, b"").count(b"HTTP/1.1 "), first))
EOF
timeout 20 python3 "$tmp/send.py" "$front" "$corpus" >"$tmp/replies" ||
    fail "the client did not finish"
[ "$(wc -l <"$tmp/replies")" -eq "$(find "$corpus" -type f | wc -l)" ] ||
    fail "not every input was sent"

# HAProxy logs each request when it ends; wait for the log to hold as
# many sent to primed as its counter says (5 s at most).
sent=$(hap_sent)
for _ in $(seq 1 100); do
	[ "$(grep -c ' primed_http/primed1 ' "$tmp/haproxy.log")" -ge "$sent" ] &&
	    break
	sleep 0.05
done

# routes: for each request line of HAProxy's log on stdin, the command
# primed counts a request for its path as.
routes() {
	awk '{
		if (match($0, /"[A-Z]+ [^ "]*/) == 0) next
		split(substr($0, RSTART + 1, RLENGTH - 1), r, " ")
		p = r[2]; sub(/^[a-zA-Z]+:\/\/[^\/?]*/, "", p); sub(/\?.*/, "", p)
		if (p ~ /^\/prime\//) print "prime"
		else if (p == "/echo") print "echo"
		else if (p == "/upper") print "upper"
		else if (p == "/healthz" || p == "/readyz") print "ping"
		else if (p == "/stats" || p == "/metrics") print "stats"
		else print "other"
	}'
}
grep ' primed_http/primed1 ' "$tmp/haproxy.log" | routes >"$tmp/hap-routes"

# primed's view, from one STATS on the line port (which counts itself).
stats=$(ask STATS) || fail "no STATS"
num() {
	echo "$stats" | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}
# Requests count when taken, answered or not: all but the STATS.
took=-1
for n in $(echo "$stats" | sed 's/.*"commands":{\([^}]*\)}.*/\1/' |
    tr ',' '\n' | cut -d: -f2); do
	took=$((took + n))
done

[ "$sent" -ge 40 ] ||
    fail "HAProxy sent primed only $sent requests: $(cat "$tmp/replies")"
[ "$took" -eq "$sent" ] || {
	sed 's/^/  haproxy: /' "$tmp/haproxy.log" | tail -n 40
	fail "primed took $took HTTP requests, HAProxy sent $sent"
}
for c in prime echo upper ping stats; do
	want=$(grep -c "^$c\$" "$tmp/hap-routes")
	have=$(num "$c")
	[ "$c" != stats ] || have=$((have - 1))
	[ "$have" -le "$want" ] || {
		sed 's/^/  haproxy: /' "$tmp/haproxy.log" | tail -n 40
		fail "primed took $have $c requests, HAProxy sent $want"
	}
done
stop_server
[ "$server_status" = 0 ] || fail "primed exited $server_status"
echo "1 passed, 0 failed ($(wc -l <"$tmp/replies") inputs; HAProxy sent" \
    "$sent requests, primed took $took)"
