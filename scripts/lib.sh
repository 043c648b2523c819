# What scripts/simulate, bench, cluster and soak share, and with them
# scripts/check, scripts/fuzz and the shell tests (tests/lib.sh): primed
# on a free loopback port, ready once its port file is written, stopped
# by its PID; processes, their children and their CPU time; the clocks;
# the median; JSON read with jq; the script's own messages. The caller
# sets PRIMED to the binary. Only die, usage_error and interrupted exit
# the shell: elsewhere a failure is returned, for the caller to say in
# its own words. Also a build of the tree in a folder of its own, for
# scripts/fuzz and scripts/check.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the primed_* results are the callers' to read

primed_pid=""		# the server started last, until it is stopped
primed_port=""		# the port of its first listener
primed_port_file=""
primed_error=""		# why primed_ready failed
stopped_status=""	# exit status of the process stop_pid stopped last

# --- primed -------------------------------------------------------------------

# primed_spawn LOG PORTFILE ARGS...: start $PRIMED ARGS in the background,
# its output appended to LOG, its bound addresses to be written to
# PORTFILE; sets primed_pid at once, so a trap can stop it.
primed_spawn() {
	local log=$1
	primed_port_file=$2
	shift 2
	rm -f "$primed_port_file"
	"$PRIMED" --port-file "$primed_port_file" --log-level warn "$@" \
	    >>"$log" 2>&1 &
	primed_pid=$!
}

# primed_ready: wait up to 10 s for the port file, written once every
# worker accepts; sets primed_port. Returns 1, with primed_error saying
# why, when the server died or did not write it.
primed_ready() {
	for _ in $(seq 1 500); do
		[ -s "$primed_port_file" ] && break
		if ! alive "$primed_pid"; then
			primed_error="primed did not start"
			return 1
		fi
		sleep 0.02
	done
	if [ ! -s "$primed_port_file" ]; then
		primed_error="primed did not write its port file"
		return 1
	fi
	primed_port=$(primed_port_of "")
}

# primed_start LOG PORTFILE ARGS...: primed_spawn, then primed_ready.
primed_start() {
	primed_spawn "$@"
	primed_ready
}

# primed_port_of SERVICE [N]: the port of the N-th (1st) listener of
# SERVICE in the port file ("" for any service).
primed_port_of() {
	awk -v s="$1" -v want="${2:-1}" '
	s == "" || $1 == s {
		if (++seen == want) { n = split($2, a, ":"); print a[n]; exit }
	}' "$primed_port_file"
}

# sanitizer_report LOG: does LOG hold a sanitizer's report? A worker that
# aborts is respawned, so only its log tells.
sanitizer_report() {
	grep -qE "Sanitizer|runtime error:" "$1" 2>/dev/null
}

# --- processes and the machine ------------------------------------------------

# alive PID: is PID running (a zombie is not)?
alive() {
	local state
	state=$(awk '{ s = $0; sub(/.*\) /, "", s); print substr(s, 1, 1) }' \
	    "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# child_pids PID: the PIDs of PID's child processes, one a line, sorted as
# text (as comm(1) wants them).
child_pids() {
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v p="$1" '{
		s = $0; sub(/.*\) /, "", s); split(s, f, " ")
		if (f[2] == p) print $1
	}' | sort
}

# stop_pid PID [SECONDS]: TERM, then KILL when it is still running after
# SECONDS (15), and KILL for the children it had (a master killed before
# it could stop its workers). Sets stopped_status when PID is a child of
# this shell.
stop_pid() {
	local pid=$1 bound=${2:-15} kids k
	kids=$(child_pids "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 $((bound * 50))); do
		alive "$pid" || break
		sleep 0.02
	done
	kill -KILL "$pid" 2>/dev/null || true
	stopped_status=0
	wait "$pid" 2>/dev/null || stopped_status=$?
	for k in $kids; do
		kill -KILL "$k" 2>/dev/null || true
	done
	[ "$pid" != "$primed_pid" ] || primed_pid=""
}

# stop_pids SECONDS PID...: stop_pid each PID given (an empty one is
# none), each with SECONDS after its TERM.
stop_pids() {
	local bound=$1 p
	shift
	for p in "$@"; do
		[ -z "$p" ] || stop_pid "$p" "$bound"
	done
}

# cpu_ticks PID...: the user and system time of the processes (every
# thread), in clock ticks; nothing for those gone.
cpu_ticks() {
	local p
	for p in "$@"; do
		cat "/proc/$p/stat" 2>/dev/null || true
	done | awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " ")
	    t += f[12] + f[13] } END { print t + 0 }'
}

# rss_kib PID: the resident memory of PID in KiB (VmRSS); nothing for a
# process gone, or a zombie (it has none).
rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true
}

# load_average: the 1, 5 and 15 minute load averages (other work on the
# machine skews every number).
load_average() {
	cut -d' ' -f1-3 /proc/loadavg
}

# --- the network --------------------------------------------------------------

# free_port: a loopback TCP port no socket holds now (listening, connected
# or in TIME_WAIT), below the kernel's ephemeral range, where the client
# sockets of programs running alongside cannot take it between this check
# and the bind.
free_port() {
	local lo used p hex
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 12000 ] || lo=32768
	used=" $(awk 'NR > 1 { split($2, a, ":"); print a[2] }' \
	    /proc/net/tcp /proc/net/tcp6 2>/dev/null | tr '\n' ' ')"
	for _ in $(seq 1 200); do
		p=$((10000 + RANDOM % (lo - 10000)))
		printf -v hex '%04X' "$p"
		case "$used" in *" $hex "*) continue ;; esac
		echo "$p"
		return 0
	done
	return 1
}

# ask REQUEST [PORT]: one request on a fresh loopback connection (to the
# first port of the server started last unless told), its reply (waited
# for up to 5 s) on stdout. A subshell, because a failed `exec`
# redirection ends the shell that runs it.
ask() (
	exec 3<>"/dev/tcp/127.0.0.1/${2:-$primed_port}" || exit 1
	printf '%s\n' "$1" >&3
	IFS= read -r -t 5 reply <&3 || true
	printf '%s\n' "$reply"
)

# --- the clocks ---------------------------------------------------------------

# now_us: the wall clock in microseconds, without running date.
now_us() {
	echo "${EPOCHREALTIME/[.,]/}"
}

# now_ms: the same in milliseconds.
now_ms() {
	local us=${EPOCHREALTIME/[.,]/}
	echo $((us / 1000))
}

# sleep_until MS: sleep until now_ms reads MS (at once if it did).
sleep_until() {
	local d=$(($1 - $(now_ms)))
	[ "$d" -le 0 ] || sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
}

# --- numbers and JSON ---------------------------------------------------------

# median FORMAT [NONE]: the median of the numbers on stdin, one a line
# (blank lines skipped), printed with awk's printf FORMAT (%s: a middle
# value as it was written, a mean of two as awk writes it); NONE ("")
# when there are none.
median() {
	sort -g | awk -v fmt="$1" -v none="${2:-}" 'NF { x[++n] = $1 } END {
	    if (n == 0) { print none; exit }
	    if (n % 2) m = x[(n + 1) / 2]
	    else m = (x[n / 2] + x[n / 2 + 1]) / 2
	    printf fmt "\n", m }'
}

# json FILE FILTER [DEFAULT]: the jq FILTER of the JSON in FILE (- for
# stdin), strings raw and objects on one line; DEFAULT ("") where it
# gives null or false, or FILE holds no JSON. jq writes a number the
# shortest way (1.50 as 1.5): a caller shows a fixed number of decimals
# with printf.
json() {
	local v
	v=$(jq -r -c --arg d "${3:-}" "($2) // \$d" "$1" 2>/dev/null) || v=""
	printf '%s\n' "${v:-${3:-}}"
}

# --- the script's own words ---------------------------------------------------

# die MESSAGE: say it in the script's name and exit 1 (its EXIT trap
# stops what it started).
die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# usage_error MESSAGE: say it in the script's name and exit 2.
usage_error() {
	echo "${0##*/}: $*" >&2
	exit 2
}

# interrupted: the end after Ctrl-C or SIGTERM (the EXIT trap cleans up).
# shellcheck disable=SC2317 # run by a trap
interrupted() {
	echo
	echo "${0##*/}: interrupted" >&2
	exit 130
}

# help_text: the script's opening comment, as its --help.
help_text() {
	awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "$0"
}

# --- the build ----------------------------------------------------------------

# need_build: use the programs of the build folder PRIMED_BUILD names
# (e.g. a VPATH build), else those of the top folder (this one), built by
# scripts/bootstrap when one is missing; sets bin and PRIMED.
need_build() {
	bin=${PRIMED_BUILD:-$PWD}
	if [ ! -x "$bin/primed" ] || [ ! -x "$bin/primed-load" ]; then
		echo "== building primed"
		scripts/bootstrap
		bin=$PWD
	fi
	PRIMED=$bin/primed
}

# build_in DIR TARGET... -- CONFIGURE-ARGS...: make the TARGETs in DIR, a
# build folder configured with ARGS, again only when they differ from its
# last run's. automake builds no folder beside a source tree configured in
# place, so DIR builds from a copy of the distributed sources, DIR/.src
# (make distdir, times kept: only what changed is compiled again); the
# tree is configured in place by scripts/bootstrap first if it is not.
build_in() {
	local dir goals=() args
	mkdir -p "$1" && dir=$(cd "$1" && pwd) || return 1
	shift
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
		goals+=("$1")
		shift
	done
	shift
	args=$(printf '%s\n' "$@")
	[ -f Makefile ] || scripts/bootstrap || return 1
	make -s distdir distdir="$dir/.src" >"$dir/distdir.log" 2>&1 ||
	    { cat "$dir/distdir.log"; return 1; }
	if [ ! -f "$dir/Makefile" ] ||
	    [ "$args" != "$(cat "$dir/configure.args" 2>/dev/null)" ]; then
		rm -f "$dir/configure.args"
		echo "== configuring $dir:" "$@"
		(cd "$dir" && .src/configure "$@") >"$dir/configure.out" 2>&1 ||
		    { tail -n 20 "$dir/configure.out"; return 1; }
		printf '%s\n' "$args" >"$dir/configure.args"
	fi
	# build-flags compiles everything again after other arguments.
	make -s -C "$dir" build-flags &&
	    make -s -C "$dir" -j"$(nproc 2>/dev/null || echo 2)" "${goals[@]}"
}

# need_packages COMMAND=PACKAGE...: install the Debian package of each
# command that is missing (apt-get, as root or through sudo; waiting for
# another apt-get to finish rather than failing).
need_packages() {
	local want missing="" sudo=""
	for want in "$@"; do
		command -v "${want%%=*}" >/dev/null 2>&1 || missing+=" ${want#*=}"
	done
	[ -n "$missing" ] || return 0
	echo "== installing$missing"
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
	# shellcheck disable=SC2086 # one word per package
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 \
	    install -y -qq --no-install-recommends $missing >/dev/null
}
