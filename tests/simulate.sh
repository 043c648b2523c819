#!/usr/bin/env bash
# The quick simulation runs and writes well-formed results: CSV columns,
# a non-empty PNG, and the report's tables; then again with the lesson's
# raw clients, which a listener with framing=raw answers without error.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/primed-sim.XXXXXX")
trap 'rm -rf "$out"' EXIT
build=$(dirname "${PRIMED:-./primed}")
build=$(cd "$build" && pwd)

fail() {
	echo "FAIL: $*"
	exit 1
}

# check_prime DIR: the prime scenario's files in DIR, and the lesson: the
# inline strategy stalls, the pool does not.
check_prime() {
	local s f png inline threads
	for s in inline threads processes; do
		f="$1/prime-$s.csv"
		[ -s "$f" ] || fail "$f missing"
		[ "$(head -n 1 "$f")" = "t,completed,errors,rps,p50_us,p99_us,long_completed" ] ||
		    fail "$f: bad header"
		awk -F, 'NR > 1 && (NF != 7 || $1 !~ /^[0-9]+$/) { bad = 1 }
		    END { exit bad || NR < 4 }' "$f" || fail "$f: bad rows"
	done
	png="$1/throughput.png"
	[ -s "$png" ] || fail "no plot"
	[ "$(head -c 4 "$png" | od -An -c | tr -d ' ')" = "211PNG" ] ||
	    fail "plot is not a PNG"
	grep -q '^| strategy |' "$1/report.md" || fail "no prime table"
	grep -q '^| inline |' "$1/report.md" || fail "no inline row"
	inline=$(awk -F'|' '$2 ~ /inline/ { print $6 }' "$1/report.md")
	threads=$(awk -F'|' '$2 ~ /threads/ { print $6 }' "$1/report.md")
	awk -v i="$inline" -v t="$threads" 'BEGIN { exit !(i < 0.5 && t > 0.5) }' ||
	    fail "retained: inline $inline, threads $threads"
}

PRIMED_BUILD=$build "$top/scripts/simulate" --quick --out "$out/line" ||
    fail "scripts/simulate --quick exited $?"
check_prime "$out/line"
grep -q '^| io |' "$out/line/report.md" || fail "no io table"
grep -q '^| timer |' "$out/line/report.md" || fail "no timer row"

PRIMED_BUILD=$build "$top/scripts/simulate" --quick --raw --scenario prime \
    --out "$out/raw" || fail "scripts/simulate --quick --raw exited $?"
check_prime "$out/raw"
grep -q 'without a line end' "$out/raw/report.md" || fail "raw clients not said"
# Where the loop is free, every "1" sent without a line end came back "2".
for s in threads processes; do
	grep -q '"errors_total":0,' "$out/raw/prime-$s.json" ||
	    fail "raw $s: errors $(cat "$out/raw/prime-$s.json")"
done
echo "2 passed, 0 failed"
