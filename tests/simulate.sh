#!/usr/bin/env bash
# The quick simulation runs and writes well-formed results: CSV columns,
# non-empty PNGs, and the report's tables; then again with the lesson's
# raw clients, which a listener with framing=raw answers without error,
# and over HTTP. The prime table counts the requests that timed out, and
# its p99 after the long request with them. The pool scenario's files,
# and those of its many long clients, are checked, and that every job,
# sliced or not, got the right answer; its timings are not (they depend
# on the machine).
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$(dirname "$PRIMED")" && pwd)
out=$tmp

# check_prime DIR: the prime scenario's files in DIR, and the lesson: the
# inline strategy stalls (under half its rate, a second with nothing
# answered), the pool does not (a fifth of its rate or more, at most one
# such second and fewer than inline: not more, as other tests, or a
# sanitizer, may share the cores).
check_prime() {
	local s f
	for s in inline threads processes; do
		f="$1/prime-$s.csv"
		[ -s "$f" ] || fail "$f missing"
		[ "$(head -n 1 "$f")" = "t,completed,errors,rps,p50_us,p99_us,long_completed" ] ||
		    fail "$f: bad header"
		awk -F, 'NR > 1 && (NF != 7 || $1 !~ /^[0-9]+$/) { bad = 1 }
		    END { exit bad || NR < 4 }' "$f" || fail "$f: bad rows"
	done
	is_png "$1/throughput.png"
	grep -q '^| strategy |' "$1/report.md" || fail "no prime table"
	grep -q '^| inline |' "$1/report.md" || fail "no inline row"
	awk -F'|' '$2 ~ /^ inline / { i = $6 < 0.5 && $9 >= 1; si = $9 }
	    $2 ~ /^ threads / { t = $6 >= 0.2 && $9 <= 1; st = $9 }
	    END { exit !(i && t && st < si) }' "$1/report.md" ||
	    fail "inline does not stall or threads do: $(grep -E '^\| (inline|threads) ' "$1/report.md")"
	# The stalled loop's clients time out: the table says how many, and
	# the p99 after the long request is then the timeout, 5 s.
	grep -q '^| strategy .*| errors | timeouts |$' "$1/report.md" ||
	    fail "no errors and timeouts in the prime table"
	awk -F'|' '$2 ~ /^ inline / { ok = $12 + 0 >= 1 && $8 + 0 == 5000 }
	    END { exit !ok }' "$1/report.md" ||
	    fail "inline timeouts not counted: $(grep -E '^\| inline ' "$1/report.md")"
}

# no_errors DIR NAME: where the loop is free (threads, processes), every
# short request in DIR was answered right.
no_errors() {
	local s
	for s in threads processes; do
		grep -q '"errors_total":0,' "$1/prime-$s.json" ||
		    fail "$2 $s: errors $(cat "$1/prime-$s.json")"
	done
}

# is_png FILE: FILE is a non-empty PNG.
is_png() {
	[ -s "$1" ] || fail "no plot $1"
	[ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "211PNG" ] ||
	    fail "$1 is not a PNG"
}

# check_pool DIR: the pool scenario's files: a CSV and a JSON per order
# and class, each class answered at least once and never wrongly, the
# table with its six rows, the fifo/cost summary, the plot.
check_pool() {
	local o c f
	for o in fifo cost; do
		for c in small medium long; do
			f="$1/pool-$o-$c.csv"
			[ "$(head -n 1 "$f")" = "t,completed,errors,rps,p50_us,p99_us,long_completed" ] ||
			    fail "$f: bad header"
			f="$1/pool-$o-$c.json"
			[ "$(json_num "$f" completed)" -gt 0 ] ||
			    fail "$o $c: nothing completed: $(cat "$f")"
			grep -q '"mismatch"' "$f" && fail "$o $c: wrong answers: $(cat "$f")"
			grep -q "^| $o | $c | " "$1/report.md" || fail "no $o $c row"
		done
		grep -q '"jobs_small":' "$1/pool-$o-stats.json" ||
		    fail "$o: no STATS: $(cat "$1/pool-$o-stats.json")"
	done
	grep -q '^| long | completion time' "$1/report.md" || fail "no pool summary"
	is_png "$1/pool.png"
}

# check_clients DIR: the pool scenario's many long clients: the cheap
# jobs alone, and beside 20 long clients under each order, each answered
# and never wrongly, with long jobs done beside them; the table, the plot.
check_clients() {
	local f row
	for f in clients-0-cost clients-20-fifo clients-20-cost; do
		[ "$(head -n 1 "$1/$f.csv")" = "t,completed,errors,rps,p50_us,p99_us,long_completed" ] ||
		    fail "$f.csv: bad header"
		[ "$(json_num "$1/$f.json" completed)" -gt 0 ] ||
		    fail "$f: nothing completed: $(cat "$1/$f.json")"
		grep -q '"mismatch"' "$1/$f.json" &&
		    fail "$f: wrong answers: $(cat "$1/$f.json")"
	done
	for f in clients-20-fifo clients-20-cost; do
		[ "$(json_num "$1/$f.json" long_completed)" -gt 0 ] ||
		    fail "$f: no long job done: $(cat "$1/$f.json")"
	done
	for row in '0 (alone) | cost' '20 | fifo' '20 | cost'; do
		grep -qF "| $row |" "$1/report.md" || fail "no clients row $row"
	done
	is_png "$1/pool-clients.png"
}

PRIMED_BUILD=$build "$top/scripts/simulate" --quick --out "$out/line" ||
    fail "scripts/simulate --quick exited $?"
check_prime "$out/line"
grep -q '^| io |' "$out/line/report.md" || fail "no io table"
grep -q '^| timer |' "$out/line/report.md" || fail "no timer row"
check_pool "$out/line"
check_clients "$out/line"

PRIMED_BUILD=$build "$top/scripts/simulate" --quick --raw --scenario prime \
    --out "$out/raw" || fail "scripts/simulate --quick --raw exited $?"
check_prime "$out/raw"
grep -q 'without a line end' "$out/raw/report.md" || fail "raw clients not said"
# Every "1" sent without a line end came back "2".
no_errors "$out/raw" raw
PRIMED_BUILD=$build "$top/scripts/simulate" --quick --protocol http \
    --scenario prime --out "$out/http" ||
    fail "scripts/simulate --quick --protocol http exited $?"
check_prime "$out/http"
grep -q 'GET /prime/1000000' "$out/http/report.md" || fail "HTTP not said"
no_errors "$out/http" http
echo "3 passed, 0 failed"
