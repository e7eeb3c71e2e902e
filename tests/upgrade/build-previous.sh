#!/bin/sh
# build-previous.sh SOURCE_DIR AREA: builds the previous release named in
# tests/upgrade/previous-release from SOURCE_DIR's git history into
# AREA/<commit>/ (its source in src/, its build in build/), once: a finished
# build (AREA/<commit>/done) is reused. Prints the build dir on stdout.
#
# The tree comes from `git archive` (the repository's worktree list and
# index are not touched). A commit missing from the history (a shallow
# clone) is one line on stderr and exit 1. RKTD_PREVIOUS_GIT names another
# clone to take it from (for a source tree exported without its history).
set -eu
src=$1 area=$2
git=${RKTD_PREVIOUS_GIT:-$src}
commit=$(sed -n '/^[0-9a-f]\{40\}$/{p;q}' "$src/tests/upgrade/previous-release")
if [ -z "$commit" ]; then
	echo "tests/upgrade/previous-release names no commit (40 hex digits on a line)" >&2
	exit 1
fi
if ! git -C "$git" cat-file -e "$commit^{commit}" 2>/dev/null; then
	echo "previous release $commit is not in the history of $git (a shallow clone? fetch it, e.g. git fetch --unshallow)" >&2
	exit 1
fi
dir=$area/$commit
if [ -f "$dir/done" ]; then
	echo "$dir/build"
	exit 0
fi
mkdir -p "$area"
# one builder at a time (meson may run the upgrade tests in parallel)
exec 9>"$area/.lock"
flock 9
if [ ! -f "$dir/done" ]; then
	rm -rf "$dir"
	mkdir -p "$dir/src"
	git -C "$git" archive --format=tar "$commit" | tar -x -C "$dir/src"
	log=$dir/build.log
	# its tests are not needed: the simulator and the image are this tree's
	if ! { meson setup "$dir/build" "$dir/src" -Dtests=false && ninja -C "$dir/build"; } >"$log" 2>&1; then
		echo "previous release $commit failed to build (log: $log):" >&2
		tail -n 20 "$log" >&2
		exit 1
	fi
	touch "$dir/done"
fi
echo "$dir/build"
