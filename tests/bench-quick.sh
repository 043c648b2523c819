#!/usr/bin/env bash
# scripts/bench --quick shows its targets without judging them (its runs
# are too short to); a full run judges them. The functions that file,
# print and tabulate the checks are taken from the script itself.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

bench="${srcdir:-.}/scripts/bench"
funcs=$(sed -n '/^fmt() {/,/^}/p; /^compare() {/,/^}/p;
    /^absolute() {/,/^}/p; /^add_check() {/,/^}/p; /^table() {/,/^}/p' \
    "$bench")
for f in fmt compare absolute add_check table; do
	grep -q "^$f() {" <<<"$funcs" || fail "no function $f in $bench"
done
eval "$funcs"
checks="$tmp/checks.tsv"
fails="$tmp/fails.tsv"
: >"$fails"

# judge QUICK: three checks (one missed, one met, one absolute missed)
# printed and tabulated as bench does with --quick=QUICK.
judge() {
	# shellcheck disable=SC2034 # read by the functions of scripts/bench
	quick=$1
	: >"$checks"
	{
		compare 1 "requests/s" 100 200 ge 1.0
		compare 1 "p99 (ms)" 1 2 le 1.0
		absolute 6 "RSS per connection (B)" 3000 2048 B
		table
	} >"$tmp/out.$1"
}

judge no
[ "$(grep -c 'met no$' "$tmp/out.no")" = 2 ] || fail "full run: not judged"
grep -q 'met yes$' "$tmp/out.no" || fail "full run: no met target"
[ "$(grep -c '| no |$' "$tmp/out.no")" = 2 ] || fail "full run: table"

judge yes
if grep -Eq 'met (yes|no)$|\| (yes|no) \|$' "$tmp/out.yes"; then
	cat "$tmp/out.yes"
	fail "--quick judged a target"
fi
[ "$(grep -c 'met not judged$' "$tmp/out.yes")" = 3 ] ||
    fail "--quick: targets not shown as not judged"
[ "$(grep -c '| not judged |$' "$tmp/out.yes")" = 3 ] ||
    fail "--quick: table"
grep -q '≥ 1.0×' "$tmp/out.yes" || fail "--quick: the target is not shown"
echo "1 passed, 0 failed"
