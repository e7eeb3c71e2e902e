#!/bin/sh
# Builds into BUILD_DIR (default: build) and runs every test suite (unit,
# sim, integration, e2e; not the benchmarks), then prints one line
# "N passed, N failed[, N skipped]" counted from meson's test log, so that a
# run that executed nothing cannot look green.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
[ -d "$build" ] || meson setup "$build" || exit 1
ninja -C "$build" || { echo "0 passed, 1 failed"; exit 1; }
meson test -C "$build" --print-errorlogs --num-processes 2 </dev/null
rc=$?
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
except OSError:
    failed = 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or passed == 0 else 0)
PY
summary=$?
[ $rc -eq 0 ] && [ $summary -eq 0 ]
