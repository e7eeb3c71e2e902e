#!/bin/bash
# e2e: exec into a running pod through rkt enter (issue 3, case 6).
source "$(dirname "$0")/lib.sh"
fast_network

id=$(start_detached "$(task_file ex 'echo ready >/alloc/ready; exec sleep 6017')")
check "the task started" test -n "$id"
wait_file 10 "$(task_dir "$id")/alloc/ready"

run_cap rd exec "$id" -- /bin/sh -c 'echo hi; exit 5'
check_eq "exec prints the command's output" "$OUT" hi
check_eq "exec exits with the command's code (5)" "$RC" 5

run_cap rd exec "$id" -- /bin/sh -c 'echo out; echo err >&2'
check_eq "exec of a succeeding command exits 0" "$RC" 0
check_has "exec passes the command's stdout" "$OUT" out
check_has "and its stderr (combined output, as Nomad's Exec)" "$OUT$ERR" err

run_cap rd exec "$id" /bin/cat /etc/passwd
check_eq "exec without -- works too" "$RC" 0
check_has "exec runs inside the pod's rootfs (the image's /etc/passwd)" "$OUT" "user:x:1000:100"

run_cap rd exec "$id" -- /bin/ls /nonexistent
check_ne "a failing command: a non-zero code" "$RC" 0
check_has "and its error message" "$OUT$ERR" "/nonexistent"

# the simulator shares the host's pid space: a duration no other test uses
run_cap rd exec "$id" -- /bin/sh -c 'ps -o pid,args | grep -c "[s]leep 6017"'
check_eq "exec sees the task's processes (same pod)" "$OUT" 1

run_cap rd exec "$id" -- /bin/nonexistent
check_ne "exec of a missing program fails" "$RC" 0

run_cap rd exec "$id"
check_eq "exec without a command is a usage error (2)" "$RC" 2

check_eq "the task still runs after the execs" "$(state_of "$id")" running
run_cap rd stop "$id"
check_eq "stop" "$RC" 0

run_cap rd exec "$id" -- /bin/true
check_ne "exec into an exited (removed) task fails" "$RC" 0
check_has "with rkt enter's reason" "$OUT$ERR" "$(pod_of "$id")"

e2e_finish
