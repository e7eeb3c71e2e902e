#!/bin/bash
# e2e: the pod is removed once the task ended (issue 3, case 10).
source "$(dirname "$0")/lib.sh"
fast_network

# wait removes the pod (Nomad #3561)
id=$(start_detached "$(task_file gone 'exit 6')")
uuid=$(pod_of "$id")
check_match "the task has a pod" "$uuid" '^[0-9a-f-]{36}$'
check_has "before wait the exited pod is still listed" "$(rkt list --full --no-legend)" "$uuid"
run_cap rd wait "$id"
check_eq "wait exits 6" "$RC" 6
check_lacks "after wait the pod is gone from rkt list" "$(rkt list --full --no-legend)" "$uuid"
run_cap rkt status "$uuid"
check_ne "rkt status of the removed pod fails" "$RC" 0
check_has "with 'no matches found'" "$ERR" "no matches found"
check "it is gone from rkt's pod store" pod_gone "$uuid"
check_eq "the driver's status still reports the exit" "$(state_of "$id")" "exited (6)"

# an attached run removes its pod too
run_cap rd run "$(task_file attached 'exit 0')"
uuid=$(sed -n 's/.*task .* started (pod \([0-9a-f-]*\)).*/\1/p' <<<"$ERR")
check_match "run names the pod it started" "$uuid" '^[0-9a-f-]{36}$'
check_lacks "after run returns its pod is gone" "$(rkt list --full --no-legend)" "$uuid"

# an app that leaves a child behind: the pod is removed all the same (the
# driver once ran rkt rm before the executor ended that child, and the pod
# stayed in rkt's store, "currently running", with nobody to remove it)
run_cap rd run "$(task_file leftover 'sleep 30 & exit 0')"
uuid=$(sed -n 's/.*task .* started (pod \([0-9a-f-]*\)).*/\1/p' <<<"$ERR")
check_eq "a task leaving a child exits 0" "$RC" 0
check_lacks "no failed removal is logged" "$ERR" "error removing pod"
check_lacks "after run returns its pod is gone, child and all" "$(rkt list --full --no-legend)" "$uuid"

# rkt rm failing: logged with the UUID, and the task's code still returned
if need_sim "rkt rm failing on wait and on stop" "RKT_SIM_FAIL injects the failure"; then
	id=$(start_detached "$(task_file rmfail 'exit 7')")
	uuid=$(pod_of "$id")
	RKT_SIM_FAIL=rm run_cap rd wait "$id"
	check_eq "with rkt rm failing, wait still exits with the task's code 7" "$RC" 7
	check_eq "and prints it" "$OUT" "exit code 7"
	check_has "the failure is logged with the pod's UUID" "$ERR" "error removing pod (UUID: \"$uuid\")"
	check_has "and the advice to gc by hand" "$ERR" "must gc manually"
	check_has "and rkt's reason" "$ERR" "simulated failure"
	check_has "the pod is still there (exited)" "$(rkt list --full --no-legend)" "$uuid"
	run_cap rd wait "$id"
	check_eq "a later wait (rm working again) still exits 7" "$RC" 7
	check_lacks "and removes the pod then" "$(rkt list --full --no-legend)" "$uuid"

	# a failed rm on stop
	id=$(start_detached "$(task_file rmstop 'exec sleep 60')")
	uuid=$(pod_of "$id")
	RKT_SIM_FAIL=rm run_cap rd stop "$id"
	check_eq "stop with rkt rm failing still succeeds" "$RC" 0
	check_has "and still reports the exit" "$OUT" "signal 15"
	check_has "and logs the failed removal with the UUID" "$ERR" "error removing pod (UUID: \"$uuid\")"
fi

e2e_finish
