#!/bin/sh
# Runs each libFuzzer target for a fixed time (`ninja -C build-fuzz fuzz`).
#
#   run.sh BUILD_DIR SOURCE_DIR TARGET...
#
# FUZZ_SECONDS (default 60) per target; FUZZ_TARGETS (space-separated
# names) runs only those; FUZZ_ARGS are passed on to libFuzzer. Each target
# starts from its seed corpus (SOURCE_DIR/corpus/NAME, read only) and the
# inputs of earlier runs (BUILD_DIR/corpus/NAME, where new ones go). A
# crash, leak, timeout (10 s) or out-of-memory input is saved in
# BUILD_DIR/artifacts/NAME/; keep it in SOURCE_DIR/corpus/NAME once fixed.
# Prints one line per target (executions, per second, coverage, corpus,
# findings) and exits 1 when any target found something.
set -u
build=$1 src=$2
shift 2
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-$*}
rc=0
summary=""
for t in $targets; do
	exe=$build/fuzz_$t
	if [ ! -x "$exe" ]; then
		echo "fuzz: no target $t ($exe)" >&2
		rc=1
		continue
	fi
	mkdir -p "$build/corpus/$t" "$build/artifacts/$t" "$build/logs"
	log=$build/logs/$t.log
	dict=""
	[ -f "$src/dict/$t.dict" ] && dict="-dict=$src/dict/$t.dict"
	echo "fuzz: $t for ${seconds}s (log: $log)"
	# shellcheck disable=SC2086
	"$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" $dict ${FUZZ_ARGS:-} \
		"$build/corpus/$t" "$src/corpus/$t" >"$log" 2>&1
	status=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	found=$(find "$build/artifacts/$t" -type f | wc -l)
	line="$t: ${runs:-?} runs in ${seconds}s (${speed:-?}/s), cov ${cov:-?}, corpus ${corp:-?}, findings $found"
	if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
		line="$line: FOUND (exit $status; see $log and $build/artifacts/$t/)"
		rc=1
	fi
	echo "$line"
	summary="$summary$line
"
done
printf '\n%s' "$summary"
exit $rc
