#!/usr/bin/env bash
# configure's --enable-sanitizers: alone it means AddressSanitizer and
# UBSan, =thread ThreadSanitizer, and thread with address is refused; the
# choice reaches the command that compiles each object.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# The configure runs below are this test's own, not part of the make
# running it.
unset MAKEFLAGS MFLAGS MAKELEVEL
make -s distdir distdir="$tmp/src" >"$tmp/distdir.log" 2>&1 ||
    { cat "$tmp/distdir.log"; fail "make distdir"; }
mkdir "$tmp/build" || fail "mkdir"
cd "$tmp/build" || fail "no $tmp/build"

# compiles ARGS...: configure with ARGS, then print how src/log.o would be
# compiled; 1 if configure fails (its output in $tmp/configure.log).
compiles() {
	"$tmp/src/configure" -q "$@" >"$tmp/configure.log" 2>&1 || return 1
	make -n V=1 src/log.o
}

compiles --enable-sanitizers >"$tmp/yes" || fail "--enable-sanitizers"
grep -q -- "-fsanitize=address,undefined " "$tmp/yes" ||
    { cat "$tmp/yes"; fail "--enable-sanitizers: not address,undefined"; }

compiles --enable-sanitizers=thread >"$tmp/thread" ||
    fail "--enable-sanitizers=thread"
grep -q -- "-fsanitize=thread " "$tmp/thread" ||
    { cat "$tmp/thread"; fail "--enable-sanitizers=thread: no -fsanitize=thread"; }

if compiles --enable-sanitizers=thread,address >/dev/null; then
	fail "configure took thread with address"
fi
grep -q "thread cannot be combined with address" "$tmp/configure.log" ||
    { cat "$tmp/configure.log"; fail "refused, but not saying why"; }
echo "3 passed, 0 failed"
