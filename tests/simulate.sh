#!/usr/bin/env bash
# The quick simulation runs and writes well-formed results: CSV columns,
# a non-empty PNG, and the report's tables.
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

PRIMED_BUILD=$build "$top/scripts/simulate" --quick --out "$out" ||
    fail "scripts/simulate --quick exited $?"
for s in inline threads processes; do
	f="$out/prime-$s.csv"
	[ -s "$f" ] || fail "$f missing"
	[ "$(head -n 1 "$f")" = "t,completed,errors,rps,p50_us,p99_us,long_completed" ] ||
	    fail "$f: bad header"
	awk -F, 'NR > 1 && (NF != 7 || $1 !~ /^[0-9]+$/) { bad = 1 }
	    END { exit bad || NR < 4 }' "$f" || fail "$f: bad rows"
done
png="$out/throughput.png"
[ -s "$png" ] || fail "no plot"
[ "$(head -c 4 "$png" | od -An -c | tr -d ' ')" = "211PNG" ] ||
    fail "plot is not a PNG"
grep -q '^| strategy |' "$out/report.md" || fail "no prime table"
grep -q '^| inline |' "$out/report.md" || fail "no inline row"
grep -q '^| io |' "$out/report.md" || fail "no io table"
grep -q '^| timer |' "$out/report.md" || fail "no timer row"
# The lesson itself: the inline strategy stalls, the pool does not.
inline=$(awk -F'|' '$2 ~ /inline/ { print $6 }' "$out/report.md")
threads=$(awk -F'|' '$2 ~ /threads/ { print $6 }' "$out/report.md")
awk -v i="$inline" -v t="$threads" 'BEGIN { exit !(i < 0.5 && t > 0.5) }' ||
    fail "retained: inline $inline, threads $threads"
echo "1 passed, 0 failed"
