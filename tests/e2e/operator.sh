#!/bin/bash
# e2e: the operator's commands (issue 9, item 4): ps, status and stats as
# JSON, agreeing with their text views; rm and gc forgetting finished tasks
# (their pods first) and refusing every task of which something still runs:
# a running task, a lost one whose pod runs, a live executor that is not
# ours, and a task an agent started through `rkt-driver plugin`.
# Runs on the simulator and on real rkt (RKTD_RKT=/path/to/rkt).
source "$(dirname "$0")/lib.sh"
fast_network

# field ID NAME: a line "NAME: value" of `status ID`
field() {
	rd status "$1" 2>/dev/null | sed -n "s/^$2: *//p"
}

# lose ID: SIGKILLs the task's executor
lose() {
	local exe
	exe=$(executor_pid_of "$1")
	kill -9 "$exe"
	wait_until 5 gone "$exe"
}

RUN=$(task_file run 'echo ready >/alloc/ready; exec sleep 1000')
run=$(start_detached "$RUN")
done3=$(start_detached "$(task_file done3 'exit 3')")
check "two tasks started" test -n "$run" -a -n "$done3"
wait_file 10 "$(task_dir "$run")/alloc/ready"
wait_file 10 "$(task_dir "$done3")/exit.json"

# ---- ps --json and status --json: the text views' facts ------------------

run_cap rd ps --json
check_eq "ps --json exits 0" "$RC" 0
PS=$OUT
check "ps --json is a JSON array" jq -e 'type == "array"' <<<"$PS" >/dev/null
check_eq "ps --json lists both tasks, sorted" "$(jq -r '.[].id' <<<"$PS" | tr '\n' ' ')" \
	"$(printf '%s\n' "$run" "$done3" | sort | tr '\n' ' ')"
ps_text=$(rd ps)
for id in "$run" "$done3"; do
	j=$(jq -c --arg id "$id" '.[] | select(.id == $id)' <<<"$PS")
	check_match "ps --json $id: state_text, pod and executor_pid as ps prints them" "$ps_text" \
		"$id +$(jq -r .state_text <<<"$j" | sed 's/[()]/\\&/g') +$(jq -r .pod <<<"$j") +$(jq -r .executor_pid <<<"$j")"
	check_eq "ps --json $id: the same object as status --json" "$j" "$(rd status --json "$id" | jq -c .)"
done

run_cap rd status --json "$run"
check_eq "status --json exits 0" "$RC" 0
S=$OUT
check_eq "status --json: id" "$(jq -r .id <<<"$S")" "$run"
check_eq "status --json: task" "$(jq -r .task <<<"$S")" "$(field "$run" task)"
check_eq "status --json: alloc" "$(jq -r .alloc <<<"$S")" "$(field "$run" alloc)"
check_eq "status --json: state running" "$(jq -r '.state + "/" + .state_text' <<<"$S")" "running/running"
check_eq "status --json: pod" "$(jq -r .pod <<<"$S")" "$(pod_of "$run")"
check_eq "status --json: rkt_pid" "$(jq -r .rkt_pid <<<"$S")" "$(rkt_pid_of "$run")"
check_eq "status --json: executor_pid" "$(jq -r .executor_pid <<<"$S")" "$(executor_pid_of "$run")"
check_eq "status --json: executor alive" "$(jq -r .executor <<<"$S")" alive
check_eq "status --json: socket" "$(jq -r .socket <<<"$S")" "$(field "$run" socket)"
check_eq "status --json: kill_timeout_ms" "$(jq -r .kill_timeout_ms <<<"$S") ms" "$(field "$run" 'kill timeout')"
check_eq "status --json: task_dir" "$(jq -r .task_dir <<<"$S")" "$(task_dir "$run")"
check_eq "status --json: log_dir" "$(jq -r .log_dir <<<"$S")" "$(field "$run" 'log dir')"
check_eq "status --json: rkt not asked while the executor runs (pod_state null)" \
	"$(jq -c .pod_state <<<"$S")" null
check_eq "status --json: no exit yet" "$(jq -c .exit <<<"$S")" null

run_cap rd status --json "$done3"
D=$OUT
check_eq "status --json of an exited task: state" "$(jq -r '.state + "/" + .state_text' <<<"$D")" "exited/exited (3)"
check_eq "status --json: exit code and signal" "$(jq -c '[.exit.exit_code, .exit.signal]' <<<"$D")" "[3,0]"
check "status --json: finished after started" \
	jq -e '.exit.finished_unix_ns >= .exit.started_unix_ns and .exit.started_unix_ns > 0' <<<"$D" >/dev/null
check_match "status --json: times are exact integers (ns)" "$D" '"finished_unix_ns":[[:space:]]*[0-9]{19}[[:space:]]'
check_eq "the text view has the same exit" "$(field "$done3" exit)" "exit code 3"

run_cap rd status --json
check_eq "status --json without an id is a usage error (2)" "$RC" 2

# ---- stats --json -----------------------------------------------------------

run_cap rd stats --json "$run"
check_eq "stats --json exits 0" "$RC" 0
J=$OUT
check_eq "stats --json: id and pod" "$(jq -r '.id + " " + .pod' <<<"$J")" "$run $(pod_of "$run")"
check_eq "stats --json: the app (rkt pid) is among its processes" \
	"$(jq --argjson p "$(rkt_pid_of "$run")" '[.processes[] | select(.pid == $p)] | length' <<<"$J")" 1
check "stats --json: every process has pid, ppid, comm, ticks, cpu_percent, rss_bytes" jq -e \
	'.processes | length > 0 and all(has("pid") and has("ppid") and has("comm") and has("utime_ticks")
	and has("stime_ticks") and has("cpu_percent") and has("rss_bytes"))' <<<"$J" >/dev/null
check "stats --json: totals, cgroup fields, clock ticks" jq -e \
	'.total_rss_bytes > 0 and (.total_ticks | type) == "number" and (.total_cpu_percent | type) == "number"
	and (.cgroup | type) == "string" and has("cgroup_memory_bytes") and has("cgroup_cpu_usec")
	and .clock_ticks > 0 and .timestamp_unix_ns > 0' <<<"$J" >/dev/null
check_eq "stats --json: as many processes as the table" "$(jq '.processes | length' <<<"$J")" \
	"$(rd stats "$run" | grep -cE '^[0-9]+ ')"

# ---- rm ---------------------------------------------------------------------

uuid=$(pod_of "$run")
exe=$(executor_pid_of "$run")
run_cap rd rm "$run"
check_eq "rm of a running task exits 1" "$RC" 1
check_has "saying it still runs" "$ERR" "still runs"
check_has "and to stop it first" "$ERR" "stop the task first"
check_eq "in one line" "$(wc -l <<<"$ERR")" 1
check "its state is kept" test -f "$(task_dir "$run")/handle"
check_eq "its pod still runs" "$(rkt_state "$uuid")" running
check "its executor still runs" alive "$exe"

uuid=$(pod_of "$done3")
exe=$(executor_pid_of "$done3")
run_cap rd rm "$done3"
check_eq "rm of an exited task exits 0" "$RC" 0
check_eq "and prints its id" "$OUT" "$done3"
check "its state dir is gone" test ! -e "$(task_dir "$done3")"
check_eq "its pod is gone (rkt rm)" "$(rkt_state "$uuid")" gone
check "its executor has left" wait_until 5 gone "$exe"
check_lacks "ps no longer lists it" "$(rd ps)" "$done3"
run_cap rd rm "$done3"
check_eq "rm of an unknown task exits 1" "$RC" 1
check_has "saying there is no such task" "$ERR" "no task"

# a task an agent started (the plugin's files in its dir): the agent's to remove
agent=$(start_detached "$(task_file agent 'exit 0')")
wait_file 10 "$(task_dir "$agent")/exit.json"
touch "$(task_dir "$agent")/events"
run_cap rd rm "$agent"
check_eq "rm of an agent's task exits 1" "$RC" 1
check_has "saying an agent started it" "$ERR" "an agent started it through rkt-driver plugin"
check "its state is kept" test -f "$(task_dir "$agent")/handle"

# a live executor that is not ours (Nomad 0.8's go-plugin)
sock=$E2E_TMP/go-plugin.sock
touch "$sock"
bg sleep 300
foreign=$BG
mkdir -p "$STATE/tasks/nomad08"
printf '%s' 'Rkt:{"UUID":"00000000-0000-4000-8000-000000000009","PluginConfig":{"Pid":'$foreign',"AddrNet":"unix","AddrName":"'$sock'"},"ExecutorPid":'$foreign',"KillTimeout":5000000000,"MaxKillTimeout":30000000000}' \
	>"$STATE/tasks/nomad08/handle"
check_eq "status --json: a foreign executor" "$(rd status --json nomad08 | jq -r .executor)" foreign
run_cap rd rm nomad08
check_eq "rm of a task whose foreign executor lives exits 1" "$RC" 1
check_has "saying the executor is not ours" "$ERR" "is not an rkt-executor"
check_has "and that nothing was touched" "$ERR" "were left alone"
check "its state is kept" test -f "$STATE/tasks/nomad08/handle"
check "the foreign executor was left alone" alive "$foreign"

# ---- gc -----------------------------------------------------------------------

done0=$(start_detached "$(task_file done0 'exit 0')")
wait_file 10 "$(task_dir "$done0")/exit.json"
# lost, its pod still running
lostrun=$(start_detached "$(task_file lostrun 'echo ready >/alloc/ready; exec sleep 1000')")
wait_file 10 "$(task_dir "$lostrun")/alloc/ready"
lose "$lostrun"
lostrun_pod=$(pod_of "$lostrun")
# lost, its pod exited since
lostgone=$(start_detached "$(task_file lostgone 'echo ready >/alloc/ready; exec sleep 1000')")
wait_file 10 "$(task_dir "$lostgone")/alloc/ready"
lostgone_pod=$(pod_of "$lostgone")
app=$(rkt_pid_of "$lostgone")
lose "$lostgone"
kill "$app"
wait_until 10 eval '[[ $(rkt_state "$lostgone_pod") == exited ]]'
check_eq "the lost task's pod has exited" "$(rkt_state "$lostgone_pod")" exited

run_cap rd gc --older-than 1h
check_eq "gc --older-than 1h exits 0" "$RC" 0
check_match "it keeps the task that just exited, saying why" "$OUT" \
	"kept $done0: exited \\(0\\), [0-9]+s ago, less than 1h0m0s"
check_match "it keeps the running task" "$OUT" "kept $run: it still runs \\(executor pid [0-9]+\\)"
check_eq "it removes nothing" "$(tail -n 1 <<<"$OUT")" "gc: removed 0 tasks, kept 6"
check "the young task's state is kept" test -f "$(task_dir "$done0")/handle"

run_cap rd gc --older-than 3x
check_eq "gc with a bad duration is a usage error (2)" "$RC" 2
check_has "naming the value" "$ERR" '"3x"'

run_cap rd gc
check_eq "gc exits 0" "$RC" 0
check_has "it removes the exited task" "$OUT" "removed $done0: exited (0)"
check_has "and the lost one whose pod has exited" "$OUT" "removed $lostgone: lost"
check_match "it keeps the running task" "$OUT" "kept $run: it still runs"
check_match "it keeps the lost task whose pod runs" "$OUT" \
	"kept $lostrun: its executor \\(pid [0-9]+\\) is gone and left no exit record, but rkt says its pod $lostrun_pod still runs"
check_has "it keeps the agent's task" "$OUT" "kept $agent: an agent started it"
check_has "it keeps the foreign one" "$OUT" "kept nomad08: its executor (pid $foreign) is alive"
check_eq "and sums it up" "$(tail -n 1 <<<"$OUT")" "gc: removed 2 tasks, kept 4"
check "the exited task's state is gone" test ! -e "$(task_dir "$done0")"
check "the lost task's state is gone" test ! -e "$(task_dir "$lostgone")"
check_eq "and its pod" "$(rkt_state "$lostgone_pod")" gone
check "the running task's state is kept" test -f "$(task_dir "$run")/handle"
check_eq "its pod runs" "$(rkt_state "$(pod_of "$run")")" running
check "the lost running task's state is kept" test -f "$(task_dir "$lostrun")/handle"
check_eq "its pod still runs" "$(rkt_state "$lostrun_pod")" running

# once stopped, they go
rd stop "$run" >/dev/null 2>&1
rd stop "$lostrun" >/dev/null 2>&1
rm "$(task_dir "$agent")/events"
run_cap rd gc
check_eq "after stop, gc removes the stopped tasks" "$(tail -n 1 <<<"$OUT")" "gc: removed 3 tasks, kept 1"
check_eq "only the foreign one is left" "$(rd ps --json | jq -r '.[].id')" nomad08
check_eq "the stopped lost task's pod is gone" "$(rkt_state "$lostrun_pod")" gone
rm -rf "$STATE/tasks/nomad08"

e2e_finish
