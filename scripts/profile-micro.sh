#!/usr/bin/env bash
# Instruction profile of the microbenchmark, one allocator per boot (not a test). Under TCG
# the time of guest code is mostly its instruction count, so a count of executed guest
# instructions per function is a profile that the host's load does not disturb. QEMU's tbprof
# plugin (tools/tbprof) counts them per translation block; this script boots the bench kernel
# once for rust_zsmalloc and once for zsmalloc (scenario bench-profile), maps block addresses
# to symbols (System.map for the kernel, the guest's /proc/kallsyms for modules) and prints,
# per allocator, instructions per malloc / per map call by function, side by side.
# Knobs: ZS_BENCH_ROUNDS (2), ZS_BENCH_OBJECTS (16384), ZS_BENCH_RUN_MS (300), ZS_PROFILE_TOP (45),
# ZS_CHAIN_PAGES (rust_zsmalloc's chain_pages parameter; unset: the module's default).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZS_REPO"
export ZS_BENCH_ROUNDS=${ZS_BENCH_ROUNDS:-2} ZS_BENCH_RUN_MS=${ZS_BENCH_RUN_MS:-300}
bash scripts/setup-host.sh
bash scripts/build-kernel.sh bench
kdir=$(zs_kernel_dir bench)
src=$ZS_BUILD/bench-src
out=$ZS_BUILD/profile
mkdir -p "$src" "$out"
step "profile: build the tbprof plugin"
run_logged "$out/plugin.log" "building tools/tbprof failed (needs gcc)" \
	gcc -O2 -shared -fPIC -fvisibility=hidden -o "$out/tbprof.so" tools/tbprof/tbprof.c -lpthread
step "profile: build modules against the bench kernel"
build_bench_modules "$out/modules.log"
for only in 1 2; do
	name=profile-$only
	step "profile: boot $only/2 (bench_only=$only)"
	ZS_BENCH_ONLY=$only ZS_QEMU_EXTRA="-plugin $out/tbprof.so,out=$out/blocks-$only.txt" ZS_MODULE_DIR=$src \
		bash scripts/run-guest.sh --flavour bench --name "$name" --timeout 1200 bench-profile
	grep -q "ZS-RESULT bench-profile pass" "$ZS_BUILD/guest/$name/console.log" ||
		die "the profiling boot failed: $ZS_BUILD/guest/$name/console.log"
	[ -s "$out/blocks-$only.txt" ] || die "the plugin wrote no profile ($out/blocks-$only.txt; see $ZS_BUILD/guest/$name/qemu.log)"
done
step "profile: report"
python3 scripts/profile-report.py "$kdir/System.map" "$ZS_BUILD/guest/profile-1/console.log" "$out/blocks-1.txt" \
	"$ZS_BUILD/guest/profile-2/console.log" "$out/blocks-2.txt" "${ZS_PROFILE_TOP:-45}" | tee "$out/report.txt"
step "profile: done ($out/report.txt)"
