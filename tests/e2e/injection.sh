#!/bin/bash
# e2e: job configs rkt would read as something other than their keys say are
# refused before rkt runs (issues 12.17, 12.18); task names rkt cannot take in
# a volume name run (7.7); a failing rkt command is reported by its error
# line, not its usage text (7.7).
#
# rkt runs through a wrapper that records every command line it gets (one a
# line) in $CALLS, so "refused before rkt runs" is "no prepare (or trust) in
# $CALLS". Runs on the simulator and, with RKTD_RKT=/path/to/rkt, on real rkt.
source "$(dirname "$0")/lib.sh"

SIM=${E2E_SIM:-1} # lib.sh without real-rkt support: the simulator
CALLS=$E2E_TMP/rkt-calls
WRAP=$E2E_TMP/rkt-wrap
cat >"$WRAP" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>'$CALLS'
exec '$RKTD_RKT' "\$@"
EOF
# rkt as real rkt fails a prepare with a bad flag value: its usage text on
# stdout, cobra's "Error: …" on stderr, exit 254 (rkt-formats.md)
USAGE_RKT=$E2E_TMP/rkt-usage
cat >"$USAGE_RKT" <<EOF
#!/bin/sh
for a; do
	if [ "\$a" = prepare ]; then
		printf 'NAME:\n\tprepare - Prepare to run image(s) in a pod in rkt\n\nUSAGE:\n'
		i=0
		while [ \$i -lt 60 ]; do echo "      --flag-\$i=	usage line \$i"; i=\$((i + 1)); done
		printf '\nGLOBAL OPTIONS:\n      --debug[=false]	print out more debug information to stderr\n'
		echo 'Error: invalid argument "x y,kind=host" for --volume=x y,kind=host: ACName must contain only lower case alphanumeric characters plus "-"' >&2
		echo >&2
		exit 254
	fi
done
exec '$WRAP' "\$@"
EOF
chmod 755 "$WRAP" "$USAGE_RKT"

# rdw ARGS…: rkt-driver on the recording wrapper
rdw() {
	timeout -k 5 90 "$RKTD_DRIVER" --rkt "${RKT_UNDER_TEST:-$WRAP}" --state-dir "$STATE" \
		--network-timeout "$NET_TIMEOUT" "$@"
}

# bad_task NAME CONFIG_JSON [TASK_FIELDS]: a task file with exactly this config
bad_task() {
	local f=$E2E_TMP/$1.json
	printf '{"name": %s%s, "config": %s}\n' "$(jstr "$1")" "${3:+, $3}" "$2" >"$f"
	echo "$f"
}

# refused DESC FILE MESSAGE: run FILE fails as the driver with MESSAGE, and
# neither rkt prepare nor rkt trust ran
refused() {
	local desc=$1 file=$2 msg=$3
	: >"$CALLS"
	run_cap rdw run "$file"
	check_eq "$desc: run fails as the driver (125)" "$RC" 125
	check_has "$desc: with the sentence naming the key" "$ERR" "$msg"
	check_lacks "$desc: before rkt prepare ran" "$(cat "$CALLS")" prepare
	check_lacks "$desc: and before rkt trust ran" "$(cat "$CALLS")" trust
}

img=$(jstr "$RKTD_ACI")

# ---- A: values rkt would read as flags or as other values (12.17)

refused "an image that is a flag" \
	"$(bad_task imgflag '{"image": "--stage1-path=/tmp/evil.aci", "insecure_options": ["image"]}')" \
	'config key "image": "--stage1-path=/tmp/evil.aci" begins with "-", which rkt would read as a flag'
run_cap rdw validate "$E2E_TMP/imgflag.json"
check_ne "validate refuses the same task" "$RC" 0
check_has "with the same sentence" "$ERR" '"--stage1-path=/tmp/evil.aci" begins with "-"'

refused 'args with "---" (rkt parses flags again after it)' \
	"$(bad_task triple "{\"image\": $img, \"command\": \"/bin/sh\", \"args\": [\"-c\", \"echo x\", \"---\", \"--stage1-path=/tmp/evil.aci\"]}")" \
	"config key \"args[2]\": \"---\" ends the app's arguments for rkt, which would read the words after it as its own flags and images"

refused 'an arg interpolated to "---"' \
	"$(bad_task triplenv "{\"image\": $img, \"command\": \"/bin/sh\", \"args\": [\"-c\", \"echo x\", \"\${SEP}\", \"--exec=/bin/false\"]}" '"env": {"SEP": "---"}')" \
	'config key "args[2]" ("${SEP}" interpolated): "---" ends the app'"'"'s arguments'

refused "a DNS search domain with a newline (a resolv.conf line)" \
	"$(bad_task dnssearch "{\"image\": $img, \"dns_servers\": [\"10.0.0.53\"], \"dns_search_domains\": [\"a.example\\nnameserver 6.6.6.6\"]}")" \
	'config key "dns_search_domains[0]": "a.example\nnameserver 6.6.6.6" contains white space or a control character'

refused 'a network name with ","' \
	"$(bad_task netcomma "{\"image\": $img, \"net\": [\"host,default\"]}")" \
	'config key "net[0]": "host,default" contains ",", which rkt would read as more than one network'

refused 'an insecure option with ","' \
	"$(bad_task insecure "{\"image\": $img, \"insecure_options\": [\"image,all\"]}")" \
	'config key "insecure_options[0]": "image,all" contains ",", which rkt would read as more than one option'

refused 'a port name with ":" (a host IP for --port)' \
	"$(bad_task portip "{\"image\": $img, \"port_map\": [{\"http\": \"http:127.0.0.1\"}]}" \
		'"resources": {"networks": [{"ip": "127.0.0.1", "reserved_ports": [{"label": "http", "value": 18080}]}]}')" \
	'config key "port_map[0].http": "http:127.0.0.1" contains ":", which rkt'"'"'s --port would read as a host IP'

# ---- B: volume options injected through a path (12.18)

hostdir=$E2E_TMP/hostdir
mkdir -p "$hostdir"
refused 'a host path with ",readOnly=false" (the issue'"'"'s)' \
	"$(bad_task volro "{\"image\": $img, \"volumes\": [\"/tmp,readOnly=false:/data\"]}")" \
	'config key "volumes[0]": host path "/tmp,readOnly=false" contains ",", which rkt would read as the start of another volume option'
refused 'a host path with ",recursive=true"' \
	"$(bad_task volrec "{\"image\": $img, \"volumes\": [\"$hostdir:/ok\", \"$hostdir,recursive=true:/data:readOnly\"]}")" \
	'config key "volumes[1]": host path "'"$hostdir"',recursive=true" contains ","'
refused 'a container path with ","' \
	"$(bad_task volctr "{\"image\": $img, \"volumes\": [\"$hostdir:/data,volume=x\"]}")" \
	'config key "volumes[0]": container path "/data,volume=x" contains ",", which rkt'"'"'s --mount would read as the start of another mount option'
refused 'a container path with "+" (a space to --mount)' \
	"$(bad_task volplus "{\"image\": $img, \"volumes\": [\"$hostdir:/c++\"]}")" \
	'config key "volumes[0]": container path "/c++" contains "+", which rkt'"'"'s --mount would read as a space'
refused 'a mount target moved by the task env, with ","' \
	"$(bad_task envdir "{\"image\": $img}" '"env": {"NOMAD_TASK_DIR": "/local,volume=x"}')" \
	'task env "NOMAD_TASK_DIR": "/local,volume=x" contains ",", which rkt'"'"'s --mount would read'
check_eq "no pod was made for any refused task" "$(pod_dirs | wc -l)" 0

# "=" and "+" in a host path are rkt's to keep: the volume works
eqdir="$E2E_TMP/host=dir+x"
mkdir -p "$eqdir"
echo from-host >"$eqdir/f"
run_cap rdw run "$(task_file eqvol 'cat /data/f' '' "\"volumes\": [$(jstr "$eqdir:/data")]")"
check_eq 'a host path with "=" and "+" runs' "$RC" 0
check_eq "and its volume is mounted" "$OUT" from-host

# ---- C: task names rkt cannot take in a volume name (7.7)

n=0
for name in 'a b' 'Web' 'api.v2' 'my_task'; do
	n=$((n + 1))
	alloc=0000000$n-1111-4222-8333-444444444444
	case $name in
	'a b') vol=a-b ;;
	Web) vol=web ;;
	api.v2) vol=api-v2 ;;
	my_task) vol=my-task ;; # the seed's own mapping, kept
	esac
	: >"$CALLS"
	script='echo "hello $NOMAD_TASK_NAME"; echo x >/alloc/probe && echo alloc-ok; ls -d /local /secrets'
	run_cap rdw run "$(task_file "$name" "$script" "\"alloc_id\": \"$alloc\"")"
	check_eq "task \"$name\" runs (exit 0)" "$RC" 0
	check_has "task \"$name\": the app ran with its name" "$OUT" "hello $name"
	check_has "task \"$name\": its /alloc volume is mounted" "$OUT" alloc-ok
	check_has "task \"$name\": /local and /secrets too" "$OUT" "/secrets"
	check_has "task \"$name\": volume $alloc-$vol-alloc" "$(grep -F prepare "$CALLS")" \
		"--volume=$alloc-$vol-alloc,kind=host,source="
	check_has "task \"$name\": mounted as $alloc-$vol-secrets" "$(grep -F prepare "$CALLS")" \
		"--mount=volume=$alloc-$vol-secrets,target=/secrets"
done

# ---- D: rkt's error line, not its usage text (7.7)

RKT_UNDER_TEST=$USAGE_RKT run_cap rdw run "$(task_file usage 'exit 0')"
check_eq "rkt prepare failing with its usage text: run fails as the driver (125)" "$RC" 125
check_has "the error carries rkt's error line" "$ERR" \
	'Error preparing rkt pod: exit status 254: invalid argument "x y,kind=host" for --volume=x y,kind=host: ACName must contain only lower case alphanumeric characters plus "-"'
check_eq "in one line" "$(printf '%s\n' "$ERR" | wc -l)" 1
check_lacks "without the usage text" "$ERR" "usage line"
check_lacks "nor the seed's Output: block" "$ERR" "Output:"
RKT_UNDER_TEST=$USAGE_RKT run_cap rdw -v run "$(task_file usagev 'exit 0')"
check_has "the debug log keeps rkt's whole stdout" "$ERR" "Error preparing rkt pod: rkt's stdout: "$'      --flag-59=\tusage line 59'
check_has "and its stderr" "$ERR" "Error preparing rkt pod: rkt's stderr: Error: invalid argument \"x y,kind=host\""

# a port name rkt refuses: rkt's own failure (real rkt prints its usage text)
run_cap rdw run "$(task_file badport 'exit 0' \
	'"resources": {"networks": [{"ip": "127.0.0.1", "reserved_ports": [{"label": "http", "value": 18081}]}]}' \
	'"port_map": [{"http": "Http"}]')"
check_eq "rkt refusing --port=Http:18081: run fails as the driver (125)" "$RC" 125
check_has "with rkt's reason" "$ERR" '"Http" is not a valid port name'
check_eq "in one line" "$(printf '%s\n' "$ERR" | wc -l)" 1
check_lacks "without rkt's usage text" "$ERR" "GLOBAL OPTIONS"

if ((SIM)) || need_sim "a simulated prepare failure in one line" "RKT_SIM_FAIL injects it"; then
	RKT_SIM_FAIL=prepare run_cap rdw run "$(task_file simfail 'exit 0')"
	check_has "a simulated prepare failure: the seed's prefix and rkt's line" "$ERR" \
		"Error preparing rkt pod: exit status 254: prepare: simulated failure"
	check_eq "in one line" "$(printf '%s\n' "$ERR" | wc -l)" 1
fi

e2e_finish
