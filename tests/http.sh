#!/usr/bin/env bash
# The http service with real clients: curl for the routes, promtool for
# the metrics and the shipped Prometheus files, and a real Prometheus that
# scrapes primed under load and whose answers must agree with what
# primed-load sent. Skipped (77) only if curl or prometheus cannot be
# installed.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/.." && pwd)

# curl and prometheus (with promtool) from Debian, or skip the test.
need_packages curl=curl prometheus=prometheus promtool=prometheus \
    >/dev/null 2>&1 || true
command -v curl >/dev/null || { echo "SKIP: cannot install curl"; exit 77; }
command -v prometheus >/dev/null ||
    { echo "SKIP: cannot install prometheus"; exit 77; }
command -v promtool >/dev/null || { echo "SKIP: no promtool"; exit 77; }

start_server --workers 2 --threads 1 --listen http=127.0.0.1:0
http=$(awk '$1 == "http" { n = split($2, a, ":"); print a[n] }' "$tmp/port")
url="http://127.0.0.1:$http"

# The routes, through curl.
[ "$(curl -s "$url/prime/100000")" = '{"n":100000,"prime":1299709}' ] ||
    fail "GET /prime/100000"
[ "$(curl -s "$url/prime/100000?format=text")" = 1299709 ] ||
    fail "GET /prime/100000?format=text"
[ "$(curl -s -H 'Accept: text/plain' "$url/prime/10")" = 29 ] ||
    fail "GET /prime/10 with Accept: text/plain"
[ "$(curl -s -d 'hello' "$url/upper")" = HELLO ] || fail "POST /upper"
[ "$(curl -s -d 'hi there' "$url/echo")" = "hi there" ] || fail "POST /echo"
[ "$(curl -s "$url/healthz")" = ok ] || fail "GET /healthz"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$url/readyz")" = 200 ] || fail "GET /readyz"
[ "$(code "$url/nope")" = 404 ] || fail "404"
[ "$(code -X POST "$url/prime/1")" = 405 ] || fail "405"
[ "$(code "$url/prime/0")" = 400 ] || fail "400"
curl -s "$url/stats" | grep -q '"workers":2' || fail "GET /stats"
# HTTP/1.0 and keep-alive: two requests on one connection.
[ "$(curl -s -0 "$url/prime/2")" = '{"n":2,"prime":3}' ] || fail "HTTP/1.0"
curl -s -v "$url/prime/1" "$url/prime/2" 2>&1 |
    grep -q "Re-using existing connection" || fail "no keep-alive"

# promtool accepts the exposition, and the shipped config and rules.
curl -s "$url/metrics" >"$tmp/metrics.txt"
promtool check metrics <"$tmp/metrics.txt" >"$tmp/promtool.out" 2>&1 || {
	cat "$tmp/promtool.out"
	fail "promtool check metrics"
}
promtool check rules "$top/contrib/prometheus/primed.rules.yml" \
    >"$tmp/rules.out" 2>&1 || { cat "$tmp/rules.out"; fail "check rules"; }
sed "s|primed-1.example:8080|127.0.0.1:$http|" \
    "$top/contrib/prometheus/prometheus.yml" >"$tmp/prometheus.yml"
cp "$top/contrib/prometheus/primed.rules.yml" "$tmp/"
promtool check config "$tmp/prometheus.yml" >"$tmp/config.out" 2>&1 ||
    { cat "$tmp/config.out"; fail "promtool check config"; }

# A real Prometheus, scraping every second.
pport=$(free_port) || fail "no free port"
cat >"$tmp/scrape.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$tmp/primed.rules.yml"]
scrape_configs:
  - job_name: primed
    static_configs:
      - targets: ["127.0.0.1:$http"]
EOF
prometheus --config.file="$tmp/scrape.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$pport" >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
trap 'kill "$prom_pid" 2>/dev/null; wait "$prom_pid" 2>/dev/null; cleanup' EXIT

# query EXPR: the value of an instant query, or empty.
query() {
	curl -s --get --data-urlencode "query=$1" \
	    "http://127.0.0.1:$pport/api/v1/query" |
	    sed -n 's/.*"value":\[[0-9.]*,"\([^"]*\)"\].*/\1/p'
}

# wait_query EXPR TEST SECONDS: until awk's TEST holds for the value v.
wait_query() {
	local v
	for _ in $(seq 1 $(($3 * 4))); do
		v=$(query "$1")
		[ -n "$v" ] && awk -v v="$v" "BEGIN { exit !($2) }" && {
			echo "$v"
			return 0
		}
		sleep 0.25
	done
	echo "${v:-none}"
	return 1
}

wait_query 'up{job="primed"}' 'v == 1' 30 >/dev/null ||
    fail "Prometheus never scraped primed"
base=$(query 'sum(primed_requests_total{service="http",command="prime"})')
[ -n "$base" ] || fail "no primed_requests_total"
# Load: exactly N requests over about five seconds, then look.
n=20000
"$PRIMED_LOAD" --port "$http" --http /prime/1 -c 4 -n "$n" --rate 4000 -q \
    --json >"$tmp/load.json" || fail "primed-load failed"
[ "$(json_num "$tmp/load.json" completed)" = "$n" ] || fail "load incomplete"
total=$(wait_query 'sum(primed_requests_total{service="http",command="prime"})' \
    "v >= $base + $n" 20) ||
    fail "Prometheus saw $total requests, want $base + $n"
awk -v t="$total" -v b="$base" -v n="$n" 'BEGIN { exit !(t - b == n) }' ||
    fail "Prometheus counted $((${total%.*} - ${base%.*})), primed-load sent $n"
# The rate over the load's minute agrees with what was sent (the window
# holds all of it; increase() extrapolates a little at the edges).
inc=$(query 'sum(increase(primed_requests_total{service="http",command="prime"}[1m]))')
awk -v i="$inc" -v n="$n" 'BEGIN { exit !(i >= 0.7 * n && i <= 1.4 * n) }' ||
    fail "increase over 1m = $inc, sent $n"
# The server's median is within what the clients measured end to end.
q=$(query 'histogram_quantile(0.5, sum by (le) (rate(primed_request_duration_seconds_bucket{command="prime"}[1m])))')
p99=$(json_num "$tmp/load.json" p99)
awk -v q="$q" -v p="$p99" 'BEGIN { exit !(q > 0 && q <= p / 1e6 + 0.00005) }' ||
    fail "server median $q s, clients' p99 $p99 us"
# The recording rule of the shipped rules is evaluated.
wait_query 'primed:requests:rate1m' 'v >= 0' 20 >/dev/null ||
    fail "recording rule primed:requests:rate1m never evaluated"

stop_server
[ "$server_status" = 0 ] || fail "primed exited $server_status"
echo "1 passed, 0 failed (base $base, total $total, increase $inc, median ${q}s)"
