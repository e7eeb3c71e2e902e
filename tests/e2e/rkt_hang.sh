#!/bin/bash
# e2e: rkt that hangs in prepare, in status, in rm (issue 10, faults). The
# driver runs every rkt command with a timeout (--rkt-timeout, here 2s); a
# command past it is killed (SIGKILL) and its step fails with a sentence
# naming the command and the time. Stated outcomes:
#  - prepare hangs: run fails (125) with "… prepare did not finish within
#    2000 ms"; nothing is left: no task dir, no executor, no pod, no rkt;
#  - status hangs: run --detach still starts the task (no network found, a
#    warning naming the command and the time); wait gives the task's code
#    and the exit record has it;
#  - rm hangs (the executor's own rkt rm after the exit when it was given one,
#    then the driver's): the exit record has the task's code while the rm
#    hangs, the executor answers meanwhile, wait gives the code and logs the failed removal
#    ("must gc manually", the command and the time); `rm ID` once rkt
#    answers again removes the pod.
# The hanging rkt is a wrapper around RKTD_RKT that sleeps for the
# subcommands listed in $E2E_TMP/hang (read at each call, so the executor's
# after-exit rkt rm hangs too); its sleeper names E2E_TMP in its argv, so
# pids_mentioning finds any that was left.
source "$(dirname "$0")/lib.sh"
fast_network

HANG=$E2E_TMP/hang
FAKE=$E2E_TMP/rkt-hang
cat >"$FAKE" <<EOF
#!/bin/bash
sub=
for a; do case \$a in -*) ;; *) sub=\$a; break ;; esac; done
if [[ -n \$sub && -f $HANG ]] && grep -qxF -- "\$sub" $HANG; then
	exec -a "rkt-hang-sleeper $E2E_TMP \$sub" sleep 3600
fi
exec $RKTD_RKT "\$@"
EOF
chmod 755 "$FAKE"

# rdh ARGS…: the driver with the hanging rkt and a 2 s rkt timeout
rdh() {
	RKTD_RKT=$FAKE rd --rkt-timeout 2s "$@"
}

# hangs CMD…: the subcommands that hang from now on (none: rkt answers)
hangs() {
	printf '%s\n' "$@" >"$HANG"
}

# sleepers: hung rkt commands still alive
sleepers() {
	pids_mentioning rkt-hang-sleeper "$E2E_TMP"
}

# the option itself
run_cap rd --rkt-timeout 0s ps
check_eq "--rkt-timeout 0s is bad usage" "$RC" 2
check_has "and says what it takes" "$ERR" "--rkt-timeout takes a duration"

# ---- prepare ---------------------------------------------------------------
hangs prepare
t0=$SECONDS
run_cap rdh run --detach "$(task_file hang-prepare 'exit 3')"
took=$((SECONDS - t0))
check_eq "prepare hanging: run fails as the driver failed (125)" "$RC" 125
check_has "with the command and the timeout" "$ERR" "Error preparing rkt pod: $FAKE prepare did not finish within 2000 ms"
check_le "within the timeout and a little (${took}s; at most 10)" "$took" 10
check_eq "no task dir is left" "$(ls "$STATE/tasks" 2>/dev/null)" ""
check_eq "no process names the test's dir (executor, rkt)" "$(pids_mentioning "$E2E_TMP")" ""
check_eq "no pod is left" "$(pod_dirs)" ""

# ---- status ----------------------------------------------------------------
hangs status
t0=$SECONDS
run_cap rdh run --detach "$(task_file hang-status 'sleep 1; exit 7')"
took=$((SECONDS - t0))
id=$OUT
check_eq "status hanging: run --detach still starts the task" "$RC" 0
check_has "and warns that the network was not found, naming the command and the timeout" "$ERR" \
	"status did not finish within 2000 ms"
check_le "within the timeout and a little (${took}s; at most 10)" "$took" 10
run_cap rdh wait "$id"
check_eq "wait gives the task's code 7" "$RC" 7
check "the exit record has 7" test "$(jq -r .ExitCode "$(task_dir "$id")/exit.json" 2>/dev/null)" = 7
check_eq "no hung rkt status is left" "$(sleepers)" ""
hangs
rdh rm "$id" >/dev/null 2>&1

# ---- rm --------------------------------------------------------------------
hangs rm
run_cap rdh run --detach "$(task_file hang-rm 'sleep 2; exit 7')"
id=$OUT
check_eq "rm hanging: the task starts" "$RC" 0
wait_file 10 "$(task_dir "$id")/exit.json"
check "the exit record has 7 while the executor's rkt rm hangs" \
	test "$(jq -r .ExitCode "$(task_dir "$id")/exit.json" 2>/dev/null)" = 7
# (the executor starts its rkt rm right after writing the record, when the
# driver gave it one: a task a restart policy may run again keeps its pod)
has_sleepers() { [[ -n $(sleepers) ]]; }
if wait_until 1 has_sleepers; then
	ok "the executor's own rkt rm is hanging"
else
	echo "# the executor was given no rkt rm of its own: only the driver's hangs"
fi
t0=$SECONDS
run_cap rdh inspect --json "$id"
check_eq "the executor answers inspect meanwhile" "$RC" 0
check_eq "in its state: exited, 7" "$(jq -r '.state + " " + (.exit_code|tostring)' <<<"$OUT" 2>/dev/null)" "exited 7"
t0=$SECONDS
run_cap rdh wait "$id"
took=$((SECONDS - t0))
check_eq "wait gives the task's code 7" "$RC" 7
check_has "and logs the failed removal: command, timeout, what to do" "$ERR" \
	"must gc manually: error removing pod: $FAKE rm did not finish within 2000 ms"
check_le "within three timeouts and a little (${took}s; at most 15)" "$took" 15
check_eq "no hung rkt rm is left" "$(sleepers)" ""
uuid=$(pod_of "$id")
check "the pod is still there" pod_exists "$uuid"
hangs
run_cap rdh rm "$id"
check_eq "rkt answering again, rm ID succeeds" "$RC" 0
check "and removes the pod" pod_gone "$uuid"

e2e_finish
