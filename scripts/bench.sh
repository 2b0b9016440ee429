#!/usr/bin/env bash
# Benchmarks (not tests): builds the `bench` kernel flavour (no debug options) and the
# modules against it (in a copy of the sources, so the debug build in the tree is left
# alone), boots one guest and runs, in that boot:
#   bench-micro  the microbenchmark module (bench/): rust_zsmalloc against upstream zsmalloc on
#                one deterministic trace, rounds in ABBA order: density (before and after the
#                RCU grace period, slab growth per cache), throughput and latency percentiles;
#   bench-zswap  the zswap workload on every backend (rust_zsmalloc, zsmalloc, zbud, z3fold),
#                the order rotated every round, time without the workload's fixed hold;
# then writes build/bench/results.md, build/bench/micro-ratios.svg and
# build/bench/zswap-density.svg, and prints the tables.
# Knobs: ZS_BENCH_ROUNDS (6; even, so that each allocator goes first equally often),
# ZS_BENCH_OBJECTS (16384), ZS_BENCH_RUN_MS (1000),
# ZS_BENCH_SCENARIOS ("bench-micro bench-zswap": run only some), ZS_CHAIN_PAGES (rust_zsmalloc's
# chain_pages parameter, 4..16; unset: the module's default; upstream zsmalloc keeps its
# compiled 8), ZS_GUEST_CPU (QEMU's -cpu; default max without fsrm, fsrs and erms: lib.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZS_REPO"
ZS_BENCH_ROUNDS=${ZS_BENCH_ROUNDS:-6}
case $ZS_BENCH_ROUNDS in
'' | *[!0-9]* | 0) die "ZS_BENCH_ROUNDS=$ZS_BENCH_ROUNDS: want a positive even number of rounds" ;;
esac
[ $((ZS_BENCH_ROUNDS % 2)) = 0 ] ||
	die "ZS_BENCH_ROUNDS=$ZS_BENCH_ROUNDS is odd: the rounds run in ABBA order, so each allocator goes first equally often only over an even number (try $((ZS_BENCH_ROUNDS + 1)))"
export ZS_BENCH_ROUNDS
if [ -n "${ZS_CHAIN_PAGES:-}" ]; then
	case $ZS_CHAIN_PAGES in
	4 | 5 | 6 | 7 | 8 | 9 | 1[0-6]) export ZS_CHAIN_PAGES ;;
	*) die "ZS_CHAIN_PAGES=$ZS_CHAIN_PAGES: want 4..16 (zsmalloc_rs.ko's chain_pages range)" ;;
	esac
fi
bash scripts/setup-host.sh
bash scripts/build-kernel.sh bench
src=$ZS_BUILD/bench-src
out=$ZS_BUILD/bench
mkdir -p "$src" "$out"
step "bench: build modules against the bench kernel"
build_bench_modules "$out/modules.log"
run_logged "$out/guest-tools.log" "building guest-tools failed" bash -c 'cd guest-tools && cargo build --release'
# run-guest.sh takes the modules from the repo; point it at the bench build.
read -r -a scenarios <<<"${ZS_BENCH_SCENARIOS:-bench-micro bench-zswap}"
step "bench: one guest, $ZS_BENCH_ROUNDS rounds, rust_zsmalloc chain_pages=${ZS_CHAIN_PAGES:-default}: ${scenarios[*]}"
ZS_MODULE_DIR=$src bash scripts/run-guest.sh --flavour bench --name bench --timeout 2400 "${scenarios[@]}"
for scenario in "${scenarios[@]}"; do
	grep -q "ZS-RESULT $scenario pass" "$ZS_BUILD/guest/bench/console.log" || die "$scenario failed: $ZS_BUILD/guest/bench/console.log"
done
step "bench: report"
python3 scripts/bench-report.py "$ZS_BUILD/guest/bench/console.log" "$out"
if grep -q 'Slab cache still has objects' "$ZS_BUILD/guest/bench/console.log"; then
	step "note: z3fold's own WARN (Slab cache still has objects) seen when zswap switched away from it"
fi
step "bench: done ($out/results.md, $out/micro-ratios.svg, $out/zswap-density.svg)"
