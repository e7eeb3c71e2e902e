# lib.sh: shared helpers of the end-to-end tests (sourced, bash).
#
# Every test drives the real binaries: rkt-driver (RKTD_DRIVER) → the detached
# rkt-executor → rkt (RKTD_RKT: the simulator, or a real rkt) running the example
# image (RKTD_ACI). Each script gets a private temp dir E2E_TMP with the driver's
# state dir (STATE) and the simulator's pod store (RKT_SIM_DIR); an EXIT trap
# stops every task and pod it started, kills the background processes it
# started (by pid) and removes the dir.
#
# Real rkt (RKTD_RKT=/path/to/rkt, e.g. a wrapper passing --dir): checks that
# need the simulator (its failure and network knobs RKT_SIM_*, its record of the
# arguments it got) are skipped, each block with its reason (need_sim); the pod
# store is rkt's own, shared, so the helpers only touch the pods of this script.
#
# Output: one "ok - …", "not ok - …" or "ok - … # SKIP …" line per check, a
# summary, and exit 1 when any check failed, 77 (a skip for meson) when all
# were skipped (call e2e_finish at the end).
set -u

# meson sets these (the simulator as RKTD_SIM_RKT, so that RKTD_RKT from the
# environment picks another rkt); by hand, RKTD_BUILD_DIR (a build dir) is enough
if [[ -n ${RKTD_BUILD_DIR:-} ]]; then
	: "${RKTD_DRIVER:=$RKTD_BUILD_DIR/driver/rkt-driver}"
	: "${RKTD_SIM_RKT:=$RKTD_BUILD_DIR/tests/rktsim/rkt}"
	: "${RKTD_ACI:=$RKTD_BUILD_DIR/tests/aci/example.aci}"
fi
: "${RKTD_RKT:=${RKTD_SIM_RKT:-}}"
: "${RKTD_DRIVER:?RKTD_DRIVER (the rkt-driver binary) must be set}"
: "${RKTD_RKT:?RKTD_RKT (rkt or its simulator) must be set}"
: "${RKTD_ACI:?RKTD_ACI (the example image) must be set}"

if [[ $(id -u) != 0 ]]; then
	# the driver's fingerprint, rkt and the user/group switches need root
	echo "SKIP: the end-to-end tests run as root"
	exit 77
fi

unset RKT_SIM_VERSION RKT_SIM_VERSION_OUTPUT RKT_SIM_FAIL RKT_SIM_NETWORK \
	RKT_SIM_NETWORK_DELAY_MS RKT_SIM_STRICT_MOUNTPOINTS
# The simulator answers RKT_SIM_VERSION_OUTPUT; a real rkt ignores it.
if [[ $(RKT_SIM_VERSION_OUTPUT=rktsim timeout 30 "$RKTD_RKT" version 2>/dev/null) == rktsim ]]; then
	E2E_SIM=1
else
	E2E_SIM=0
	echo "# rkt under test: $RKTD_RKT (not the simulator): checks that need it are skipped"
fi
E2E_TMP=$(mktemp -d /tmp/rktd-e2e.XXXXXX)
chmod 755 "$E2E_TMP" # tasks running as other users read files below it
export RKT_SIM_DIR=$E2E_TMP/rkt
STATE=$E2E_TMP/state
NET_TIMEOUT=${NET_TIMEOUT:-1s} # without RKT_SIM_NETWORK, fly reports no network
BG_PIDS=()   # background processes this script started
E2E_PODS=()  # pods this script prepared itself (not through the driver)
E2E_PASSED=0
E2E_FAILED=0
E2E_SKIPPED=0

# fast_network: pods report a network (as a non-fly stage1 would), so that
# run --detach of a long-running task returns at once instead of looking for
# one until --network-timeout (network discovery is ports.sh's subject). On
# real rkt (fly: never a network) nothing changes: run --detach takes
# NET_TIMEOUT longer.
fast_network() {
	((E2E_SIM)) && export RKT_SIM_NETWORK=10.88.0.5
	return 0
}

# ---- checks ---------------------------------------------------------------

ok() {
	echo "ok - $1"
	E2E_PASSED=$((E2E_PASSED + 1))
}

not_ok() {
	local desc=$1
	shift
	echo "not ok - $desc"
	local l
	for l in "$@"; do
		printf '#   %s\n' "$l"
	done
	E2E_FAILED=$((E2E_FAILED + 1))
}

# need_sim DESC REASON: true on the simulator; on real rkt, reports DESC (the
# checks of the block it guards) as skipped, with REASON, and is false:
#   if need_sim "rkt prepare failing" "RKT_SIM_FAIL injects the failure"; then …; fi
# A skip is counted apart: never as a pass.
need_sim() {
	((E2E_SIM)) && return 0
	echo "ok - $1 # SKIP on real rkt: $2"
	E2E_SKIPPED=$((E2E_SKIPPED + 1))
	return 1
}

# check DESC CMD…: passes when CMD exits 0
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "command failed: $*"; fi
}

# check_eq DESC ACTUAL EXPECTED
check_eq() {
	if [[ $2 == "$3" ]]; then
		ok "$1"
	else
		not_ok "$1" "got:      $(printf %q "$2")" "expected: $(printf %q "$3")"
	fi
}

# check_ne DESC ACTUAL UNWANTED
check_ne() {
	if [[ $2 != "$3" ]]; then ok "$1"; else not_ok "$1" "got the unwanted value $(printf %q "$2")"; fi
}

# check_has DESC TEXT SUBSTRING
check_has() {
	if [[ $2 == *"$3"* ]]; then
		ok "$1"
	else
		not_ok "$1" "missing: $3" "in:      ${2:0:2000}"
	fi
}

# check_lacks DESC TEXT SUBSTRING
check_lacks() {
	if [[ $2 != *"$3"* ]]; then
		ok "$1"
	else
		not_ok "$1" "unwanted: $3" "in:       ${2:0:2000}"
	fi
}

# check_match DESC TEXT ERE
check_match() {
	if [[ $2 =~ $3 ]]; then
		ok "$1"
	else
		not_ok "$1" "regex: $3" "text:  ${2:0:2000}"
	fi
}

# check_ge DESC ACTUAL MIN (integers)
check_ge() {
	if [[ $2 =~ ^-?[0-9]+$ ]] && (($2 >= $3)); then ok "$1"; else not_ok "$1" "got $2, want >= $3"; fi
}

# check_le DESC ACTUAL MAX (integers)
check_le() {
	if [[ $2 =~ ^-?[0-9]+$ ]] && (($2 <= $3)); then ok "$1"; else not_ok "$1" "got $2, want <= $3"; fi
}

e2e_finish() {
	echo "# $E2E_PASSED passed, $E2E_FAILED failed, $E2E_SKIPPED skipped"
	((E2E_FAILED == 0)) || exit 1
	((E2E_PASSED > 0)) && exit 0
	((E2E_SKIPPED > 0)) && exit 77 # everything skipped: meson says SKIP
	exit 1                         # nothing checked at all
}

# ---- running the driver ---------------------------------------------------

# rd ARGS…: rkt-driver with the test's global options (at most 90 s)
rd() {
	timeout -k 5 90 "$RKTD_DRIVER" --rkt "$RKTD_RKT" --state-dir "$STATE" \
		--network-timeout "$NET_TIMEOUT" "$@"
}

# rkt ARGS…: rkt (the simulator on the test's pod store)
rkt() {
	timeout -k 5 60 "$RKTD_RKT" "$@"
}

# run_cap CMD…: runs CMD; sets OUT, ERR (its stdout and stderr) and RC
run_cap() {
	local o e
	o=$(mktemp "$E2E_TMP/out.XXXXXX")
	e=$(mktemp "$E2E_TMP/err.XXXXXX")
	"$@" >"$o" 2>"$e"
	RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	rm -f "$o" "$e"
}

# jstr TEXT: TEXT as a JSON string
jstr() {
	jq -n --arg s "$1" '$s'
}

# task_file NAME SCRIPT [TASK_FIELDS] [CONFIG_FIELDS]: writes a task running
# `/bin/sh -c SCRIPT` (command $TASK_CMD, default /bin/sh) in the example image to $E2E_TMP/NAME.json and prints
# its path. TASK_FIELDS and CONFIG_FIELDS are extra JSON members (", "-joined,
# without braces) of the task and of its config.
task_file() {
	local name=$1 script=$2 tf=${3:-} cf=${4:-}
	local f=$E2E_TMP/$name.json
	{
		printf '{"name": %s' "$(jstr "$name")"
		[[ -n $tf ]] && printf ', %s' "$tf"
		printf ', "config": {"image": %s, "command": %s, "args": ["-c", %s]' \
			"$(jstr "$RKTD_ACI")" "$(jstr "${TASK_CMD:-/bin/sh}")" "$(jstr "$script")"
		[[ -n $cf ]] && printf ', %s' "$cf"
		printf '}}\n'
	} >"$f"
	echo "$f"
}

# start_detached FILE: `run --detach FILE`; prints the task id (empty on
# failure, with the driver's stderr in $ERR and its status in $RC)
start_detached() {
	run_cap rd run --detach "$1"
	if [[ $RC -ne 0 ]]; then
		echo "# run --detach $1 failed ($RC): $ERR" >&2
		return 1
	fi
	echo "$OUT"
}

# task_dir ID
task_dir() {
	echo "$STATE/tasks/$1"
}

# pod_of ID: the pod UUID of a task (from `status`)
pod_of() {
	rd status "$1" 2>/dev/null | sed -n 's/^pod: *//p'
}

# executor_pid_of ID (from `status`)
executor_pid_of() {
	rd status "$1" 2>/dev/null | sed -n 's/^executor pid: *\([0-9]*\).*/\1/p'
}

# rkt_pid_of ID: the pid of the launched rkt run-prepared (the app, under fly)
rkt_pid_of() {
	rd status "$1" 2>/dev/null | sed -n 's/^rkt pid: *//p'
}

# state_of ID: running / exited (N) / lost (from `status`)
state_of() {
	rd status "$1" 2>/dev/null | sed -n 's/^state: *//p'
}

# alive PID: the process exists and is not a zombie
alive() {
	local s
	[[ -r /proc/$1/stat ]] || return 1
	s=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[[ -n $s && $s != Z ]]
}

# wait_until SECONDS CMD…: polls CMD every 0.1 s until it succeeds
wait_until() {
	local limit=$(($1 * 10)) i
	shift
	for ((i = 0; i < limit; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# wait_file SECONDS PATH: until PATH exists
wait_file() {
	wait_until "$1" test -e "$2"
}

# gone PID
gone() {
	! alive "$1"
}

# pids_mentioning TEXT [TEXT2]: pids (not this shell) whose command line
# contains TEXT (and TEXT2)
pids_mentioning() {
	local d p cmd
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[[ $p == "$$" || $p == "$BASHPID" ]] && continue
		cmd=$({ tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null) || continue
		[[ $cmd == *"$1"* && $cmd == *"${2:-}"* ]] && alive "$p" && echo "$p"
	done
}

# pod_dirs: the pods of this script in rkt's store: on the simulator every pod
# of its private store; on real rkt (a store shared with others) those whose pod
# manifest names a path under E2E_TMP (the driver's volumes) and E2E_PODS
pod_dirs() {
	local d u
	if ((E2E_SIM)); then
		for d in "$RKT_SIM_DIR"/pods/*; do
			[[ -d $d ]] && basename "$d"
		done
		return 0
	fi
	for u in $(rkt list --full --no-legend 2>/dev/null | cut -f1 | sort -u); do
		if [[ " ${E2E_PODS[*]} " == *" $u "* ]] ||
			rkt cat-manifest --pretty-print=false "$u" 2>/dev/null | grep -qF "\"$E2E_TMP/"; then
			echo "$u"
		fi
	done
}

# pod_exists UUID: rkt knows the pod (rkt status answers)
pod_exists() {
	rkt status "$1" >/dev/null 2>&1
}

# pod_gone UUID: rkt no longer knows the pod ("no matches found")
pod_gone() {
	! pod_exists "$1"
}

# pod_running UUID: rkt says so
pod_running() {
	rkt status "$1" 2>/dev/null | grep -qx 'state=running'
}

# rkt_state UUID: the pod's state as rkt status prints it ("running",
# "exited"), or "gone" when rkt has no such pod
rkt_state() {
	local out
	if out=$(rkt status "$1" 2>&1); then
		sed -n 's/^state=//p' <<<"$out"
	elif [[ $out == *"no matches found"* ]]; then
		echo gone
	else
		echo "error: $out"
	fi
}

# pod_pid UUID: the pid run-prepared recorded (the app's), from rkt status
pod_pid() {
	rkt status "$1" 2>/dev/null | sed -n 's/^pid=//p'
}

# run_args ID: the command the task's executor launched (rkt run-prepared and
# its flags), one argument a line, from inspect (while the executor serves:
# until the task has been waited for)
run_args() {
	rd inspect --json "$1" 2>/dev/null | jq -r '.args[]?'
}

# prep_args UUID: the argv rkt prepare got, as the simulator records it (only
# there: guard the checks with need_sim)
prep_args() {
	jq -r '.[]' "$RKT_SIM_DIR/pods/$1/prepare-args.json" 2>/dev/null
}

# manifest UUID: the pod manifest, one line (rkt cat-manifest)
manifest() {
	rkt cat-manifest --pretty-print=false "$1" 2>/dev/null
}

# bg CMD…: starts CMD in the background, remembered for the cleanup; sets BG
bg() {
	"$@" &
	BG=$!
	BG_PIDS+=("$BG")
}

# ---- cleanup --------------------------------------------------------------

e2e_cleanup() {
	local p id u
	trap - EXIT
	for p in "${BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [[ -d $STATE/tasks ]]; then
		for id in $(ls "$STATE/tasks"); do
			# stop ends and waits for the task, removes its pod and lets its
			# executor go (an exited task: just the cleanup)
			timeout -k 2 30 "$RKTD_DRIVER" --rkt "$RKTD_RKT" --state-dir "$STATE" \
				--network-timeout 1s stop "$id" >/dev/null 2>&1
		done
	fi
	for u in $(pod_dirs); do
		[[ $u == .* ]] && continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			# (a second stop --force reaches children that outlived the app)
			timeout 10 "$RKTD_RKT" stop --force "$u" >/dev/null 2>&1
			timeout 10 "$RKTD_RKT" rm "$u" >/dev/null 2>&1 && break
			sleep 0.1
		done
	done
	# anything still naming our temp dir (an executor whose task could not
	# be stopped through the driver) was started by this script
	for p in $(pids_mentioning "$E2E_TMP"); do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
