#!/bin/bash
# The soak (issue 10, docs/reliability.md): tasks started, stopped and
# recovered through rkt-agent (examples/agent: librktdriver, `rkt-driver
# plugin`, rkt-executor, the rkt simulator) while the agent, the plugin and
# single executors are SIGKILLed at random moments from a seeded source.
# Then: every task's recorded end matches what it did (its own exit code; a
# task whose executor was killed while it ran is "lost", never exit 0; a
# stopped one 143), and nothing is left: no process, socket file or task dir
# of the run, and no executor's RSS grew.
#
#   soak.sh BUILD_DIR [--tasks N] [--rounds N] [--seed S]
#
# SOAK_SEED, SOAK_TASKS, SOAK_ROUNDS do the same. The seed is printed first:
# `soak.sh BUILD_DIR --seed S` replays the kills' choices (the processes'
# own timing still varies). Runs as any user; the simulator needs no root.
set -u
build=$1
shift
tasks=${SOAK_TASKS:-6} rounds=${SOAK_ROUNDS:-4} seed=${SOAK_SEED:-$(( $(date +%s) % 100000 ))}
while [ $# -gt 0 ]; do
	case $1 in
	--tasks) tasks=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	*) echo "soak: unknown argument $1" >&2; exit 2 ;;
	esac
done
echo "soak: seed $seed, $tasks tasks, $rounds rounds (replay: $0 $build --tasks $tasks --rounds $rounds --seed $seed)"
RANDOM=$seed

agent=$build/driver/client/rkt-agent
driver=$build/driver/rkt-driver
executor=$build/executor/rkt-executor
rkt=$build/tests/rktsim/rkt
aci=$build/tests/aci/example.aci
for f in "$agent" "$driver" "$executor" "$rkt" "$aci"; do
	[ -e "$f" ] || { echo "soak: missing $f (build it first)" >&2; exit 2; }
done
root=$(mktemp -d "${TMPDIR:-/tmp}/rktd-soak-XXXXXX")
state=$root/agent
export RKT_SIM_DIR=$root/rkt
mkdir -p "$state" "$RKT_SIM_DIR"
started=$(date +%s)
fail=0
declare -A expect

agent_run() {
	"$agent" --state-dir "$state" --driver "$driver" --rkt "$rkt" --driver-arg --executor \
		--driver-arg "$executor" --driver-arg --network-timeout --driver-arg 1s --wait-poll 1s \
		--call-timeout 10s --start-timeout 60s --takeover-wait 20s "$@"
}

# Our processes: those whose command line names this run's root.
ours() {
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "$root" && echo "${p#/proc/}"
	done
}
executors() {
	for p in $(ours); do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$executor")" ] && echo "$p"
	done
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
plugin_pid() { tr -d '\n' <"$state/plugin.json" 2>/dev/null | sed -n 's/.*"Pid":[[:space:]]*\([0-9]*\).*/\1/p'; }

# A task: sleeps a while (its round's), then exits with its own code.
write_task() { # name code seconds
	cat >"$root/$1.json" <<EOT
{"name": "$1", "kill_timeout": "2s",
 "config": {"image": "$aci", "command": "/bin/sh", "args": ["-c", "sleep $3; exit $2"]}}
EOT
}

declare -A rss0
for r in $(seq 1 "$rounds"); do
	files=()
	for i in $(seq 1 "$tasks"); do
		name=r${r}t$i code=$(( RANDOM % 100 + 1 )) secs=$(( RANDOM % 3 + 2 ))
		write_task "$name" "$code" "$secs"
		expect[$name]=$code
		files+=("$root/$name.json")
	done
	agent_run run --detach "${files[@]}" >>"$root/agent.out" 2>&1 || echo "soak: round $r: run --detach failed (see $root/agent.out)"
	# the agent that waits: recover, in the background
	agent_run recover >>"$root/agent.out" 2>&1 &
	apid=$!
	sleep 0.$(( RANDOM % 9 + 1 ))
	for e in $(executors); do [ -z "${rss0[$e]:-}" ] && rss0[$e]=$(rss_kb "$e"); done
	case $(( RANDOM % 4 )) in
	0) echo "soak: round $r: SIGKILL the agent ($apid)"; kill -9 "$apid" 2>/dev/null ;;
	1) p=$(plugin_pid); echo "soak: round $r: SIGKILL the plugin (${p:-none})"; [ -n "$p" ] && kill -9 "$p" 2>/dev/null ;;
	2) ex=($(executors)); if [ ${#ex[@]} -gt 0 ]; then v=${ex[$(( RANDOM % ${#ex[@]} ))]}
		echo "soak: round $r: SIGKILL executor $v"; kill -9 "$v"; fi ;;
	3) victim=r${r}t$(( RANDOM % tasks + 1 )); echo "soak: round $r: stop $victim"
		agent_run stop --timeout 2s "$victim" >>"$root/agent.out" 2>&1; expect[$victim]=stopped ;;
	esac
	wait "$apid" 2>/dev/null
	# whatever died: the next agent takes every task back and waits
	agent_run recover >>"$root/agent.out" 2>&1
	for e in $(executors); do
		[ -n "${rss0[$e]:-}" ] && [ "$(rss_kb "$e")" -gt $(( rss0[$e] + 1024 )) ] &&
			{ echo "soak: executor $e grew from ${rss0[$e]} to $(rss_kb "$e") KiB"; fail=1; }
	done
done

# ---- the checks
agent_run status >"$root/status.out" 2>&1
exact=0 lost=0 stopped=0
for name in "${!expect[@]}"; do
	rec=$(ls "$state"/tasks/*"$name"/exit.json 2>/dev/null | head -1)
	if [ -z "$rec" ]; then echo "soak: $name: no recorded end"; fail=1; continue; fi
	how=$(tr -d '\n' <"$rec" | sed -n 's/.*"how":[[:space:]]*"\([^"]*\)".*/\1/p')
	code=$(tr -d '\n' <"$rec" | sed -n 's/.*"exit_code":[[:space:]]*\([0-9-]*\).*/\1/p')
	want=${expect[$name]}
	if [ "$how" = exited ] && [ "$code" = "$want" ]; then exact=$((exact + 1))
	elif [ "$want" = stopped ] && [ "$how" = exited ] && { [ "$code" = 143 ] || [ "$code" = 137 ]; }; then stopped=$((stopped + 1))
	elif [ "$want" = stopped ] && [ "$how" = exited ]; then exact=$((exact + 1)) # ended before the stop
	elif [ "$how" = lost ] && [ "$code" != 0 ]; then lost=$((lost + 1))
	else echo "soak: $name: recorded $how code $code, expected $want ($(tr -d '\n' <"$rec"))"; fail=1; fi
done
sleep 1
left=$(ours | grep -v "^$$\$" | tr '\n' ' ')
# a plugin left by the last agent leaves on its stdin's EOF; give it a moment
for i in $(seq 50); do [ -z "$left" ] && break; sleep 0.2; left=$(ours | tr '\n' ' '); done
[ -n "$left" ] && { echo "soak: processes left: $left"; ps -o pid,args -p ${left// /,} ; fail=1; }
socks=$(find "$root" -type s 2>/dev/null | tr '\n' ' ')
[ -n "$socks" ] && { echo "soak: socket files left: $socks"; fail=1; }
dirs=$(ls "$state/driver/tasks" 2>/dev/null | tr '\n' ' ')
[ -n "$dirs" ] && { echo "soak: driver task dirs left: $dirs"; fail=1; }
pods=$(ls "$RKT_SIM_DIR"/pods/run 2>/dev/null | tr '\n' ' ')
[ -n "$pods" ] && { echo "soak: running pods left: $pods"; fail=1; }
total=${#expect[@]}
echo "soak: seed $seed: $total tasks in $(( $(date +%s) - started )) s: $exact exact exit codes, $stopped stopped, $lost lost (executor killed), $(( total - exact - stopped - lost )) wrong"
if [ $fail -eq 0 ]; then
	rm -rf "$root"
	echo "1 passed, 0 failed"
else
	echo "soak: kept $root"
	echo "0 passed, 1 failed"
fi
exit $fail
