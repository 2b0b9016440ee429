#!/usr/bin/env bash
# Benchmarks (not tests): builds the `bench` kernel flavour (no debug options) and the
# modules against it (in a copy of the sources, so the debug build in the tree is left
# alone), boots one guest and runs, in that boot:
#   bench-micro  the microbenchmark module (bench/): rust_zsmalloc against upstream zsmalloc on
#                one deterministic trace, alternating, density and throughput;
#   bench-zswap  the zswap workload on every backend (rust_zsmalloc, zsmalloc, zbud, z3fold),
#                alternating;
# then writes build/bench/results.md, build/bench/micro-ratios.svg and
# build/bench/zswap-density.svg, and prints the tables.
# Knobs: ZS_BENCH_ROUNDS (3), ZS_BENCH_OBJECTS (16384), ZS_BENCH_RUN_MS (1000),
# ZS_BENCH_SCENARIOS ("bench-micro bench-zswap": run only some).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZS_REPO"
bash scripts/setup-host.sh
bash scripts/build-kernel.sh bench
kdir=$(zs_kernel_dir bench)
src=$ZS_BUILD/bench-src
out=$ZS_BUILD/bench
mkdir -p "$src" "$out"
step "bench: build modules against the bench kernel"
# The copy leaves out the debug build's products (.gitignore), and keeps its own from the last
# bench build, so only what changed is rebuilt.
rsync -a --delete --filter=':- .gitignore' --exclude .git ./ "$src/"
run_logged "$out/modules.log" "module build against the bench kernel failed" make -C "$src" modules KDIR="$kdir"
run_logged "$out/guest-tools.log" "building guest-tools failed" bash -c 'cd guest-tools && cargo build --release'
# run-guest.sh takes the modules from the repo; point it at the bench build.
read -r -a scenarios <<<"${ZS_BENCH_SCENARIOS:-bench-micro bench-zswap}"
ZS_MODULE_DIR=$src bash scripts/run-guest.sh --flavour bench --name bench --timeout 2400 "${scenarios[@]}"
python3 scripts/bench-report.py "$ZS_BUILD/guest/bench/console.log" "$out"
for scenario in "${scenarios[@]}"; do
	grep -q "ZS-RESULT $scenario pass" "$ZS_BUILD/guest/bench/console.log" || die "$scenario failed: $ZS_BUILD/guest/bench/console.log"
done
if grep -q 'Slab cache still has objects' "$ZS_BUILD/guest/bench/console.log"; then
	step "note: z3fold's own WARN (Slab cache still has objects) seen when zswap switched away from it"
fi
step "bench: done ($out/results.md, $out/micro-ratios.svg, $out/zswap-density.svg)"
