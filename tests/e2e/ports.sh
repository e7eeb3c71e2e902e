#!/bin/bash
# e2e: port mapping from the pod manifest and network discovery (issue 3, case 5).
source "$(dirname "$0")/lib.sh"

net1='"resources": {"networks": [{"ip": "127.0.0.1", "reserved_ports": [{"label": "web", "value": 8181}]}]}'

# a network reported by the pod: its IP and the manifest's port number
# (fly reports none: a pod network is the simulator's RKT_SIM_NETWORK)
if need_sim "port_map with a pod network: run --detach reports it; --port, no --net, the manifest's ports" \
	"fly reports no network; RKT_SIM_NETWORK gives one"; then
	f=$(task_file web 'exec sleep 60' "$net1" '"port_map": [{"web": "http"}]')
	t0=$(date +%s%N)
	RKT_SIM_NETWORK=10.1.2.3 NET_TIMEOUT=5s run_cap rd run --detach "$f"
	id=$OUT
	check_eq "port_map with a pod network: run --detach exits 0" "$RC" 0
	check_has "run --detach reports the pod network ip and web=8080 (manifest port http)" "$ERR" \
		"rkt-driver: pod network 10.1.2.3 web=8080"
	check_le "the network found at once is not waited for (ms, timeout 5s)" $((($(date +%s%N) - t0) / 1000000)) 3000
	uuid=$(pod_of "$id")
	check_has "prepare got --port=http:8181 (port_map name : host port)" "$(prep_args "$uuid")" "--port=http:8181"
	check_lacks "run-prepared got no --net (none configured)" "$(run_args "$id")" "--net"
	check_has "the pod manifest exposes http on host port 8181" \
		"$(manifest "$uuid")" '"ports":[{"name":"http","hostPort":8181}]'
	check_eq "the task is running" "$(state_of "$id")" running
	run_cap rd stop "$id"
	check_eq "stop works" "$RC" 0
fi

# a network that appears late (RKT_SIM_NETWORK_DELAY_MS) is still found
if need_sim "a network appearing after 1.2 s is found" "RKT_SIM_NETWORK_DELAY_MS delays the simulator's network"; then
	f=$(task_file late 'exec sleep 60' "$net1" '"port_map": [{"web": "dns"}]')
	RKT_SIM_NETWORK=10.1.2.4/16 RKT_SIM_NETWORK_DELAY_MS=1200 NET_TIMEOUT=5s run_cap rd run --detach "$f"
	check_eq "a network appearing after 1.2 s: run --detach exits 0" "$RC" 0
	check_has "and reports it, with the dns port 53" "$ERR" "rkt-driver: pod network 10.1.2.4 web=53"
	rd stop "$OUT" >/dev/null 2>&1
fi

# no network found, a port_map and a task that keeps running: run fails and
# leaves nothing behind: no pod, no process, no task dir
f=$(task_file nonet 'exec sleep 60' "$net1" '"port_map": [{"web": "http"}]')
pods_before=$(pod_dirs | sort)
t0=$(date +%s%N)
NET_TIMEOUT=2s run_cap rd run "$f"
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "port_map without a network: run fails (125)" "$RC" 125
check_has "with the seed's message" "$ERR" \
	"Trying to map ports but driver could not determine network information"
check_ge "the driver looked for the network for --network-timeout 2s (ms)" "$ms" 1900
check_le "and not much longer (ms)" "$ms" 12000
check_eq "no id is printed" "$OUT" ""
check_eq "the refused task left no task dir" "$(ls "$STATE/tasks" | grep -c -- '-nonet$')" 0
new_pods=$(comm -13 <(echo "$pods_before") <(pod_dirs | sort))
check_eq "its pod was stopped and removed (no new pod left in rkt's store)" "$new_pods" ""
check_eq "no process of it is left (executor, rkt, app)" "$(pids_mentioning "-nonet" | wc -l)" 0

# without a port_map, a missing network is only a warning
f=$(task_file noportmap 'exec sleep 60')
run_cap rd run --detach "$f"
check_eq "no network and no port_map: run --detach succeeds" "$RC" 0
check_has "with a warning about the network" "$ERR" "network status retrieval for pod"
check_lacks "and no network line" "$ERR" "pod network"
rd stop "$OUT" >/dev/null 2>&1

# host networking skips port mapping (and network discovery)
f=$(task_file hostnet 'exec sleep 60' "$net1" '"net": ["host"]')
t0=$(date +%s%N)
NET_TIMEOUT=5s run_cap rd run --detach "$f"
ms=$((($(date +%s%N) - t0) / 1000000))
id=$OUT
check_eq "net [\"host\"] with a reserved port and no port_map: run --detach exits 0" "$RC" 0
check_lacks "no network is reported" "$ERR" "pod network"
check_lacks "no network warning either (no discovery)" "$ERR" "network status retrieval"
check_le "no discovery wait (ms, timeout 5s)" "$ms" 3000
uuid=$(pod_of "$id")
check_has "run-prepared got --net=host" "$(run_args "$id")" "--net=host"
check_has "prepare got no --port: the pod manifest exposes no port" "$(manifest "$uuid")" '"ports":[]}'
rd stop "$id" >/dev/null 2>&1

# the seed's own refusals
run_cap rd run "$(task_file noportmap2 'true' "$net1")"
check_eq "a reserved port without port_map fails (125)" "$RC" 125
check_has "with the seed's message" "$ERR" \
	"port_map is not set. When you defined port in the resources, you need to configure port_map."
run_cap rd run "$(task_file nonetres 'true' '' '"port_map": [{"web": "http"}]')"
check_eq "a port_map without any network resource fails (125)" "$RC" 125
check_has "with the seed's message" "$ERR" "Trying to map ports but no network interface is available"
aborted() { # the pods rkt left as "aborted prepare" (their UUIDs)
	rkt list --full --no-legend 2>/dev/null | awk -F'\t' '$5 == "aborted prepare" { print $1 }' | sort
}
aborted_before=$(aborted)
run_cap rd run "$(task_file badname 'true' "$net1" '"port_map": [{"web": "nosuchport"}]')"
check_eq "a port_map to a port the image lacks fails at prepare (125)" "$RC" 125
check_has "as rkt prepare refuses it" "$ERR" "Error preparing rkt pod"
# (real rkt leaves the pod it failed to set up as "aborted prepare", for rkt gc;
# the one this made goes now)
for u in $(comm -13 <(echo "$aborted_before") <(aborted)); do
	rkt rm "$u" >/dev/null 2>&1
done

e2e_finish
