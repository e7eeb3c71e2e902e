#!/bin/bash
# e2e: handles written by Nomad 0.8, and garbage handles (issue 3, case 12).
source "$(dirname "$0")/lib.sh"

# put_handle ID TEXT: a task whose state is just that handle string
put_handle() {
	mkdir -p "$STATE/tasks/$1"
	printf '%s' "$2" >"$STATE/tasks/$1/handle"
}

# a pid that existed and is gone (a child of ours, reaped)
dead_pid() {
	sh -c 'exit 0' &
	local p=$!
	wait "$p"
	echo "$p"
}

# a still-running simulator pod, started as the seed did: prepare, then
# run-prepared in the background (its pid is the app's, under fly)
uuid=$(rkt --insecure-options=image prepare "$RKTD_ACI" --exec=/bin/sh -- -c 'exec sleep 120')
E2E_PODS+=("$uuid")
check_match "rkt prepare made a pod" "$uuid" '^[0-9a-f-]{36}$'
# (a session of its own: fly's stop signals the pod's process group once the
# app is gone, which must not be this script's)
setsid "$RKTD_RKT" run-prepared "$uuid" >/dev/null 2>&1 &
app=$!
BG_PIDS+=("$app")
check "the pod runs" wait_until 5 pod_running "$uuid"
deadexe=$(dead_pid)
sock=$E2E_TMP/x.sock
old='Rkt:{"UUID":"'$uuid'","PluginConfig":{"Pid":'$deadexe',"AddrNet":"unix","AddrName":"'$sock'"},"ExecutorPid":'$app',"KillTimeout":5000000000,"MaxKillTimeout":30000000000}'
put_handle nomad08 "$old"

run_cap rd status nomad08
check_eq "status opens a Nomad 0.8 handle (exit 0)" "$RC" 0
check_match "status shows its pod" "$OUT" "pod: +$uuid"
check_match "status shows its rkt pid (ExecutorPid)" "$OUT" "rkt pid: +$app"
check_match "status shows its executor pid, gone" "$OUT" "executor pid: +$deadexe \\(gone\\)"
check_match "status shows its socket" "$OUT" "socket: +$sock"
check_match "status shows its kill timeout" "$OUT" "kill timeout: +5000 ms"
check_match "status says the task is lost (no executor, no record)" "$OUT" "state: +lost"
run_cap rd ps
check_match "ps lists it with its pod and executor pid" "$OUT" "nomad08 +lost +$uuid +$deadexe"
check "the pod is untouched by status and ps" pod_running "$uuid"

run_cap rd wait nomad08
check_eq "wait on it fails with 125 (never 0)" "$RC" 125
check_has "with a clear error: executor gone, no exit record" "$ERR" "is gone and left no exit record"
check_has "saying the still-running pod was stopped and removed" "$ERR" "stopped and removed"
check_lacks "it prints no exit code" "$OUT" "exit code"
check "the still-running pod was stopped" wait_until 5 gone "$app"
wait "$app" 2>/dev/null
check "and removed" pod_gone "$uuid"

# a Nomad 0.8 handle whose pod is gone already
put_handle nomad08b 'Rkt:{"UUID":"00000000-0000-0000-0000-000000000000","PluginConfig":{"Pid":'$deadexe',"AddrNet":"unix","AddrName":"'$sock'"},"ExecutorPid":'$deadexe',"KillTimeout":5000000000,"MaxKillTimeout":30000000000}'
run_cap rd wait nomad08b
check_eq "a Nomad 0.8 handle of a vanished pod: wait fails with 125" "$RC" 125
check_has "saying the exit result is lost" "$ERR" "exit result is lost"

# the handle our driver writes is the seed's record plus additions
id=$(start_detached "$(task_file ours 'exec sleep 60' '' '"net": ["host"]')")
h=$(cat "$(task_dir "$id")/handle")
check_match "our handle starts with the seed's fields in the seed's order" "$h" \
	'^Rkt:\{"UUID":"[0-9a-f-]{36}","PluginConfig":\{"Pid":[0-9]+,"AddrNet":"ipc","AddrName":"[^"]+"'
check_match "then ExecutorPid, KillTimeout, MaxKillTimeout" "$h" \
	'\},"ExecutorPid":[0-9]+,"KillTimeout":5000000000,"MaxKillTimeout":30000000000'
rd stop "$id" >/dev/null

# garbage handles: a clear error naming the field
garbage() { # NAME HANDLE EXPECTED-MESSAGE
	put_handle "$1" "$2"
	run_cap rd wait "$1"
	check_eq "garbage handle ($1): wait exits 125" "$RC" 125
	check_has "garbage handle ($1): wait names the problem" "$ERR" "$3"
	run_cap rd status "$1"
	check_eq "garbage handle ($1): status exits 1" "$RC" 1
	check_has "garbage handle ($1): status names the problem" "$ERR" "$3"
}
pc='"PluginConfig":{"Pid":1,"AddrNet":"unix","AddrName":"'$sock'"}'
tail_='"KillTimeout":5000000000,"MaxKillTimeout":30000000000'
garbage g-pid 'Rkt:{"UUID":"abcd",'"${pc/\"Pid\":1/\"Pid\":\"x\"}"',"ExecutorPid":2,'"$tail_"'}' \
	'handle field "PluginConfig.Pid" must be an integer'
garbage g-noexec 'Rkt:{"UUID":"abcd",'"$pc"','"$tail_"'}' 'handle field "ExecutorPid" is missing'
garbage g-negkill 'Rkt:{"UUID":"abcd",'"$pc"',"ExecutorPid":2,"KillTimeout":-1,"MaxKillTimeout":30000000000}' \
	'handle field "KillTimeout" must not be negative'
garbage g-uuid 'Rkt:{"UUID":"--rm",'"$pc"',"ExecutorPid":2,'"$tail_"'}' 'handle field "UUID" must be a rkt pod UUID'
garbage g-nouuid 'Rkt:{'"$pc"',"ExecutorPid":2,'"$tail_"'}' 'handle field "UUID" is missing'
garbage g-pcstr 'Rkt:{"UUID":"abcd","PluginConfig":"x","ExecutorPid":2,'"$tail_"'}' \
	'handle field "PluginConfig" must be an object'
garbage g-noaddr 'Rkt:{"UUID":"abcd","PluginConfig":{"Pid":1,"AddrNet":"unix"},"ExecutorPid":2,'"$tail_"'}' \
	'handle field "PluginConfig.AddrName" is missing'
garbage g-prefix 'Docker:{"UUID":"abcd"}' 'handle does not start with "Rkt:"'
garbage g-json 'Rkt:{"UUID":' 'handle is not valid JSON'
garbage g-empty '' 'handle is empty'
run_cap rd ps
check_match "ps shows a garbage handle as unreadable, naming the field" "$OUT" \
	'g-pid +unreadable +handle field "PluginConfig.Pid" must be an integer'

e2e_finish
