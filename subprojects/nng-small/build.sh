#!/bin/sh
# build.sh: builds Debian's nng source package as a static library with fewer
# threads per process, for rkt-executor (meson -Dnng_static_dir=PREFIX).
# See README.md beside it.
#
#   subprojects/nng-small/build.sh PREFIX
#
# Environment:
#   NNG_SRC_DIR       an unpacked nng source tree to use (else `apt-get source
#                     nng` fetches Debian's, which needs a deb-src entry)
#   NNG_WORK_DIR      where to fetch and build (default: PREFIX.build)
#   NNG_RESOLV        resolver threads (NNG_RESOLV_CONCURRENCY, default 1)
#   NNG_TASKQ         task threads (NNG_NUM_TASKQ_THREADS, default 2)
#   NNG_EXPIRE        aio expiry threads (NNG_EXPIRE_THREADS, default 1)
#   NNG_TLS           ON (default: mbedTLS, as Debian builds it) or OFF
set -eu

prog=$(basename "$0")

usage() {
	cat <<EOF
usage: $prog PREFIX

Builds nng from Debian's source package (apt-get source nng, or the tree
named by NNG_SRC_DIR) as a static library with
  NNG_RESOLV_CONCURRENCY=${NNG_RESOLV:-1} NNG_NUM_TASKQ_THREADS=${NNG_TASKQ:-2} NNG_EXPIRE_THREADS=${NNG_EXPIRE:-1}
and installs it into PREFIX (PREFIX/lib/libnng.a, PREFIX/include/nng/).
Then: meson setup BUILD -Dnng_static_dir=PREFIX
EOF
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
'') usage >&2; exit 2 ;;
esac
[ $# -eq 1 ] || { usage >&2; exit 2; }

mkdir -p "$1" || die "cannot create the prefix directory $1"
prefix=$(cd "$1" && pwd)
work=${NNG_WORK_DIR:-$prefix.build}
resolv=${NNG_RESOLV:-1}
taskq=${NNG_TASKQ:-2}
expire=${NNG_EXPIRE:-1}
tls=${NNG_TLS:-ON}

for v in "resolv=$resolv" "taskq=$taskq" "expire=$expire"; do
	case "${v#*=}" in
	'' | *[!0-9]* | 0) die "${v%%=*} threads: \"${v#*=}\" is not a positive number" ;;
	esac
done
case "$tls" in
ON | OFF) ;;
*) die "NNG_TLS: \"$tls\" is neither ON nor OFF" ;;
esac
command -v cmake >/dev/null || die "cmake not found: install cmake"
gen=
command -v ninja >/dev/null && gen="-G Ninja"

# The source: the given tree, or Debian's package unpacked into $work/src.
if [ -n "${NNG_SRC_DIR:-}" ]; then
	src=$(cd "$NNG_SRC_DIR" 2>/dev/null && pwd) || die "NNG_SRC_DIR $NNG_SRC_DIR is not a directory"
else
	command -v apt-get >/dev/null || die "apt-get not found: give an unpacked nng source in NNG_SRC_DIR"
	command -v dpkg-source >/dev/null || die "dpkg-source not found: install dpkg-dev (apt-get source needs it)"
	# fetched afresh each time, so that a new Debian revision is picked up
	rm -rf "$work/src"
	mkdir -p "$work/src"
	(cd "$work/src" && apt-get source nng) ||
		die "apt-get source nng failed: add a deb-src entry for your archive (Types: deb-src) and run apt-get update, or give NNG_SRC_DIR"
	src=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'nng-*' | sort | tail -n 1)
	[ -n "$src" ] || die "apt-get source nng left no nng-* directory in $work/src"
fi
if [ ! -f "$src/CMakeLists.txt" ] || [ ! -f "$src/src/core/taskq.c" ]; then
	die "$src does not look like an nng source tree (no CMakeLists.txt, src/core/taskq.c)"
fi
# NNG_EXPIRE_THREADS is a C macro only (src/core/aio.c), no CMake option:
# check that the source still reads it, and the others too.
grep -q NNG_EXPIRE_THREADS "$src/src/core/aio.c" ||
	die "$src/src/core/aio.c does not read NNG_EXPIRE_THREADS: another nng version? check its tunables"
if ! grep -q NNG_NUM_TASKQ_THREADS "$src/CMakeLists.txt" || ! grep -q NNG_RESOLV_CONCURRENCY "$src/CMakeLists.txt"; then
	die "$src/CMakeLists.txt has no NNG_NUM_TASKQ_THREADS or NNG_RESOLV_CONCURRENCY: another nng version?"
fi

# Debian's compiler flags, as its own build of libnng.a gets them (debian/rules).
cflags="-g -O2"
cppflags=
ldflags=
if command -v dpkg-buildflags >/dev/null; then
	cflags=$(dpkg-buildflags --get CFLAGS)
	cppflags=$(dpkg-buildflags --get CPPFLAGS)
	ldflags=$(dpkg-buildflags --get LDFLAGS)
fi

build="$work/build"
rm -rf "$build"
mkdir -p "$build"
echo "$prog: nng from $src: resolver $resolv, task $taskq, expire $expire threads, TLS $tls -> $prefix"
# shellcheck disable=SC2086 # $gen is empty or two words
cmake -S "$src" -B "$build" $gen \
	-DCMAKE_BUILD_TYPE=None \
	-DCMAKE_C_FLAGS="$cflags $cppflags -DNNG_EXPIRE_THREADS=$expire" \
	-DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
	-DCMAKE_INSTALL_PREFIX="$prefix" \
	-DCMAKE_INSTALL_LIBDIR=lib \
	-DBUILD_SHARED_LIBS=OFF \
	-DNNG_TESTS=OFF -DNNG_TOOLS=OFF -DNNG_ENABLE_NNGCAT=OFF \
	-DNNG_ENABLE_TLS="$tls" \
	-DNNG_RESOLV_CONCURRENCY="$resolv" \
	-DNNG_NUM_TASKQ_THREADS="$taskq" \
	-DNNG_MAX_TASKQ_THREADS=16 ||
	die "cmake could not configure nng in $build (for TLS ON it needs libmbedtls-dev)"
cmake --build "$build" || die "nng did not build (in $build)"
cmake --install "$build" || die "nng did not install into $prefix"
[ -f "$prefix/lib/libnng.a" ] || die "no $prefix/lib/libnng.a after the install"
# as Debian's libnng.a (dh_strip): no debug sections
if command -v strip >/dev/null; then
	strip --strip-debug "$prefix/lib/libnng.a" || die "strip --strip-debug $prefix/lib/libnng.a failed"
fi
echo "$prog: installed $prefix/lib/libnng.a; now: meson setup BUILD -Dnng_static_dir=$prefix"
