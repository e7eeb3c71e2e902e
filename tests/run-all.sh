#!/bin/sh
# Builds and runs the whole test suite, then prints one closing line,
# "N passed, N failed[, N skipped]", counted from meson's test logs, so that
# a run that executed nothing cannot look green.
#
#   tests/run-all.sh [--sanitize] [--tsan] [--nng-small] [BUILD_DIR]
#
# BUILD_DIR (default: build) gets every suite: unit, sim, integration,
# recovery, valgrind, e2e, upgrade (this tree beside the previous release,
# built from the repository's history: tests/upgrade/) and scale (its small
# test, 50 tasks; the thousand are a benchmark: meson test --benchmark
# --suite scale) and soak (its short version, about 35 s: tests/soak/).
# --sanitize also builds BUILD_DIR-asan with AddressSanitizer
# and UBSan and runs unit, sim, integration and e2e there. --tsan also builds
# BUILD_DIR-tsan with ThreadSanitizer and runs the integration suite there
# (the RPC stress included; TSAN_OPTIONS and tests/tsan.supp come from
# tests/meson.build), without address-space randomization, which some kernels'
# mmap_rnd_bits make TSan fail on ("unexpected memory mapping").
# --nng-small also builds nng from Debian's source with fewer threads
# (subprojects/nng-small/build.sh: needs a deb-src entry, cmake, dpkg-dev)
# into BUILD_DIR-nngsmall-prefix, links rkt-executor against it
# (-Dnng_static_dir) in BUILD_DIR-nngsmall and runs integration, faults,
# recovery and e2e there; a failed nng build counts as a failed test.
set -u
cd "$(dirname "$0")/.." || exit 1
sanitize=0
tsan=0
nngsmall=0
while [ $# -gt 0 ]; do
	case $1 in
	--sanitize) sanitize=1 ;;
	--tsan) tsan=1 ;;
	--nng-small) nngsmall=1 ;;
	--) shift; break ;;
	-*) echo "usage: tests/run-all.sh [--sanitize] [--tsan] [--nng-small] [BUILD_DIR]" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
build=${1:-build}
logs=""
rc=0

run_suites() { # DIR SETUP-ARGS SUITES...
	run_suites_with "" "$@"
}

run_suites_with() { # WRAPPER DIR SETUP-ARGS SUITES...
	wrap=$1 dir=$2 args=$3
	shift 3
	rm -f "$dir/meson-logs/testlog.json"
	if [ ! -f "$dir/build.ninja" ]; then
		# shellcheck disable=SC2086
		meson setup "$dir" $args || return 1
	fi
	ninja -C "$dir" || return 1
	suites=""
	for s in "$@"; do suites="$suites --suite $s"; done
	# shellcheck disable=SC2086
	$wrap meson test -C "$dir" --print-errorlogs --num-processes 2 $suites </dev/null
}

run_suites "$build" "" unit sim integration recovery faults valgrind e2e upgrade scale soak || rc=1
logs="$build/meson-logs/testlog.json"
if [ $sanitize -eq 1 ]; then
	run_suites "$build-asan" "-Db_sanitize=address,undefined -Db_lundef=false" unit sim integration faults e2e || rc=1
	logs="$logs $build-asan/meson-logs/testlog.json"
fi
if [ $tsan -eq 1 ]; then
	norandom=""
	if setarch "$(uname -m)" -R true 2>/dev/null; then
		norandom="setarch $(uname -m) -R"
	fi
	started=$(date +%s)
	run_suites_with "$norandom" "$build-tsan" "-Db_sanitize=thread -Db_lundef=false" integration || rc=1
	echo "ThreadSanitizer build and integration suite: $(($(date +%s) - started)) s"
	logs="$logs $build-tsan/meson-logs/testlog.json"
fi
nng_small_failed=0
if [ $nngsmall -eq 1 ]; then
	started=$(date +%s)
	prefix="$(pwd)/$build-nngsmall-prefix"
	nnglog="$build/nng-small-build.log"
	if subprojects/nng-small/build.sh "$prefix" >"$nnglog" 2>&1; then
		run_suites "$build-nngsmall" "-Dnng_static_dir=$prefix" integration faults recovery e2e || rc=1
		logs="$logs $build-nngsmall/meson-logs/testlog.json"
	else
		echo "nng-small: the build of nng with fewer threads failed: $(tail -n 1 "$nnglog") (log: $nnglog)"
		nng_small_failed=1
		rc=1
	fi
	echo "nng-small build and its suites: $(($(date +%s) - started)) s"
fi

# shellcheck disable=SC2086
NNG_SMALL_FAILED=$nng_small_failed python3 - $logs <<'PY'
import json, os, sys
passed = failed = skipped = 0
failures = []
failed += int(os.environ.get("NNG_SMALL_FAILED", "0"))
for path in sys.argv[1:]:
    try:
        for line in open(path):
            try:
                r = json.loads(line).get("result")
            except ValueError:
                print(f"an unreadable line in {path}: counted as a failed test")
                r = None
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
                if r is not None:
                    failures.append((path, json.loads(line)))
    except OSError:
        print(f"no test log at {path}: the build or the run failed before any test")
        failed += 1
# The failed tests again, each with the end of its output, next to the
# closing line: a CI log that keeps only its tail still says what failed.
for path, t in failures:
    build = os.path.dirname(os.path.dirname(path))
    print(f"FAILED in {build}: {t.get('name')} ({t.get('result')}, {t.get('duration', 0):.1f} s)")
    for out in (t.get("stdout") or "").splitlines()[-12:]:
        print(f"    {out[:300]}")
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or passed == 0 else 0)
PY
summary=$?
[ $rc -eq 0 ] && [ $summary -eq 0 ]
