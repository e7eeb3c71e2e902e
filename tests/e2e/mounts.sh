#!/bin/bash
# e2e: user and group, host volumes, the alloc/local/secrets mounts (issue 3, case 3).
source "$(dirname "$0")/lib.sh"
fast_network

# user and group: the image's /etc/passwd has user (1000) in users (100)
run_cap rd run "$(task_file ug 'echo "uid=$(id -u) gid=$(id -g) user=$(id -un)"' '"user": "user"' '"group": "users"')"
check_eq "user/group task exits 0" "$RC" 0
check_eq "user \"user\" and group \"users\": id -u 1000, id -g 100" "$OUT" "uid=1000 gid=100 user=user"
run_cap rd run "$(task_file uonly 'echo "uid=$(id -u) gid=$(id -g)"' '"user": "user"')"
# appc: --user replaces the app's user only; the image's group (0) stays
check_eq "user \"user\" alone: uid 1000, the image's group 0" "$OUT" "uid=1000 gid=0"
run_cap rd run "$(task_file gonly 'echo "uid=$(id -u) gid=$(id -g)"' '' '"group": "nogroup"')"
check_eq "group \"nogroup\" alone: uid stays the image's 0" "$OUT" "uid=0 gid=65534"
run_cap rd run "$(task_file nouser 'id -u' '"user": "nosuchuser"')"
check_ne "a user missing from the image fails the task" "$RC" 0
check_has "and says which user" "$ERR" nosuchuser

# host volumes: read-write and :readOnly
rw=$E2E_TMP/vol-rw
ro=$E2E_TMP/vol-ro
mkdir -p "$rw" "$ro"
echo from-host >"$ro/existing"
script='echo written >/rw/out.txt && echo rw-ok
cat /ro/existing
if echo nope >/ro/new.txt 2>/dev/null; then echo ro-writable; else echo ro-refused; fi
grep -E " /(rw|ro) " /proc/mounts | cut -d" " -f2,4 | cut -d, -f1'
run_cap rd run "$(task_file vols "$script" '' "\"volumes\": [\"$rw:/rw\", \"$ro:/ro:readOnly\"]")"
check_eq "volumes task exits 0" "$RC" 0
check_has "a read-write volume can be written from the pod" "$OUT" rw-ok
check_eq "what the pod wrote is in the host dir" "$(cat "$rw/out.txt" 2>/dev/null)" written
check_has "a read-only volume shows the host's files" "$OUT" from-host
check_has "writing into a :readOnly volume fails" "$OUT" ro-refused
check "nothing was written into the read-only host dir" test ! -e "$ro/new.txt"
check_has "the read-only volume is mounted ro" "$OUT" "/ro ro"
check_has "the read-write volume is mounted rw" "$OUT" "/rw rw"

# a bad volume and volumes disabled fail run with the seed's messages
run_cap rd run "$(task_file badvol 'true' '' '"volumes": ["/a:/b:c:d"]')"
check_eq "an invalid volume fails run (125)" "$RC" 125
check_has "with the seed's message" "$ERR" 'invalid rkt volume: "/a:/b:c:d"'
run_cap rd --no-volumes run "$(task_file novol 'true' '' "\"volumes\": [\"$rw:/rw\"]")"
check_eq "--no-volumes refuses a task with volumes (125)" "$RC" 125
check_has "with the seed's message" "$ERR" "rkt.volumes.enabled is false; cannot use rkt volumes"

# alloc, local and secrets are the task dir's on the host
script='echo A >/alloc/x; echo L >/local/y; echo S >/secrets/z; ls /alloc/logs | sort | tr "\n" " "'
id=$(start_detached "$(task_file dirs "$script; sleep 30")")
td=$(task_dir "$id")
check "the task started" test -n "$id"
check "/alloc/x in the pod is STATE/tasks/ID/alloc/x" wait_file 10 "$td/alloc/x"
check_eq "with the pod's content" "$(cat "$td/alloc/x" 2>/dev/null)" A
check_eq "/local/y is STATE/tasks/ID/local/y" "$(cat "$td/local/y" 2>/dev/null)" L
check_eq "/secrets/z is STATE/tasks/ID/secrets/z" "$(cat "$td/secrets/z" 2>/dev/null)" S
echo from-host >"$td/local/fromhost"
run_cap rd exec "$id" -- /bin/cat /local/fromhost
check_eq "a file put in the host's local dir is seen in the pod" "$OUT" from-host
run_cap rd exec "$id" -- /bin/ls /alloc/logs
check_has "the pod sees its own log files under /alloc/logs" "$OUT" dirs.stdout.0
rd stop "$id" >/dev/null 2>&1

# the launcher's umask (issue 7): rkt makes the pod's root under the umask it is
# started with, and the task gets it. From a shell with umask 022 a task as
# nobody runs and a file a task writes into /alloc is 0644; under umask 077 (the
# executor's own, which it once gave the task) rkt cannot start a task as
# nobody, as real rkt cannot, and what a root task writes is 0600
with_umask() { # MASK CMD…: CMD under umask MASK
	local old rc
	old=$(umask)
	umask "$1"
	shift
	"$@"
	rc=$?
	umask "$old"
	return $rc
}
alloc_file_mode() { # TASK-NAME FILE: the mode of FILE in the task's alloc dir
	stat -c %a "$STATE"/tasks/*-"$1"/alloc/"$2" 2>/dev/null
}
with_umask 022 run_cap rd run "$(task_file um-nobody 'id -u; umask; echo x >/tmp/f; ls -l /tmp/f | cut -c1-10' \
	'"user": "nobody"')"
check_eq "umask 022: a task as nobody runs (exit 0)" "$RC" 0
check_eq "umask 022: it runs as uid 65534 with umask 0022; its files are 0644" "$OUT" $'65534\n0022\n-rw-r--r--'
with_umask 022 run_cap rd run "$(task_file um-alloc 'echo x >/alloc/um.txt')"
check_eq "umask 022: a task writing into /alloc exits 0" "$RC" 0
check_eq "umask 022: the file it wrote into /alloc is 0644" "$(alloc_file_mode um-alloc um.txt)" 644
with_umask 077 run_cap rd run "$(task_file um077-nobody 'id -u' '"user": "nobody"')"
check_eq "umask 077: rkt cannot start a task as nobody (rkt's 254)" "$RC" 254
check_has "umask 077: with rkt's message" "$ERR" 'run: can'"'"'t execute "/bin/sh": permission denied'
with_umask 077 run_cap rd run "$(task_file um077-alloc 'echo x >/alloc/um.txt')"
check_eq "umask 077: a root task writing into /alloc exits 0" "$RC" 0
check_eq "umask 077: the file it wrote into /alloc is 0600" "$(alloc_file_mode um077-alloc um.txt)" 600

# a task that is not root can write its shared and own dirs, as in Nomad's
# layout (the driver once made them 0755 root: "can't create /alloc/…")
with_umask 022 run_cap rd run "$(task_file nobody-dirs \
	'echo a >/alloc/n.txt && echo l >/local/n.txt && echo s >/secrets/n.txt && echo ok' '"user": "nobody"')"
check_eq "a task as nobody writes /alloc, /local and /secrets (exit 0)" "$RC" 0
check_eq "a task as nobody writes /alloc, /local and /secrets (output)" "$OUT" ok

e2e_finish
