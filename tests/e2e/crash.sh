#!/bin/bash
# e2e: driver crashes and the recover cases of DESIGN.md (issue 3, cases 11 and 13).
source "$(dirname "$0")/lib.sh"
fast_network

# driver_bg ARGS…: rkt-driver itself in the background (no wrapper, so that
# $! is the driver's own pid); its stdout and stderr go to $E2E_TMP/bg.out
driver_bg() {
	"$RKTD_DRIVER" --rkt "$RKTD_RKT" --state-dir "$STATE" --network-timeout "$NET_TIMEOUT" "$@" \
		>"$E2E_TMP/bg.out" 2>&1 &
	BG=$!
	BG_PIDS+=("$BG")
}

# handle_set ID JQ-FILTER: edits a task's handle (keeping the Rkt: prefix)
handle_set() {
	local h=$STATE/tasks/$1/handle
	printf 'Rkt:%s' "$(sed 's/^Rkt://' "$h" | jq -c "$2")" >"$h.new" && mv "$h.new" "$h"
}

# ---- 11: the driver killed mid-wait; a new driver gets the exact code
id=$(start_detached "$(task_file midwait 'echo ready >/alloc/ready; sleep 2; exit 42')")
wait_file 10 "$(task_dir "$id")/alloc/ready"
driver_bg wait "$id"
drv=$BG
sleep 0.4
check "the first wait is still waiting" alive "$drv"
{ kill -9 "$drv"; wait "$drv"; } 2>/dev/null
check_eq "the task survives its driver's SIGKILL" "$(state_of "$id")" running
run_cap rd wait "$id"
check_eq "a new wait returns the exact exit code 42" "$RC" 42
check_eq "and prints it" "$OUT" "exit code 42"

# the attached run killed mid-stream: the task goes on, its code is kept
f=$(task_file midrun 'echo ready >/alloc/ready; sleep 2; echo after; exit 43')
driver_bg run "$f"
drv=$BG
wait_until 10 eval 'ls "$STATE"/tasks/*-midrun/alloc/ready >/dev/null 2>&1'
wait_until 10 grep -q "started (pod" "$E2E_TMP/bg.out" # streaming now
id=$(ls "$STATE/tasks" | grep -- '-midrun$')
{ kill -9 "$drv"; wait "$drv"; } 2>/dev/null
run_cap rd wait "$id"
check_eq "after the attached run was SIGKILLed, wait returns 43" "$RC" 43
check_eq "and no output line was lost" "$(rd logs "$id")" "after"

# the task exits while no rkt-driver process exists at all
id=$(start_detached "$(task_file nodriver 'sleep 1; exit 9')")
check_eq "no rkt-driver process is left after run --detach" \
	"$(pids_mentioning "--state-dir $STATE " | wc -l)" 0
check "the executor records the exit with nobody listening" wait_file 10 "$(task_dir "$id")/exit.json"
check_eq "the exit record holds code 9" "$(jq -r .ExitCode "$(task_dir "$id")/exit.json")" 9
check_eq "status (no executor call) says exited (9)" "$(state_of "$id")" "exited (9)"
run_cap rd wait "$id"
check_eq "a later wait returns 9" "$RC" 9

# ---- 13: recover cases
# executor SIGKILLed after the task exited: the exit record gives the code
id=$(start_detached "$(task_file exitedkill 'exit 11')")
wait_file 10 "$(task_dir "$id")/exit.json"
exe=$(executor_pid_of "$id")
check "the executor waits for a driver after the exit" alive "$exe"
kill -9 "$exe"
wait_until 5 gone "$exe"
check_has "status: executor gone" "$(rd status "$id")" "(gone)"
run_cap rd wait "$id"
check_eq "executor SIGKILLed after the exit: wait returns 11 from the record" "$RC" 11
check "and removes the pod" pod_gone "$(pod_of "$id")"

# executor SIGKILLed while the pod runs: wait stops and removes the pod, 125
id=$(start_detached "$(task_file lostexec 'echo ready >/alloc/ready; exec sleep 120')")
wait_file 10 "$(task_dir "$id")/alloc/ready"
exe=$(executor_pid_of "$id")
uuid=$(pod_of "$id")
app=$(rkt_pid_of "$id")
check "the pod's app runs" alive "$app"
kill -9 "$exe"
wait_until 5 gone "$exe"
check "the pod outlives its executor" alive "$app"
check_eq "status says lost" "$(state_of "$id")" lost
run_cap rd wait "$id"
check_eq "wait with the executor gone mid-task exits 125 (never 0)" "$RC" 125
check_has "and says the executor is gone without an exit record" "$ERR" "left no exit record"
check_has "and that the pod was stopped and removed" "$ERR" "stopped and removed"
check_lacks "it prints no exit code" "$OUT" "exit code"
check "the pod's app was stopped" wait_until 5 gone "$app"
check "the pod was removed" pod_gone "$uuid"
run_cap rd wait "$id"
check_eq "a second wait still fails (125), never 0" "$RC" 125

# pid reuse: the handle's pids now name an unrelated process
id=$(start_detached "$(task_file reuse 'echo ready >/alloc/ready; exec sleep 120')")
wait_file 10 "$(task_dir "$id")/alloc/ready"
exe=$(executor_pid_of "$id")
uuid=$(pod_of "$id")
app=$(rkt_pid_of "$id")
kill -9 "$exe"
wait_until 5 gone "$exe"
sleep 300 &
victim=$!
BG_PIDS+=("$victim")
handle_set "$id" ".PluginConfig.Pid = $victim | .ExecutorPid = $victim"
run_cap rd wait "$id"
check_eq "pid reused by a sleep: wait fails (125)" "$RC" 125
check_match "with a clear error naming the executor" "$ERR" "executor \\(pid $victim\\)"
check "the unrelated sleep survives" alive "$victim"
check "the pod (named by its UUID) was stopped" wait_until 5 gone "$app"
run_cap rd stop "$id"
check "stop does not signal the reused pid either" alive "$victim"

# the same with the executor still alive: its record's pid is reused
id=$(start_detached "$(task_file reuse2 'echo ready >/alloc/ready; exec sleep 120')")
wait_file 10 "$(task_dir "$id")/alloc/ready"
exe=$(executor_pid_of "$id")
handle_set "$id" ".PluginConfig.Pid = $victim | .ExecutorPid = $victim"
run_cap rd wait "$id"
check_ne "a handle whose pids name another process never gives exit 0" "$RC" 0
check "the unrelated sleep survives a wait" alive "$victim"
run_cap rd stop "$id"
check "and a stop" alive "$victim"
kill "$victim"

e2e_finish
