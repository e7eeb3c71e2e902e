#!/bin/bash
# pause-wrapper.sh: rkt (or rkt-executor) with a pause at a chosen moment, for
# tests/integration/test_recovery.c. It works in front of the simulator and of a
# real rkt alike, so the moments it makes need no simulator knob.
#
#   RKTD_PAUSE_REAL  the real binary (rkt, or rkt-executor)
#   RKTD_PAUSE_DIR   the control dir; RKTD_PAUSE_NAME: what to call this binary
#                    there (default: its first non-option argument, rkt's
#                    subcommand; "executor" for the executor)
#
# A file DIR/NAME.pause (one-shot: the first invocation renames it to
# DIR/NAME.paused) makes that invocation pause until DIR/NAME.paused is
# removed, for at most 60 s. The file's content says where:
#   before  pause, then exec the real binary
#   after   run the real binary with its stdout kept, pause, then print that
#           stdout and exit with its status (`rkt prepare`: the pod is prepared,
#           its UUID not yet given to the caller)
# While paused it watches its parent (unless the file says "nowatch" too): once
# the parent is gone it stops pausing, so that no wrapper outlives the test's
# moment. A "before" pause then exits 1 (its command never ran); an "after" one
# prints its output and exits with its status, as the real command would: the
# driver gives rkt prepare files, not pipes, to write into. The
# pause is `read -t` on a FIFO opened read-write (never written): no child
# process. Without a pause file it only execs the real binary.
real=${RKTD_PAUSE_REAL:?}
dir=${RKTD_PAUSE_DIR:-}
name=${RKTD_PAUSE_NAME:-}
if [[ -z $name ]]; then
	for a in "$@"; do
		[[ $a == -* ]] && continue
		name=$a
		break
	done
fi
if [[ -z $dir || -z $name ]] || ! mv "$dir/$name.pause" "$dir/$name.paused" 2>/dev/null; then
	exec "$real" "$@"
fi
how=$(<"$dir/$name.paused")
parent=$PPID

pause() {
	local fifo=$dir/fifo.$$ i
	mkfifo "$fifo" && exec 9<>"$fifo" && rm -f "$fifo"
	for ((i = 0; i < 600; i++)); do
		[[ -e $dir/$name.paused ]] || return 0
		if [[ $how != *nowatch* ]] && ! kill -0 "$parent" 2>/dev/null; then
			rm -f "$dir/$name.paused"
			[[ $how == *after* ]] && return 0
			exit 1
		fi
		read -r -t 0.1 -u 9 _
	done
	rm -f "$dir/$name.paused"
}

if [[ $how == *after* ]]; then
	out=$dir/$name.out.$$
	"$real" "$@" >"$out"
	rc=$?
	echo "$rc" >"$dir/$name.done"
	pause
	printf '%s' "$(<"$out")"
	[[ -s $out ]] && echo
	rm -f "$out"
	exit "$rc"
fi
pause
exec "$real" "$@"
