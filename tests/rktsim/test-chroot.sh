#!/bin/bash
# test-chroot.sh RKT ACI DRIVER: the rkt simulator where / is not a mount point,
# as in a chroot into a plain directory (Debian's package builders: pbuilder,
# sbuild). In a mount namespace of its own, a plain directory gets bind mounts
# of the system's directories and of the source and build trees, and the checks
# run chrooted into it: rkt prepare, run-prepared (exit code, output, a volume),
# enter, stop and rm, and a task through rkt-driver and its executor. The
# directory holding the chroot is made a shared mount, as a host's / usually is,
# so that a mount the simulator lets propagate shows in this namespace: only the
# pod's root bound onto itself may (fly leaves all its mounts there), and rm
# unmounts it. Prints each check; exits non-zero if any fails, 77 without root.
set -u

if [[ ${1:-} == --inside ]]; then
	# ---- in the chroot: the checks ----------------------------------------
	shift
	RKT=$1 ACI=$2 DRIVER=$3
	export RKT_SIM_DIR=/tmp/sim
	passed=0 failed=0
	ok() { echo "ok   - $1"; passed=$((passed + 1)); }
	bad() {
		echo "FAIL - $1"
		shift
		printf '       %s\n' "$@"
		failed=$((failed + 1))
	}
	eq() { if [[ $2 == "$3" ]]; then ok "$1"; else bad "$1" "got:      $2" "expected: $3"; fi; }
	run() {
		"$@" >/tmp/out 2>/tmp/err
		rc=$?
		out=$(</tmp/out)
		err=$(</tmp/err)
	}

	if mountpoint -q /; then bad "/ is not a mount point in the chroot" "it is"; else ok "/ is not a mount point in the chroot"; fi
	u=$("$RKT" --insecure-options=image prepare "$ACI")
	run "$RKT" run-prepared "$u"
	eq "run-prepared: the image's app runs (exit 0)" "$rc" 0
	eq "run-prepared: its output" "$out" "hello from rkt-driver"
	if [[ $err == *"a slave mount"* || $err == *"mount point"* ]]; then bad "run-prepared: no mount error" "$err"; else ok "run-prepared: no mount error"; fi
	mkdir -p /tmp/vol
	u=$("$RKT" --insecure-options=image prepare --volume=v,kind=host,source=/tmp/vol --mount=volume=v,target=/v \
		"$ACI" --exec=/bin/sh -- -c 'echo in-pod >/v/f; test -e /proc/self/mounts && test -c /dev/null; exit 3')
	run "$RKT" run-prepared "$u"
	eq "run-prepared: the app's exit code (3), /proc and /dev mounted" "$rc" 3
	eq "run-prepared: a host volume is written" "$(cat /tmp/vol/f 2>/dev/null)" in-pod
	u=$("$RKT" --insecure-options=image prepare "$ACI" --exec=/bin/sleep -- 60)
	(setsid "$RKT" run-prepared "$u" >/dev/null 2>&1 &)
	for ((i = 0; i < 50; i++)); do
		"$RKT" status "$u" 2>/dev/null | grep -q '^pid=' && break
		sleep 0.1
	done
	run "$RKT" enter "$u" /bin/sh -c 'echo entered; exit 4'
	eq "enter: the command's output and exit code" "$rc:$out" "4:entered"
	echo "$u" >/tmp/running-pod # for the outer checks
	echo "# (the outer namespace looks at the running pod's mounts)"
	kill -USR1 "$PPID_OUTER" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		[[ -e /tmp/looked ]] && break
		sleep 0.1
	done
	run "$RKT" stop "$u"
	eq "stop: exit 0" "$rc" 0
	for ((i = 0; i < 50; i++)); do
		"$RKT" status "$u" 2>/dev/null | grep -q '^state=exited' && break
		sleep 0.1
	done
	for p in $("$RKT" list --full --no-legend | cut -f1); do
		run "$RKT" rm "$p"
		eq "rm ${p:0:8}: exit 0" "$rc" 0
	done
	eq "rm: the pod store is empty" "$(ls -A /tmp/sim/pods 2>/dev/null)" ""

	# the driver, its executor and the simulator, as the quickstart runs them
	cat >/tmp/task.json <<JSON
{"name": "chroot", "config": {"image": "$ACI", "command": "/bin/sh",
 "args": ["-c", "echo task in \$NOMAD_TASK_NAME; exit 5"]}}
JSON
	run timeout 60 "$DRIVER" --rkt "$RKT" --state-dir /tmp/state --network-timeout 1s run /tmp/task.json
	eq "rkt-driver run: the task's exit code (5)" "$rc" 5
	eq "rkt-driver run: the task's output" "$out" "task in chroot"
	eq "rkt-driver run: its pod is removed" "$(ls -A /tmp/sim/pods 2>/dev/null)" ""
	echo "$passed passed, $failed failed" >/tmp/summary
	[[ $failed == 0 ]]
	exit
fi

if [[ ${1:-} == --namespace ]]; then
	# ---- in a mount namespace of our own: build the chroot ----------------
	shift
	RKT=$1 ACI=$2 DRIVER=$3 T=$4 SELF=$5
	set -e
	mount --bind "$T" "$T" # the chroot's filesystem: a shared mount, as a host's /
	mount --make-shared "$T"
	R=$T/root
	mkdir -p "$R/tmp"
	chmod 1777 "$R/tmp"
	for d in usr etc bin sbin lib lib64 lib32 libx32; do
		[[ -e /$d ]] || continue
		if [[ -L /$d ]]; then
			ln -s "$(readlink "/$d")" "$R/$d"
		else
			mkdir -p "$R/$d"
			mount --rbind "/$d" "$R/$d"
		fi
	done
	for d in dev proc sys; do
		mkdir -p "$R/$d"
		mount --rbind "/$d" "$R/$d"
	done
	# the trees holding this script, the binaries (the executor beside the
	# driver) and the image, at their own paths
	for d in "${RKTD_SOURCE_DIR:-}" "${RKTD_BUILD_DIR:-}" "$(dirname "$SELF")" "$(dirname "$RKT")" \
		"$(dirname "$ACI")" "$(dirname "$(dirname "$DRIVER")")"; do
		[[ -n $d ]] || continue
		d=$(cd "$d" && pwd -P)
		mkdir -p "$R$d"
		mountpoint -q "$R$d" || mount --bind "$d" "$R$d"
	done
	set +e
	pods=$R/tmp/sim/pods
	mounts_below_pods() { # the mount points below the pod store, seen from here
		awk -v p="$pods/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo
	}
	looked() { # a running pod, seen from outside the chroot
		mounts_below_pods >"$T/leaked"
		touch "$R/tmp/looked"
	}
	export PPID_OUTER=$$
	trap looked USR1
	chroot "$R" /bin/bash "$SELF" --inside "$RKT" "$ACI" "$DRIVER" &
	inside=$!
	while :; do
		wait "$inside"
		rc=$?
		# (wait returns early, over 128, when the trap ran)
		((rc > 128)) && kill -0 "$inside" 2>/dev/null && continue
		break
	done
	echo "# outside the chroot"
	u=$(cat "$R/tmp/running-pod" 2>/dev/null)
	leaked=$(cat "$T/leaked" 2>/dev/null)
	others=$(grep -vxE "$pods/[0-9a-f-]{36}/rootfs" <<<"$leaked")
	if [[ -n $u && $'\n'$leaked$'\n' == *$'\n'"$pods/$u/rootfs"$'\n'* && -z $others ]]; then
		echo "ok   - a running pod's mounts stay in its namespace (here only pods' roots bound onto themselves)"
	else
		echo "FAIL - a running pod's mounts stay in its namespace"
		echo "       mounts below the pod store seen outside: ${leaked:-none}"
		rc=1
	fi
	left=$(mounts_below_pods)
	if [[ -z $left ]]; then
		echo "ok   - rm unmounted what was left: nothing is mounted below the pod store"
	else
		echo "FAIL - rm unmounted what was left"
		echo "       still mounted: $left"
		rc=1
	fi
	cat "$R/tmp/summary" 2>/dev/null
	exit "$rc"
fi

# ---- the entry point --------------------------------------------------------
RKT=${1:?usage: test-chroot.sh RKT ACI DRIVER}
ACI=${2:?usage: test-chroot.sh RKT ACI DRIVER}
DRIVER=${3:?usage: test-chroot.sh RKT ACI DRIVER}
if [[ $(id -u) != 0 ]] || ! unshare -m true 2>/dev/null; then
	echo "SKIP: chroot and mount namespaces need root"
	exit 77
fi
abs() { echo "$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"; }
SELF=$(abs "$0") RKT=$(abs "$RKT") ACI=$(abs "$ACI") DRIVER=$(abs "$DRIVER")
T=$(mktemp -d /tmp/test-chroot.XXXXXX)
chmod 755 "$T"
# (a namespace of our own: every mount below goes with it; private propagation,
# so nothing of ours shows on the host)
unshare -m --propagation private bash "$SELF" --namespace "$RKT" "$ACI" "$DRIVER" "$T" "$SELF"
rc=$?
# what a failed run may have left running: processes rooted in our chroot
for d in /proc/[0-9]*; do
	[[ $(readlink "$d/root" 2>/dev/null) == "$T"/* ]] && kill -9 "${d#/proc/}" 2>/dev/null
done
rm -rf "$T"
exit "$rc"
