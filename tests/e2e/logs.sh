#!/bin/bash
# e2e: task logs, following and rotation (issue 3, case 8).
source "$(dirname "$0")/lib.sh"
fast_network

# stdout and stderr
id=$(start_detached "$(task_file lg 'echo out-1; echo err-1 >&2; echo out-2; echo err-2 >&2')")
rd wait "$id" >/dev/null
run_cap rd logs "$id"
check_eq "logs ID: the task's stdout" "$OUT" $'out-1\nout-2'
check_eq "logs ID exits 0" "$RC" 0
run_cap rd logs --stderr "$id"
check_has "logs --stderr ID: the task's stderr" "$OUT" $'err-1\nerr-2'
check_lacks "logs --stderr holds no stdout line" "$OUT" out-1
check "the log files are STATE/tasks/ID/alloc/logs/NAME.stdout.0" \
	test -s "$(task_dir "$id")/alloc/logs/lg.stdout.0"

# -f follows until the task ends
id=$(start_detached "$(task_file follow 'for i in 1 2 3 4 5 6 7 8 9 10; do echo tick-$i; sleep 0.3; done; echo last')")
fo=$E2E_TMP/follow.out
rd logs -f "$id" >"$fo" 2>&1 &
follow_pid=$!
BG_PIDS+=("$follow_pid")
sleep 0.5
check "logs -f is still following while the task runs" alive "$follow_pid"
check "logs -f returns once the task ends" wait_until 10 gone "$follow_pid"
check_eq "the task had ended by then" "$(state_of "$id")" "exited (0)"
wait "$follow_pid"
check_eq "logs -f exits 0" "$?" 0
check_eq "logs -f printed every line, the last included" "$(cat "$fo")" \
	"$(printf 'tick-%s\n' 1 2 3 4 5 6 7 8 9 10; echo last)"
run_cap rd wait "$id"
check_eq "the followed task exited 0" "$RC" 0

# -f on a task that is stopped
id=$(start_detached "$(task_file follow2 'echo begun; exec sleep 60')")
rd logs -f "$id" >"$fo" 2>&1 &
follow_pid=$!
BG_PIDS+=("$follow_pid")
sleep 0.3
rd stop "$id" >/dev/null
check "logs -f returns when the task is stopped" wait_until 5 gone "$follow_pid"
check_eq "and printed its output" "$(cat "$fo")" begun

# rotation: 2 files of 1 MB per stream, 5.5 MB written to each
script='seq 1 800000; seq 1 800000 >&2; echo done'
id=$(start_detached "$(task_file rot "$script" '"logs": {"max_files": 2, "max_file_size": 1}')")
run_cap rd wait "$id"
check_eq "the log-heavy task exits 0" "$RC" 0
logs=$(task_dir "$id")/alloc/logs
check_eq "2 stdout files are kept" "$(ls "$logs" | grep -c '^rot\.stdout\.')" 2
check_eq "2 stderr files are kept" "$(ls "$logs" | grep -c '^rot\.stderr\.')" 2
big=0
for f in "$logs"/rot.*; do
	(($(stat -c %s "$f") > 1048576)) && big=1
done
check_eq "no log file is over 1 MiB" "$big" 0
newest=$(ls "$logs" | grep '^rot\.stdout\.' | sort -t. -k3 -n | tail -n1)
check_eq "the newest stdout file ends with the last line" "$(tail -n1 "$logs/$newest")" done
check_match "the files were rotated (index beyond 1)" "$newest" '^rot\.stdout\.([2-9]|[1-9][0-9]+)$'
run_cap rd logs "$id"
check_eq "logs prints the kept output, ending with the last line" "$(tail -n1 <<<"$OUT")" done
check_ne "the rotated-away start is gone" "$(head -n1 <<<"$OUT")" 1
# lines are whole across files: the kept output is consecutive numbers
first=$(head -n1 <<<"$OUT")
n=$(grep -c . <<<"$OUT")
check_eq "the kept stdout ends with 800000, done" "$(tail -n2 <<<"$OUT" | tr '\n' ' ')" "800000 done "
check_eq "the kept stdout is whole consecutive lines from its first on" "$((first + n - 2))" 800000
run_cap rd logs --stderr "$id"
check_eq "logs --stderr ends with the last stderr line" "$(tail -n1 <<<"$OUT")" 800000

# an attached run streams everything, across rotations of its log files
run_cap rd run "$(task_file stream 'seq 1 300000' '"logs": {"max_files": 10, "max_file_size": 1}')"
check_eq "an attached run of 2 MB of output exits 0" "$RC" 0
check_eq "and streams every line in order across the rotations" "$(md5sum <<<"$OUT")" "$(seq 1 300000 | md5sum)"

e2e_finish
