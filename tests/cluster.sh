#!/usr/bin/env bash
# Three primed instances behind a real HAProxy with the shipped
# configuration, and a short drill under line-protocol and HTTP load: a
# kill -9 of one instance (started again), then a rolling restart with
# the drain. The targets, on the counts: no HTTP client errors (HAProxy
# retries), no line-protocol errors through the drain, at most one per
# connection the killed instance held; HAProxy took each instance out and
# put it back. Times only within generous bounds. Skipped (77) only if
# haproxy cannot be installed.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$(dirname "$PRIMED")" && pwd)
out=$tmp/cluster

need_packages haproxy=haproxy >/dev/null 2>&1 || true
command -v haproxy >/dev/null || { echo "SKIP: cannot install haproxy"; exit 77; }

# The shipped configuration, as it is.
haproxy -c -f "$top/contrib/haproxy/primed.cfg" >"$tmp/check.out" 2>&1 ||
    { cat "$tmp/check.out"; fail "haproxy -c refuses contrib/haproxy/primed.cfg"; }

PRIMED_BUILD=$build "$top/scripts/cluster" --quick --events kill,rolling \
    --no-throughput --out "$out" >"$tmp/drill.out" 2>&1 || {
	tail -n 30 "$tmp/drill.out"
	fail "scripts/cluster exited $?"
}
for f in "$out"/instances/*.log; do
	if sanitizer_report "$f"; then
		cat "$f"
		fail "a sanitizer reported an error in $f"
	fi
done

# The files: the report with its tables, the per-second CSV, the plot.
r=$out/report.md
grep -q '^## Targets' "$r" || fail "no targets in the report"
grep -q '^| phase | window (s) |' "$r" || fail "no per-event table"
[ "$(head -n 1 "$out/backends.csv")" = "t,primed1_line,primed1_http,primed2_line,primed2_http,primed3_line,primed3_http" ] ||
    fail "backends.csv: bad header"
awk -F, 'NR > 1 && (NF != 7 || $1 !~ /^[0-9]+$/) { bad = 1 }
    END { exit bad || NR < 15 }' "$out/backends.csv" || fail "backends.csv: bad rows"
# Every instance served both protocols at some second.
for c in 2 3 4 5 6 7; do
	awk -F, -v c="$c" 'NR > 1 && $c > 0 { ok = 1 } END { exit !ok }' \
	    "$out/backends.csv" || fail "backends.csv: column $c never served"
done
if command -v gnuplot >/dev/null; then
	[ "$(head -c 4 "$out/cluster.png" | od -An -c | tr -d ' ')" = "211PNG" ] ||
	    fail "cluster.png is not a PNG"
fi

# num FILE KEY: a top-level number of primed-load's JSON summary.
num() {
	json_num "$1" "$2"
}

# The clients' counts, per phase.
for ph in kill rolling; do
	for proto in line http; do
		f=$out/load-$ph-$proto.json
		[ -s "$f" ] || fail "no summary of the $ph phase over $proto"
		[ "$(num "$f" completed)" -gt 100 ] ||
		    fail "$ph/$proto: too little completed: $(cat "$f")"
	done
	[ "$(num "$out/load-$ph-http.json" errors_total)" = 0 ] ||
	    fail "$ph: HTTP client errors: $(cat "$out/load-$ph-http.json")"
	[ "$(num "$out/load-$ph-http.json" lost)" = 0 ] ||
	    fail "$ph: HTTP requests lost: $(cat "$out/load-$ph-http.json")"
done
[ "$(num "$out/load-rolling-line.json" errors_total)" = 0 ] ||
    fail "rolling restart: line errors: $(cat "$out/load-rolling-line.json")"
held=$(awk -F, '$2 == "held" && $3 == 1 { print $4; exit }' "$out/events.csv")
[ -n "$held" ] || fail "no count of the killed instance's connections"
e=$(num "$out/load-kill-line.json" errors_total)
[ "$e" -le "$held" ] ||
    fail "kill -9: $e line errors, more than the $held connections it held"

# ev NAME INSTANCE: when the first such event happened (ms).
ev() {
	awk -F, -v e="$1" -v i="$2" '$2 == e && $3 == i { print $1; exit }' \
	    "$out/events.csv"
}

# marked BACKEND SERVER STATE FROM TO: did HAProxy mark the server STATE
# between FROM and TO (ms)?
marked() {
	awk -F, -v b="$1" -v s="$2" -v st="$3" -v a="$4" -v z="$5" '
	$2 == b && $3 == s && $4 == st && $1 >= a && $1 <= z { ok = 1 }
	END { exit !ok }' "$out/transitions.csv"
}

# The killed instance: out within 10 s, back within 10 s of accepting.
kill_ms=$(ev kill 1)
back_ms=$(ev accepting 1)
if [ -z "$kill_ms" ] || [ -z "$back_ms" ]; then
	fail "no kill or restart in events.csv"
fi
for b in primed_line primed_http; do
	marked "$b" primed1 DOWN "$kill_ms" $((kill_ms + 10000)) ||
	    fail "$b: primed1 not marked down within 10 s of kill -9"
	marked "$b" primed1 UP "$back_ms" $((back_ms + 10000)) ||
	    fail "$b: primed1 not marked up within 10 s of its restart"
done
# The rolling restart: each instance out after its SIGTERM and before it
# was started again, and every one stopped with status 0.
for i in 1 2 3; do
	term=$(awk -F, -v i="$i" '$2 == "term" && $3 == i { print $1; exit }' "$out/events.csv")
	start=$(awk -F, -v i="$i" -v a="${term:-0}" '$2 == "start" && $3 == i && $1 >= a { print $1; exit }' "$out/events.csv")
	if [ -z "$term" ] || [ -z "$start" ]; then
		fail "primed$i: no SIGTERM or start again"
	fi
	for b in primed_line primed_http; do
		marked "$b" "primed$i" DOWN "$term" "$start" ||
		    fail "$b: primed$i not out of rotation before it stopped"
	done
	[ "$(awk -F, -v i="$i" '$2 == "gone" && $3 == i { print $4; exit }' "$out/events.csv")" = 0 ] ||
	    fail "primed$i: SIGTERM did not end it with status 0"
done
grep -q '^| every server UP in HAProxy at the end | met |' "$r" ||
    fail "not every server UP at the end"

echo "1 passed, 0 failed (kill -9: $e line errors for $held connections held)"
