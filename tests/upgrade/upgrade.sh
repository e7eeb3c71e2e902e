#!/bin/bash
# upgrade: this tree's binaries beside the previous release's (issue 8,
# DESIGN.md "Upgrades"). The previous release is the commit named in
# tests/upgrade/previous-release, built from this repository's history by
# build-previous.sh into RKTD_PREVIOUS_AREA (once; reused after).
#
# Each cell is a mix of real binaries on one state dir and one simulator pod
# store; it ends with one line "# cell NAME: works" or "# cell NAME: FAILS
# (…)", and the table at the end repeats them. Every cell must work, or fail
# with one sentence naming both versions; none may lose a task (left running
# with nobody knowing) or an exit code (reported as anything but the task's).
#
# Tasks wait for a file before they exit (/local/go, in the task's local dir),
# so each step runs while the task surely runs, and the exit code comes after.
source "$(dirname "$0")/../e2e/lib.sh"

: "${RKTD_SOURCE_DIR:?RKTD_SOURCE_DIR (the source tree, a git clone) must be set}"
: "${RKTD_PREVIOUS_AREA:=$RKTD_BUILD_DIR/tests/upgrade/previous}"
: "${RKTD_AGENT:=$RKTD_BUILD_DIR/driver/client/rkt-agent}"
: "${RKTD_UPG_RECOVER:=$RKTD_BUILD_DIR/tests/upgrade/upg-recover}"
NEW_EXEC=$(dirname "$RKTD_DRIVER")/../executor/rkt-executor

if ! PREV=$("$(dirname "$0")/build-previous.sh" "$RKTD_SOURCE_DIR" "$RKTD_PREVIOUS_AREA"); then
	echo "Bail out! the previous release could not be built (above)"
	exit 1
fi
OLD_DRIVER=$PREV/driver/rkt-driver
OLD_EXEC=$PREV/executor/rkt-executor
commit=$(sed -n '/^[0-9a-f]\{40\}$/{p;q}' "$RKTD_SOURCE_DIR/tests/upgrade/previous-release")
OLD_NAME="the previous release ${commit:0:7} ($("$OLD_EXEC" --version 2>/dev/null))"
NEW_NAME="this tree ($("$NEW_EXEC" --version 2>/dev/null))"
# the executor protocols each release speaks ("rkt-executor 0.1.0 (protocol N)")
proto_of() { sed -n 's/.*(protocol \([0-9]*\)).*/\1/p' <<<"$1"; }
OLD_PROTO=$(proto_of "$OLD_NAME")
NEW_PROTO=$(proto_of "$NEW_NAME")
if [[ -z $OLD_PROTO || -z $NEW_PROTO ]]; then
	echo "Bail out! cannot tell the executors' protocols from --version: $OLD_NAME / $NEW_NAME"
	exit 1
fi
echo "# old: $OLD_NAME: $PREV"
echo "# new: $NEW_NAME: $(dirname "$RKTD_DRIVER")"
fast_network

# rd_old ARGS…: the previous release's rkt-driver on the test's state dir
rd_old() {
	timeout -k 5 90 "$OLD_DRIVER" --rkt "$RKTD_RKT" --state-dir "$STATE" \
		--network-timeout "$NET_TIMEOUT" "$@"
}

# ---- cells ----------------------------------------------------------------

CELLS=()
cell_name=""
cell_failed0=0

# cell NAME: starts a cell (ends the previous one)
cell() {
	cell_end
	cell_name=$1
	cell_failed0=$E2E_FAILED
	echo "# ---- cell: $cell_name"
}

cell_end() {
	[[ -z $cell_name ]] && return 0
	local n=$((E2E_FAILED - cell_failed0)) line
	if ((n == 0)); then
		line="works"
	else
		line="FAILS ($n checks; old: $OLD_NAME, new: $NEW_NAME)"
	fi
	echo "# cell $cell_name: $line"
	CELLS+=("$cell_name: $line")
	cell_name=""
}

# a task that prints a line on each stream, then waits for /local/go and
# exits 7; NAME.json in E2E_TMP, its path printed
gated_task() {
	task_file "$1" 'echo hello-out; echo hello-err >&2; while [ ! -e /local/go ]; do sleep 0.1; done; exit 7'
}

# a task that ends with 3 on SIGTERM
term_task() {
	task_file "$1" 'trap "exit 3" TERM; while :; do sleep 0.1; done'
}

# release ID: lets the gated task of the CLI's state dir exit
release() {
	touch "$(task_dir "$1")/local/go"
}

# steps of one CLI (rd or rd_old) on a running gated task started by the other
drive_running() { # LABEL CLI ID PROTOCOL-OF-ITS-EXECUTOR
	local label=$1 cli=$2 id=$3 proto=$4 pod exe
	run_cap $cli status "$id"
	check_eq "$label status exits 0" "$RC" 0
	check_match "$label status: running" "$OUT" "state: +running"
	check_match "$label status: its executor alive" "$OUT" "executor pid: +[0-9]+ \\(alive\\)"
	run_cap $cli inspect "$id"
	check_eq "$label inspect exits 0" "$RC" 0
	check_has "$label inspect names the executor's protocol ($proto)" "$OUT" "(protocol $proto)"
	run_cap $cli inspect --json "$id"
	check_eq "$label inspect --json exits 0" "$RC" 0
	check_eq "$label inspect --json: state" "$(jq -r .state <<<"$OUT" 2>/dev/null)" running
	run_cap $cli logs "$id"
	check_eq "$label logs: stdout" "$OUT" hello-out
	run_cap $cli logs --stderr "$id"
	check_has "$label logs --stderr: stderr" "$OUT" hello-err
	run_cap $cli exec "$id" -- /bin/echo inside
	check_eq "$label exec exits 0" "$RC" 0
	check_eq "$label exec output" "$OUT" inside
	run_cap $cli stats "$id"
	check_eq "$label stats exits 0" "$RC" 0
	check_has "$label stats lists the task's shell" "$OUT" " sh "
}

# after_exit_seen ID PROTOCOL: the new driver's foreground `run` gave an
# executor of protocol 2 or later the pod's `rkt rm` as after_exit, which its
# log shows it ran; to one of protocol 1 it sent none (and removed the pod
# itself). A detached start sends none (its pod stays for whoever waits).
after_exit_seen() {
	local log
	log=$(cat "$(task_dir "$1")/executor.log" 2>/dev/null)
	if (($2 >= 2)); then
		check_has "executor protocol $2: it ran after_exit (the pod's rkt rm)" "$log" "after_exit"
	else
		check_lacks "executor protocol $2: no after_exit was sent to it" "$log" "after_exit"
	fi
}

# the end of a task a CLI waited for or stopped: pod and executor gone
check_ended() { # LABEL POD EXECUTOR-PID
	check "$1: its pod is removed" wait_until 10 pod_gone "$2"
	check "$1: its executor is gone" wait_until 10 gone "$3"
}

# cli_cells FROM-LABEL FROM-CLI TO-LABEL TO-CLI FROM-PROTOCOL: started by
# one CLI, driven by the other
cli_cells() {
	local fl=$1 from=$2 tl=$3 to=$4 proto=$5 id pod exe w

	cell "$fl CLI starts, $tl CLI waits, inspects, logs, execs"
	id=$($from run --detach "$(gated_task "$fl-$tl-wait")") || { not_ok "$fl CLI run --detach" "$ERR"; return; }
	pod=$(pod_of "$id") exe=$(executor_pid_of "$id")
	# a wait of the starting release in flight, killed as an upgrade would
	bg $from wait "$id"
	w=$BG
	sleep 0.3
	kill -9 "$w"
	drive_running "$tl CLI on a $fl task:" "$to" "$id" "$proto"
	release "$id"
	run_cap $to wait "$id"
	check_eq "$tl CLI wait: the task's exit code" "$RC" 7
	check_eq "$tl CLI wait prints it" "$OUT" "exit code 7"
	check_ended "$tl CLI wait" "$pod" "$exe"
	run_cap $from status "$id"
	check_match "$fl CLI status afterwards: exited (7)" "$OUT" "state: +exited \\(7\\)"

	cell "$fl CLI starts, $tl CLI stops"
	id=$($from run --detach "$(term_task "$fl-$tl-stop")") || { not_ok "$fl CLI run --detach" "$ERR"; return; }
	pod=$(pod_of "$id") exe=$(executor_pid_of "$id")
	sleep 0.3
	run_cap $to stop "$id"
	check_eq "$tl CLI stop exits 0" "$RC" 0
	check_eq "$tl CLI stop: the exit code of SIGTERM's trap" "$OUT" "exit code 3"
	check_ended "$tl CLI stop" "$pod" "$exe"
	run_cap $from wait "$id"
	check_eq "$fl CLI wait afterwards: the same code" "$RC" 3

	cell "$fl executor's exit record, read by the $tl CLI"
	id=$($from run --detach "$(task_file "$fl-$tl-rec" 'exit 9')") || { not_ok "$fl CLI run --detach" "$ERR"; return; }
	pod=$(pod_of "$id") exe=$(executor_pid_of "$id")
	check "the $fl executor wrote its exit record" wait_file 10 "$(task_dir "$id")/exit.json"
	kill -9 "$exe"
	check "its executor is gone (killed)" wait_until 5 gone "$exe"
	run_cap $to wait "$id"
	check_eq "$tl CLI wait: the recorded exit code" "$RC" 9
	check "$tl CLI wait: the pod is removed" wait_until 10 pod_gone "$pod"
}

cli_cells old rd_old new rd "$OLD_PROTO"
cli_cells new rd old rd_old "$NEW_PROTO"

# ---- one release's driver, the other's executor from the start -------------

cell "new CLI launches an old executor (--executor)"
id=$(rd --executor "$OLD_EXEC" run --detach "$(gated_task new-drv-old-exe)")
pod=$(pod_of "$id") exe=$(executor_pid_of "$id")
check_match "the handle records the old executor's protocol" "$(cat "$(task_dir "$id")/handle")" "\"ProtocolVersion\":$OLD_PROTO[,}]"
drive_running "new CLI, old executor:" rd "$id" "$OLD_PROTO"
release "$id"
run_cap rd wait "$id"
check_eq "new CLI wait: exit code 7" "$RC" 7
check_ended "new CLI wait" "$pod" "$exe"

# protocol 2's after_exit, as the new driver's foreground run sends it: to the
# new executor (it runs the pod's rkt rm) and not to the old one
cell "new CLI run in the foreground: after_exit to a new executor, none to an old one"
for which in new old; do
	if [ "$which" = new ]; then opts=() proto=$NEW_PROTO; else opts=(--executor "$OLD_EXEC") proto=$OLD_PROTO; fi
	run_cap rd "${opts[@]}" run "$(task_file "fg-$which" 'echo fg; exit 7')"
	check_eq "foreground run, $which executor: the task's exit code" "$RC" 7
	id=$(sed -n 's/.*task \([^ ]*\) started.*/\1/p' <<<"$ERR" | head -1)
	check "foreground run, $which executor: it named the task" test -n "$id"
	after_exit_seen "$id" "$proto"
	uuid=$(sed -n 's/.*started (pod \([0-9a-f-]*\)).*/\1/p' <<<"$ERR" | head -1)
	check "foreground run, $which executor: its pod is removed" wait_until 10 pod_gone "$uuid"
done

cell "old CLI launches a new executor (--executor)"
id=$(rd_old --executor "$NEW_EXEC" run --detach "$(gated_task old-drv-new-exe)")
pod=$(pod_of "$id") exe=$(executor_pid_of "$id")
check_match "the handle records the new executor's protocol" "$(cat "$(task_dir "$id")/handle")" "\"ProtocolVersion\":$NEW_PROTO[,}]"
drive_running "old CLI, new executor:" rd_old "$id" "$NEW_PROTO"
release "$id"
run_cap rd_old wait "$id"
check_eq "old CLI wait: exit code 7" "$RC" 7
check_ended "old CLI wait" "$pod" "$exe"

# ---- the plugin (new only: the previous release has none) ------------------

AG=$E2E_TMP/agent
ag() { # rkt-agent of this tree; its plugin launches EXEC ($AG_EXEC)
	timeout -k 5 120 "$RKTD_AGENT" --state-dir "$AG" --rkt "$RKTD_RKT" --wait-poll 1s \
		--driver "$RKTD_DRIVER" --driver-arg "--executor=$AG_EXEC" --driver-arg "--network-timeout=$NET_TIMEOUT" "$@"
}
ag_local() { # KEY-GLOB: the local dir of the agent's task
	local d
	for d in "$AG"/allocs/*/"$1"/local; do echo "$d"; done | head -n1
}
ag_task_dir() { # NAME: the plugin's task dir of the agent's task NAME
	local h
	h=$(grep -l "\"TaskName\":\"$1\"" "$AG"/driver/tasks/*/handle 2>/dev/null | head -n1)
	[[ -n $h ]] && dirname "$h"
}
handle_field() { # TASK-DIR JQ-PATH: a field of the Rkt:{…} handle in TASK-DIR
	sed 's/^Rkt://' "$1/handle" 2>/dev/null | jq -r "$2" 2>/dev/null
}
ag_key() { # NAME: the agent's key of its task NAME
	ag status 2>/dev/null | awk -v n="$1" '$1 ~ ("-" n "$") { print $1; exit }'
}

cell "new plugin drives old executors, SIGKILLed and respawned"
AG_EXEC=$OLD_EXEC
run_cap ag run --detach "$(gated_task pl-old)"
check_eq "rkt-agent run --detach (new plugin, old executor) exits 0" "$RC" 0
td=$(ag_task_dir pl-old)
check_match "the plugin's handle records the old executor's protocol" "$(cat "$td/handle" 2>/dev/null)" "\"ProtocolVersion\":$OLD_PROTO[,}]"
exe=$(handle_field "$td" .PluginConfig.Pid)
check "the old executor runs" alive "$exe"
check_has "it is the old binary" "$(tr '\0' ' ' <"/proc/$exe/cmdline")" "$OLD_EXEC"
agout=$E2E_TMP/agent-recover.out
ag recover >"$agout" 2>&1 &
agpid=$!
BG_PIDS+=("$agpid")
check "the agent recovered the task on a new plugin" wait_until 20 grep -q "recovered" "$agout"
plg=$(jq -r .Pid "$AG/plugin.json")
kill -9 "$plg"
check "the plugin is SIGKILLed" wait_until 5 gone "$plg"
check "the agent respawns a plugin and recovers the task again" \
	wait_until 20 bash -c "[ \$(grep -c recovered '$agout') -ge 2 ]"
touch "$(ag_local pl-old)/go"
wait "$agpid"
check_eq "rkt-agent recover exits 0" "$?" 0
check_match "the agent records exit code 7" "$(cat "$agout")" "pl-old: exit code 7"
check "the old executor is gone" wait_until 10 gone "$exe"

cell "new plugin stops a task on an old executor"
run_cap ag run --detach "$(term_task pl-old-stop)"
td=$(ag_task_dir pl-old-stop)
exe=$(handle_field "$td" .PluginConfig.Pid)
run_cap ag stop "$(ag_key pl-old-stop)"
check_eq "rkt-agent stop exits 0" "$RC" 0
check_has "the agent records SIGTERM's trap code" "$OUT$ERR" "exit code 3"
check "the old executor is gone" wait_until 10 gone "$exe"

# the plugin's task dirs hold the CLI's handle file: the CLI of the previous
# release (an agent rolled back to it) opens them
cell "old CLI opens a task the new plugin started (rollback)"
AG_EXEC=$NEW_EXEC
run_cap ag run --detach "$(gated_task pl-new)"
check_eq "rkt-agent run --detach (new plugin, new executor) exits 0" "$RC" 0
td=$(ag_task_dir pl-new)
tid=$(basename "$td")
exe=$(handle_field "$td" .PluginConfig.Pid)
pod=$(handle_field "$td" .UUID)
run_cap timeout 60 "$OLD_DRIVER" --rkt "$RKTD_RKT" --state-dir "$AG/driver" status "$tid"
check_eq "old CLI status of the plugin's task exits 0" "$RC" 0
check_match "old CLI status: running" "$OUT" "state: +running"
touch "$(ag_local pl-new)/go"
run_cap timeout 60 "$OLD_DRIVER" --rkt "$RKTD_RKT" --state-dir "$AG/driver" wait "$tid"
check_eq "old CLI wait: exit code 7" "$RC" 7
check_ended "old CLI wait" "$pod" "$exe"
run_cap ag recover
check_eq "then rkt-agent recover (new plugin) exits 0" "$RC" 0
check_has "and still finds exit code 7 (the exit record)" "$OUT" "pl-new: exit code 7"

# ---- handles ---------------------------------------------------------------

PL_STATE=$E2E_TMP/plugin-state
upg_recover() { # ID HANDLE-FILE [--stop] [--destroy]: a fresh new plugin recovers the handle
	local id=$1 file=$2
	shift 2
	timeout -k 5 150 "$RKTD_UPG_RECOVER" --driver "$RKTD_DRIVER" --id "$id" --name "$id" "$@" "$file" -- \
		--rkt "$RKTD_RKT" --state-dir "$PL_STATE" --network-timeout "$NET_TIMEOUT"
}

cell "old CLI's handle, recovered by the new plugin"
id=$(rd_old run --detach "$(gated_task old-handle)")
pod=$(pod_of "$id") exe=$(executor_pid_of "$id")
out=$E2E_TMP/upg-recover.out
upg_recover old-handle "$(task_dir "$id")/handle" >"$out" 2>&1 &
up=$!
BG_PIDS+=("$up")
check "the new plugin recovers it" wait_until 20 grep -q '^recover: ' "$out"
check_match "recover: attached, running" "$(cat "$out")" "recover: OK running"
release "$id"
wait "$up"
check_eq "upg-recover exits 0" "$?" 0
check_match "WaitTask: exit code 7" "$(cat "$out")" "wait: exit code 7"
check "the old executor is gone" wait_until 10 gone "$exe"
check "the pod is removed" wait_until 10 pod_gone "$pod"
run_cap rd_old wait "$id"
check_eq "the old CLI still reads exit code 7 afterwards" "$RC" 7
run_cap rd wait "$id"
check_eq "and the new CLI too" "$RC" 7
# an agent that took the task over then destroys it: DestroyTask removes the
# task dir the handle names (a driver task dir: <dir>/tasks/<name> with a
# handle), the CLI's here, so the task then belongs to nobody: no leftovers
run_cap upg_recover old-handle "$(task_dir "$id")/handle" --destroy
# (the reply's state says running while its description says exited: the
# plugin answers before its waiter has read the exit record; see
# docs/upgrades.md)
check_match "a new plugin recovers it again: exited" "$OUT" "recover: OK [a-z]+: exited"
check_match "WaitTask: exit code 7 (its exit record)" "$OUT" "wait: exit code 7"
check_match "DestroyTask answers" "$OUT" "destroy: OK"
check "and removes the task dir the handle names" test ! -e "$(task_dir "$id")"

# nomad08 NAME: a still-running pod started as the seed did (prepare, then
# run-prepared in a session of its own), and its Nomad 0.8 handle (the seed's
# exact format: AddrNet unix, no additions) with a dead executor pid, at
# $E2E_TMP/NAME.handle; sets POD and APP
dead_pid() {
	sh -c 'exit 0' &
	local p=$!
	wait "$p"
	echo "$p"
}
nomad08() {
	POD=$(rkt --insecure-options=image prepare "$RKTD_ACI" --exec=/bin/sh -- -c 'exec sleep 120')
	E2E_PODS+=("$POD")
	setsid "$RKTD_RKT" run-prepared "$POD" >/dev/null 2>&1 &
	APP=$!
	BG_PIDS+=("$APP")
	wait_until 5 pod_running "$POD"
	printf '%s' 'Rkt:{"UUID":"'"$POD"'","PluginConfig":{"Pid":'"$(dead_pid)"',"AddrNet":"unix","AddrName":"'"$E2E_TMP"'/x.sock"},"ExecutorPid":'"$APP"',"KillTimeout":5000000000,"MaxKillTimeout":30000000000}' \
		>"$E2E_TMP/$1.handle"
}
put_handle() { # ID FILE: a CLI task whose state is just that handle
	mkdir -p "$STATE/tasks/$1"
	cp "$2" "$STATE/tasks/$1/handle"
}

nomad08_cli() { # LABEL CLI
	local label=$1 cli=$2
	nomad08 "n08-$label"
	put_handle "n08-$label" "$E2E_TMP/n08-$label.handle"
	run_cap $cli status "n08-$label"
	check_eq "$label CLI status opens it" "$RC" 0
	check_match "$label CLI status: lost" "$OUT" "state: +lost"
	check "$label CLI status leaves the pod running" pod_running "$POD"
	run_cap $cli wait "n08-$label"
	check_eq "$label CLI wait: 125, never 0" "$RC" 125
	check_has "$label CLI wait: executor gone, no exit record" "$ERR" "is gone and left no exit record"
	check "$label CLI wait: the pod is stopped" wait_until 10 gone "$APP"
	check "$label CLI wait: the pod is removed" wait_until 10 pod_gone "$POD"
	put_handle "n08b-$label" "$E2E_TMP/n08-$label.handle"
	run_cap $cli wait "n08b-$label"
	check_eq "$label CLI wait again, the pod gone: 125" "$RC" 125
	check_has "$label CLI: saying the exit result is lost" "$ERR" "exit result is lost"
}

cell "Nomad 0.8 handle opened by the old CLI"
nomad08_cli old rd_old
cell "Nomad 0.8 handle opened by the new CLI"
nomad08_cli new rd

cell "Nomad 0.8 handle recovered by the new plugin"
nomad08 n08-plugin
run_cap upg_recover n08-plugin "$E2E_TMP/n08-plugin.handle" --destroy
check_eq "upg-recover exits 0" "$RC" 0
check_match "RecoverTask opens it" "$OUT" "recover: OK "
check_match "WaitTask: lost, with a sentence (never an exit code)" "$OUT" "wait: lost: .+"
check_lacks "no exit code" "$OUT" "exit code"
check "the pod is stopped" wait_until 10 gone "$APP"
check "the pod is removed" wait_until 10 pod_gone "$POD"
check "DestroyTask answers" grep -q '^destroy: OK' <<<"$OUT"

cell_end
echo "# cells:"
for c in "${CELLS[@]}"; do echo "#   $c"; done
e2e_finish
