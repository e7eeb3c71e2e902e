#!/bin/bash
# e2e: remote inspection through the CLI (issue 9): a task file's inspect
# block, the inspection token beside the handle, and inspect / stats / logs
# / wait --remote showing what the local commands show. Certificates are
# made here (openssl). The refusals themselves are test_inspect_remote's.
source "$(dirname "$0")/lib.sh"
fast_network

if ! command -v openssl >/dev/null; then
	echo "SKIP: no openssl to make certificates"
	exit 77
fi
C=$E2E_TMP/certs
mkdir -p "$C"
(
	cd "$C" || exit 1
	k() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"; }
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=ca
	printf 'subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1\n' >san.ext
	k server 127.0.0.1
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext
	k client operator
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2
) >/dev/null 2>&1
check "the test made its certificates" test -s "$C/client.crt"

inspect_block() { # LISTEN [EXTRA]
	printf '"inspect": {"listen": "%s", "cert_file": "%s", "key_file": "%s", "ca_file": "%s", "client_certs": true%s}' \
		"$1" "$C/server.crt" "$C/server.key" "$C/ca.crt" "${2:-}"
}

# tcp:// without the insecure flag is refused before anything runs
f=$(task_file plain 'echo hi' "$(inspect_block tcp://127.0.0.1:0)")
run_cap rd validate "$f"
check_ne "validate refuses a tcp:// inspect listener" "$RC" 0
check_has "saying it is plain TCP" "$ERR" "plain TCP"
run_cap rd run --detach "$f"
check_ne "run refuses it too" "$RC" 0
f=$(task_file plain2 'echo hi' '"inspect": {"listen": "tcp://127.0.0.1:0", "insecure": true}')
run_cap rd validate "$f"
check_eq "with insecure it validates" "$RC" 0

script='echo out-1; echo err-1 >&2; i=0; while [ $i -lt 50 ]; do echo line-$i; i=$((i+1)); done
while [ ! -e /alloc/go ]; do sleep 0.1; done; echo out-2; exit 7'
id=$(start_detached "$(task_file rt "$script" "$(inspect_block tls+tcp://127.0.0.1:0)")")
check "the task started with remote inspection" test -n "$id"
dir=$(task_dir "$id")
tok=$dir/inspect.token
check "the inspection token is written beside the handle" test -s "$tok"
check_eq "it is 0600" "$(stat -c %a "$tok" 2>/dev/null)" 600
url=$(sed -n 's/.*"InspectURL":"\([^"]*\)".*/\1/p' "$dir/handle" 2>/dev/null)
check_match "the handle records the listener's address" "$url" '^tls\+tcp://127\.0\.0\.1:[0-9]+$'
R=(--remote "$url" --token-file "$tok" --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key")
wait_until 10 grep -q line-49 "$dir/alloc/logs/rt.stdout.0"

# the same views; what changes between two calls (uptime, rss, counters) aside
norm() { sed -E -e 's/up [0-9]+ ms/up N ms/' -e '/^executor rss:/d' -e '/^rpc:/d' -e '/^inspection:/d'; }
run_cap rd inspect "$id"
local_view=$(norm <<<"$OUT")
run_cap rd inspect "${R[@]}"
check_eq "inspect --remote exits 0" "$RC" 0
check_eq "inspect --remote shows what inspect shows" "$(norm <<<"$OUT")" "$local_view"
check_has "inspect shows the listener" "$OUT" "inspection:    $url (client certificates required)"
run_cap rd inspect --json "$id"
jl=$(jq -S 'del(.uptime_ms, .executor_rss_bytes, .rpc_calls, .rpc_errors, .rpc_rejected)' <<<"$OUT")
run_cap rd inspect --json "${R[@]}"
jr=$(jq -S 'del(.uptime_ms, .executor_rss_bytes, .rpc_calls, .rpc_errors, .rpc_rejected)' <<<"$OUT")
check_eq "inspect --json --remote matches inspect --json" "$jr" "$jl"

run_cap rd stats --json "$id"
sl=$(jq -c '[.id, .pod, .processes[0].pid]' <<<"$OUT")
run_cap rd stats --json "${R[@]}"
check_eq "stats --json --remote exits 0" "$RC" 0
check_eq "stats --remote: the same task, pod and main process" "$(jq -c '[.id, .pod, .processes[0].pid]' <<<"$OUT")" "$sl"
run_cap rd stats "${R[@]}"
check_match "stats --remote prints the table" "$OUT" 'PID +PPID +COMMAND'

run_cap rd logs "$id"
ll=$OUT
run_cap rd logs "${R[@]}"
check_eq "logs --remote exits 0" "$RC" 0
check_eq "logs --remote prints what logs prints" "$OUT" "$ll"
run_cap rd logs --stderr "$id"
ll=$OUT
run_cap rd logs --stderr "${R[@]}"
check_eq "logs --stderr --remote prints what logs --stderr prints" "$OUT" "$ll"
check_has "(the task's stderr)" "$OUT" "err-1"

# rotate-token: a new token in the same file; the old one stops working
old=$E2E_TMP/old.token
cp "$tok" "$old"
run_cap rd rotate-token "$id"
check_eq "rotate-token exits 0" "$RC" 0
check_eq "it prints the token file" "$OUT" "$tok"
check_ne "the file holds a new token" "$(cat "$tok")" "$(cat "$old")"
check_eq "still 0600" "$(stat -c %a "$tok" 2>/dev/null)" 600
run_cap rd inspect --remote "$url" --token-file "$old" --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key"
check_eq "the old token is refused" "$RC" 1
run_cap rd inspect "${R[@]}"
check_eq "the new one works" "$RC" 0
f=$(task_file norotate 'sleep 5')
nid=$(start_detached "$f")
run_cap rd rotate-token "$nid"
check_eq "rotate-token of a task without inspection fails" "$RC" 1
check_has "saying so" "$ERR" "without remote inspection"
rd stop "$nid" >/dev/null 2>&1

# follow and wait, remotely, while the task ends
rf=$E2E_TMP/follow.out wo=$E2E_TMP/wait.out
rd logs -f "${R[@]}" >"$rf" &
fpid=$!
BG_PIDS+=("$fpid")
(rd wait "${R[@]}" >"$wo"; echo $? >"$wo.rc") &
BG_PIDS+=("$!")
sleep 0.5
touch "$dir/alloc/go"
wait_until 15 test -s "$wo.rc"
check_eq "wait --remote exits with the task's code" "$(cat "$wo.rc" 2>/dev/null)" 7
check_eq "wait --remote prints the result" "$(cat "$wo" 2>/dev/null)" "exit code 7"
wait_until 15 grep -q out-2 "$rf"
wait_until 5 gone "$fpid"
check "logs -f --remote ends when the task has ended" gone "$fpid"
run_cap rd logs "$id"
check_eq "logs -f --remote printed all of it, as logs does" "$(cat "$rf")" "$OUT"

# the control token never works remotely; the inspection token is read-only
bad=$E2E_TMP/bad.token
sed -n 's/.*"Token":"\([^"]*\)".*/\1/p' "$dir/handle" >"$bad"
run_cap rd inspect --remote "$url" --token-file "$bad" --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key"
check_eq "the control token is refused on the listener" "$RC" 1
check_has "saying the token is wrong" "$ERR" "token"
run_cap rd inspect --remote "$url" --token-file "$tok" --ca "$C/ca.crt"
check_eq "no client certificate: refused" "$RC" 1
check_has "with a sentence about the handshake" "$ERR" "handshake"

run_cap rd wait "$id"
check_eq "the local wait still gets the exit code" "$RC" 7

e2e_finish
