#!/bin/bash
# e2e: exit codes through run / run --detach / wait (issue 3, case 1).
source "$(dirname "$0")/lib.sh"
fast_network

# run (attached): the task's code, its output streamed to ours
f=$(task_file ok0 'echo to-stdout; echo to-stderr >&2; exit 0')
run_cap rd run "$f"
check_eq "run: a task exiting 0 makes run exit 0" "$RC" 0
check_has "run: the task's stdout is streamed to stdout" "$OUT" to-stdout
check_lacks "run: the task's stderr is not on stdout" "$OUT" to-stderr
check_has "run: the task's stderr is streamed to stderr" "$ERR" to-stderr

f=$(task_file three 'echo line1; echo line2; exit 3')
run_cap rd run "$f"
check_eq "run: a task exiting 3 makes run exit 3" "$RC" 3
check_eq "run: every stdout line arrives, in order" "$OUT" $'line1\nline2'

# run --detach prints an id; wait prints and returns the code
f=$(task_file det3 'sleep 0.5; exit 3')
run_cap rd run --detach "$f"
id=$OUT
check_eq "run --detach exits 0" "$RC" 0
check_match "run --detach prints the task id (alloc prefix-name)" "$id" '^[0-9a-f]{8}-det3$'
run_cap rd wait "$id"
check_eq "wait ID exits with the task's code 3" "$RC" 3
check_eq "wait ID prints 'exit code 3'" "$OUT" "exit code 3"

id0=$(start_detached "$(task_file det0 'exit 0')")
run_cap rd wait "$id0"
check_eq "wait on a task exiting 0 exits 0" "$RC" 0
check_eq "wait prints 'exit code 0'" "$OUT" "exit code 0"

# death by a signal: 128+N
ids=$(start_detached "$(task_file sig 'sleep 0.3; kill -USR1 $$; sleep 5')")
run_cap rd wait "$ids"
check_eq "wait on a task killed by SIGUSR1 (10) exits 138" "$RC" 138
check_has "wait says which signal ended it" "$OUT" "signal 10"
ids9=$(start_detached "$(task_file sig9 'kill -9 $$')")
run_cap rd wait "$ids9"
check_eq "wait on a task killed by SIGKILL exits 137" "$RC" 137

# later, with the executor gone: the same code, from the exit record
exe=$(executor_pid_of "$id")
check "the executor of a waited-for task has exited" wait_until 5 gone "$exe"
check "the exit record is on disk" test -s "$(task_dir "$id")/exit.json"
run_cap rd wait "$id"
check_eq "wait again (executor gone) still exits 3" "$RC" 3
check_eq "wait again still prints 'exit code 3'" "$OUT" "exit code 3"
run_cap rd wait "$ids"
check_eq "wait again on the signalled task still exits 138" "$RC" 138
check_eq "status reports the exit" "$(state_of "$id")" "exited (3)"

# a command that does not exist: rkt's own failure code passes through
run_cap rd run "$(TASK_CMD=/bin/nonexistent task_file noexec 'exit 0')"
check_eq "a missing executable: run exits with rkt's 254" "$RC" 254
check_has "the rkt error is streamed" "$ERR" 'can'"'"'t execute "/bin/nonexistent"'

# a normal exit with a code above 128 is not a signal
run_cap rd wait "$(start_detached "$(task_file big 'exit 137')")"
check_eq "exit 137 (no signal): wait exits 137" "$RC" 137
check_eq "and says exit code 137, not a signal" "$OUT" "exit code 137"

# rkt itself failing
if need_sim "rkt run-prepared failing, rkt prepare failing" "RKT_SIM_FAIL injects the failures"; then
	RKT_SIM_FAIL=run-prepared run_cap rd run "$(task_file rpfail 'exit 0')"
	check_eq "rkt run-prepared failing: run exits with rkt's 254" "$RC" 254
	check_has "and rkt's message is streamed" "$ERR" "simulated failure"
	RKT_SIM_FAIL=prepare run_cap rd run "$(task_file prepfail 'exit 0')"
	check_eq "rkt prepare failing: run fails as the driver (125)" "$RC" 125
	check_has "with the seed's message" "$ERR" "Error preparing rkt pod: exit status 254"
	check_has "quoting rkt's stderr" "$ERR" "prepare: simulated failure"
	check_eq "no executor was left for it" "$(pids_mentioning "$STATE/tasks/" -prepfail | wc -l)" 0
fi

# several waits at once all get the code
id=$(start_detached "$(task_file many 'sleep 1; exit 5')")
for i in 1 2 3 4; do
	rd wait "$id" >"$E2E_TMP/w$i.out" 2>&1 &
	eval "w$i=\$!"
	BG_PIDS+=("$!")
done
codes=""
for i in 1 2 3 4; do
	eval "wait \$w$i"
	codes+="$? "
done
check_eq "4 concurrent waits all exit 5" "$codes" "5 5 5 5 "
check_eq "and all print it" "$(cat "$E2E_TMP"/w?.out | sort -u)" "exit code 5"

# wait on an unknown task: a driver error (125), not a task code
run_cap rd wait nosuchtask
check_eq "wait on an unknown id exits 125" "$RC" 125
check_has "and says there is no such task" "$ERR" 'no task "nosuchtask"'

e2e_finish
