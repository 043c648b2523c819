#!/bin/sh
# Command line and config file errors: a clear message and the documented
# exit status (64 for the command line, 78 for a config file).
set -u
PRIMED=${PRIMED:-./primed}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0

# expect STATUS PATTERN ARGS...: primed ARGS exits STATUS, stderr+stdout match.
expect() {
	want=$1; pat=$2; shift 2
	"$PRIMED" "$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ] || ! grep -q -- "$pat" "$tmp/out"; then
		echo "FAIL: primed $* -> $got (want $want, /$pat/):"
		sed 's/^/    /' "$tmp/out"
		fails=$((fails + 1))
	else
		passes=$((passes + 1))
	fi
}

expect 0 "[Uu]sage" --help
expect 0 "primed " --version
expect 64 "workers" --workers abc
expect 64 "workers" --workers 0
expect 64 "compute" --compute gpu
expect 64 "kernel" --kernel fast
expect 64 "listen" --listen nonsense
expect 64 "unrecognized\|unknown" --no-such-option
expect 64 "." stray-argument
expect 78 "." --config "$tmp/missing.conf"

printf 'workers = 2\nwrokers = 3\n' >"$tmp/bad.conf"
expect 78 "bad.conf:2" --config "$tmp/bad.conf"
printf '# ok\nworkers = 2\nlisten = prime=127.0.0.1:0\n' >"$tmp/good.conf"
expect 0 "configuration ok" --config "$tmp/good.conf" --check-config
printf 'max-n = -5\n' >"$tmp/neg.conf"
expect 78 "neg.conf:1" --config "$tmp/neg.conf"

# Listeners are compared by the address they resolve to, not as written.
expect 78 "bind the same address" --check-config \
    --listen prime=127.0.0.1:7070 --listen echo=0.0.0.0:7070
expect 0 "configuration ok" --check-config \
    --listen prime=127.0.0.1:0 --listen prime=127.0.0.1:0,framing=raw
expect 78 "no such user" --check-config --user no-such-user-here
# A framing that cannot apply, or given twice, is refused, not ignored.
expect 64 "framing=raw does not apply to http" --check-config \
    --listen http=127.0.0.1:0,framing=raw
expect 64 "framing given twice" --check-config \
    --listen prime=127.0.0.1:0,framing=raw,framing=line
printf 'listen = prime=127.0.0.1:0,framing=line,framing=raw\n' >"$tmp/twice.conf"
expect 78 "twice.conf:1: listen: framing given twice" --check-config \
    --config "$tmp/twice.conf"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
