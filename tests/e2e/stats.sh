#!/bin/bash
# e2e: stats and inspect of a running task (issue 3, case 9).
source "$(dirname "$0")/lib.sh"
fast_network

id=$(start_detached "$(task_file st 'sleep 61 & sleep 62 & echo ready >/alloc/ready; while :; do :; done')")
check "the task started" test -n "$id"
wait_file 10 "$(task_dir "$id")/alloc/ready"
app=$(rkt_pid_of "$id")
uuid=$(pod_of "$id")

run_cap rd stats "$id"
check_eq "stats exits 0" "$RC" 0
check_match "stats has its header" "$OUT" 'PID +PPID +COMMAND +CPU% +TICKS +RSS\(KiB\)'
check_match "stats lists the task's main process (the app rkt became)" "$OUT" $'(^|\n)'"$app"' +[0-9]+ +sh '
check_match "stats lists the task's first child" "$OUT" $'\n[0-9]+ +'"$app"' +sleep '
check_eq "stats lists both sleeps" "$(grep -c ' sleep ' <<<"$OUT")" 2
check_match "stats has a total line" "$OUT" $'\ntotal: [0-9.]+% CPU, [0-9]+ KiB RSS'
sleep 1
run_cap rd stats "$id"
cpu=$(sed -n 's/^total: \([0-9]*\)\..*/\1/p' <<<"$OUT")
check_ge "a busy loop shows CPU use (total %)" "${cpu:-0}" 5
exe=$(executor_pid_of "$id")
check_lacks "the executor is not counted among the task's processes" \
	"$(awk '{print $1}' <<<"$OUT")" "$exe"

run_cap rd inspect "$id"
check_eq "inspect exits 0" "$RC" 0
check_match "inspect: state running" "$OUT" $'\nstate: +running'
check_has "inspect: the pod UUID" "$OUT" "$uuid"
check_match "inspect: the process and its command line" "$OUT" "process: +pid $app: .*run-prepared .*$uuid"
check_match "inspect: the executor's pid" "$OUT" "pid $exe,"
check_has "inspect lists the log files" "$OUT" "alloc/logs/st.stdout.0"

run_cap rd inspect --json "$id"
check_eq "inspect --json exits 0" "$RC" 0
check "inspect --json is valid JSON" jq -e . <<<"$OUT" >/dev/null
check_eq "inspect --json: state running" "$(jq -r .state <<<"$OUT")" running
check_eq "inspect --json: pod" "$(jq -r .pod <<<"$OUT")" "$uuid"
check_eq "inspect --json: child_pid is the rkt pid" "$(jq -r .child_pid <<<"$OUT")" "$app"
check_eq "inspect --json: executor_pid" "$(jq -r .executor_pid <<<"$OUT")" "$exe"
check_eq "inspect --json: not exited" "$(jq -r .exited <<<"$OUT")" false
check_eq "inspect --json: run-prepared UUID are the last args" \
	"$(jq -r '.args[-2:] | join(" ")' <<<"$OUT")" "run-prepared $uuid"
check_eq "inspect --json: kill_timeout_ms (default 5 s)" "$(jq -r .kill_timeout_ms <<<"$OUT")" 5000
check_eq "inspect --json: task_dir" "$(jq -r .task_dir <<<"$OUT")" "$(task_dir "$id")"
check_ge "inspect --json: executor_rss_bytes" "$(jq -r .executor_rss_bytes <<<"$OUT")" 1

run_cap rd status "$id"
check_match "status: state running" "$OUT" $'\nstate: +running'
check_match "status: executor alive" "$OUT" "executor pid: +$exe \\(alive\\)"
run_cap rd ps
check_match "ps lists the task as running with its pod" "$OUT" "$id +running +$uuid +$exe"

rd stop "$id" >/dev/null
run_cap rd stats "$id"
check_eq "stats of an ended task (executor gone) fails with 1" "$RC" 1
check_has "saying the task has exited" "$ERR" "exited"
run_cap rd inspect --json "$id"
check_eq "inspect of an ended task fails with 1" "$RC" 1
check_has "saying the executor is gone" "$ERR" "executor is gone"

# inspect after the task's exit, before anyone waited: the executor still answers
id=$(start_detached "$(task_file quick 'exit 3')")
wait_file 10 "$(task_dir "$id")/exit.json"
run_cap rd inspect --json "$id"
check_eq "inspect after the exit: state exited" "$(jq -r .state <<<"$OUT")" exited
check_eq "inspect after the exit: exited true, exit_code 3" "$(jq -r '"\(.exited) \(.exit_code)"' <<<"$OUT")" "true 3"
check_eq "inspect after the exit: the exit record's path" "$(jq -r .exit_record <<<"$OUT")" "$(task_dir "$id")/exit.json"
rd wait "$id" >/dev/null

e2e_finish
