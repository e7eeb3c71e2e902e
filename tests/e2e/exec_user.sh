#!/bin/bash
# e2e: exec into a task that runs as a non-root user (issue 7, item 5).
# rkt 1.30's fly enter resolves a user or group given by name under a doubled
# path and fails before anything runs; no flag of `rkt enter` changes that
# path, so the driver says so in one sentence (exit 125) instead of passing
# rkt's message and its 254 on as the command's. Numeric ids and "root" are
# entered. The simulator resolves names as rkt's other stage1s do: there exec
# as a named user runs the command, and that is checked instead.
source "$(dirname "$0")/lib.sh"

HOST='"net": ["host"]'

# start NAME TASK-FIELDS [CONFIG-FIELDS]: a task waiting in its pod; sets ID
start() {
	local cf=$HOST
	[[ -n ${3:-} ]] && cf="$cf, $3"
	ID=$(start_detached "$(task_file "$1" 'echo ready >/alloc/ready; exec sleep 300' "$2" "$cf")")
	wait_file 10 "$(task_dir "$ID")/alloc/ready"
}

# named DESC WANT-UID NAME-WORDS: exec `id -u` into task $ID, whose user or
# group is a name: the command's output, or the driver's one sentence
named() {
	run_cap rd exec "$ID" -- /bin/id -u
	if [[ $RC == 0 ]]; then
		check_eq "$1: exec runs the command as uid $2" "$OUT" "$2"
		return
	fi
	check_eq "$1: exec fails as the driver's own failure (125)" "$RC" 125
	check_has "$1: one sentence: rkt's fly stage1 cannot enter it" "$ERR" \
		"rkt's fly stage1 cannot enter a pod whose app runs as a user or group given by name"
	check_has "$1: naming the user and group" "$ERR" "$3"
	check_has "$1: and what can be entered" "$ERR" "are numeric ids"
	check_lacks "$1: not rkt's own message" "$ERR" "failed to lookup process credentials"
	check_eq "$1: on one line" "$(wc -l <<<"$ERR")" 1
}

start byname '"user": "nobody"'
named 'user "nobody"' 65534 'user "nobody", group "0"'
check "the task still runs after the exec" pod_running "$(pod_of "$ID")"

start bygroup '"user": "65534"' '"group": "nogroup"'
named 'numeric user, group "nogroup"' 65534 'user "65534", group "nogroup"'

start numeric '"user": "65534"'
run_cap rd exec "$ID" -- /bin/id -u
check_eq "a numeric user (65534) is entered: exit 0" "$RC" 0
check_eq "and the command runs as that uid" "$OUT" 65534

start root '"user": "root"'
run_cap rd exec "$ID" -- /bin/id -u
check_eq "user \"root\" is entered: exit 0" "$RC" 0
check_eq "and the command runs as uid 0" "$OUT" 0

e2e_finish
