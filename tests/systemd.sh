#!/usr/bin/env bash
# The Debian packages under a real systemd. Builds primed's .debs from this
# tree with dpkg-buildpackage (tests skipped: nocheck) and checks them with
# lintian; boots Debian 12 in a container (systemd-nspawn -b, no network),
# from a minimal root made once with mmdebstrap and kept in build-systemd/,
# copied afresh for each run; installs the .debs there with apt and checks
# the units live: ready before start returns, five reloads under load, a
# reload with a broken configuration, kill -9 of the master, a
# configuration that exits 78, the sandbox's score, journal priorities,
# two instances of primed@, reinstall, remove and purge.
# Root only: it says why and exits 77 (skipped) when it cannot run.
#   tests/systemd.sh        (scripts/check runs it; under a minute once
#                            the root is made)
#   DEB_BUILD_PROFILES="pkg.primed.noprimecount pkg.primed.nosystemd" \
#       tests/systemd.sh    (the same, built without the optional libraries)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$top/scripts/lib.sh"

work=$top/build-systemd		# the cached root, the .debs, the logs
run=$work/run			# this run's copy of the root
croot=$run/root
suite=bookworm
mirror=http://deb.debian.org/debian
# What the test drives the container with; not what the package needs
# (apt-get install brings that in from the .debs' Depends).
root_packages=systemd,dbus,netcat-openbsd,curl
nspawn_pid=""
cpid=""
load_pid=""
mounted=""
passed=0
started=$(date +%s)

skip() {
	echo "SKIP: $*"
	exit 77
}

fail() {
	echo "FAIL: $*"
	if [ -n "$cpid" ]; then
		echo "--- the container's journal, last 60 lines"
		C journalctl --no-pager -n 60 -p info -u 'primed*' 2>&1 | sed 's/^/  /'
	fi
	exit 1
}

ok() {
	passed=$((passed + 1))
	echo "ok $passed - $*"
}

step() {
	printf '\n== %s (%ds)\n' "$*" $(($(date +%s) - started))
}

# C CMD...: run CMD inside the container (its namespaces, a clean
# environment).
C() {
	nsenter -t "$cpid" -m -u -i -n -p -- env -i \
	    PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 SYSTEMD_COLORS=0 \
	    DEBIAN_FRONTEND=noninteractive "$@"
}

# wait_for SECONDS WHAT CMD...: poll CMD every 0.1 s until it succeeds;
# fail after SECONDS.
wait_for() {
	local bound=$1 what=$2
	shift 2
	for _ in $(seq 1 $((bound * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "$what: not within $bound s"
}

cleanup() {
	local rc=$?
	[ -n "$load_pid" ] && kill -KILL "$load_pid" 2>/dev/null
	if [ -n "$nspawn_pid" ] && alive "$nspawn_pid"; then
		# nspawn turns TERM into a clean poweroff of the container.
		kill -TERM "$nspawn_pid" 2>/dev/null
		for _ in $(seq 1 300); do
			alive "$nspawn_pid" || break
			sleep 0.1
		done
		[ -n "$cpid" ] && kill -KILL "$cpid" 2>/dev/null
		kill -KILL "$nspawn_pid" 2>/dev/null
		wait "$nspawn_pid" 2>/dev/null
	fi
	[ -z "$mounted" ] || umount "$mounted" || echo "cannot unmount $mounted"
	rm -rf "$run"
	exit "$rc"
}

[ "$(uname -s)" = Linux ] || skip "not Linux"
[ "$(id -u)" -eq 0 ] || skip "not root (it boots a container)"
command -v apt-get >/dev/null || skip "not a Debian system (no apt-get)"
git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
    skip "not a git checkout (the package is built from its files)"
need_packages systemd-nspawn=systemd-container mmdebstrap=mmdebstrap \
    dpkg-buildpackage=dpkg-dev dh=debhelper lintian=lintian \
    nsenter=util-linux || true
for c in systemd-nspawn mmdebstrap dpkg-buildpackage dh lintian nsenter; do
	command -v "$c" >/dev/null || skip "no $c and it cannot be installed"
done
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$work"
rm -rf "$run"
mkdir -p "$run"

step "build the packages"
# The tree as a clone of it would be, with the changes not yet committed:
# tracked files and new ones git does not ignore.
mkdir -p "$run/src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -cf - -T -) | tar -xf - -C "$run/src" ||
    fail "cannot copy the tree"
cd "$run/src" || fail "no $run/src"
# Without make check (minutes; scripts/check runs it anyway), nor what
# only it needs; more build profiles may come from the environment.
DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)"
DEB_BUILD_PROFILES="nocheck${DEB_BUILD_PROFILES:+ $DEB_BUILD_PROFILES}"
export DEB_BUILD_OPTIONS DEB_BUILD_PROFILES
if ! dpkg-checkbuilddeps >/dev/null 2>&1; then
	echo "installing the build dependencies (apt-get build-dep ./)"
	apt-get -o DPkg::Lock::Timeout=300 update -qq
	apt-get -o DPkg::Lock::Timeout=300 build-dep -y -qq ./ >/dev/null
	dpkg-checkbuilddeps || fail "Build-Depends unmet after apt-get build-dep"
fi
t0=$(date +%s)
dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1 ||
    { tail -n 30 "$work/build.log"; fail "dpkg-buildpackage"; }
cd "$top" || fail "no $top"
version=$(dpkg-parsechangelog -l "$run/src/debian/changelog" -S Version)
ac=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$run/src/config.h")
arch=$(dpkg --print-architecture)
debs="primed_${version}_$arch.deb primed-load_${version}_$arch.deb"
for d in $debs; do
	[ -f "$run/$d" ] || fail "no $d"
done
ok "dpkg-buildpackage -us -uc -b (profiles: $DEB_BUILD_PROFILES): $(cd "$run" && echo primed*.deb) in $(($(date +%s) - t0)) s; version $version, configure.ac $ac"

# Everything, the overridden tags with their reasons too; only E: and W:
# fail.
lintian --fail-on none -I --show-overrides "$run"/primed_*.changes \
    >"$work/lintian.log" 2>&1 || fail "lintian could not run"
sed 's/^/  lintian: /' "$work/lintian.log"
grep -qE "^[EW]: " "$work/lintian.log" && fail "lintian: errors or warnings"
ok "lintian: no error, no warning"

step "the minimal Debian 12 root"
# Made again when missing or when the packages it should hold changed.
if [ "$(cat "$work/root.stamp" 2>/dev/null)" != "$suite $root_packages" ] ||
    [ ! -x "$work/root/lib/systemd/systemd" ]; then
	rm -rf "$work/root" "$work/root.new" "$work/root.stamp"
	t0=$(date +%s)
	mmdebstrap --variant=minbase --include="$root_packages" \
	    --skip=cleanup/apt/lists "$suite" "$work/root.new" \
	    "deb $mirror $suite main" "deb $mirror $suite-updates main" \
	    "deb ${mirror}-security $suite-security main" \
	    >"$work/mmdebstrap.log" 2>&1 ||
	    { tail -n 20 "$work/mmdebstrap.log"; fail "mmdebstrap"; }
	mv "$work/root.new" "$work/root"
	echo "$suite $root_packages" >"$work/root.stamp"
	echo "made $work/root in $(($(date +%s) - t0)) s"
else
	echo "cached: $work/root"
fi
cp -a "$work/root" "$croot" || fail "cannot copy the root"
mkdir -p "$croot/srv/primed"
for d in $debs; do
	cp "$run/$d" "$croot/srv/primed/"
done
# The .debs as the container sees them.
cdebs=$(for d in $debs; do echo "/srv/primed/$d"; done)
# The container has no network: fetch what the .debs depend on now.
cp -L /etc/resolv.conf "$croot/etc/resolv.conf"
# shellcheck disable=SC2086
if ! chroot "$croot" apt-get install --download-only -y -qq $cdebs \
    >"$work/download.log" 2>&1; then
	chroot "$croot" apt-get update -qq >>"$work/download.log" 2>&1
	# shellcheck disable=SC2086
	chroot "$croot" apt-get install --download-only -y -qq $cdebs \
	    >>"$work/download.log" 2>&1 ||
	    { cat "$work/download.log"; fail "cannot fetch the dependencies"; }
fi

step "boot it"
# nspawn keeps state under /run/systemd/nspawn, which it wants on a tmpfs
# (as /run is on a systemd host).
if [ "$(findmnt -n -o FSTYPE -T /run/systemd/nspawn 2>/dev/null)" != tmpfs ]; then
	mkdir -p /run/systemd/nspawn
	mount -t tmpfs tmpfs /run/systemd/nspawn ||
	    skip "cannot mount a tmpfs on /run/systemd/nspawn"
	mounted=/run/systemd/nspawn
fi
t0=$(date +%s)
systemd-nspawn -D "$croot" -b --private-network --register=no --keep-unit \
    -M "primed-test-$$" --console=pipe </dev/null >"$work/console.log" 2>&1 &
nspawn_pid=$!
for _ in $(seq 1 300); do
	cpid=$(child_pids "$nspawn_pid" | head -n 1)
	[ -n "$cpid" ] && [ "$(cat "/proc/$cpid/comm" 2>/dev/null)" = systemd ] &&
	    break
	alive "$nspawn_pid" || { cat "$work/console.log"; cpid=""; fail "systemd-nspawn exited"; }
	sleep 0.1
done
[ "$(cat "/proc/$cpid/comm" 2>/dev/null)" = systemd ] || fail "no systemd in the container"
wait_for 60 "systemd's socket in the container" C test -S /run/systemd/private
state=$(C timeout 120 systemctl is-system-running --wait)
case $state in
running) ;;
degraded) C systemctl --failed --no-pager | sed 's/^/  /' ;;
*) fail "the container's systemd is $state" ;;
esac
echo "systemd $(C systemctl --version | awk 'NR == 1 { print $2 }') is $state after $(($(date +%s) - t0)) s"
# PID 1 logs each notification it gets (READY=1, STATUS=...) at debug level.
C systemd-analyze log-level debug

# Helpers on the container.
# ask PORT REQUEST: one request on a new connection, its reply.
ask() {
	printf '%s\n' "$2" | C nc -N -w 5 127.0.0.1 "$1"
}
# stat_of PORT KEY: a number of the STATS reply.
stat_of() {
	ask "$1" STATS | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2
}
# show UNIT PROP: a property of UNIT.
show() {
	C systemctl show -p "$2" --value "$1"
}
# workers UNIT: its master's children (the container's PIDs), sorted.
workers() {
	local main
	main=$(show "$1" MainPID)
	C sh -c 'cat /proc/[0-9]*/stat 2>/dev/null' | awk -v p="$main" '{
		s = $0; sub(/.*\) /, "", s); split(s, f, " ")
		if (f[2] == p) print $1
	}' | sort
}
# journal_since CURSOR ARGS...: the container's journal after CURSOR.
journal_since() {
	local cur=$1
	shift
	C journalctl --no-pager -q --after-cursor="$cur" "$@"
}
cursor() {
	C journalctl -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p'
}
# settled UNIT: not starting, stopping or about to restart.
settled() {
	case $(show "$1" ActiveState) in
	active | failed | inactive) return 0 ;;
	esac
	return 1
}

step "install: apt-get install ./primed_*.deb ./primed-load_*.deb"
# shellcheck disable=SC2086
C apt-get install -y -q $cdebs >"$work/install.log" 2>&1 ||
    { tail -n 20 "$work/install.log"; fail "apt-get install"; }
grep -E "^(Setting up|Created symlink)" "$work/install.log" | sed 's/^/  /'
[ "$(C systemctl is-enabled primed)" = enabled ] || fail "primed not enabled"
[ "$(C systemctl is-active primed)" = active ] || fail "primed not started"
# shellcheck disable=SC2016 # dpkg-query's fields, not the shell's
C dpkg-query -W -f '${Conffiles}\n' primed | grep -q '^ /etc/primed.conf ' ||
    fail "/etc/primed.conf is not a conffile"
# shellcheck disable=SC2016
C dpkg-query -W -f '${Status}\n' procps | grep -q "ok installed" ||
    fail "procps (the units' kill) did not come with primed"
for f in /usr/sbin/primed /usr/bin/primed-load /bin/kill \
    /usr/share/man/man8/primed.8.gz /usr/share/man/man5/primed.conf.5.gz \
    /usr/share/man/man1/primed-load.1.gz /lib/systemd/system/primed@.service; do
	C test -e "$f" || fail "$f is not installed"
done
grep -q "^ExecStart=/usr/sbin/primed --config /etc/primed.conf$" \
    "$croot/lib/systemd/system/primed.service" || fail "ExecStart in primed.service"
ok "installed offline with procps from Depends; enabled and active; /etc/primed.conf a conffile"
echo "  the default configuration answers: PRIME 100000 = $(ask 7070 'PRIME 100000')"

step "start: ready before systemctl start returns"
# Fixed ports: the container has a network of its own.
C tee /etc/primed.conf >/dev/null <<'EOF'
listen = prime=127.0.0.1:7070
listen = http=127.0.0.1:8080
workers = 2
threads = 1
EOF
C systemctl stop primed || fail "systemctl stop primed"
cur=$(cursor)
C systemctl start primed || fail "systemctl start primed"
# No waiting here: start returns once primed said READY=1.
state=$(C systemctl is-active primed)
line=$(ask 7070 'PRIME 100000')
http=$(C curl -s --max-time 5 http://127.0.0.1:8080/prime/100000)
echo "  right after start: $state; PRIME 100000 = $line; GET /prime/100000 = $http"
[ "$state" = active ] || fail "primed is $state when start returns"
[ "$line" = 1299709 ] || fail "the line listener answered '$line'"
case $http in *'"prime":1299709'*) ;; *) fail "the HTTP listener answered '$http'" ;; esac
journal_since "$cur" -u primed -o cat |
    grep -E "notification message.*READY=1|^Started " >"$run/ready"
sed 's/^/  journal: /' "$run/ready"
head -n 1 "$run/ready" | grep -q "READY=1" ||
    fail "READY=1 does not come before Started"
ok "active the moment start returns; both listeners answer at once; READY=1 before Started"

step "reload under load: 5 reloads, primed-load inside the container"
C primed-load --port 7070 -c 20 -d 120 -q --expect 2 --json \
    >"$run/load.json" 2>"$run/load.err" &
load_ns=$!
# load_started: $load_pid is primed-load (the shell's nsenter's child).
load_started() {
	local p
	for p in $(child_pids "$load_ns"); do
		load_pid=$(child_pids "$p" | head -n 1)
	done
	[ -n "$load_pid" ] && [ "$(cat "/proc/$load_pid/comm")" = primed-load ]
}
wait_for 10 "primed-load started" load_started
requests_over() { [ "$(stat_of 7070 requests)" -gt "$1" ]; }
reloads_are() { [ "$(stat_of 7070 reloads)" = "$1" ]; }
# replaced: the workers are 2, none of $before.
replaced() {
	local after
	after=$(workers primed)
	[ "$(echo "$after" | wc -l)" -eq 2 ] &&
	    [ -z "$(comm -12 <(echo "$before") <(echo "$after"))" ]
}
wait_for 30 "primed-load's requests answered" requests_over 1000
for i in 1 2 3 4 5; do
	before=$(workers primed)
	served=$(stat_of 7070 requests)
	C systemctl reload primed || fail "systemctl reload primed ($i)"
	wait_for 30 "reload $i done" reloads_are "$i"
	wait_for 30 "reload $i: the old workers gone" replaced
	after=$(workers primed)
	by=$(stat_of 7070 pid)
	echo "$after" | grep -qx "$by" || fail "reload $i: STATS answered by $by, not a new worker"
	# The load goes on, served by the new workers.
	wait_for 30 "reload $i: the load served on" requests_over $((served + 1000))
	echo "  reload $i: workers $(echo "$before" | tr '\n' ' ')->" \
	    "$(echo "$after" | tr '\n' ' '); STATS answered by $by"
done
kill -INT "$load_pid"
wait "$load_ns"
rc=$?
load_pid=""
echo "  primed-load: $(cat "$run/load.json")"
[ "$rc" -eq 0 ] || { cat "$run/load.err"; fail "primed-load exited $rc"; }
completed=$(grep -o '"completed":[0-9]*' "$run/load.json" | cut -d: -f2)
errors=$(grep -o '"errors_total":[0-9]*' "$run/load.json" | cut -d: -f2)
lost=$(grep -o '"lost":[0-9]*' "$run/load.json" | cut -d: -f2)
[ "${completed:-0}" -gt 1000 ] || fail "only $completed requests completed"
[ "$errors" = 0 ] || fail "$errors requests failed"
[ "$lost" = 0 ] || fail "$lost requests lost"
ok "5 reloads under load: $completed requests, 0 errors, 0 lost; new workers serve after each"

step "reload with a broken configuration"
main=$(show primed MainPID)
before=$(workers primed)
C cp /etc/primed.conf /root/primed.conf.good
echo "workers = many" | C tee -a /etc/primed.conf >/dev/null
cur=$(cursor)
C systemctl reload primed || fail "systemctl reload primed"
failed_logged() { journal_since "$cur" -u primed -o cat | grep -q "reload failed"; }
wait_for 30 "the failed reload in the journal" failed_logged
journal_since "$cur" -u primed -o cat | grep "reload failed" >"$run/failed"
sed 's/^/  journal: /' "$run/failed"
grep -q "notification message.*STATUS=reload failed: /etc/primed.conf" "$run/failed" ||
    fail "STATUS did not say the reload failed"
grep -q "^primed: master_reload_failed: reload failed: /etc/primed.conf" "$run/failed" ||
    fail "primed's own log line of the failed reload"
# The status of every second that follows still says so.
status_says() { show primed StatusText | grep -q "requests/s.*last reload failed: /etc/primed.conf"; }
wait_for 10 "a status line that still says the reload failed" status_says
echo "  StatusText now: $(show primed StatusText)"
[ "$(show primed MainPID)" = "$main" ] || fail "the master changed"
[ "$(workers primed)" = "$before" ] || fail "the workers changed"
[ "$(stat_of 7070 reloads)" = 5 ] || fail "a reload was counted"
[ "$(ask 7070 'PRIME 10')" = 29 ] || fail "not serving after the failed reload"
C cp /root/primed.conf.good /etc/primed.conf
ok "broken reload: old workers serve on, the journal and STATUS say 'reload failed'"

step "kill -9 of a worker, then of the master"
victim=$(workers primed | head -n 1)
C sh -c "kill -KILL $victim"
respawned() { [ "$(stat_of 7070 respawns)" = 1 ]; }
wait_for 30 "worker $victim respawned" respawned
[ "$(ask 7070 'PRIME 10')" = 29 ] || fail "not serving after the respawn"
main=$(show primed MainPID)
restarts=$(show primed NRestarts)
C sh -c "kill -KILL $main"
restarted() {
	[ "$(show primed NRestarts)" = $((restarts + 1)) ] &&
	    [ "$(show primed ActiveState)" = active ] &&
	    [ "$(show primed MainPID)" != "$main" ]
}
wait_for 30 "primed restarted by systemd" restarted
[ "$(ask 7070 'PRIME 10')" = 29 ] || fail "not serving after the restart"
ok "worker $victim respawned; master $main killed: restarted as $(show primed MainPID) (NRestarts $(show primed NRestarts)), serving"

step "a configuration that exits 78"
echo "threads = none" | C tee -a /etc/primed.conf >/dev/null
restarts=$(show primed NRestarts)
cur=$(cursor)
C systemctl restart primed 2>/dev/null && fail "primed started with a broken configuration"
wait_for 30 "primed settled" settled primed
st="$(show primed ActiveState)/$(show primed SubState) result=$(show primed Result)"
st="$st status=$(show primed ExecMainStatus) NRestarts=$(show primed NRestarts)"
echo "  $st"
[ "$(show primed ActiveState)" = failed ] || fail "not failed: $st"
[ "$(show primed ExecMainStatus)" = 78 ] || fail "not 78: $st"
[ "$(show primed NRestarts)" -le "$restarts" ] || fail "restarted: $st"
journal_since "$cur" -u primed -o cat | grep -q "Scheduled restart" &&
    fail "a restart was scheduled"
C cp /root/primed.conf.good /etc/primed.conf
C systemctl start primed || fail "primed does not start again"
# The template too: an instance without its file.
C systemctl start primed@none 2>/dev/null && fail "primed@none started"
wait_for 30 "primed@none settled" settled primed@none
st="$(show primed@none ActiveState) status=$(show primed@none ExecMainStatus)"
echo "  primed@none (no /etc/primed/none.conf): $st"
[ "$st" = "failed status=78" ] || fail "primed@none: $st"
journal_since "$cur" -u primed@none -o cat | grep -q "Scheduled restart" &&
    fail "a restart of primed@none was scheduled"
ok "exit 78: failed, no restart scheduled (primed and primed@none)"

step "the sandbox: systemd-analyze security"
score() {
	C systemd-analyze security --no-pager "$1" |
	    sed -n 's/^.*Overall exposure level for .*: \([0-9.]*\) .*$/\1/p'
}
s=$(score primed.service)
echo "  primed.service: $s"
awk -v s="$s" 'BEGIN { exit !(s != "" && s <= 2.0) }' || fail "exposure $s"
ok "systemd-analyze security primed: $s (at most 2.0)"

step "journal priorities"
C journalctl --no-pager -u primed -p warning SYSLOG_IDENTIFIER=primed -o cat \
    >"$run/warnings"
sed 's/^/  -p warning: /' "$run/warnings"
C journalctl --no-pager -u primed -p info..info SYSLOG_IDENTIFIER=primed -o cat \
    >"$run/infos"
grep -q "killed by signal 9" "$run/warnings" || fail "no warning of the killed worker"
grep -q "reload failed" "$run/warnings" || fail "no error of the failed reload"
grep -q "reload done" "$run/infos" || fail "no info line at info priority"
grep -E "reload done|reloading$|listening on|stopped$" "$run/warnings" &&
    fail "info lines at warning priority"
ok "-p warning: the warnings and errors, none of the $(wc -l <"$run/infos") info lines"

step "primed@a and primed@b"
C mkdir -p /etc/primed
printf 'listen = prime=127.0.0.1:7171\nlisten = http=127.0.0.1:8181\nworkers = 1\nthreads = 1\n' |
    C tee /etc/primed/a.conf >/dev/null
printf 'listen = prime=127.0.0.1:7272\nlisten = http=127.0.0.1:8282\nworkers = 1\nthreads = 1\n' |
    C tee /etc/primed/b.conf >/dev/null
C systemctl start primed@a primed@b || fail "systemctl start primed@a primed@b"
# uid_of UNIT: the uid its master runs as.
uid_of() {
	C sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$(show "$1" MainPID)/status"
}
ua=$(uid_of primed@a)
ub=$(uid_of primed@b)
u=$(uid_of primed)
for n in a b; do
	p=7171 h=8181
	[ "$n" = a ] || p=7272 h=8282
	[ "$(ask $p 'PRIME 10')" = 29 ] || fail "primed@$n does not answer on $p"
	C curl -sf --max-time 5 "http://127.0.0.1:$h/readyz" >/dev/null ||
	    fail "primed@$n: /readyz on $h"
	# The dynamic user's name, as systemd resolves it, to the uid.
	du=$(C busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
	    org.freedesktop.systemd1.Manager LookupDynamicUserByName s "primed-$n")
	[ "$du" = "u $(uid_of primed@$n)" ] ||
	    fail "primed@$n runs as uid $(uid_of primed@$n), primed-$n is '$du'"
	echo "  primed@$n: user primed-$n = uid $(uid_of primed@$n) (LookupDynamicUserByName: $du); PRIME on $p, HTTP on $h"
done
if [ "$ua" = "$ub" ] || [ "$ua" = "$u" ] || [ "$ub" = "$u" ]; then
	fail "instances share a user: $ua $ub $u"
fi
[ "$(ask 7070 'PRIME 10')" = 29 ] || fail "primed.service stopped answering"
sa=$(score primed@a.service)
awk -v s="$sa" 'BEGIN { exit !(s != "" && s <= 2.0) }' || fail "primed@a exposure $sa"
ok "primed@a and primed@b: own ports, own dynamic users ($ua, $ub; primed $u); security $sa"

step "reinstall (as an upgrade): primed restarted, instances left alone"
main=$(show primed MainPID)
amain=$(show primed@a MainPID)
C apt-get install -y -q --reinstall "/srv/primed/primed_${version}_$arch.deb" >"$work/reinstall.log" 2>&1 ||
    { tail -n 20 "$work/reinstall.log"; fail "apt-get install --reinstall"; }
[ "$(show primed ActiveState)" = active ] || fail "primed not active after the upgrade"
[ "$(show primed MainPID)" != "$main" ] || fail "primed not restarted by the upgrade"
[ "$(show primed@a MainPID)" = "$amain" ] || fail "primed@a restarted"
ok "reinstall: primed restarted ($main -> $(show primed MainPID)), primed@a left running"

step "apt-get remove, then purge"
C apt-get remove -y -q primed >"$work/remove.log" 2>&1 ||
    { tail -n 20 "$work/remove.log"; fail "apt-get remove"; }
for u in primed primed@a primed@b; do
	s=$(C systemctl is-active "$u")
	[ "$s" = inactive ] || fail "$u is $s after remove"
done
[ -z "$(ask 7070 'PRIME 10' 2>/dev/null)" ] || fail "something still answers on 7070"
C test -f /etc/primed.conf || fail "remove took /etc/primed.conf"
C test -e /usr/sbin/primed && fail "remove left /usr/sbin/primed"
ok "remove: primed, primed@a, primed@b stopped; /etc/primed.conf kept"
C apt-get purge -y -q primed >"$work/purge.log" 2>&1 ||
    { tail -n 20 "$work/purge.log"; fail "apt-get purge"; }
C test -e /etc/primed.conf && fail "purge left /etc/primed.conf"
C test -e /etc/systemd/system/multi-user.target.wants/primed.service &&
    fail "purge left the unit enabled"
ok "purge: /etc/primed.conf and the enablement gone"

echo
echo "$passed passed, 0 failed ($(($(date +%s) - started)) s)"
