#!/bin/sh
# Builds and runs the whole test suite, then prints one closing line,
# "N passed, N failed[, N skipped]", counted from meson's test logs, so that
# a run that executed nothing cannot look green.
#
#   tests/run-all.sh [--sanitize] [BUILD_DIR]
#
# BUILD_DIR (default: build) gets every suite: unit, sim, integration,
# valgrind and e2e. --sanitize also builds BUILD_DIR-asan with AddressSanitizer
# and UBSan and runs unit, sim, integration and e2e there.
set -u
cd "$(dirname "$0")/.."
sanitize=0
if [ "${1:-}" = "--sanitize" ]; then
	sanitize=1
	shift
fi
build=${1:-build}
logs=""
rc=0

run_suites() { # DIR SETUP-ARGS SUITES...
	dir=$1 args=$2
	shift 2
	rm -f "$dir/meson-logs/testlog.json"
	if [ ! -f "$dir/build.ninja" ]; then
		# shellcheck disable=SC2086
		meson setup "$dir" $args || return 1
	fi
	ninja -C "$dir" || return 1
	suites=""
	for s in "$@"; do suites="$suites --suite $s"; done
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs --num-processes 2 $suites </dev/null
}

run_suites "$build" "" unit sim integration valgrind e2e || rc=1
logs="$build/meson-logs/testlog.json"
if [ $sanitize -eq 1 ]; then
	run_suites "$build-asan" "-Db_sanitize=address,undefined -Db_lundef=false" unit sim integration e2e || rc=1
	logs="$logs $build-asan/meson-logs/testlog.json"
fi

# shellcheck disable=SC2086
python3 - $logs <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        for line in open(path):
            r = json.loads(line).get("result")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
    except OSError:
        print(f"no test log at {path}: the build or the run failed before any test")
        failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or passed == 0 else 0)
PY
summary=$?
[ $rc -eq 0 ] && [ $summary -eq 0 ]
