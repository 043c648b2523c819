#!/usr/bin/env bash
# Configure's arguments reach every object: after a build without
# --enable-werror, configuring with it and running make compiles everything
# again, so a warning in an object built before becomes an error.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# The builds below are this test's own, not part of the make running it.
unset MAKEFLAGS MFLAGS MAKELEVEL
src="$tmp/src"
make -s distdir distdir="$src" >"$tmp/distdir.log" 2>&1 ||
    { cat "$tmp/distdir.log"; fail "make distdir"; }
cd "$src" || fail "no $src"
chmod -R u+w .
printf '\nstatic int build_flags_unused;\n' >>src/proto.c

./configure -q >"$tmp/configure.log" 2>&1 || fail "configure"
make libprimed.a >"$tmp/make1.log" 2>&1 ||
    { cat "$tmp/make1.log"; fail "build without --enable-werror"; }
grep -q "build_flags_unused" "$tmp/make1.log" || fail "no warning to check"

./configure -q --enable-werror >>"$tmp/configure.log" 2>&1 ||
    fail "configure --enable-werror"
if make -j2 >"$tmp/make2.log" 2>&1; then
	tail -n 20 "$tmp/make2.log"
	fail "built with --enable-werror: the old objects were kept"
fi
grep -q "configure's arguments changed" "$tmp/make2.log" ||
    fail "no word of the new arguments"
grep -q "build_flags_unused.*-Werror" "$tmp/make2.log" ||
    { tail -n 20 "$tmp/make2.log"; fail "failed, but not on the warning"; }

# The same arguments again: nothing is compiled again.
sed -i '$d' src/proto.c
make -j2 >"$tmp/make3.log" 2>&1 || { tail -n 20 "$tmp/make3.log"; fail "build"; }
./configure -q --enable-werror >>"$tmp/configure.log" 2>&1 || fail "configure"
make >"$tmp/make4.log" 2>&1 || fail "build after the same configure"
grep -q "CC " "$tmp/make4.log" && fail "compiled again for the same arguments"
echo "1 passed, 0 failed"
