#!/usr/bin/env bash
# A 20-second soak runs and writes well-formed results: the report with
# its verdict, the CSV of the samples, the PNG, the load's summaries, and
# the reloads and kills it was asked for. The server's verdict on what
# grows is the soak's to give; this test holds it only to what it surely
# meets: the master survives, still answers and stops cleanly.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$(dirname "$PRIMED")" && pwd)
out=$tmp/soak

PRIMED_BUILD=$build "$top/scripts/soak" --seconds 20 --reload-every 5 \
    --kill-every 8 --out "$out"
status=$?
r="$out/report.md"
[ -s "$r" ] || fail "no report (exit status $status)"
sed -n '/^## Verdict/,/^Verdict:/p' "$r"
case "$status" in
0) grep -qx 'Verdict: PASS' "$r" || fail "exit 0 without 'Verdict: PASS'" ;;
1) grep -qx 'Verdict: FAIL' "$r" || fail "exit 1 without 'Verdict: FAIL'" ;;
*) fail "scripts/soak exited $status" ;;
esac
grep -q '^- pass: the master ran throughout and still answers' "$r" ||
    fail "the master did not survive the soak"
grep -q '^- pass: SIGTERM stops it with exit status 0' "$r" ||
    fail "the master did not stop cleanly"

# One row a second, idle before, under load and settling after.
s="$out/samples.csv"
[ "$(head -n 1 "$s")" = "t,phase,workers,workers_rss_kib,workers_fds,master_rss_kib,master_fds,connections_open,jobs_queued,jobs_running" ] ||
    fail "samples.csv: bad header"
awk -F, 'NR > 1 && (NF != 10 || $1 !~ /^-?[0-9]+$/ ||
    $2 !~ /^(idle|load|settle)$/) { bad = 1 }
    NR > 1 && $2 == "load" { n++ }
    END { exit bad || n != 20 }' "$s" || fail "samples.csv: bad rows"
# The load reached the server: connections and jobs under load.
awk -F, '$2 == "load" && $8 > c { c = $8 } $2 == "load" && $10 > j { j = $10 }
    END { exit !(c > 5 && j > 0) }' "$s" ||
    fail "no connections or no jobs seen under load"
[ "$(head -n 1 "$out/workers.csv")" = "t,pid,rss_kib,fds" ] ||
    fail "workers.csv: bad header"
# Reloads at 5, 10 and 15 s and kills at 6 and 14 s replaced the workers.
[ "$(grep -c ',reload,' "$out/events.csv")" -eq 3 ] || fail "not 3 reloads"
[ "$(grep -c ',kill,' "$out/events.csv")" -eq 2 ] || fail "not 2 kills"
pids=$(awk -F, 'NR > 1 { print $2 }' "$out/workers.csv" | sort -u | wc -l)
[ "$pids" -gt 4 ] || fail "only $pids worker PIDs sampled"

png="$out/gauges.png"
[ -s "$png" ] || fail "no plot"
[ "$(head -c 4 "$png" | od -An -c | tr -d ' ')" = "211PNG" ] ||
    fail "plot is not a PNG"

# Every kind of client ran and was answered.
for f in pipelined raw jobs; do
	grep -q '"ok":[1-9]' "$out/load-$f.json" || fail "no $f request answered"
done
grep -q '"ok":[1-9]' "$out/load-upper.jsonl" || fail "no upper one-shot answered"
for k in reset_half reset_whole reset_raw never_read; do
	grep -q "\"$k\": [1-9]" "$out/load-misbehave.json" ||
	    fail "no $k client ran"
done
echo "1 passed, 0 failed"
