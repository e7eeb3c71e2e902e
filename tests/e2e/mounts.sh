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

e2e_finish
