#!/usr/bin/env bash
# The quick simulation runs and writes well-formed results: CSV columns,
# a non-empty PNG, and the report's tables; then again with the lesson's
# raw clients, which a listener with framing=raw answers without error.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$(dirname "$PRIMED")" && pwd)
out=$tmp

# check_prime DIR: the prime scenario's files in DIR, and the lesson: the
# inline strategy stalls (under half its rate, a second with nothing
# answered), the pool does not (no such second, a fifth of its rate or
# more: not more, as other tests may share the cores).
check_prime() {
	local s f png
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
	awk -F'|' '$2 ~ /^ inline / { i = $6 < 0.5 && $9 >= 1 }
	    $2 ~ /^ threads / { t = $6 >= 0.2 && $9 == 0 }
	    END { exit !(i && t) }' "$1/report.md" ||
	    fail "inline does not stall or threads do: $(grep -E '^\| (inline|threads) ' "$1/report.md")"
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
