#!/bin/sh
# Installs what is missing, builds, and runs examples/hello.json through
# rkt-driver -> rkt-executor -> rkt (the bundled simulator when no real rkt
# is installed). Run as root: rkt (and the simulator) chroot into the image.
set -eu
cd "$(dirname "$0")"
.ci/deps
[ -d build ] || meson setup build
ninja -C build
if command -v rkt >/dev/null 2>&1; then
	RKT=$(command -v rkt)
else
	RKT=$PWD/build/tests/rktsim/rkt
	export RKT_SIM_DIR="${RKT_SIM_DIR:-$PWD/build/quickstart/rkt}"
	echo "quickstart: no rkt installed; using the simulator $RKT"
fi
sed "s|@ACI@|$PWD/build/tests/aci/example.aci|" examples/hello.json > build/hello.json
build/driver/rkt-driver --rkt "$RKT" --state-dir "$PWD/build/quickstart/state" --network-timeout 2s \
	run build/hello.json
