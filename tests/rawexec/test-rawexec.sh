#!/bin/bash
# test-rawexec.sh RAWEXEC: checks the raw_exec stand-in against what Nomad 0.8.1's
# raw_exec driver does (README.md beside this file): the alloc dir layout and its
# modes, the task environment, cwd, logs, the session and process group, stop
# (the kill signal, SIGKILL after the kill timeout), restarts with the same alloc
# id, a restart on SIGUSR1, and a client that dies. Prints each check; exits 1 if
# any fails. Leaves no process or file behind.
set -u

RAWEXEC=${1:?usage: test-rawexec.sh RAWEXEC}
if [[ $(id -u) != 0 ]]; then
	echo "SKIP: the alloc dir's owner (nobody) is set as root only; run as root"
	exit 77
fi

T=$(mktemp -d /tmp/test-rawexec.XXXXXX)
chmod 755 "$T"
PIDS=() # processes we started (rawexec runs, payloads left behind on purpose)

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	# a payload or executor left running by the "client dies" check names $T
	for p in $(grep -l "$T" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
		[[ $p != "$$" ]] && kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

passed=0
failed=0
ok() {
	echo "ok   - $1"
	passed=$((passed + 1))
}
not_ok() {
	echo "FAIL - $1"
	shift
	local l
	for l in "$@"; do printf '       %s\n' "$l"; done
	failed=$((failed + 1))
}
check_eq() { # DESC ACTUAL EXPECTED
	if [[ $2 == "$3" ]]; then ok "$1"; else not_ok "$1" "got:      $(printf %q "$2")" "expected: $(printf %q "$3")"; fi
}
check_has() { # DESC TEXT SUBSTRING
	if [[ $2 == *"$3"* ]]; then ok "$1"; else not_ok "$1" "missing: $3" "in: ${2:0:1500}"; fi
}
check_range() { # DESC VALUE MIN MAX (numbers, awk)
	if awk -v v="$2" -v a="$3" -v b="$4" 'BEGIN { exit !(v >= a && v <= b) }'; then
		ok "$1"
	else
		not_ok "$1" "got $2, want [$3, $4]"
	fi
}
wait_for() { # SECONDS CMD...: polls CMD every 50 ms
	local i
	for ((i = 0; i < $1 * 20; i++)); do
		"${@:2}" && return 0
		sleep 0.05
	done
	"${@:2}"
}
alive() {
	[[ -r /proc/$1/stat ]] && [[ $(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f1) != Z ]]
}
gone() { ! alive "$1"; }
started_pid() { # LOGFILE [N]: the pid of the Nth run (default: the last)
	local l
	l=$(grep -o 'started pid [0-9]*' "$1" | sed 's/started pid //')
	if [[ -n ${2:-} ]]; then sed -n "${2}p" <<<"$l"; else tail -1 <<<"$l"; fi
}
nonempty() { [[ -s $1 ]]; }

ID=7d3e1f0a-5b6c-4d8e-9f01-23456789abcd
A=$T/alloc1

# ---- layout, environment, cwd, logs, session
VAULT_TOKEN=leak CONSUL_TOKEN=leak HOST_SEEN=yes "$RAWEXEC" run --alloc-dir "$A" --task web --alloc-id $ID \
	--job shop --group front --alloc-index 2 --memory 64 --env 'GREETING=hi ${NOMAD_TASK_NAME}' \
	--env 'bad-key=1' -- /bin/sh -c 'env > "$NOMAD_TASK_DIR/env"; pwd > local/cwd; umask > local/umask;
	 ps -o pgid=,sid= -p $$ > local/ids; echo $PPID > local/ppid; readlink /proc/$$/fd/0 > local/stdin
	 echo "to stdout"; echo "to stderr" >&2; exit 4' 2>"$T/run1.log"
rc=$?
check_eq "exit code: the task's" "$rc" 4
envf=$'\n'$(cat "$A/web/local/env" 2>/dev/null)$'\n'
for kv in "NOMAD_ALLOC_DIR=$A/alloc" "NOMAD_TASK_DIR=$A/web/local" "NOMAD_SECRETS_DIR=$A/web/secrets" \
	"NOMAD_ALLOC_ID=$ID" "NOMAD_ALLOC_NAME=shop.front[2]" "NOMAD_ALLOC_INDEX=2" "NOMAD_TASK_NAME=web" \
	"NOMAD_JOB_NAME=shop" "NOMAD_GROUP_NAME=front" "NOMAD_DC=dc1" "NOMAD_REGION=global" \
	"NOMAD_CPU_LIMIT=100" "NOMAD_MEMORY_LIMIT=64" "HOST_SEEN=yes" "GREETING=hi web" "bad_key=1"; do
	check_has "env: $kv" "$envf" $'\n'"$kv"$'\n'
done
if grep -qE '^(VAULT|CONSUL)_TOKEN=' <<<"$envf"; then
	not_ok "env: the blacklisted VAULT_TOKEN and CONSUL_TOKEN are left out"
else
	ok "env: the blacklisted VAULT_TOKEN and CONSUL_TOKEN are left out"
fi
check_eq "cwd: the task dir" "$(cat "$A/web/local/cwd" 2>/dev/null)" "$A/web"
check_eq "umask: the client's" "$(cat "$A/web/local/umask" 2>/dev/null)" "$(umask)"
check_eq "stdin: /dev/null" "$(cat "$A/web/local/stdin" 2>/dev/null)" /dev/null
read -r pgid sid <"$A/web/local/ids"
ppid=$(cat "$A/web/local/ppid")
check_eq "session: the executor's (it called setsid), shared by the task" "$pgid $sid" "$ppid $ppid"
check_has "the task's parent is the executor, in a run of its own" "$(cat "$T/run1.log")" "executor pid $ppid)"
check_eq "logs: alloc/logs/web.stdout.0" "$(cat "$A/alloc/logs/web.stdout.0" 2>/dev/null)" "to stdout"
check_eq "logs: alloc/logs/web.stderr.0" "$(cat "$A/alloc/logs/web.stderr.0" 2>/dev/null)" "to stderr"
check_has "logs: web/executor.out, as Nomad's executor writes it" "$(cat "$A/web/executor.out" 2>/dev/null)" \
	"[INFO] executor: launching command /bin/sh -c"
modes=$(cd "$A" && stat -c '%a %U:%G %n' . alloc alloc/logs alloc/data alloc/tmp web web/local web/secrets web/tmp)
check_eq "dirs: Nomad's layout and modes" "$modes" "755 root:root .
777 nobody:nogroup alloc
777 nobody:nogroup alloc/logs
777 nobody:nogroup alloc/data
777 nobody:nogroup alloc/tmp
777 nobody:nogroup web
777 nobody:nogroup web/local
777 nobody:nogroup web/secrets
1777 nobody:nogroup web/tmp"
check_eq "logs: files 0666 less the umask" "$(stat -c %a "$A/alloc/logs/web.stdout.0")" \
	"$(printf '%o' $((0666 & ~0$(umask))))"

# ---- lookupBin: task/local first, then the task dir, then PATH
mkdir -p "$T/alloc2/web/local"
printf '#!/bin/sh\necho local copy\n' >"$T/alloc2/web/local/tool"
chmod 755 "$T/alloc2/web/local/tool"
"$RAWEXEC" run --alloc-dir "$T/alloc2" --task web --alloc-id $ID -- tool 2>/dev/null
check_eq "command: found in the task's local/ first" "$(cat "$T/alloc2/alloc/logs/web.stdout.0")" "local copy"
"$RAWEXEC" run --alloc-dir "$T/alloc2" --task web --alloc-id $ID -- /bin/echo '${NOMAD_ALLOC_ID}' 2>/dev/null
check_eq "args: \${NOMAD_...} interpolated; logs appended to the same .0 file" \
	"$(cat "$T/alloc2/alloc/logs/web.stdout.0")" "local copy
$ID"

# ---- stop: the kill signal to the task's pid, SIGKILL after the kill timeout
B=$T/alloc3
script='trap "date +%s.%N > local/int" INT; trap "date +%s.%N > local/term" TERM
	while :; do date +%s.%N > local/beat; sleep 0.02; done'
"$RAWEXEC" run --alloc-dir "$B" --task web --alloc-id $ID --kill-timeout 1500ms -- /bin/sh -c "$script" \
	2>"$T/stop.log" &
rx=$!
PIDS+=("$rx")
wait_for 10 nonempty "$B/web/local/beat"
task=$(started_pid "$T/stop.log")
t0=$(date +%s.%N)
kill -TERM "$rx" # nomad stop
wait "$rx"
rc=$?
t1=$(date +%s.%N)
check_eq "stop: rawexec ends with the task's code (SIGKILLed: 137)" "$rc" 137
check_range "stop: SIGINT reached the task at once" \
	"$(awk -v a="$(cat "$B/web/local/int" 2>/dev/null || echo 0)" -v b="$t0" 'BEGIN { print a - b }')" -0.05 0.5
if [[ -e $B/web/local/term ]]; then not_ok "stop: no SIGTERM (Nomad 0.8 sends SIGINT)"; else ok "stop: no SIGTERM (Nomad 0.8 sends SIGINT)"; fi
check_range "stop: the task ran on until SIGKILL at the kill timeout (1.5 s)" \
	"$(awk -v a="$(cat "$B/web/local/beat")" -v b="$(cat "$B/web/local/int")" 'BEGIN { print a - b }')" 1.3 1.8
check_range "stop: rawexec left right after" "$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')" 1.4 2.5
gone "$task" && ok "stop: the task is gone" || not_ok "stop: the task is gone" "pid $task"
check_has "stop: says so" "$(cat "$T/stop.log")" "kill timeout (1500 ms) passed: SIGKILL to pid $task"

# a task that exits on SIGINT ends the stop at once
"$RAWEXEC" run --alloc-dir "$B" --task web --alloc-id $ID --kill-timeout 5s -- /bin/sh -c \
	'echo up > local/up; exec sleep 100' 2>"$T/stop2.log" &
rx=$!
PIDS+=("$rx")
rm -f "$B/web/local/up"
wait_for 10 nonempty "$B/web/local/up"
t0=$(date +%s.%N)
kill -INT "$rx"
wait "$rx"
rc=$?
t1=$(date +%s.%N)
check_eq "stop: a task that dies of SIGINT: 130" "$rc" 130
check_range "stop: and rawexec leaves without waiting for the kill timeout" \
	"$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')" 0 1

# ---- restarts: same alloc id, new pid, after the delay plus up to 25 %
C=$T/alloc4
"$RAWEXEC" run --alloc-dir "$C" --task job --alloc-id $ID --restarts 2 --restart-delay 400ms -- /bin/sh -c \
	'echo "$(date +%s.%N) $NOMAD_ALLOC_ID $$" >> "$NOMAD_ALLOC_DIR/runs"; echo "run $$"; exit 1' 2>"$T/restart.log"
rc=$?
check_eq "restarts: the last run's code" "$rc" 1
runs=$(cat "$C/alloc/runs" 2>/dev/null)
check_eq "restarts: 1 + 2 attempts" "$(wc -l <<<"$runs")" 3
check_eq "restarts: the same alloc id each time" "$(cut -d' ' -f2 <<<"$runs" | sort -u)" "$ID"
check_eq "restarts: a new process each time" "$(cut -d' ' -f3 <<<"$runs" | sort -u | wc -l)" 3
d1=$(awk 'NR == 1 { a = $1 } NR == 2 { print $1 - a }' <<<"$runs")
d2=$(awk 'NR == 2 { a = $1 } NR == 3 { print $1 - a }' <<<"$runs")
check_range "restarts: the first after 400 ms + jitter (<= 25 %)" "$d1" 0.4 0.65
check_range "restarts: the second too" "$d2" 0.4 0.65
check_eq "restarts: the logs of every run in the same .0 file" "$(grep -c '^run ' "$C/alloc/logs/job.stdout.0")" 3
check_has "restarts: then it stops, as mode \"fail\"" "$(cat "$T/restart.log")" "not restarting: exceeded allowed attempts 2"
"$RAWEXEC" run --alloc-dir "$C" --task ok --alloc-id $ID --restarts 2 --restart-delay 100ms -- /bin/true 2>"$T/ok.log"
check_eq "restarts: a batch task that succeeds is not restarted" "$(grep -c 'started pid' "$T/ok.log")" 1

# ---- SIGUSR1: a restart (template change_mode "restart"), not counted
D=$T/alloc5
"$RAWEXEC" run --alloc-dir "$D" --task web --alloc-id $ID --kill-timeout 2s -- /bin/sh -c \
	'trap "echo int >> local/got; exit 0" INT; echo "$NOMAD_ALLOC_ID $$" >> local/runs; while :; do sleep 0.05; done' \
	2>"$T/usr1.log" &
rx=$!
PIDS+=("$rx")
wait_for 10 nonempty "$D/web/local/runs"
first=$(started_pid "$T/usr1.log" 1)
kill -USR1 "$rx"
wait_for 10 test "$(wc -l <"$D/web/local/runs")" -ge 2
check_eq "SIGUSR1: the task got SIGINT and a new run started (no restarts allowed, still restarted)" \
	"$(cat "$D/web/local/got" 2>/dev/null) $(wc -l <"$D/web/local/runs")" "int 2"
check_eq "SIGUSR1: same alloc id" "$(cut -d' ' -f1 "$D/web/local/runs" | sort -u)" "$ID"
gone "$first" && ok "SIGUSR1: the first run is gone" || not_ok "SIGUSR1: the first run is gone"
kill -TERM "$rx"
wait "$rx"
check_eq "SIGUSR1: then a stop ends it (the trap exits 0)" "$?" 0

# ---- the client dies (SIGKILL): the executor and the task run on, logs flow
E=$T/alloc6
"$RAWEXEC" run --alloc-dir "$E" --task web --alloc-id $ID -- /bin/sh -c \
	'while [ ! -e local/stop ]; do echo tick; sleep 0.05; done; echo bye' 2>"$T/die.log" &
rx=$!
wait_for 10 nonempty "$E/alloc/logs/web.stdout.0"
task=$(started_pid "$T/die.log")
executor=$(grep -o 'executor pid [0-9]*' "$T/die.log" | tail -1 | cut -d' ' -f3)
kill -9 "$rx"
wait "$rx" 2>/dev/null
sleep 0.3
alive "$task" && ok "client SIGKILLed: the task runs on" || not_ok "client SIGKILLed: the task runs on"
alive "$executor" && ok "client SIGKILLed: its executor too" || not_ok "client SIGKILLed: its executor too"
n1=$(grep -c tick "$E/alloc/logs/web.stdout.0")
sleep 0.3
n2=$(grep -c tick "$E/alloc/logs/web.stdout.0")
((n2 > n1)) && ok "client SIGKILLed: its output still reaches the log" || not_ok "client SIGKILLed: its output still reaches the log" "$n1 then $n2 lines"
touch "$E/web/local/stop"
wait_for 5 gone "$executor"
gone "$task" && gone "$executor" && ok "client SIGKILLed: the executor leaves when the task ends" ||
	not_ok "client SIGKILLed: the executor leaves when the task ends"
check_eq "client SIGKILLed: the last line logged" "$(tail -1 "$E/alloc/logs/web.stdout.0")" bye

# ---- usage
"$RAWEXEC" run --task x -- true 2>/dev/null
check_eq "usage: --alloc-dir, --task, --alloc-id are needed (2)" "$?" 2
"$RAWEXEC" run --alloc-dir "$T/u" --task x --alloc-id 1 --kill-timeout 5 -- true 2>"$T/usage.log"
check_has "usage: a duration needs its unit, as Go's" "$(cat "$T/usage.log")" "is not a duration"

echo "# $passed passed, $failed failed"
((failed == 0))
