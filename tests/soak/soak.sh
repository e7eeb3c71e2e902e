#!/bin/bash
# The soak (issue 10, docs/reliability.md): rounds of tasks started through
# rkt-agent (examples/agent: librktdriver, `rkt-driver plugin`, rkt-executor,
# the rkt simulator), then a seeded random sequence of operations while they
# run: exec into one, stats of all, SIGUSR1 to one, stop one, and SIGKILL of
# the agent, of the plugin (under an agent, which respawns it) or of one
# executor at a random moment; then a fresh `rkt-agent recover` takes every
# task back and waits. At the end:
#  - every task's recorded end (tasks/<key>/exit.json) is its own exit code,
#    or 143/137 for a stopped one, or "lost" (never exit 0) only for a task
#    whose executor was SIGKILLed while it ran;
#  - every exec that answered printed what it was told; every task that was
#    sent SIGUSR1 logged that its trap ran;
#  - nothing is left: no process whose command line names the run's root,
#    no socket file, no driver task dir, no pod;
#  - no executor's RSS grew by more than 1 MiB, nor its fds by any, over a
#    round's operations (measured with no plugin connected); the plugin that
#    recovers a round's tasks holds at most 4 sockets + one per task (its
#    listener, the agent's connection, nng's own; a connection per executor).
# In some rounds (seeded) the agent's `run --detach` itself is SIGKILLed at a
# random moment: the tasks it had not yet recorded were never started (and
# are not expected), those it had are recovered or their cut start cleared
# and made again by the round's `recover`.
#
#   soak.sh BUILD_DIR [--tasks N] [--rounds N] [--ops N] [--seed S]
#
# SOAK_TASKS, SOAK_ROUNDS, SOAK_OPS, SOAK_SEED do the same. The seed is printed
# first with the command that replays it (the choices, not the processes' own
# timing). One line per round says what it did and how long each step took.
# Operations run one agent at a time: rkt-agent is one process per state dir
# (a second one waits for the first one's plugin to leave), so the agent that
# waits for the tasks is the last step of a round, and the kills hit agents
# started for the purpose.
set -u
build=$1
shift
tasks=${SOAK_TASKS:-6} rounds=${SOAK_ROUNDS:-4} ops=${SOAK_OPS:-4} seed=${SOAK_SEED:-$(( $(date +%s) % 100000 ))}
while [ $# -gt 0 ]; do
	case $1 in
	--tasks) tasks=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--ops) ops=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	*) echo "soak: unknown argument $1" >&2; exit 2 ;;
	esac
done
echo "soak: seed $seed, $tasks tasks, $rounds rounds, $ops operations a round" \
	"(replay: $0 $build --tasks $tasks --rounds $rounds --ops $ops --seed $seed)"
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
# (a function that set "state" for its own use once sent every later agent
# to a state dir named after a process state, "S", in the working dir)
readonly root state
export RKT_SIM_DIR=$root/rkt
# pods report a network at once (as a non-fly stage1 does): without it every
# start looks for one for the whole --network-timeout
export RKT_SIM_NETWORK=10.88.0.5
mkdir -p "$state" "$RKT_SIM_DIR"
started=$(date +%s)
fail=0
declare -A expect killed signalled rss0 fds0

agent_run() {
	"$agent" --state-dir "$state" --driver "$driver" --rkt "$rkt" --driver-arg --executor \
		--driver-arg "$executor" --driver-arg --network-timeout --driver-arg 1s --wait-poll 1s \
		--call-timeout 10s --start-timeout 60s --takeover-wait 20s "$@"
}
log_run() { agent_run "$@" >>"$root/agent.out" 2>&1; }

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
fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
sockets_of() { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
plugins() {
	for p in $(ours); do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$driver")" ] && echo "$p"
	done
}
# The plugins of agents that have exited leave on their stdin's end: wait for
# them, so that an executor's fds are counted without their connections.
settle_plugins() {
	for i in $(seq 100); do [ -z "$(plugins)" ] && return 0; sleep 0.1; done
	echo "soak: plugins still running 10 s after their agents: $(plugins | tr '\n' ' ')"
	return 1
}
plugin_pid() { tr -d '\n' <"$state/plugin.json" 2>/dev/null | sed -n 's/.*"Pid":[[:space:]]*\([0-9]*\).*/\1/p'; }
key_of() { basename "$(ls -d "$state"/tasks/*-"$1" 2>/dev/null | head -1)"; }
ms() { date +%s%3N; }

# A task: runs a while (half-second ticks), logs a SIGUSR1 from its trap,
# then exits with its own code.
write_task() { # name code ticks
	cat >"$root/$1.json" <<EOT
{"name": "$1", "kill_timeout": "2s",
 "config": {"image": "$aci", "command": "/bin/sh", "args": ["-c",
  "trap 'echo got-usr1' USR1; i=0; while [ \$i -lt $3 ]; do sleep 0.5; i=\$((i+1)); done; exit $2"]}}
EOT
}

# bg_agent_killed WHAT: an agent that waits for the tasks (recover), and a
# SIGKILL at a random moment: of the agent, or of its plugin (the agent
# respawns one and recovers the tasks there) and then of the agent.
# (exec: $! must be the agent's pid, not a subshell's around it; the soak's
# first version killed that subshell, and the agent went on beside the next)
bg_agent_killed() {
	(exec "$agent" --state-dir "$state" --driver "$driver" --rkt "$rkt" --driver-arg --executor \
		--driver-arg "$executor" --driver-arg --network-timeout --driver-arg 1s --wait-poll 1s \
		--call-timeout 10s --start-timeout 60s --takeover-wait 20s recover >>"$root/agent.out" 2>&1) &
	local apid=$! p st
	sleep 0.$(( RANDOM % 9 + 1 ))
	if [ "$1" = plugin ]; then
		p=$(plugin_pid)
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
		sleep 0.$(( RANDOM % 9 + 1 ))
	fi
	# (an agent with nothing left to wait for may have ended already: gone,
	# or a zombie until the wait below)
	st=$(sed 's/.*) \(.\).*/\1/' "/proc/$apid/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ] || [ "$(readlink "/proc/$apid/exe" 2>/dev/null)" = "$(readlink -f "$agent")" ] ||
		echo "soak: pid $apid is not the agent" >&2
	kill -9 "$apid" 2>/dev/null
	wait "$apid" 2>/dev/null
	echo "${p:-$apid}"
}

for r in $(seq 1 "$rounds"); do
	files=() names=() did=""
	t0=$(ms)
	for i in $(seq 1 "$tasks"); do
		# each start takes about a second (two ticks): every task ends 2-4 s
		# after the round's last start and operations (about a second each)
		name=r${r}t$i code=$(( RANDOM % 100 + 1 )) ticks=$(( RANDOM % 5 + 4 + 2 * (tasks - i) + 2 * ops ))
		write_task "$name" "$code" "$ticks"
		expect[$name]=$code
		files+=("$root/$name.json")
		names+=("$name")
	done
	if [ $(( RANDOM % 3 )) -eq 0 ]; then
		# the agent SIGKILLed during its run --detach
		(exec "$agent" --state-dir "$state" --driver "$driver" --rkt "$rkt" --driver-arg --executor \
			--driver-arg "$executor" --driver-arg --network-timeout --driver-arg 1s --wait-poll 1s \
			--call-timeout 10s --start-timeout 60s --takeover-wait 20s run --detach "${files[@]}" \
			>>"$root/agent.out" 2>&1) &
		apid=$!
		sleep "$(( RANDOM % 2 )).$(( RANDOM % 9 + 1 ))"
		kill -9 "$apid" 2>/dev/null
		wait "$apid" 2>/dev/null
		left_names=()
		for n in "${names[@]}"; do
			if [ -n "$(key_of "$n")" ]; then left_names+=("$n"); else unset "expect[$n]"; fi
		done
		did=" run-killed:${#left_names[@]}/${#names[@]}"
		names=("${left_names[@]}")
	else
		log_run run --detach "${files[@]}" || echo "soak: round $r: run --detach failed (see $root/agent.out)"
	fi
	t_run=$(( $(ms) - t0 ))
	keys=()
	for n in "${names[@]}"; do keys+=("$(key_of "$n")"); done
	settle_plugins || fail=1
	for e in $(executors); do
		[ -z "${rss0[$e]:-}" ] && rss0[$e]=$(rss_kb "$e")
		[ -z "${fds0[$e]:-}" ] && fds0[$e]=$(fds_of "$e")
	done
	t0=$(ms)
	for o in $(seq 1 "$ops"); do
		[ ${#names[@]} -eq 0 ] && break
		victim=${names[$(( RANDOM % ${#names[@]} ))]}
		key=$(key_of "$victim")
		case $(( RANDOM % 7 )) in
		0) out=$(agent_run exec "$key" /bin/echo "soak-exec-$r-$o" 2>>"$root/agent.out"); rc=$?
			if [ $rc -eq 0 ] && [ "$out" != "soak-exec-$r-$o" ]; then
				echo "soak: round $r: exec into $victim printed \"$out\""; fail=1
			fi
			did="$did exec:$victim=$rc" ;;
		1) log_run stats "${keys[@]}" || { echo "soak: round $r: stats failed (see $root/agent.out)"; fail=1; }
			did="$did stats" ;;
		2) if agent_run signal SIGUSR1 "$key" 2>>"$root/agent.out" | grep -q "sent SIGUSR1"; then
				signalled[$victim]=1
			fi
			did="$did usr1:$victim" ;;
		3) log_run stop --timeout 2s "$key"; expect[$victim]="stopped:${expect[$victim]}"
			did="$did stop:$victim" ;;
		4) bg_agent_killed agent >/dev/null; did="$did kill-agent" ;;
		5) p=$(bg_agent_killed plugin); did="$did kill-plugin:$p" ;;
		6) ex=($(executors))
			if [ ${#ex[@]} -gt 0 ]; then
				v=${ex[$(( RANDOM % ${#ex[@]} ))]}
				cmd=$(tr '\0' ' ' <"/proc/$v/cmdline" 2>/dev/null)
				# its task dir begins with the alloc id, whose first 8 characters
				# begin the agent's key (the task name may be cut short there)
				a8=$(basename "$(sed -n 's/.*--task-dir \([^ ]*\).*/\1/p' <<<"$cmd")" | cut -c1-8)
				k=$(ls "$state/tasks" 2>/dev/null | grep "^$a8-" | head -1)
				who=${k#"$a8"-}
				[ -z "$who" ] && echo "soak: round $r: which task executor $v ran is unknown: \"$cmd\""
				kill -9 "$v" 2>/dev/null
				[ -n "$who" ] && killed[$who]=1
				did="$did kill-executor:$who"
			else
				did="$did kill-executor:none"
			fi ;;
		esac
	done
	t_ops=$(( $(ms) - t0 ))
	settle_plugins || fail=1
	for e in $(executors); do
		[ -n "${rss0[$e]:-}" ] && [ "$(rss_kb "$e")" -gt $(( rss0[$e] + 1024 )) ] &&
			{ echo "soak: executor $e grew from ${rss0[$e]} to $(rss_kb "$e") KiB"; fail=1; }
		f=$(fds_of "$e")
		[ -n "${fds0[$e]:-}" ] && [ -n "$f" ] && [ "$f" -gt "${fds0[$e]}" ] && [ -d "/proc/$e" ] &&
			{ echo "soak: executor $e has $f fds, ${fds0[$e]} before the operations"; fail=1; }
	done
	t0=$(ms)
	# whatever died: the next agent takes every task back and waits; its
	# plugin's fds are sampled meanwhile
	(exec "$agent" --state-dir "$state" --driver "$driver" --rkt "$rkt" --driver-arg --executor \
		--driver-arg "$executor" --driver-arg --network-timeout --driver-arg 1s --wait-poll 1s \
		--call-timeout 10s --start-timeout 60s --takeover-wait 20s recover >>"$root/agent.out" 2>&1) &
	apid=$! max_fds=0
	while [ -d "/proc/$apid" ] && [ "$(readlink "/proc/$apid/exe" 2>/dev/null)" = "$(readlink -f "$agent")" ]; do
		p=$(plugin_pid)
		if [ -n "$p" ] && [ -d "/proc/$p" ]; then
			f=$(sockets_of "$p")
			[ -n "$f" ] && [ "$f" -gt "$max_fds" ] && max_fds=$f
		fi
		sleep 0.2
	done
	wait "$apid" || echo "soak: round $r: recover failed (see $root/agent.out)"
	t_rec=$(( $(ms) - t0 ))
	[ "$max_fds" -gt $(( 4 + ${#names[@]} )) ] &&
		{ echo "soak: round $r: the recovering plugin held $max_fds sockets for ${#names[@]} tasks"; fail=1; }
	echo "soak: round $r:$did; run --detach ${t_run} ms, operations ${t_ops} ms, recover ${t_rec} ms," \
		"recovering plugin at most $max_fds sockets"
done

# ---- the checks
agent_run status >"$root/status.out" 2>&1
exact=0 lost=0 stopped=0 usr1=0
for name in "${!expect[@]}"; do
	rec=$(ls "$state"/tasks/*-"$name"/exit.json 2>/dev/null | head -1)
	if [ -z "$rec" ]; then echo "soak: $name: no recorded end"; fail=1; continue; fi
	how=$(tr -d '\n' <"$rec" | sed -n 's/.*"how":[[:space:]]*"\([^"]*\)".*/\1/p')
	code=$(tr -d '\n' <"$rec" | sed -n 's/.*"exit_code":[[:space:]]*\([0-9-]*\).*/\1/p')
	want=${expect[$name]} own=${want#stopped:}
	if [ "$how" = exited ] && [ "$code" = "$own" ]; then exact=$((exact + 1)) # (a stop after its end)
	elif [ "$want" != "$own" ] && [ "$how" = exited ] && { [ "$code" = 143 ] || [ "$code" = 137 ]; }; then
		stopped=$((stopped + 1))
	elif [ "$how" = lost ] && [ -n "${killed[$name]:-}" ] && [ "$code" != 0 ]; then lost=$((lost + 1))
	else echo "soak: $name: recorded $how code $code, expected $want${killed[$name]:+ or lost} ($(tr -d '\n' <"$rec"))"; fail=1; fi
	if [ -n "${signalled[$name]:-}" ] && [ "$how" = exited ]; then
		if grep -qs got-usr1 "$state"/allocs/*/alloc/logs/"$name".stdout.*; then usr1=$((usr1 + 1))
		else echo "soak: $name: sent SIGUSR1, but its log has no got-usr1"; fail=1; fi
	fi
done
sleep 1
left=$(ours | grep -v "^$$\$" | tr '\n' ' ')
# a plugin left by the last agent leaves on its stdin's EOF; give it a moment
for i in $(seq 50); do [ -z "$left" ] && break; sleep 0.2; left=$(ours | tr '\n' ' '); done
if [ -n "$left" ]; then
	left=${left% }
	echo "soak: processes left: $left"
	ps -o pid,args -p "${left// /,}"
	fail=1
	# the run is kept for a look, its processes are not: they are ours (their
	# command lines name the run's root)
	kill -9 $left 2>/dev/null
fi
socks=$(find "$root" -type s 2>/dev/null | tr '\n' ' ')
[ -n "$socks" ] && { echo "soak: socket files left: $socks"; fail=1; }
dirs=$(ls "$state/driver/tasks" 2>/dev/null | tr '\n' ' ')
[ -n "$dirs" ] && { echo "soak: driver task dirs left: $dirs"; fail=1; }
pods=$(ls "$RKT_SIM_DIR"/pods 2>/dev/null | tr '\n' ' ')
[ -n "$pods" ] && { echo "soak: pods left: $pods"; fail=1; }
total=${#expect[@]}
echo "soak: seed $seed: $total tasks in $(( $(date +%s) - started )) s: $exact exact exit codes, $stopped stopped," \
	"$lost lost (executor killed), $(( total - exact - stopped - lost )) wrong; $usr1 SIGUSR1 traps logged"
if [ $fail -eq 0 ]; then
	rm -rf "$root"
	echo "1 passed, 0 failed"
else
	echo "soak: kept $root"
	echo "0 passed, 1 failed"
fi
exit $fail
