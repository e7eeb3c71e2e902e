#!/bin/bash
# e2e: stop, the kill timeout and SIGKILL (issue 3, case 7).
source "$(dirname "$0")/lib.sh"
fast_network

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# a task that handles SIGTERM and exits 0
f=$(task_file trapper 'trap "echo got-term; exit 0" TERM; echo ready >/alloc/ready; while :; do sleep 0.1; done' \
	'"kill_timeout": "10s"')
id=$(start_detached "$f")
wait_file 10 "$(task_dir "$id")/alloc/ready"
t0=$(now_ms)
run_cap rd stop "$id"
ms=$(($(now_ms) - t0))
check_eq "stop of a task that traps TERM exits 0" "$RC" 0
check_eq "stop prints the task's exit: exit code 0" "$OUT" "exit code 0"
check_le "it ended on SIGTERM, well before its 10 s kill timeout (ms)" "$ms" 5000
run_cap rd logs "$id"
check_has "the task saw SIGTERM" "$OUT" got-term
run_cap rd wait "$id"
check_eq "wait afterwards: exit 0" "$RC" 0
check "its pod was removed" pod_gone "$(pod_of "$id")"

# a task that ignores SIGTERM: SIGKILL after kill_timeout 1s
f=$(task_file stubborn 'trap "" TERM; echo ready >/alloc/ready; while :; do sleep 0.1; done' \
	'"kill_timeout": "1s"')
id=$(start_detached "$f")
wait_file 10 "$(task_dir "$id")/alloc/ready"
app=$(rkt_pid_of "$id")
t0=$(now_ms)
run_cap rd stop "$id"
ms=$(($(now_ms) - t0))
check_eq "stop of a task ignoring TERM exits 0" "$RC" 0
check_has "stop says it was killed by signal 9" "$OUT" "signal 9"
check_ge "SIGKILL came no sooner than the 1 s kill timeout (ms)" "$ms" 1000
check_le "and not much later (ms)" "$ms" 4000
check "the task's process is gone" gone "$app"
run_cap rd wait "$id"
check_eq "wait afterwards exits 128+9" "$RC" 137

# a plain task: SIGTERM ends it
id=$(start_detached "$(task_file plain 'exec sleep 60')")
run_cap rd stop "$id"
check_has "stop of a plain sleep: killed by SIGTERM (15)" "$OUT" "signal 15"

# the signal command: a signal of the user's choice to the task
id=$(start_detached "$(task_file sig 'trap "echo got-usr1" USR1; echo ready >/alloc/ready; while :; do sleep 0.1; done')")
wait_file 10 "$(task_dir "$id")/alloc/ready"
run_cap rd signal "$id" USR1
check_eq "signal ID USR1 exits 0" "$RC" 0
check "the task got SIGUSR1" wait_until 5 eval 'rd logs "$id" | grep -q got-usr1'
check_eq "and kept running" "$(state_of "$id")" running
run_cap rd signal "$id" SIGBOGUS
check_eq "an unknown signal name is a usage error (2)" "$RC" 2
rd stop "$id" >/dev/null
run_cap rd signal "$id" HUP
check_eq "signal to an ended task fails (1)" "$RC" 1
check_has "saying it has exited" "$ERR" "has exited"

# Ctrl-C on an attached run stops the task (once) and still waits for it
f=$(task_file intr 'trap "echo got-term; exit 0" TERM; echo ready >/alloc/ready; while :; do sleep 0.1; done')
"$RKTD_DRIVER" --rkt "$RKTD_RKT" --state-dir "$STATE" --network-timeout "$NET_TIMEOUT" run "$f" \
	>"$E2E_TMP/intr.out" 2>"$E2E_TMP/intr.err" &
drv=$!
BG_PIDS+=("$drv")
wait_until 10 eval 'ls "$STATE"/tasks/*-intr/alloc/ready >/dev/null 2>&1'
# once it streams (its handler is set after "started"; before, a background
# job of a script ignores SIGINT)
wait_until 10 grep -q "started (pod" "$E2E_TMP/intr.err"
sleep 0.3
kill -INT "$drv"
wait "$drv"
check_eq "Ctrl-C: run exits with the task's code once it ended (0)" "$?" 0
check_has "Ctrl-C: the task got SIGTERM and its output was streamed" "$(cat "$E2E_TMP/intr.out")" got-term
check_eq "Ctrl-C: the task is recorded as exited (0)" "$(state_of "$(ls "$STATE/tasks" | grep -- '-intr$')")" "exited (0)"

# stop kills the whole tree: a process that left the task's process group
# (setsid) must not outlive the stop (DESIGN.md: Shutdown is "signal, grace
# period, then SIGKILL to the whole tree"; no orphaned process)
f=$(task_file tree 'setsid sh -c "echo \$\$ >/alloc/leak.pid; exec sleep 100" </dev/null >/dev/null 2>&1 &
echo ready >/alloc/ready; exec sleep 60' '"kill_timeout": "1s"')
id=$(start_detached "$f")
wait_file 10 "$(task_dir "$id")/alloc/ready"
wait_file 5 "$(task_dir "$id")/alloc/leak.pid"
leak=$(cat "$(task_dir "$id")/alloc/leak.pid" 2>/dev/null)
check_match "the task's setsid child runs" "$(tr '\0' ' ' <"/proc/${leak:-0}/cmdline" 2>/dev/null)" '^sleep 100'
run_cap rd stop "$id"
check_eq "stop of the task with a setsid child exits 0" "$RC" 0
check "no process of the stopped task survives the stop (its setsid child is killed)" \
	wait_until 3 gone "${leak:-0}"
# it is ours (started by our task): do not leave it behind
if [[ -n $leak ]] && [[ $({ tr '\0' ' ' <"/proc/$leak/cmdline"; } 2>/dev/null) == "sleep 100 " ]]; then
	kill -9 "$leak"
fi

# kill_timeout is clamped to the 30 s max_kill_timeout
id=$(start_detached "$(task_file clamp 'exec sleep 60' '"kill_timeout": "90s"')")
check_has "a 90 s kill_timeout is clamped to 30 s" "$(rd status "$id")" "kill timeout:  30000 ms"
check_has "the handle records KillTimeout 30 s" "$(cat "$(task_dir "$id")/handle")" '"KillTimeout":30000000000'
rd stop "$id" >/dev/null

# stop on a task that already ended reports its exit
id=$(start_detached "$(task_file done 'exit 4')")
sleep 0.3
run_cap rd stop "$id"
check_eq "stop of an exited task exits 0" "$RC" 0
check_eq "and prints its exit" "$OUT" "exit code 4"
run_cap rd stop "$id"
check_eq "stop again (executor gone) still reports it" "$OUT" "exit code 4"

e2e_finish
