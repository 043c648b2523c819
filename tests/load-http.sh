#!/usr/bin/env bash
# primed-load --http against real servers: nginx (keep-alive, pipelining,
# chunked bodies, error statuses, a keep-alive limit that closes
# connections, POST bodies, one-shot and open loop, long requests), checked
# against nginx's own access log; Python's http.server for HTTP/1.0
# replies; and primed's line protocol as a server that does not speak
# HTTP. Skipped (exit 77) only when nginx is missing and cannot be
# installed.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

nginx_pid=""
py_pid=""

# find_nginx: the nginx binary, installed from Debian if need be.
find_nginx() {
	local n
	n=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null)
	if [ -z "$n" ] && [ "$(id -u)" -eq 0 ] &&
	    command -v apt-get >/dev/null; then
		flock /tmp/apt.lock env DEBIAN_FRONTEND=noninteractive \
		    apt-get install -y -qq nginx-light >/dev/null 2>&1
		n=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null)
	fi
	echo "$n"
}

# stop_pid PID: TERM, then KILL after 10 s.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 1000); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.01
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

trap 'stop_pid "$nginx_pid"; stop_pid "$py_pid"; cleanup' EXIT

# wait_port PORT PID: until something listens on PORT (PID still alive).
wait_port() {
	for _ in $(seq 1 500); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || fail "server on port $1 died"
		sleep 0.02
	done
	fail "nothing listens on port $1"
}

# run NAME ARGS...: primed-load, JSON in $tmp/NAME.json, exit status in rc
# (a sanitizer's report fails the test whatever the status).
run() {
	local name=$1
	shift
	"$PRIMED_LOAD" -q --json "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
	rc=$?
	if grep -qE "Sanitizer|runtime error:" "$tmp/$name.err"; then
		cat "$tmp/$name.err"
		fail "$name: a sanitizer reported an error"
	fi
}

# logged: requests in nginx's access log so far.
logged() {
	wc -l <"$ngx/access.log"
}

# status_count NAME CODE: the count of an HTTP status in a run's JSON.
status_count() {
	grep -o "\"http_status\":{[^}]*}" "$tmp/$1.json" |
	    grep -o "\"$2\":[0-9]*" | cut -d: -f2
}

NGINX=$(find_nginx)
if [ -z "$NGINX" ]; then
	echo "nginx is not installed and cannot be installed: skipped"
	exit 77
fi

p1=$(free_port) || fail "no free port"
p2=$(free_port) || fail "no free port"
[ "$p1" != "$p2" ] || p2=$((p1 + 1))
ngx="$tmp/nginx"
mkdir -p "$ngx"
chmod 0711 "$tmp"
cat >"$ngx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 1024; }
http {
	log_format conn '\$connection \$connection_requests \$status \$request';
	access_log $ngx/access.log conn;
	client_body_temp_path $ngx/body;
	proxy_temp_path $ngx/proxy;
	fastcgi_temp_path $ngx/fastcgi;
	uwsgi_temp_path $ngx/uwsgi;
	scgi_temp_path $ngx/scgi;
	default_type text/plain;
	server {
		listen 127.0.0.1:$p1;
		keepalive_requests 1000000;
		location = /prime/1 { return 200 "2\n"; }
		location = /busy { return 503 "busy\n"; }
		# SSI drops the length: the body goes chunked.
		location = /chunked { ssi on; ssi_types *; return 200 "2\n"; }
		# The body comes back: read by the proxy, sent as a header.
		location = /echo {
			client_body_in_single_buffer on;
			proxy_pass http://127.0.0.1:$p1/reflect;
			proxy_set_header X-Body \$request_body;
		}
		location = /reflect {
			access_log off;
			return 200 "\$http_x_body\n";
		}
	}
	server {
		listen 127.0.0.1:$p2;
		access_log $ngx/ka.log conn;
		keepalive_requests 10;
		location / { return 200 "2\n"; }
	}
}
EOF
"$NGINX" -p "$ngx" -e "$ngx/error.log" -c "$ngx/nginx.conf" \
    2>"$ngx/stderr.log" &
nginx_pid=$!
wait_port "$p1" "$nginx_pid"
wait_port "$p2" "$nginx_pid"
: >"$ngx/access.log"

# Keep-alive: every request reached nginx, on one connection per client.
run get --port "$p1" --http /prime/1 -c 10 -n 5000 --expect 2
[ "$rc" -eq 0 ] || fail "GET run failed: $(cat "$tmp/get.err")"
[ "$(json_num "$tmp/get.json" ok)" = 5000 ] || fail "GET: not 5000 ok"
[ "$(status_count get 200)" = 5000 ] || fail "GET: http_status 200 != 5000"
grep -q '"protocol":"http"' "$tmp/get.json" || fail "protocol is not http"
grep -q '"request":"GET /prime/1"' "$tmp/get.json" || fail "request not named"
[ "$(logged)" -eq 5000 ] || fail "nginx logged $(logged), not 5000"
conns=$(awk '{ print $1 }' "$ngx/access.log" | sort -u | wc -l)
[ "$conns" -eq 10 ] || fail "keep-alive: $conns connections, not 10"

# Pipelined: replies in order, all good.
run pipe --port "$p1" --http /prime/1 -c 4 --pipeline 16 -n 20000 --expect 2
[ "$rc" -eq 0 ] || fail "pipelined run failed"
[ "$(json_num "$tmp/pipe.json" ok)" = 20000 ] || fail "pipelined: not 20000 ok"
[ "$(logged)" -eq 25000 ] || fail "nginx logged $(logged), not 25000"

# Chunked bodies (nginx really sends them so).
exec 3<>"/dev/tcp/127.0.0.1/$p1"
printf 'GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
grep -qi '^transfer-encoding: chunked' <&3 || fail "nginx did not chunk"
exec 3<&-
run chunked --port "$p1" --http /chunked -c 4 --pipeline 4 -n 2000 --expect 2
[ "$rc" -eq 0 ] || fail "chunked run failed"
[ "$(json_num "$tmp/chunked.json" ok)" = 2000 ] || fail "chunked: not 2000 ok"

# A 503 is an error reply, counted by code; it fails the run only if asked.
run busy --port "$p1" --http /busy -c 2 -n 100
[ "$rc" -eq 0 ] || fail "err_reply alone should not fail the run"
grep -q '"err_reply":100' "$tmp/busy.json" || fail "503 not an err_reply"
[ "$(status_count busy 503)" = 100 ] || fail "http_status 503 != 100"
run busy2 --port "$p1" --http /busy -c 1 -n 10 --fail-on-err-reply
[ "$rc" -eq 1 ] || fail "--fail-on-err-reply did not fail"

# The server closes every 10th request: what was in flight goes again.
run ka --port "$p2" --http /x -c 4 --pipeline 4 -n 2000 --expect 2
[ "$rc" -eq 0 ] || fail "keep-alive limit: run failed: $(cat "$tmp/ka.json")"
[ "$(json_num "$tmp/ka.json" ok)" = 2000 ] ||
    fail "keep-alive limit: not 2000 ok"
grep -q '"errors":{}' "$tmp/ka.json" || fail "keep-alive limit: errors"
[ "$(json_num "$tmp/ka.json" retried)" -gt 0 ] ||
    fail "keep-alive limit: nothing was sent again"
max=$(awk '{ if ($2 > m) m = $2 } END { print m }' "$ngx/ka.log")
[ "$max" -eq 10 ] || fail "nginx served $max requests on one connection"
run ka1 --port "$p2" --http /x -c 2 -n 1000 --expect 2
[ "$rc" -eq 0 ] || fail "keep-alive limit, no pipeline: run failed"
[ "$(json_num "$tmp/ka1.json" retried)" = 0 ] ||
    fail "nothing in flight at the close, yet something was sent again"

# POST: the body goes out and comes back.
run post --port "$p1" --http-post /echo --request hello -c 2 -n 200 \
    --expect hello
[ "$rc" -eq 0 ] || fail "POST run failed"
[ "$(json_num "$tmp/post.json" ok)" = 200 ] || fail "POST: not 200 ok"
grep -q '"body":"hello"' "$tmp/post.json" || fail "POST body not reported"
run post2 --port "$p1" --http-post /echo --request hello -c 1 -n 20 \
    --expect world
[ "$rc" -eq 1 ] || fail "a mismatched body did not fail the run"
grep -q '"mismatch":20' "$tmp/post2.json" || fail "mismatches not counted"

# One shot: Connection: close, one request per connection.
before=$(logged)
run once --port "$p1" --http /prime/1 --oneshot -c 50 --expect 2
[ "$rc" -eq 0 ] || fail "oneshot run failed"
[ "$(json_num "$tmp/once.json" ok)" = 50 ] || fail "oneshot: not 50 ok"
ones=$(tail -n +"$((before + 1))" "$ngx/access.log" | awk '$2 == 1' | wc -l)
[ "$ones" -eq 50 ] || fail "oneshot: $ones first requests of a connection"

# Open loop with long requests (paths) on the side.
run open --port "$p1" --http /prime/1 --rate 2000 -c 10 -d 1 --expect 2 \
    --long /chunked --long-connections 1
[ "$rc" -eq 0 ] || fail "open loop run failed: $(cat "$tmp/open.json")"
[ "$(json_num "$tmp/open.json" completed)" = 2000 ] || fail "open: not 2000"
[ "$(json_num "$tmp/open.json" long_completed)" -gt 0 ] ||
    fail "no long request completed"
grep -q '"long_request":"GET /chunked"' "$tmp/open.json" ||
    fail "long request not named"
grep -q '"long_http_status":{"200":' "$tmp/open.json" ||
    fail "long statuses not counted"
grep -q '"cpu_s":[0-9]' "$tmp/open.json" || fail "cpu_s missing"
grep -q '"cpu_us_per_request":[0-9]' "$tmp/open.json" ||
    fail "cpu_us_per_request missing"
[ "$(json_num "$tmp/open.json" tick_us)" -gt 0 ] || fail "no tick"

# Usage errors.
for bad in "--http prime/1" "--http /a --raw" "--http /a --crlf" \
    "--http /a --request x" "--http /a --http-post /b" \
    "--http /a --long nopath" "--tick 100"; do
	# shellcheck disable=SC2086
	"$PRIMED_LOAD" --port "$p1" $bad -n 1 >/dev/null 2>&1
	[ $? -eq 2 ] || fail "not a usage error: $bad"
done

# HTTP/1.0 replies, the connection closed after each (Python's server).
if command -v python3 >/dev/null &&
    python3 -c 'import http.server' 2>/dev/null; then
	p3=$(free_port) || fail "no free port"
	mkdir -p "$tmp/www"
	printf '2\n' >"$tmp/www/two"
	python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$p3" \
	    >"$tmp/py.log" 2>&1 &
	py_pid=$!
	wait_port "$p3" "$py_pid"
	run py --port "$p3" --http /two -c 1 --pipeline 2 -n 40 --expect 2
	[ "$rc" -eq 0 ] || fail "HTTP/1.0 run failed: $(cat "$tmp/py.json")"
	[ "$(json_num "$tmp/py.json" ok)" = 40 ] || fail "HTTP/1.0: not 40 ok"
	grep -q '"errors":{}' "$tmp/py.json" || fail "HTTP/1.0: errors"
	[ "$(json_num "$tmp/py.json" retried)" -gt 0 ] ||
	    fail "HTTP/1.0: the second of two was never sent again"
	stop_pid "$py_pid"
	py_pid=""
else
	echo "python3 missing: HTTP/1.0 part skipped"
fi

# A server that does not speak HTTP: malformed, and the run fails.
start_server --workers 1
run nothttp --port "$port" --http /prime/1 -c 1 -n 5 --timeout 2000
[ "$rc" -eq 1 ] || fail "a line server passed for HTTP"
grep -q '"malformed":' "$tmp/nothttp.json" || fail "malformed not counted"
stop_server

stop_pid "$nginx_pid"
nginx_pid=""
grep -E '\[(emerg|alert|crit)\]' "$ngx/error.log" "$ngx/stderr.log" &&
    fail "nginx complained"
echo "1 passed, 0 failed"
