#!/bin/bash
# e2e: lost and foreign tasks, told truthfully (issue 7, item 6).
#  - a lost executor (SIGKILLed while the pod runs) whose app has a child that
#    outlives it: read-only commands change nothing; wait and stop stop the
#    whole pod (fly's `stop --force` reaches the children only once the main
#    pid is gone), within a bounded time, and say what rkt says afterwards;
#  - a live executor that is not ours (a Nomad 0.8 handle, AddrNet "unix"):
#    one sentence saying so, the executor and its pod left untouched; stop
#    (rkt stop) and exec (rkt enter) still work; status takes the pod's state
#    from rkt status.
# Runs on the simulator and on real rkt (RKTD_RKT=/path/to/rkt); the checks on
# the app's child need fly's behaviour, which the simulator follows: a pod runs
# while any of its processes holds its lock, and `stop` signals the pod's
# process group only once its main pid is gone.
source "$(dirname "$0")/lib.sh"

# ---- helpers of this script ---------------------------------------------

# children_of PID: its child pids
children_of() {
	pgrep -P "$1"
}

# ms_since T0: milliseconds since T0 (date +%s%N)
ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# handle_set ID JQ-FILTER: edits a task's handle (keeping the Rkt: prefix)
handle_set() {
	local h=$STATE/tasks/$1/handle
	printf 'Rkt:%s' "$(sed 's/^Rkt://' "$h" | jq -c "$2")" >"$h.new" && mv "$h.new" "$h"
}

# put_handle ID TEXT: a task whose state is just that handle string
put_handle() {
	mkdir -p "$STATE/tasks/$1"
	printf '%s' "$2" >"$STATE/tasks/$1/handle"
}

# fake_go_plugin SOCK: a live process listening on a unix socket, standing in
# for a Nomad 0.8 go-plugin executor (which speaks gRPC, not our protocol);
# sets BG to its pid
fake_go_plugin() {
	bg python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
time.sleep(600)' "$1"
	wait_file 10 "$1"
}

# own_pod SCRIPT: a pod made and run as the seed did (prepare, then
# run-prepared in the background; under fly its pid is the app's); sets UUID
# and APP
own_pod() {
	UUID=$(rkt --insecure-options=image prepare "$RKTD_ACI" --exec=/bin/sh -- -c "$1" 2>/dev/null)
	E2E_PODS+=("$UUID")
	# not through rkt(): its timeout would end the pod, and $! must be rkt's;
	# a session of its own: fly's stop signals the pod's process group once
	# the app is gone, which must not be this script's
	setsid "$RKTD_RKT" run-prepared "$UUID" >/dev/null 2>&1 &
	APP=$!
	BG_PIDS+=("$APP")
	wait_until 10 pod_running "$UUID"
}

# lose TASK-ID: SIGKILLs the task's executor; sets EXE, UUID, APP (the app's
# pid) and CHILD (its child)
lose() {
	EXE=$(executor_pid_of "$1")
	UUID=$(pod_of "$1")
	APP=$(rkt_pid_of "$1")
	wait_until 10 eval '[[ -n $(children_of "$APP") ]]'
	CHILD=$(children_of "$APP")
	kill -9 "$EXE"
	wait_until 5 gone "$EXE"
}

# untouched DESC: the pod of the last lose/own_pod still runs, and so do its
# app and the app's child (when there is one)
untouched() {
	check_eq "$1: rkt still says the pod is running" "$(rkt_state "$UUID")" running
	check "$1: the app still runs" alive "$APP"
	[[ -z ${CHILD:-} ]] || check "$1: the app's child still runs" alive "$CHILD"
}

# a task whose app leaves a child behind (both in the pod's process group)
CHILD_TASK='sleep 1001 & echo ready >/alloc/ready; exec sleep 1000'
HOST='"net": ["host"]'

# ---- a lost executor; read-only commands change nothing -----------------

id=$(start_detached "$(task_file lostro "$CHILD_TASK" '' "$HOST")")
wait_file 10 "$(task_dir "$id")/alloc/ready"
lose "$id"
untouched "executor SIGKILLed"

run_cap rd inspect "$id"
check_eq "inspect of a lost task exits 1" "$RC" 1
check_has "inspect says the executor is gone without an exit record" "$ERR" "left no exit record"
check_has "inspect says the pod was left untouched" "$ERR" "left untouched"
check_lacks "inspect does not claim the pod was stopped" "$ERR" "stopped and removed"
untouched "after inspect"
run_cap rd stats "$id"
check_eq "stats of a lost task exits 1" "$RC" 1
check_has "stats says the pod was left untouched" "$ERR" "left untouched"
untouched "after stats"
run_cap rd status "$id"
check_eq "status of a lost task exits 0" "$RC" 0
check_match "status says lost" "$OUT" $'state: +lost\n'
check_match "status gives the pod's state from rkt status" "$OUT" "pod state: +running"
run_cap rd ps
check_match "ps says lost" "$OUT" "$id +lost +$UUID"
run_cap rd logs "$id"
check_eq "logs of a lost task exits 0" "$RC" 0
run_cap rd signal "$id" HUP
check_eq "signal of a lost task exits 1" "$RC" 1
check_has "signal says the pod was left untouched" "$ERR" "left untouched"
untouched "after status, ps, logs, signal"

run_cap rd exec "$id" -- /bin/echo still here
check_eq "exec into a lost task's pod works (rkt enter)" "$RC" 0
check_eq "and prints the command's output" "$OUT" "still here"
untouched "after exec"

# ---- wait stops the whole pod, in bounded time, and says what is true --

t0=$(date +%s%N)
run_cap rd wait "$id"
ms=$(ms_since "$t0")
check_eq "wait on the lost task exits 125 (never 0)" "$RC" 125
check_has "wait says the executor left no exit record" "$ERR" "left no exit record"
check_has "wait says the pod was stopped and removed" "$ERR" "stopped and removed"
check_eq "and rkt agrees: the pod is gone" "$(rkt_state "$UUID")" gone
check "the app is gone" wait_until 5 gone "$APP"
check "the app's child, which outlived the app, is gone too" wait_until 5 gone "$CHILD"
check_le "wait took under 15 s (took ${ms} ms)" "$ms" 15000
run_cap rd wait "$id"
check_eq "a second wait still exits 125" "$RC" 125
check_has "saying the exit result is lost" "$ERR" "exit result is lost"

# ---- a child that left the pod's process group: no stop reaches it -----
# (fly signals the pod's process group; the pod runs while the child holds
# its lock): the driver gives up after a bounded time and says so

id=$(start_detached "$(task_file escaped \
	'/bin/busybox setsid sleep 1001 & echo ready >/alloc/ready; exec sleep 1000' '' "$HOST")")
wait_file 10 "$(task_dir "$id")/alloc/ready"
lose "$id"
t0=$(date +%s%N)
run_cap rd wait "$id"
ms=$(ms_since "$t0")
check_eq "wait on a pod that no stop can end exits 125" "$RC" 125
check_has "saying the pod still runs" "$ERR" "its pod $UUID still runs after"
check_has "was not removed" "$ERR" "and was not removed"
check_has "and what to do" "$ERR" "end the pod's processes, then run \`rkt rm $UUID\`"
check_lacks "never that it was stopped and removed" "$ERR" "stopped and removed"
check_eq "true: rkt says the pod runs" "$(rkt_state "$UUID")" running
check "true: the escaped child runs" alive "$CHILD"
check_le "wait gave up within 20 s (took ${ms} ms)" "$ms" 20000
kill -9 "$CHILD" # this script's task: ours to end
wait_until 10 eval '[[ $(rkt_state "$UUID") == exited ]]'
run_cap rd wait "$id"
check_eq "once the child is gone, wait exits 125" "$RC" 125
check_has "saying the pod had exited and has been removed" "$ERR" "its pod had exited and has been removed"
check_eq "rkt agrees: the pod is gone" "$(rkt_state "$UUID")" gone

# ---- stop of a lost task whose child ignores SIGTERM --------------------

id=$(start_detached "$(task_file loststop \
	'(trap "" TERM; exec sleep 1001) & echo ready >/alloc/ready; exec sleep 1000' \
	'"kill_timeout": "1s"' "$HOST")")
wait_file 10 "$(task_dir "$id")/alloc/ready"
lose "$id"
t0=$(date +%s%N)
run_cap rd stop "$id"
ms=$(ms_since "$t0")
check_eq "stop of a lost task exits 0 once its pod is gone" "$RC" 0
check_has "stop says the exit result is unknown" "$OUT" "exit result unknown"
check_has "and that the pod was stopped and removed" "$OUT" "stopped and removed"
check_eq "rkt agrees: the pod is gone" "$(rkt_state "$UUID")" gone
check "the app is gone" wait_until 5 gone "$APP"
check "its child, which ignored SIGTERM, is gone too" wait_until 5 gone "$CHILD"
check_le "stop took under the kill timeout + 15 s (took ${ms} ms)" "$ms" 16000

# ---- our executor alive but not answering (a wrong token in the handle) -

id=$(start_detached "$(task_file deaf 'echo ready >/alloc/ready; exec sleep 300' \
	'"kill_timeout": "1s"' "$HOST")")
wait_file 10 "$(task_dir "$id")/alloc/ready"
EXE=$(executor_pid_of "$id")
UUID=$(pod_of "$id")
APP=$(rkt_pid_of "$id")
CHILD=
handle_set "$id" '.PluginConfig.Token = "0123456789abcdef0123456789abcdef"'
run_cap rd wait "$id"
check_eq "wait on a task whose executor does not answer exits 125" "$RC" 125
check_match "saying so, and why" "$ERR" "its executor \\(pid $EXE\\) is alive but does not answer \\(.*token\\)"
check_has "and that it and its pod were left untouched" "$ERR" "it and its pod $UUID (running) were left untouched"
check "the executor was left alone" alive "$EXE"
untouched "unreachable executor, after wait"
run_cap rd stop "$id"
check_eq "stop of it works through rkt stop (exit 0)" "$RC" 0
check_eq "and reports the exit its executor recorded" "$OUT" "killed by signal 15 (Terminated)"
check "the app was stopped" wait_until 5 gone "$APP"
check_eq "and the pod removed" "$(rkt_state "$UUID")" gone

# ---- a live executor that is not ours (Nomad 0.8, go-plugin) ------------

CHILD=
own_pod 'exec sleep 300'
sock=$E2E_TMP/plugin-nomad08
fake_go_plugin "$sock"
plugin=$BG
put_handle nomad08live 'Rkt:{"UUID":"'$UUID'","PluginConfig":{"Pid":'$plugin',"AddrNet":"unix","AddrName":"'$sock'"},"ExecutorPid":'$APP',"KillTimeout":5000000000,"MaxKillTimeout":30000000000}'

run_cap rd wait nomad08live
check_eq "wait on a task with a foreign live executor exits 125" "$RC" 125
check_match "one sentence: what the executor is" "$ERR" "executor \\(pid $plugin, AddrNet \"unix\"[^)]*\\) is not an rkt-executor"
check_has "that it and its pod were left untouched" "$ERR" "it and its pod $UUID (running) were left untouched"
check_has "what to do" "$ERR" "stop the task to stop its pod through rkt stop"
check_eq "the sentence is one line" "$(wc -l <<<"$ERR")" 1
check "the foreign executor was left alone" alive "$plugin"
untouched "foreign executor, after wait"
for c in inspect stats signal; do
	if [[ $c == signal ]]; then run_cap rd signal nomad08live HUP; else run_cap rd "$c" nomad08live; fi
	check_eq "$c of it exits 1" "$RC" 1
	check_has "$c of it gives the same sentence" "$ERR" "is not an rkt-executor"
done
check "the foreign executor is still alive" alive "$plugin"
untouched "foreign executor, after inspect, stats, signal"

run_cap rd status nomad08live
check_match "status: running (rkt status)" "$OUT" $'state: +running\n'
check_match "status says whose the executor is" "$OUT" "executor pid: +$plugin \\(alive, not ours"
run_cap rd exec nomad08live -- /bin/echo through rkt enter
check_eq "exec into it works (rkt enter)" "$RC" 0
check_eq "and prints the command's output" "$OUT" "through rkt enter"

# the pod exits on its own: status and ps follow rkt status
kill "$APP"
wait_until 10 eval '[[ $(rkt_state "$UUID") == exited ]]'
run_cap rd status nomad08live
check_match "after the pod exited, status says so (code unknown)" "$OUT" $'state: +exited \\(code unknown\\)\n'
run_cap rd ps
check_match "and so does ps" "$OUT" "nomad08live +exited \\(code unknown\\)"
run_cap rd wait nomad08live
check_eq "wait still exits 125" "$RC" 125
check_has "saying the pod exited and was left untouched" "$ERR" "its pod $UUID (exited) were left untouched"
check_eq "the exited pod was not removed" "$(rkt_state "$UUID")" exited

# stop works through rkt stop
own_pod 'exec sleep 300'
put_handle nomad08stop 'Rkt:{"UUID":"'$UUID'","PluginConfig":{"Pid":'$plugin',"AddrNet":"unix","AddrName":"'$sock'"},"ExecutorPid":'$APP',"KillTimeout":2000000000,"MaxKillTimeout":30000000000}'
t0=$(date +%s%N)
run_cap rd stop nomad08stop
ms=$(ms_since "$t0")
check_eq "stop of a task with a foreign executor exits 0" "$RC" 0
check_has "it says the exit result is unknown" "$OUT" "exit result unknown"
check_has "and why" "$OUT" "is not an rkt-executor"
check "the app was stopped" wait_until 5 gone "$APP"
check_eq "and rkt says the pod is gone (removed)" "$(rkt_state "$UUID")" gone
check "the foreign executor was left alone" alive "$plugin"
check_le "stop took under 10 s (took ${ms} ms)" "$ms" 10000

e2e_finish
