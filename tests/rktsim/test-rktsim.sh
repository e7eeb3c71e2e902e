#!/bin/bash
# test-rktsim.sh RKT ACI: checks the rkt simulator against what rkt 1.30 (fly) does,
# as the driver relies on it (docs/rktsim.md, shared/rkt-formats.md). Prints each
# check; exits non-zero if any fails. Leaves no pod, process or file behind.
set -u

RKT=${1:?usage: test-rktsim.sh RKT ACI}
ACI=${2:?usage: test-rktsim.sh RKT ACI}

if [[ $(id -u) != 0 ]] && ! unshare --user --map-root-user true 2>/dev/null; then
	echo "SKIP: not root and no unprivileged user namespaces"
	exit 77
fi

T=$(mktemp -d /tmp/test-rktsim.XXXXXX)
export RKT_SIM_DIR=$T/rkt
unset RKT_SIM_VERSION RKT_SIM_VERSION_OUTPUT RKT_SIM_FAIL RKT_SIM_NETWORK \
	RKT_SIM_NETWORK_DELAY_MS
BG=() # background subshells we started

cleanup() {
	local u
	for u in $("$RKT" list --full --no-legend 2>/dev/null | cut -f1); do
		# (twice: the second reaches children that outlived the app, as on fly)
		"$RKT" stop --force "$u" >/dev/null 2>&1
		"$RKT" stop --force "$u" >/dev/null 2>&1
	done
	local p
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

passed=0
failed=0
ok() {
	echo "ok   - $1"
	passed=$((passed + 1))
}
bad() {
	echo "FAIL - $1"
	shift
	printf '       %s\n' "$@"
	failed=$((failed + 1))
}
# eq DESC ACTUAL EXPECTED
eq() {
	if [[ $2 == "$3" ]]; then ok "$1"; else bad "$1" "got:      $2" "expected: $3"; fi
}
# has DESC TEXT SUBSTRING
has() {
	if [[ $2 == *"$3"* ]]; then ok "$1"; else bad "$1" "in:      $2" "missing: $3"; fi
}
# matches DESC TEXT REGEX
matches() {
	if [[ $2 =~ $3 ]]; then ok "$1"; else bad "$1" "text:  $2" "regex: $3"; fi
}
# run CMD…: sets out, err, rc
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(<"$T/out")
	err=$(<"$T/err")
}
# start UUID [FLAGS…]: run-prepared in the background, in a session of its own
# (fly's stop may signal the pod's process group); its exit code lands in $T/rc.UUID
start() {
	local u=$1
	shift
	(setsid "$RKT" run-prepared "$@" "$u" >"$T/out.$u" 2>"$T/err.$u"
	 echo $? >"$T/rc.$u") 2>/dev/null & # (bash's "Terminated" notices)
	BG+=($!)
}
# wait_state UUID STATE: polls `status` for up to 5 s
wait_state() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ $("$RKT" status "$1" 2>/dev/null | head -1) == "state=$2" ]] && return 0
		sleep 0.1
	done
	return 1
}
# wait_started UUID: until the pod's pid is recorded (rkt, like fly, reports
# "running" from the run lock, a moment before its pid and start time exist)
wait_started() {
	local i
	for ((i = 0; i < 50; i++)); do
		"$RKT" status "$1" 2>/dev/null | grep -q '^pid=[0-9]' && return 0
		sleep 0.1
	done
	return 1
}
# wait_rc UUID: the exit code of a backgrounded run-prepared, waiting up to 5 s
wait_rc() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $T/rc.$1 ]] && { cat "$T/rc.$1"; return; }
		sleep 0.1
	done
	echo timeout
}
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
NO_RKT_GROUP=$(getent group rkt >/dev/null || echo yes)
GROUP_MSG='run-prepared: group "rkt" not found, will use default gid when rendering images'

echo "# version"
run "$RKT" version
eq "version: exit 0" "$rc" 0
eq "version: rkt's five lines" "$out" "rkt Version: 1.30.0
appc Version: 0.8.11
Go Version: go1.19.8
Go OS/Arch: linux/amd64
Features: -TPM -SDJOURNAL"
run env RKT_SIM_VERSION=1.26.0 "$RKT" version
eq "version: RKT_SIM_VERSION" "$(head -1 <<<"$out")" "rkt Version: 1.26.0"
run env RKT_SIM_VERSION_OUTPUT='no version here' "$RKT" version
eq "version: RKT_SIM_VERSION_OUTPUT verbatim" "$out" "no version here"

echo "# global flags"
run "$RKT" --frobnicate version
eq "unknown global flag: exit 254" "$rc" 254
has "unknown global flag: error on stderr" "$err" "unknown flag: --frobnicate"
run "$RKT" --dir="$T/other" --debug --insecure-options=image,ondisk list --no-legend
eq "--dir/--debug/--insecure-options accepted" "$rc" 0
run "$RKT" --frobnicate version
eq "a bad flag: cobra's usage on stdout" "$(head -2 <<<"$out")" $'NAME:\n\trkt - rkt, the application container runner'
eq "a bad flag: the error and an empty line on stderr" "$err|$(tail -c2 "$T/err" | od -An -tx1 | tr -d ' \n')" \
	"Error: unknown flag: --frobnicate|0a0a"
run "$RKT" --insecure-options=image,bogus list
eq "an unknown --insecure-options: exit 254" "$rc" 254
has "an unknown --insecure-options: rkt's message" "$err" \
	'Error: invalid argument "image,bogus" for --insecure-options=image,bogus: unknown option "bogus"'
run "$RKT" stop --force=maybe x
has "a bad bool flag: pflag's message, naming the argument" "$err" \
	'Error: invalid argument "maybe" for --force=maybe: strconv.ParseBool: parsing "maybe": invalid syntax'
eq "a bad bool flag: stop's usage on stdout" "$(head -2 <<<"$out")" $'NAME:\n\tstop - Stop a pod'
run "$RKT" status
eq "no pod named: exit 254" "$rc" 254
eq "no pod named: status's usage on stdout, nothing on stderr" "$(head -5 <<<"$out")|$err" \
	$'NAME:\n\tstatus - Check the status of a rkt pod\n\nUSAGE:\n\trkt status [--wait=bool|timeout] [--wait-ready=bool|timeout] --uuid-file=FILE | UUID|'

echo "# trust"
run "$RKT" trust --skip-fingerprint-review=true --prefix=coreos.com/etcd --debug=false
eq "trust: plausible prefix, exit 0" "$rc" 0
run "$RKT" trust --skip-fingerprint-review=true --prefix=example.com/invalid --debug=false
eq "trust: a reserved name answers no discovery, exit 254" "$rc" 254
has "trust: a reserved name, rkt's discovery error" "$err" "trust: error determining key location: discovery failed"
run "$RKT" trust --skip-fingerprint-review=true --prefix=nodots --debug=false
eq "trust: implausible prefix, exit 254" "$rc" 254
has "trust: implausible prefix, error on stderr" "$err" "trust: error determining key location"
run "$RKT" trust --skip-fingerprint-review=true "--prefix=has space.com/x"
eq "trust: prefix with a space, exit 254" "$rc" 254

echo "# prepare"
mkdir -p "$T/data" "$T/ro"
chmod 0777 "$T/data" # the app runs as user 1000
echo "host file" >"$T/ro/f"
run "$RKT" --insecure-options=all --debug=false prepare --no-overlay=true \
	--volume=data,kind=host,source="$T/data" --mount=volume=data,target=/data \
	--volume=ro,kind=host,source="$T/ro",readOnly=true --mount=volume=ro,target=/ro \
	--set-env=FOO=bar --set-env=PATH=/bin:/usr/bin "$ACI" \
	--exec=/bin/sh --memory=64M --cpu=100m --port=http:20000 --user=user --group=users \
	-- -c 'id; echo "FOO=$FOO PATH=$PATH HOME=$HOME"; cat /ro/f; echo out >/data/out; touch /ro/x 2>/dev/null || echo ro-ok; exit 3'
U1=$out
eq "prepare: exit 0" "$rc" 0
matches "prepare: stdout is only a v4 UUID" "$out" "$UUID_RE"
eq "prepare: stderr empty" "$err" ""
run "$RKT" --insecure-options=image prepare "$T/missing.aci"
eq "prepare: missing image, exit 254" "$rc" 254
has "prepare: missing image, error on stderr" "$err" "missing.aci"
run "$RKT" --insecure-options=image prepare --no-such-flag "$ACI"
eq "prepare: bad flag before the image, exit 254" "$rc" 254
run "$RKT" --insecure-options=image prepare "$ACI" --no-such-flag
eq "prepare: bad flag after the image, exit 254" "$rc" 254
has "prepare: bad flag after the image, error" "$err" "unknown flag: --no-such-flag"
run "$RKT" --insecure-options=image prepare --exec=/bin/true "$ACI"
eq "prepare: --exec before the image, exit 254" "$rc" 254
run "$RKT" --insecure-options=image prepare "file://$ACI" --port=nope:1
eq "prepare: --port naming no app port, exit 254" "$rc" 254
run "$RKT" --insecure-options=image prepare "$ACI" --memory=16m
eq "prepare: --memory of milli-bytes, exit 254" "$rc" 254
run "$RKT" --insecure-options=image prepare "$ACI" --memory 1k
eq "prepare: too little memory, pflag's words for a separate value" "$err" \
	'prepare: error parsing app image arguments: invalid argument "1k" for --memory: memory limit of 1000 bytes too low. Try a reasonable value, such as --memory=16M'
run "$RKT" --insecure-options=image prepare "$T"
eq "prepare: a directory is no image" "$err" "prepare: error finding images: invalid image string \"file://$T\""
run "$RKT" --insecure-options=image prepare "$T/missing.aci"
eq "prepare: a missing image, Go's words" "$err" "prepare: error finding images: open $T/missing.aci: no such file or directory"
run "$RKT" list --no-legend
eq "prepare: failures leave no pod" "$(wc -l <<<"$out")" 1

echo "# status and cat-manifest of a prepared pod"
run "$RKT" status --format=json "$U1"
eq "status json: exit 0" "$rc" 0
matches "status json: one line, prepared, created_at in s" "$out" \
	'^\{"name":"'"$U1"'","state":"prepared","app_names":\["busybox"\],"apps":\[\{"name":"busybox","state":"created","created_at":[0-9]{19},"image_id":"sha512-[0-9a-f]{64}","mounts":\[\{"name":"data","container_path":"/data","host_path":"'"$T"'/data","read_only":false\},\{"name":"ro","container_path":"/ro","host_path":"'"$T"'/ro","read_only":true\}\]\}\],"created_at":[0-9]{10}\}$'
eq "status json: image_id is the ACI's sha512" "$(grep -o 'sha512-[0-9a-f]*' <<<"$out")" \
	"sha512-$(sha512sum "$ACI" | cut -c1-64)"
run "$RKT" status "$U1"
matches "status text: state and created only" "$out" '^state=prepared
created=[0-9-]{10} [0-9:.]+ [+-][0-9]{4} [A-Z]+$'
run "$RKT" cat-manifest "$U1"
eq "cat-manifest: exit 0" "$rc" 0
eq "cat-manifest: tab-indented, starts like rkt's" "$(head -3 <<<"$out")" $'{\n\t"acVersion": "1.30.0",\n\t"acKind": "PodManifest",'
flat=$(tr -d '\n\t' <<<"$out")
# (Go's encoding/json writes < > & as \u003c \u003e \u0026)
has "cat-manifest: exec from --exec and the -- args, Go's escapes" "$flat" '"exec": ["/bin/sh","-c","id; echo \"FOO=$FOO PATH=$PATH HOME=$HOME\"; cat /ro/f; echo out \u003e/data/out; touch /ro/x 2\u003e/dev/null || echo ro-ok; exit 3"]'
has "cat-manifest: user and group" "$flat" '"user": "user","group": "users"'
has "cat-manifest: image env then --set-env" "$flat" '"environment": [{"name": "PATH","value": "/bin:/usr/bin"},{"name": "FOO","value": "bar"}]'
has "cat-manifest: image ports with count" "$flat" '{"name": "http","protocol": "tcp","port": 8080,"count": 1,"socketActivated": false}'
has "cat-manifest: isolators" "$flat" '"isolators": [{"name": "resource/memory","value": {"default": false,"request": "64M","limit": "64M"}},{"name": "resource/cpu","value": {"default": false,"request": "100m","limit": "100m"}}]'
has "cat-manifest: mounts" "$flat" '"mounts": [{"volume": "data","path": "/data"},{"volume": "ro","path": "/ro"}]'
has "cat-manifest: volumes" "$flat" '"volumes": [{"name": "data","kind": "host","source": "'"$T"'/data"},{"name": "ro","kind": "host","source": "'"$T"'/ro","readOnly": true}]'
has "cat-manifest: pod tail" "$flat" '"isolators": null,"annotations": [{"name": "coreos.com/rkt/stage1/mutable","value": "false"}],"ports": [{"name": "http","hostPort": 20000}]}'

echo "# run-prepared: an app that exits 3"
run "$RKT" run-prepared --net=default --dns=10.0.0.53 --dns-search=example.com --hostname=h "$U1"
eq "run-prepared: the app's exit code" "$rc" 3
eq "run-prepared --hostname: fly's warning on stdout first" "$(head -1 <<<"$out")" \
	"Warning: -hostname not supported; ignoring"
out=$(sed 1d <<<"$out")
# (Not root, the app runs in a user namespace, where supplementary groups can't be set.)
eq "run-prepared: runs as --user/--group" "$(head -1 <<<"$out")" \
	"uid=1000(user) gid=100(users)$([[ $(id -u) == 0 ]] && echo ' groups=100(users)')"
has "run-prepared: env is the pod's and rkt's defaults only" "$out" "FOO=bar PATH=/bin:/usr/bin HOME=/root"
has "run-prepared: read-only volume readable" "$out" "host file"
has "run-prepared: read-only volume not writable" "$out" "ro-ok"
eq "run-prepared: writable volume written" "$(cat "$T/data/out" 2>/dev/null)" "out"
if [[ $NO_RKT_GROUP ]]; then eq "run-prepared: rkt's group warning on stderr" "$err" "$GROUP_MSG"; fi
has "run-prepared: argv recorded" "$(cat "$RKT_SIM_DIR/pods/$U1/run-args.json")" '"--dns=10.0.0.53","--dns-search=example.com","--hostname=h"'
eq "run-prepared: resolv.conf from --dns" "$(cat "$RKT_SIM_DIR/pods/$U1/rootfs/etc/resolv.conf")" $'# Generated by rkt run\n\nsearch example.com\nnameserver 10.0.0.53'
run "$RKT" status "$U1"
has "status: exited after the app" "$out" "state=exited"
matches "status text: pid= and exited=true" "$out" $'pid=[0-9]+\nexited=true$'
run "$RKT" status --format=json "$U1"
matches "status json: exited, started_at, no exit_code" "$out" '"state":"exited".*"state":"exited","created_at":[0-9]{19},"started_at":[0-9]{19},"image_id".*"started_at":[0-9]{10}\}$'
run "$RKT" run-prepared "$U1"
eq "run-prepared: twice, exit 254" "$rc" 254
has "run-prepared: twice, error" "$err" "is not prepared"

echo "# run-prepared: the image's own exec, exit 0"
U2=$("$RKT" --insecure-options=image prepare "$ACI")
run "$RKT" run-prepared "$U2"
eq "run-prepared: exit 0" "$rc" 0
eq "run-prepared: the app's stdout" "$out" "hello from rkt-driver"

echo "# image mount points: fly's rule"
# The example image has none (real fly could not run it through the driver
# otherwise); a variant of it declares "data" at /data.
mkdir -p "$T/mp" "$T/mpdata"
tar -xf "$ACI" -C "$T/mp"
sed -i 's|"app": {|"app": {"mountPoints":[{"name":"data","path":"/data"}],|' "$T/mp/manifest"
tar -cf "$T/mp.aci" -C "$T/mp" --owner=0 --group=0 --numeric-owner manifest rootfs
has "mount-point image: variant built" "$(cat "$T/mp/manifest")" '"mountPoints":[{"name":"data","path":"/data"}]'
run "$RKT" run-prepared "$("$RKT" --insecure-options=image prepare "$T/mp.aci")"
eq "mount point without a volume: exit 254" "$rc" 254
has "mount point without a volume: fly's message" "$err" 'run: can'\''t evaluate mounts: missing volume for mountpoint "data"'
echo "from host" >"$T/mpdata/g"
run "$RKT" run-prepared "$("$RKT" --insecure-options=image prepare --volume=data,kind=host,source="$T/mpdata" "$T/mp.aci" \
	--exec=/bin/sh -- -c 'cat /data/g; echo in >/data/f')"
eq "mount point with a volume of its name: exit 0" "$rc" 0
eq "mount point with a volume: host dir readable at /data" "$out" "from host"
eq "mount point with a volume: host dir writable at /data" "$(cat "$T/mpdata/f" 2>/dev/null)" "in"

echo "# run-prepared: exec not found"
run "$RKT" run-prepared "$("$RKT" --insecure-options=image prepare "$ACI" --exec=/bin/nonexistent)"
eq "exec not found: exit 254" "$rc" 254
has "exec not found: rkt's message" "$err" 'run: can'\''t execute "/bin/nonexistent": no such file or directory'

echo "# a running pod: status, enter, stop"
U3=$("$RKT" --insecure-options=image prepare --set-env=WHO=pod "$ACI" --exec=/bin/sleep -- 60)
start "$U3"
if wait_state "$U3" running; then ok "status: running"; else bad "status: running" "$("$RKT" status "$U3" 2>&1)"; fi
wait_started "$U3"
run "$RKT" status --format=json "$U3"
matches "status json: running, no networks under fly" "$out" '^\{"name":"'"$U3"'","state":"running","app_names":\["busybox"\],"apps":\[\{"name":"busybox","state":"running","created_at":[0-9]{19},"started_at":[0-9]{19},"image_id":"sha512-[0-9a-f]{64}"\}\],"created_at":[0-9]{10},"started_at":[0-9]{10}\}$'
run "$RKT" status "$U3"
pid=$(sed -n 's/^pid=//p' <<<"$out")
eq "status text: pid= is the app (sleep)" "$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)" "/bin/sleep 60 "
has "status text: exited=false" "$out" "exited=false"
run "$RKT" enter "$U3" /bin/sh -c 'echo "WHO=$WHO"; test -d /proc/1 && echo proc; exit 5'
eq "enter: the command's exit code" "$rc" 5
eq "enter: the command's output, pod env" "$out" $'WHO=pod\nproc'
run "$RKT" enter "$U3" sh -c true
eq "enter: no PATH search (as fly), exit 254" "$rc" 254
run "$RKT" rm "$U3"
eq "rm running: exit 254" "$rc" 254
has "rm running: rkt's message" "$err" "rm: pod \"$U3\" is currently running"
run "$RKT" list
matches "list: legend" "$(head -1 <<<"$out")" $'^UUID\t+APP\t+IMAGE NAME\t+STATE\t+CREATED\t+STARTED\t+NETWORKS$'
matches "list: running pod, short UUID" "$out" $'\n'"${U3:0:8}"$'\t+busybox\t+example.com/busybox:0.0.1\t+running\t'
run "$RKT" stop "$U3"
eq "stop: exit 0" "$rc" 0
eq "stop: prints the quoted UUID" "$out" "\"$U3\""
eq "stop: run-prepared's exit seen by a shell is 143" "$(wait_rc "$U3")" 143
run "$RKT" status "$U3"
has "status: exited after stop" "$out" "state=exited"
run "$RKT" stop "$U3"
eq "stop an exited pod: exit 0" "$rc" 0
eq "stop an exited pod: already stopped" "$out" "pod \"$U3\" is already stopped"
run "$RKT" enter "$U3" /bin/true
eq "enter an exited pod: exit 254" "$rc" 254

U4=$("$RKT" --insecure-options=image prepare "$ACI" --exec=/bin/sleep -- 60)
start "$U4"
wait_state "$U4" running
run "$RKT" stop --force "${U4:0:13}"
eq "stop --force by UUID prefix: exit 0" "$rc" 0
eq "stop --force: 137" "$(wait_rc "$U4")" 137

echo "# fly's stop: the main pid while it lives, then the pod's process group"
U6=$("$RKT" --insecure-options=image prepare "$ACI" --exec=/bin/sh -- -c 'sleep 60 & exec sleep 61')
start "$U6"
wait_state "$U6" running
for ((i = 0; i < 50; i++)); do # until the app has started its child and exec'd
	pid=$("$RKT" status "$U6" | sed -n 's/^pid=//p')
	[[ $(tr '\0' ' ' 2>/dev/null <"/proc/${pid:-0}/cmdline") == "sleep 61 " ]] && break
	sleep 0.1
done
run "$RKT" stop --force "$U6"
eq "stop --force of an app with a child: exit 0" "$rc" 0
eq "stop --force: the app (the main pid) is killed: 137" "$(wait_rc "$U6")" 137
run "$RKT" status "$U6"
has "its child keeps the pod running (it holds the pod's lock)" "$out" "state=running"
run "$RKT" rm "$U6"
eq "rm of the pod kept running by the child: exit 254" "$rc" 254
has "rm: currently running" "$err" "rm: pod \"$U6\" is currently running"
run "$RKT" enter "$U6" /bin/true
eq "enter with the main pid gone: exit 254" "$rc" 254
has "enter with the main pid gone: no pod root" "$err" "fly-enter: Failed to get pod root: readlink /proc/"
run "$RKT" stop --force "$U6"
eq "a second stop --force (main pid gone): exit 0" "$rc" 0
if wait_state "$U6" exited; then ok "it kills the pod's process group: the pod exited"; else bad "second stop --force" "$("$RKT" status "$U6" 2>&1)"; fi
run "$RKT" rm "$U6"
eq "rm then: exit 0" "$rc" 0

echo "# umask: overlay makes the pod's root under run-prepared's umask"
if [[ $(id -u) == 0 ]]; then
	probe='id -u; umask; echo x >/tmp/f; ls -l /tmp/f | cut -c1-10'
	U7=$("$RKT" --insecure-options=image prepare "$ACI" --user=65534 --group=65534 --exec=/bin/sh -- -c "$probe")
	run bash -c 'umask 077; exec "$@"' - "$RKT" run-prepared "$U7"
	eq "umask 077, app as 65534: exit 254" "$rc" 254
	has "umask 077, app as 65534: rkt's message" "$err" 'run: can'\''t execute "/bin/sh": permission denied'
	eq "umask 077: the pod's root is 0700" "$(stat -c %a "$RKT_SIM_DIR/pods/$U7/rootfs")" 700
	U8=$("$RKT" --insecure-options=image prepare "$ACI" --user=65534 --group=65534 --exec=/bin/sh -- -c "$probe")
	run bash -c 'umask 022; exec "$@"' - "$RKT" run-prepared "$U8"
	eq "umask 022, app as 65534: exit 0" "$rc" 0
	eq "umask 022: the app runs as 65534 with umask 0022, its files 0644" "$out" $'65534\n0022\n-rw-r--r--'
	U9=$("$RKT" --insecure-options=image prepare --no-overlay "$ACI" --user=65534 --group=65534 --exec=/bin/sh -- -c "$probe")
	run bash -c 'umask 077; exec "$@"' - "$RKT" run-prepared "$U9"
	eq "--no-overlay, umask 077: the image's root, the app runs: exit 0" "$rc" 0
	eq "--no-overlay, umask 077: with umask 0077, its files 0600" "$out" $'65534\n0077\n-rw-------'
else
	echo "# (not root: skipped; in its user namespace the app owns its root)"
fi

echo "# enter: fly's lookup of user and group names"
U10=$("$RKT" --insecure-options=image prepare "$ACI" --user=nobody --group=nogroup --exec=/bin/sleep -- 60)
U11=$("$RKT" --insecure-options=image prepare "$ACI" --user=65534 --group=65534 --exec=/bin/sleep -- 60)
U12=$("$RKT" --insecure-options=image prepare "$ACI" --user=root --group=root --exec=/bin/sleep -- 60)
start "$U10"
start "$U11"
start "$U12"
wait_state "$U10" running
wait_state "$U11" running
wait_state "$U12" running
run "$RKT" enter "$U10" /bin/true
eq "enter, app user given by name: exit 254" "$rc" 254
eq "enter, app user given by name: fly's lookup under the doubled rootfs path" "$err" \
	"fly-enter: failed to lookup process credentials: open $RKT_SIM_DIR/pods/$U10/rootfs/stage1/rootfs/opt/stage2/busybox/rootfs/etc/passwd: no such file or directory"
run "$RKT" enter "$U11" /bin/id -u
eq "enter, numeric user: runs as it" "$rc:$out" "0:65534"
run "$RKT" enter "$U12" /bin/id -u
eq "enter, user and group \"root\" (rkt takes it for 0): runs" "$rc:$out" "0:0"
run "$RKT" enter "$U11"
has "enter without a command: rkt's notice" "$err" 'enter: no command specified, assuming "/bin/bash"'
"$RKT" stop "$U10" "$U11" "$U12" >/dev/null
eq "stopped: 143" "$(wait_rc "$U10") $(wait_rc "$U11") $(wait_rc "$U12")" "143 143 143"

echo "# image signatures"
run "$RKT" prepare "$ACI"
eq "no --insecure-options=image: exit 254" "$rc" 254
eq "no --insecure-options=image: the signature beside the image is missing" "$err" \
	"prepare: error finding images: open $ACI.asc: no such file or directory"
run "$RKT" --insecure-options=tls,http prepare "$ACI"
eq "--insecure-options=tls,http still verifies: exit 254" "$rc" 254
run "$RKT" --insecure-options=all-fetch prepare "$ACI"
eq "--insecure-options=all-fetch skips it: exit 0" "$rc" 0
"$RKT" rm "$out" >/dev/null 2>&1
mkdir -p "$T/signed"
tar -xf "$ACI" -C "$T/signed"
sed -i 's|"name": *"example.com/busybox"|"name":"coreos.com/sim/busybox"|' "$T/signed/manifest"
tar -cf "$T/signed.aci" -C "$T/signed" --owner=0 --group=0 --numeric-owner manifest rootfs
echo "(a signature)" >"$T/signed.aci.asc"
run "$RKT" prepare "$T/signed.aci"
eq "a signature, no key trusted: exit 254" "$rc" 254
eq "a signature, no key trusted: rkt's words" "$err" 'image: If you expected the signing key to change, try running:
image:     rkt trust --prefix <image>
prepare: error finding images: openpgp: signature made by unknown entity'
"$RKT" trust --skip-fingerprint-review --prefix=coreos.com/sim >/dev/null 2>&1
run "$RKT" prepare "$T/signed.aci"
eq "a signature and a key trusted for a prefix of the name: exit 0" "$rc" 0
"$RKT" rm "$out" >/dev/null 2>&1

echo "# network knob"
U5=$("$RKT" --insecure-options=image prepare "$ACI" --exec=/bin/sleep -- 60)
RKT_SIM_NETWORK=172.16.28.5/24 RKT_SIM_NETWORK_DELAY_MS=700 start "$U5"
wait_state "$U5" running
run "$RKT" status --format=json "$U5"
eq "network: not before the delay" "$(grep -c networks <<<"$out")" 0
sleep 0.8
run "$RKT" status --format=json "$U5"
has "network: reported after the delay" "$out" '"state":"running","networks":[{"netName":"default","netConf":"net/99-default.conf","pluginPath":"stage1/rootfs/usr/lib/rkt/plugins/net/ptp","ifName":"eth0","ip":"172.16.28.5","args":"","mask":"255.255.255.0","hostIP":"172.16.28.1"}],"app_names"'
run "$RKT" list --no-legend
has "list: networks column" "$out" "default:ip4=172.16.28.5"
"$RKT" stop "$U5" >/dev/null
eq "network pod stopped: 143" "$(wait_rc "$U5")" 143

echo "# failure knob"
for c in prepare trust status rm run-prepared enter cat-manifest; do
	run env RKT_SIM_FAIL=version,$c "$RKT" "$c" "$U2"
	if [[ $rc == 254 && $err == "$c: simulated failure"* ]]; then ok "RKT_SIM_FAIL=$c"; else bad "RKT_SIM_FAIL=$c" "rc=$rc err=$err"; fi
done

echo "# unknown pods"
run "$RKT" status --format=json 00000000-0000-4000-8000-000000000000
eq "status unknown: exit 254" "$rc" 254
has "status unknown: rkt's message" "$err" 'no matches found for "00000000-0000-4000-8000-000000000000"'
run "$RKT" rm 00000000-0000-4000-8000-000000000000
eq "rm unknown: exit 254" "$rc" 254

echo "# concurrent prepares"
for i in 1 2 3 4 5; do ("$RKT" --insecure-options=image prepare "$ACI" >"$T/p.$i" 2>&1) & done
wait
eq "concurrent prepares: five distinct UUIDs" "$(cat "$T"/p.? | grep -cE "$UUID_RE" | tr -d ' ')/$(cat "$T"/p.? | sort -u | wc -l | tr -d ' ')" "5/5"

echo "# rm and gc"
run "$RKT" rm "$U2"
eq "rm exited: exit 0" "$rc" 0
eq "rm exited: prints the quoted UUID" "$out" "\"$U2\""
run "$RKT" status "$U2"
eq "rm: the pod is gone" "$rc" 254
run "$RKT" gc
eq "gc: exit 0" "$rc" 0
has "gc: marks exited pods" "$err" "gc: moving pod \"$U1\" to garbage"
has "gc: default grace keeps them" "$err" "still within grace period (30m0s)"
run "$RKT" status "$U1"
has "gc: marked pod is exited garbage" "$out" "state=exited garbage"
run "$RKT" status --format=json "$U1"
has "gc: marked pod has finished_at" "$out" '"finished_at":'
run "$RKT" gc --grace-period=0s
has "gc --grace-period=0s: removes" "$out" "Garbage collecting pod \"$U1\""
run "$RKT" status "$U1"
eq "gc: the pod is gone" "$rc" 254
run "$RKT" list --no-legend
eq "gc: prepared pods stay" "$(wc -l <<<"$out" | tr -d ' ')" 5

echo
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
