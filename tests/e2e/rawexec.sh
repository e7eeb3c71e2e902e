#!/bin/bash
# e2e: rkt-driver's CLI run by Nomad 0.8's raw_exec driver (issue 11), through the
# stand-in tests/rawexec/rawexec (Nomad's alloc dir and task env; `nomad stop` =
# SIGINT, then SIGKILL after the kill timeout; restarts in the same alloc). The
# job is what a Nomad 0.8 cluster runs: command = rkt-driver, args = [..., "run",
# "${NOMAD_TASK_DIR}/task.json"], the task file rendered into the task's local dir
# with the alloc's id (as a template with {{ env "NOMAD_ALLOC_ID" }} would).
# Issue 11's four problems, one block each:
#   1. a stop in the first minute orphans the pod: run does not react to SIGINT
#      while it looks for the pod's network;
#   2. a restart within an alloc fails with "exists already";
#   3. when the CLI is SIGKILLed nobody removes the pod;
#   4. the pod does not see Nomad's dirs (NOMAD_ALLOC_DIR, NOMAD_TASK_DIR,
#      NOMAD_SECRETS_DIR).
# And what their fixes promise: a stop during rkt prepare, output streamed
# while run still looks for the network, a restart after the CLI was SIGKILLed
# attaching to the task that still runs, finished attempts kept numbered.
source "$(dirname "$0")/lib.sh"

: "${RKTD_RAWEXEC:=${RKTD_BUILD_DIR:+$RKTD_BUILD_DIR/tests/rawexec/rawexec}}"
: "${RKTD_RAWEXEC:?RKTD_RAWEXEC (tests/rawexec/rawexec) or RKTD_BUILD_DIR must be set}"

ALLOCS=$E2E_TMP/nomad/alloc # Nomad's data_dir/alloc

# nomad_job NAME ALLOC-ID SCRIPT [TASK_FIELDS] [CONFIG_FIELDS]: renders the task
# file into the alloc's task dir (local/task.json) and prints the alloc dir
nomad_job() {
	local name=$1 alloc=$2 script=$3 tf=${4:-} cf=${5:-}
	local ad=$ALLOCS/$alloc
	mkdir -p "$ad/$name/local"
	cp "$(task_file "$name" "$script" "\"alloc_id\": \"$alloc\"${tf:+, $tf}" "$cf")" "$ad/$name/local/task.json"
	echo "$ad"
}

# rawexec_bg NAME ALLOC-ID NETWORK-TIMEOUT [RAWEXEC OPTIONS...]: starts the
# job's rawexec in the background (its pid in RX, its events in $E2E_TMP/NAME.rx)
rawexec_bg() {
	local name=$1 alloc=$2 nt=$3
	shift 3
	bg "$RKTD_RAWEXEC" run --alloc-dir "$ALLOCS/$alloc" --task "$name" --alloc-id "$alloc" \
		--job "$name-job" --group "$name-group" "$@" -- \
		"$RKTD_DRIVER" --rkt "$RKTD_RKT" --state-dir "$STATE" --network-timeout "$nt" \
		run '${NOMAD_TASK_DIR}/task.json' 2>"$E2E_TMP/$name.rx"
	RX=$BG
}

# the task's (the CLI's) stderr and stdout, as Nomad logs them
task_stderr() { cat "$ALLOCS/$2/alloc/logs/$1.stderr.0" 2>/dev/null; }
task_stdout() { cat "$ALLOCS/$2/alloc/logs/$1.stdout.0" 2>/dev/null; }
# run_codes NAME: the exit code of each run, as rawexec saw them
run_codes() { sed -n 's/.*pid [0-9]* exited: code \([0-9]*\)$/\1/p; s/.*killed by signal [0-9]* (exit code \([0-9]*\))$/\1/p' \
	"$E2E_TMP/$1.rx" | tr '\n' ' '; }
# started_uuid NAME ALLOC [N]: the pod of the Nth run, as the CLI reports it
started_uuid() {
	task_stderr "$1" "$2" | sed -n 's/.*started (pod \([0-9a-f-]*\)).*/\1/p' | sed -n "${3:-1}p"
}
only_pod() { # the one pod in the simulator's store
	local u
	u=$(pod_dirs)
	[[ $(wc -w <<<"$u") == 1 ]] && echo "$u"
}
pod_in_state() { # UUID STATE
	rkt status "$1" 2>/dev/null | grep -qx "state=$2"
}
executors_of() { # ID: the task's rkt-executor processes
	pids_mentioning rkt-executor "$STATE/tasks/$1"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

if ! need_sim "issue 11 under raw_exec" "RKT_SIM_NETWORK controls network discovery and the pod store is private"; then
	e2e_finish
fi

# ---- 1. nomad stop in the first minute, while run looks for the pod's network
# (fly reports none: run looks for up to --network-timeout, the seed's 1 minute)
unset RKT_SIM_NETWORK
A1=11e11a01-0000-4000-8000-000000000001
nomad_job stop1 $A1 'echo "early output"; exec sleep 600' >/dev/null
rawexec_bg stop1 $A1 1m --kill-timeout 5s
wait_until 20 eval '[[ -n $(only_pod) ]] && pod_running "$(only_pod)"'
uuid=$(only_pod)
check "1: the pod runs while run looks for its network" test -n "$uuid"
check "1: its output reaches Nomad's log while run still looks for the network" \
	wait_until 5 eval '[[ $(task_stdout stop1 $A1) == *"early output"* ]]'
t0=$(now_ms)
kill -TERM "$RX" # nomad stop: SIGINT to run, SIGKILL 5 s later
wait "$RX"
ms=$(($(now_ms) - t0))
rx=$(cat "$E2E_TMP/stop1.rx")
check_lacks "1: run ends on SIGINT within the kill timeout, not by SIGKILL" "$rx" "kill timeout (5000 ms) passed"
check_le "1: the stop took less than the kill timeout (ms)" "$ms" 5000
check "1: the pod is stopped and removed (no orphan)" wait_until 15 pod_gone "$uuid"
id=${A1:0:8}-stop1
check "1: the task's executor is gone too" wait_until 10 eval '[[ -z $(executors_of "$id") ]]'
[[ -n $uuid ]] && { rkt stop --force "$uuid" >/dev/null 2>&1; rkt rm "$uuid" >/dev/null 2>&1; }

# ---- 1b. nomad stop while rkt prepare runs (an rkt whose prepare takes 3 s more,
# and says when it began them in $SLOW.began)
A1B=11e11a1b-0000-4000-8000-00000000001b
SLOW=$E2E_TMP/slow-prepare-rkt
printf '#!/bin/sh\nfor a; do [ "$a" = prepare ] && : >"%s.began" && sleep 3 && break; done\nexec "%s" "$@"\n' \
	"$SLOW" "$RKTD_RKT" >"$SLOW"
chmod +x "$SLOW"
nomad_job prep $A1B 'exec sleep 600' >/dev/null
RKTD_RKT=$SLOW rawexec_bg prep $A1B 1m --kill-timeout 10s
wait_file 20 "$SLOW.began"
t0=$(now_ms)
kill -TERM "$RX"
wait "$RX"
ms=$(($(now_ms) - t0))
check_lacks "1b: a stop during rkt prepare ends run before the kill timeout" "$(cat "$E2E_TMP/prep.rx")" \
	"kill timeout (10000 ms) passed"
check_le "1b: the stop took less than the kill timeout (ms)" "$ms" 10000
check_has "1b: run says the start was interrupted" "$(task_stderr prep $A1B)" "interrupted before the task ran"
check_eq "1b: no pod is left" "$(pod_dirs)" ""
check "1b: the task's executor is gone too" wait_until 10 eval '[[ -z $(executors_of "${A1B:0:8}-prep") ]]'

# ---- 2. a restart within the alloc (the restart policy; a template's restart)
fast_network
A2=22e22a02-0000-4000-8000-000000000002
nomad_job again $A2 'echo "run $NOMAD_ALLOC_ID"; exit 3' >/dev/null
rawexec_bg again $A2 1s --restarts 1 --restart-delay 1s
wait "$RX"
check_eq "2: both runs end with the task's code 3 (not 125, the driver's)" "$(run_codes again)" "3 3 "
check_lacks "2: the second run is not refused as \"exists already\"" "$(task_stderr again $A2)" "exists already"
check_eq "2: the task ran twice in the alloc" "$(task_stdout again $A2 | grep -c "^run $A2")" 2
td=$STATE/tasks/${A2:0:8}-again
check_has "2: the first attempt's exit record is kept, numbered" "$(cat "$td/attempts/1/exit.json" 2>/dev/null)" \
	'"ExitCode":3'
check "2: and its handle" test -s "$td/attempts/1/handle"
check_eq "2: the first attempt's log is kept, numbered, in Nomad's alloc dir" \
	"$(cat "$ALLOCS/$A2/alloc/logs/rkt/again.attempt-1.stdout.0" 2>/dev/null)" "run $A2"
check_eq "2: the second attempt's log is the current one" \
	"$(cat "$ALLOCS/$A2/alloc/logs/rkt/again.stdout.0" 2>/dev/null)" "run $A2"
check_has "2: run says which attempt it started" "$(task_stderr again $A2)" "attempt 2"

# a task that exits at once, while run looks for its network (fly: never one):
# its executor's after_exit may remove the pod before run's next rkt status
unset RKT_SIM_NETWORK
A2B=22e22a2b-0000-4000-8000-00000000002b
nomad_job quick $A2B 'exit 3' >/dev/null
t0=$(now_ms)
rawexec_bg quick $A2B 1m --restarts 1 --restart-delay 0s
wait "$RX"
ms=$(($(now_ms) - t0))
check_eq "2: a task that exits at once: both runs end with its code" "$(run_codes quick)" "3 3 "
check_le "2: and run does not look for a network of a pod that is gone (ms)" "$ms" 15000
fast_network

A3=33e33a03-0000-4000-8000-000000000003
nomad_job tmpl $A3 'echo "up $$"; exec sleep 600' >/dev/null
rawexec_bg tmpl $A3 1s --kill-timeout 5s
wait_until 20 eval '[[ -n $(started_uuid tmpl $A3 1) ]]'
first=$(started_uuid tmpl $A3 1)
kill -USR1 "$RX" # change_mode = "restart": stop, then run again at once
wait_until 15 eval '[[ -n $(started_uuid tmpl $A3 2) ]]'
second=$(started_uuid tmpl $A3 2)
check "2: after a template restart a new pod starts" test -n "$second"
check "2: and runs" eval 'pod_running "$second"'
check "2: the first pod was removed" pod_gone "$first"
check_lacks "2: the restarted run is not refused as \"exists already\"" "$(task_stderr tmpl $A3)" "exists already"
kill -TERM "$RX" 2>/dev/null
wait "$RX"

# ---- 3. the CLI SIGKILLed (the kill timeout passed, or an OOM kill): the pod is
# removed once its app ends, with no driver coming back
A4=44e44a04-0000-4000-8000-000000000004
nomad_job killed $A4 'sleep 4; exit 0' >/dev/null
rawexec_bg killed $A4 1s
wait_until 20 eval '[[ -n $(started_uuid killed $A4) ]]'
uuid=$(started_uuid killed $A4)
cli=$(grep -o 'started pid [0-9]*' "$E2E_TMP/killed.rx" | head -1 | cut -d' ' -f3)
check "3: the CLI runs the pod" test -n "$uuid"
kill -9 "$cli"
wait "$RX"
check "3: the pod's app ends (exited)" wait_until 15 eval 'pod_in_state "$uuid" exited || pod_gone "$uuid"'
check "3: then the pod is removed without a driver" wait_until 15 pod_gone "$uuid"
id=${A4:0:8}-killed
check_eq "3: its exit stays on record (status, which changes nothing)" "$(state_of "$id")" "exited (0)"

# ---- 3b. the CLI SIGKILLed while its task runs, then restarted by Nomad: the
# new run attaches to the task instead of starting another
A6=66e66a06-0000-4000-8000-000000000006
# ("middle" comes while no run is attached: the new one goes on where the
# killed one stopped copying, so Nomad's log has every line)
nomad_job attach $A6 'echo first; sleep 1; echo middle; sleep 3; echo last; exit 4' >/dev/null
rawexec_bg attach $A6 1s --restarts 1 --restart-delay 2s
wait_until 20 eval '[[ -n $(started_uuid attach $A6) ]]'
uuid=$(started_uuid attach $A6)
cli=$(grep -o 'started pid [0-9]*' "$E2E_TMP/attach.rx" | head -1 | cut -d' ' -f3)
wait_until 10 eval '[[ $(task_stdout attach $A6) == *first* ]]' # copied: then killed
kill -9 "$cli"
wait "$RX"
check_eq "3b: the killed run, then the attached one with the task's code" "$(run_codes attach)" "137 4 "
check_has "3b: the restarted run attached to the running task" "$(task_stderr attach $A6)" \
	"runs already (pod $uuid): attached"
check_has "3b: it streamed the task's later output" "$(task_stdout attach $A6)" "last"
check_eq "3b: and what came while no run was attached, once" "$(task_stdout attach $A6 | grep -c middle)" 1
check_eq "3b: nothing before it twice" "$(task_stdout attach $A6 | grep -c first)" 1
check_eq "3b: its pod is removed at the end" "$(pod_dirs)" ""

# ---- 4. the pod sees Nomad's dirs: /alloc = NOMAD_ALLOC_DIR (shared by the
# group's tasks, with Nomad's logs), /local = NOMAD_TASK_DIR, /secrets =
# NOMAD_SECRETS_DIR; inside the pod they are named by their pod paths
A5=55e55a05-0000-4000-8000-000000000005
ad=$(nomad_job dirs $A5 'cat /local/from-nomad; cat /secrets/token; cat /alloc/data/from-group;
	echo pod > /alloc/data/from-pod; echo "env: $NOMAD_ALLOC_DIR $NOMAD_TASK_DIR $NOMAD_SECRETS_DIR"')
mkdir -p "$ad/dirs/secrets" "$ad/alloc/data"
echo "template output" >"$ad/dirs/local/from-nomad"
echo "s3cret" >"$ad/dirs/secrets/token"
echo "another task of the group" >"$ad/alloc/data/from-group"
rawexec_bg dirs $A5 1s
wait "$RX"
out=$(task_stdout dirs $A5)
check_has "4: the pod's /local is Nomad's task dir (NOMAD_TASK_DIR)" "$out" "template output"
check_has "4: the pod's /secrets is Nomad's secrets dir (NOMAD_SECRETS_DIR)" "$out" "s3cret"
check_has "4: the pod's /alloc is Nomad's alloc dir: it sees what the group's tasks put there" "$out" \
	"another task of the group"
check_eq "4: what the pod writes to /alloc/data is in NOMAD_ALLOC_DIR/data" "$(cat "$ad/alloc/data/from-pod" 2>/dev/null)" pod
check_has "4: inside the pod the dirs keep their pod paths" "$out" "env: /alloc /local /secrets"
check_has "4: the pod's output reaches Nomad's log (run streams it)" "$out" "env: "
check_eq "4: the task's state dir holds only the driver's and the executor's files" \
	"$(ls "$STATE/tasks/${A5:0:8}-dirs" | grep -E '^(alloc|local|secrets)$')" ""
check "4: its logs are in Nomad's alloc dir" test -s "$ALLOCS/$A5/alloc/logs/rkt/dirs.stdout.0"

unset RKT_SIM_NETWORK
e2e_finish
