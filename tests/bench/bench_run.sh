#!/bin/bash
# bench_run.sh: the driver's own overhead on a task that exits at once.
#
#   bench_run.sh DRIVER RKT ACI [PAIRS]
#
# Alternates, PAIRS times (default 20), `rkt-driver run` of a task running
# /bin/true with the same `rkt prepare` + `rkt run-prepared` + `rkt rm` done by
# this shell, and prints both medians, the median of the per-pair differences
# (what the driver adds) and the median of the per-pair ratios. RKT may be the
# simulator or a real rkt (e.g. /tmp/rktwork/rkt; RKTD_BENCH_RKT overrides it,
# for meson test --benchmark). It reports figures and
# fails only when a run fails.
set -u
DRIVER=$1 RKT=${RKTD_BENCH_RKT:-$2} ACI=$3 PAIRS=${4:-20}
W=$(mktemp -d /tmp/rktd-bench-run.XXXXXX)
trap 'rm -rf "$W"' EXIT
export RKT_SIM_DIR=$W/rkt
unset RKT_SIM_NETWORK RKT_SIM_FAIL
cat >"$W/true.json" <<JSON
{"name": "bench", "config": {"image": "$ACI", "command": "/bin/true", "net": ["host"]}}
JSON

now_us() { echo $(($(date +%s%N) / 1000)); }

driver_once() {
	"$DRIVER" --rkt "$RKT" --state-dir "$W/state" run "$W/true.json" >/dev/null 2>"$W/driver.err" ||
		{ echo "driver run failed:"; cat "$W/driver.err"; exit 1; }
}

bare_once() {
	local uuid
	uuid=$("$RKT" --insecure-options=image prepare "$ACI" --exec=/bin/true 2>"$W/bare.err") ||
		{ echo "rkt prepare failed:"; cat "$W/bare.err"; exit 1; }
	"$RKT" run-prepared --net=host "$uuid" >/dev/null 2>&1 || { echo "rkt run-prepared failed"; exit 1; }
	"$RKT" rm "$uuid" >/dev/null 2>&1 || { echo "rkt rm failed"; exit 1; }
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

driver_once # warm caches (the image is fetched into rkt's store once)
bare_once
: >"$W/d" && : >"$W/b" && : >"$W/diff" && : >"$W/ratio"
for ((i = 0; i < PAIRS; i++)); do
	# alternate which goes first, so a drift in load hits both alike
	for which in $( ((i % 2)) && echo "bare driver" || echo "driver bare"); do
		t0=$(now_us)
		"${which}_once"
		echo $(($(now_us) - t0)) >>"$W/${which:0:1}"
	done
	d=$(tail -1 "$W/d") b=$(tail -1 "$W/b")
	echo $((d - b)) >>"$W/diff"
	awk -v d="$d" -v b="$b" 'BEGIN {printf "%.4f\n", d / b}' >>"$W/ratio"
done
md=$(median <"$W/d") mb=$(median <"$W/b") mdiff=$(median <"$W/diff") mr=$(median <"$W/ratio")
printf 'rkt: %s (%s)\n' "$RKT" "$("$RKT" version 2>/dev/null | head -1)"
printf 'pairs: %d\n' "$PAIRS"
printf 'driver run, median:             %8.1f ms\n' "$(awk -v x="$md" 'BEGIN {print x / 1000}')"
printf 'bare prepare+run+rm, median:    %8.1f ms\n' "$(awk -v x="$mb" 'BEGIN {print x / 1000}')"
printf 'driver minus bare, median:      %8.1f ms\n' "$(awk -v x="$mdiff" 'BEGIN {print x / 1000}')"
printf 'driver / bare, median of pairs: %8.3f\n' "$mr"
