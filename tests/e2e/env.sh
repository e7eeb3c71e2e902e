#!/bin/bash
# e2e: the task environment and args interpolation (issue 3, case 2).
source "$(dirname "$0")/lib.sh"

alloc=0a1b2c3d-1111-4222-8333-444455556666
script='env | sort; printf "ARG1=%s\n" "$1"; printf "ARG2=%s\n" "$2"; printf "ARG3=%s\n" "$3"'
f=$E2E_TMP/envtask.json
cat >"$f" <<JSON
{
  "name": "envtask",
  "alloc_id": "$alloc",
  "env": {"GREETING": "hello \${NOMAD_TASK_NAME}", "NOMAD_CPU_LIMIT": "777", "PATH": "/bin:/usr/bin"},
  "resources": {
    "cpu": 250, "memory": 64,
    "networks": [{"ip": "127.0.0.1", "mbits": 10,
      "reserved_ports": [{"label": "web", "value": 8081}],
      "dynamic_ports": [{"label": "dyn", "value": 23456}, {"label": "auto"}]}]
  },
  "config": {
    "image": "$RKTD_ACI",
    "command": "/bin/sh",
    "args": ["-c", $(jstr "$script"), "sh", "\${NOMAD_TASK_NAME}-\${NOMAD_PORT_web}", "\${GREETING}", "\${NOMAD_ADDR_dyn}"],
    "port_map": [{"web": "http"}, {"dyn": "dns"}, {"auto": "http"}]
  }
}
JSON
run_cap rd run "$f"
check_eq "the env task exits 0" "$RC" 0
env_out=$OUT
val() { sed -n "s/^$1=//p" <<<"$env_out"; }
check_eq "NOMAD_ALLOC_DIR=/alloc" "$(val NOMAD_ALLOC_DIR)" /alloc
check_eq "NOMAD_TASK_DIR=/local" "$(val NOMAD_TASK_DIR)" /local
check_eq "NOMAD_SECRETS_DIR=/secrets" "$(val NOMAD_SECRETS_DIR)" /secrets
check_eq "NOMAD_TASK_NAME is the task's name" "$(val NOMAD_TASK_NAME)" envtask
check_eq "NOMAD_ALLOC_ID is the task's alloc_id" "$(val NOMAD_ALLOC_ID)" "$alloc"
check_eq "NOMAD_MEMORY_LIMIT is resources.memory" "$(val NOMAD_MEMORY_LIMIT)" 64
# reserved port: on a first start NOMAD_PORT_ is the host port (Nomad 0.8.1)
check_eq "NOMAD_PORT_web (reserved) is the host port" "$(val NOMAD_PORT_web)" 8081
check_eq "NOMAD_HOST_PORT_web" "$(val NOMAD_HOST_PORT_web)" 8081
check_eq "NOMAD_IP_web" "$(val NOMAD_IP_web)" 127.0.0.1
check_eq "NOMAD_ADDR_web" "$(val NOMAD_ADDR_web)" 127.0.0.1:8081
check_eq "NOMAD_PORT_dyn (dynamic, given)" "$(val NOMAD_PORT_dyn)" 23456
check_eq "NOMAD_HOST_PORT_dyn" "$(val NOMAD_HOST_PORT_dyn)" 23456
check_eq "NOMAD_IP_dyn" "$(val NOMAD_IP_dyn)" 127.0.0.1
check_eq "NOMAD_ADDR_dyn" "$(val NOMAD_ADDR_dyn)" 127.0.0.1:23456
auto=$(val NOMAD_PORT_auto)
check_match "NOMAD_PORT_auto (dynamic, allocated by the driver) is a port" "$auto" '^[1-9][0-9]*$'
check_eq "NOMAD_HOST_PORT_auto is the same port" "$(val NOMAD_HOST_PORT_auto)" "$auto"
check_eq "NOMAD_ADDR_auto" "$(val NOMAD_ADDR_auto)" "127.0.0.1:$auto"
# the task's env: interpolated, and it overrides
check_eq "task env is interpolated (\${NOMAD_TASK_NAME})" "$(val GREETING)" "hello envtask"
check_eq "task env overrides a NOMAD_ variable (NOMAD_CPU_LIMIT)" "$(val NOMAD_CPU_LIMIT)" 777
check_eq "task env overrides the image's PATH" "$(val PATH)" /bin:/usr/bin
# args: \${VAR} replaced by the driver (the shell never expands "\$1"'s value)
check_eq "args: \${NOMAD_TASK_NAME}-\${NOMAD_PORT_web} interpolated" "$(val ARG1)" envtask-8081
check_eq "args: \${GREETING} (a task env var) interpolated" "$(val ARG2)" "hello envtask"
check_eq "args: \${NOMAD_ADDR_dyn} interpolated" "$(val ARG3)" 127.0.0.1:23456
check_lacks "no host environment leaks into the task" "$env_out" "RKT_SIM_DIR="
check_lacks "no host environment leaks into the task (RKTD_)" "$env_out" "RKTD_"

# the CPU limit without an override, and the defaults (cpu 100, memory 300)
run_cap rd run "$(task_file defaults 'echo "CPU=$NOMAD_CPU_LIMIT MEM=$NOMAD_MEMORY_LIMIT"')"
check_eq "defaults: NOMAD_CPU_LIMIT=100 NOMAD_MEMORY_LIMIT=300" "$OUT" "CPU=100 MEM=300"
run_cap rd run "$(task_file cpu500 'echo "CPU=$NOMAD_CPU_LIMIT MEM=$NOMAD_MEMORY_LIMIT"' \
	'"resources": {"cpu": 500, "memory": 128}')"
check_eq "NOMAD_CPU_LIMIT/NOMAD_MEMORY_LIMIT follow resources" "$OUT" "CPU=500 MEM=128"

# resources become rkt's isolators (--memory=<MB>M --cpu=<MHz>m)
id=$(start_detached "$(task_file iso 'true' '"resources": {"cpu": 250, "memory": 64}')")
man=$(manifest "$(pod_of "$id")")
check_has "memory 64 becomes the resource/memory isolator 64M" "$man" \
	'{"name":"resource/memory","value":{"default":false,"request":"64M","limit":"64M"}}'
check_has "cpu 250 becomes the resource/cpu isolator 250m" "$man" \
	'{"name":"resource/cpu","value":{"default":false,"request":"250m","limit":"250m"}}'
check_has "the task env reaches the pod manifest" "$man" '{"name":"NOMAD_TASK_NAME","value":"iso"}'
rd wait "$id" >/dev/null

# the other config keys that shape rkt's command lines
id=$(start_detached "$(task_file flags 'true' '' '"insecure_options": ["image", "tls"], "no_overlay": true, "debug": true, "net": ["default", "other"]')")
uuid=$(pod_of "$id")
ra=$(run_args "$id")
check_has "insecure_options: run-prepared gets --insecure-options=image,tls" "$ra" "--insecure-options=image,tls"
check_has "debug: --debug=true" "$ra" "--debug=true"
check_has "net: run-prepared gets --net=default,other" "$ra" "--net=default,other"
if need_sim "insecure_options and no_overlay: prepare gets --insecure-options=image,tls and --no-overlay=true" \
	"prepare's argv is the simulator's record"; then
	pa=$(prep_args "$uuid")
	check_has "insecure_options: prepare gets --insecure-options=image,tls" "$pa" "--insecure-options=image,tls"
	check_has "no_overlay: prepare gets --no-overlay=true" "$pa" "--no-overlay=true"
fi
alloc=$(rd status "$id" | sed -n 's/^alloc: *//p')
man=$(manifest "$uuid")
for d in alloc:/alloc local:/local secrets:/secrets; do
	check_has "the pod has the ${d%%:*} volume: the task dir's ${d%%:*}" "$man" \
		"{\"name\":\"$alloc-flags-${d%%:*}\",\"kind\":\"host\",\"source\":\"$(task_dir "$id")/${d%%:*}\""
	check_has "the pod mounts it at ${d#*:}" "$man" "{\"volume\":\"$alloc-flags-${d%%:*}\",\"path\":\"${d#*:}\"}"
done
rd wait "$id" >/dev/null

e2e_finish
