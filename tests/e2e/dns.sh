#!/bin/bash
# e2e: DNS flags on rkt run-prepared (issue 3, case 4).
source "$(dirname "$0")/lib.sh"

# servers and search domains: flags in order, and the pod's resolv.conf
f=$(task_file dns 'cat /etc/resolv.conf' '' \
	'"dns_servers": ["8.8.8.8", "2001:4860:4860::8888"], "dns_search_domains": ["example.com", "example.org"]')
id=$(start_detached "$f")
check "a task with dns_servers starts" test -n "$id"
uuid=$(pod_of "$id")
args=$(run_args "$id")
check_has "the executor launched rkt run-prepared (inspect)" "$args" "run-prepared"
check_has "run-prepared got --dns=8.8.8.8" "$args" "--dns=8.8.8.8"
check_has "run-prepared got --dns=2001:4860:4860::8888" "$args" "--dns=2001:4860:4860::8888"
check_has "run-prepared got --dns-search=example.com" "$args" "--dns-search=example.com"
check_has "run-prepared got --dns-search=example.org" "$args" "--dns-search=example.org"
check_eq "the DNS flags come in the config's order, before the UUID" \
	"$(grep -E '^--dns' <<<"$args" | tr '\n' ' ')" \
	"--dns=8.8.8.8 --dns=2001:4860:4860::8888 --dns-search=example.com --dns-search=example.org "
check_eq "the UUID is run-prepared's last argument" "$(tail -n1 <<<"$args")" "$uuid"
run_cap rd wait "$id"
check_eq "the dns task exits 0" "$RC" 0
run_cap rd logs "$id"
check_has "the pod's resolv.conf has nameserver 8.8.8.8" "$OUT" "nameserver 8.8.8.8"
check_has "the pod's resolv.conf has the search domains" "$OUT" "search example.com example.org"

# search domains alone
id=$(start_detached "$(task_file search 'true' '' '"dns_search_domains": ["corp.example"]')")
args=$(run_args "$id")
check_has "dns_search_domains alone: --dns-search=corp.example" "$args" "--dns-search=corp.example"
check_lacks "dns_search_domains alone: no --dns=" "$args" "--dns="
rd wait "$id" >/dev/null

# no DNS config: no DNS flags
id=$(start_detached "$(task_file nodns 'true')")
args=$(run_args "$id")
check_lacks "no dns config: no --dns flag" "$args" "--dns"
rd wait "$id" >/dev/null

# ["host"] and ["none"] are passed through as such
id=$(start_detached "$(task_file dnshost 'cat /etc/resolv.conf' '' '"dns_servers": ["host"]')")
args=$(run_args "$id")
check_has "dns_servers [\"host\"] passes --dns=host" "$args" "--dns=host"
rd wait "$id" >/dev/null
run_cap rd logs "$id"
check_eq "with --dns=host the pod's resolv.conf is the host's" "$OUT" "$(cat /etc/resolv.conf)"
id=$(start_detached "$(task_file dnsnone 'true' '' '"dns_servers": ["none"]')")
check_has "dns_servers [\"none\"] passes --dns=none" "$(run_args "$id")" "--dns=none"
rd wait "$id" >/dev/null

# an invalid server: run fails with the seed's message, and nothing runs
pods_before=$(pod_dirs | wc -l)
run_cap rd run "$(task_file baddns 'true' '' '"dns_servers": ["8.8.8.8", "x"]')"
check_eq "an invalid dns server fails run with 125" "$RC" 125
check_has "with the seed's message" "$ERR" 'invalid ip address for container dns server "x"'
check_eq "no pod was prepared for it" "$(pod_dirs | wc -l)" "$pods_before"
check_eq "no executor was started for it" "$(pids_mentioning "$STATE/tasks/" -baddns | wc -l)" 0
run_cap rd run "$(task_file hostplus 'true' '' '"dns_servers": ["host", "8.8.8.8"]')"
check_has "\"host\" among other servers is an invalid address" "$ERR" \
	'invalid ip address for container dns server "host"'

# a run refused before anything started leaves no task behind: ps does not
# list a handle-less leftover, and the corrected task (same alloc and name) runs
alloc=dddddddd-0000-4000-8000-000000000001
run_cap rd run "$(task_file retry 'true' "\"alloc_id\": \"$alloc\"" '"dns_servers": ["x"]')"
check_eq "a refused run (invalid dns) exits 125" "$RC" 125
run_cap rd ps
check_lacks "ps lists no unreadable leftover of the refused run" "$OUT" unreadable
run_cap rd run "$(task_file retry 'echo fixed' "\"alloc_id\": \"$alloc\"" '"dns_servers": ["8.8.8.8"]')"
check_eq "the corrected task with the same alloc_id and name runs (exit 0)" "$RC" 0
check_lacks "and is not refused as existing already" "$ERR" "exists already"

e2e_finish
