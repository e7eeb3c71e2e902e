#!/bin/bash
# e2e: fingerprint against the simulator, and validate (issue 3, case 14).
source "$(dirname "$0")/lib.sh"

# fingerprint at three versions (real rkt: its own, 1.30.0)
if need_sim "rkt 1.26.0 and 1.27.0: fingerprint" "RKT_SIM_VERSION sets the version the simulator prints"; then
	RKT_SIM_VERSION=1.26.0 run_cap rd fingerprint
	check_eq "rkt 1.26.0: fingerprint exits 1" "$RC" 1
	check_has "rkt 1.26.0: not detected (too old)" "$OUT" "driver.rkt: not detected"
	check_has "rkt 1.26.0: a warning naming the version and the minimum" "$ERR" \
		"warning: unsupported rkt version 1.26.0; please upgrade to >= 1.27.0"
	check_lacks "rkt 1.26.0: no driver.rkt attribute" "$OUT" "driver.rkt = 1"
	versions="1.27.0 1.30.0"
else
	versions=1.30.0
fi
for v in $versions; do
	if ((E2E_SIM)); then export RKT_SIM_VERSION=$v; fi
	run_cap rd fingerprint
	check_eq "rkt $v: fingerprint exits 0" "$RC" 0
	check_has "rkt $v: detected" "$OUT" "driver.rkt: detected"
	check_match "rkt $v: driver.rkt = 1" "$OUT" $'\ndriver.rkt = 1(\n|$)'
	check_match "rkt $v: driver.rkt.version = $v" "$OUT" $'\ndriver.rkt.version = '"${v//./\\.}"$'(\n|$)'
	check_match "rkt $v: driver.rkt.appc.version = 0.8.11" "$OUT" $'\ndriver.rkt.appc.version = 0\\.8\\.11(\n|$)'
	check_match "rkt $v: driver.rkt.volumes.enabled = 1" "$OUT" $'\ndriver.rkt.volumes.enabled = 1(\n|$)'
	check_eq "rkt $v: no warning" "$ERR" ""
done
unset RKT_SIM_VERSION
run_cap rd --no-volumes fingerprint
check_eq "--no-volumes: still detected" "$RC" 0
check_lacks "--no-volumes: no driver.rkt.volumes.enabled" "$OUT" "volumes.enabled"

# unparsable output, and no rkt at all
if need_sim "unparsable rkt version output" "RKT_SIM_VERSION_OUTPUT sets what the simulator prints"; then
	RKT_SIM_VERSION_OUTPUT=garbage run_cap rd fingerprint
	check_eq "garbage version output: fingerprint exits 1" "$RC" 1
	check_has "with the seed's error" "$ERR" "Unable to parse Rkt version string"
	check_lacks "and no attribute" "$OUT" "driver.rkt = 1"
	RKT_SIM_VERSION_OUTPUT=$'rkt Version: 1.30.0\nGo Version: go1.19' run_cap rd fingerprint
	check_eq "output without an appc version: exits 1" "$RC" 1
	check_has "with the seed's error, quoting the rkt match" "$ERR" \
		'Unable to parse Rkt version string: []string{"rkt Version: 1.30.0", "1.30.0"}'
fi
run_cap timeout 30 "$RKTD_DRIVER" --rkt /nonexistent --state-dir "$STATE" fingerprint
check_eq "--rkt /nonexistent: fingerprint exits 1" "$RC" 1
check_has "--rkt /nonexistent: not detected" "$OUT" "driver.rkt: not detected"
check_lacks "--rkt /nonexistent: no attribute" "$OUT" "driver.rkt = 1"
if need_sim "rkt version failing" "RKT_SIM_FAIL injects the failure"; then
	RKT_SIM_FAIL=version run_cap rd fingerprint
	check_eq "rkt version failing: fingerprint exits 1, not detected" "$RC:$(head -n1 <<<"$OUT")" \
		"1:driver.rkt: not detected: rkt could not be run"
fi
run_cap timeout 30 "$RKTD_DRIVER" --rkt /nonexistent --state-dir "$STATE" run \
	"$(task_file norkt 'true')"
check_eq "run with no rkt fails (125)" "$RC" 125
check_has "saying rkt is not found" "$ERR" 'rkt not found at "/nonexistent"'

# validate
v() { # DESC JSON-TEXT → RC, OUT, ERR
	printf '%s\n' "$1" >"$E2E_TMP/v.json"
	run_cap rd validate "$E2E_TMP/v.json"
}
img=$(jstr "$RKTD_ACI")
v '{"name": "good", "config": {"image": '"$img"', "args": ["a"], "dns_servers": ["8.8.8.8"], "port_map": [{"a": "b"}], "debug": true}}'
check_eq "validate: a good task exits 0" "$RC" 0
check_has "validate: says it is valid" "$OUT" 'valid task "good"'
v '{"name": "x", "config": {"image": "i", "imagee": "typo"}}'
check_eq "validate: an unknown config key fails (1)" "$RC" 1
check_has "validate: naming the unknown key" "$ERR" 'config key "imagee" is unknown'
v '{"name": "x", "config": {"command": "/bin/sh"}}'
check_eq "validate: a missing image fails (1)" "$RC" 1
check_has "validate: naming the image key" "$ERR" 'config key "image" is required'
v '{"name": "x", "config": {"image": ""}}'
check_has "validate: an empty image is a missing image" "$ERR" 'config key "image" is required'
v '{"name": "x", "config": {"image": "i", "dns_servers": "8.8.8.8"}}'
check_eq "validate: a wrong type fails (1)" "$RC" 1
check_has "validate: naming the key and the types" "$ERR" 'config key "dns_servers": expected an array, got string'
v '{"name": "x", "config": {"image": "i", "debug": "maybe"}}'
check_has "validate: a wrong bool, naming the key" "$ERR" 'config key "debug": expected a bool'
v '{"name": "x", "config": {"image": "i", "port_map": {"a": "b"}}}'
check_has "validate: port_map as an object, naming the key" "$ERR" 'config key "port_map": expected an array'
v '{"name": "x", "driver": "rkt", "config": {"image": "i"}}'
check_has "validate: an unknown task field, named" "$ERR" 'task field "driver" is unknown'
v '{"name": "x", "kill_timeout": "5x", "config": {"image": "i"}}'
check_has "validate: a bad kill_timeout, named" "$ERR" 'task field "kill_timeout": invalid duration "5x"'
v '{"name": "x", "resources": {"memory": "lots"}, "config": {"image": "i"}}'
check_has "validate: a wrong resources type, named" "$ERR" 'task field "resources.memory"'
v '{"config": {"image": "i"}}'
check_has "validate: a missing name, named" "$ERR" 'task field "name" is required'
v '{"name": "x", "config": {"image": "i"'
check_eq "validate: broken JSON fails (1)" "$RC" 1
check_has "validate: says it is not JSON" "$ERR" "not valid JSON"
v '{"name": "x", "config": {"image": "i", "trust_prefix": "example.com/x", "group": "g", "net": ["a","b"], "no_overlay": true, "insecure_options": ["image"], "volumes": ["/a:/b"], "dns_search_domains": ["x"], "command": "c"}}'
check_eq "validate: every key of the seed's schema is accepted" "$RC" 0
run_cap rd run "$E2E_TMP/nonexistent.json"
check_eq "run of a missing task file: 125" "$RC" 125
v '{"name": "x", "config": {"image": "i", "imagee": "typo"}}'
run_cap rd run "$E2E_TMP/v.json"
check_eq "run refuses an invalid task (125)" "$RC" 125
check_has "with validate's message" "$ERR" 'config key "imagee" is unknown'

e2e_finish
