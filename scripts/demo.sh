#!/usr/bin/env bash
# The demo: set up, build, boot the guest, and show rust_zsmalloc serving zswap under memory
# pressure and zram (ext2 on it), with their stats.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZS_REPO"
bash scripts/setup-host.sh
bash scripts/build-kernel.sh debug
step "build: kernel modules and the guest test program"
run_logged "$ZS_BUILD/logs/modules.log" "module build failed" make modules
run_logged "$ZS_BUILD/logs/guest-tools.log" "building guest-tools failed" bash -c 'cd guest-tools && cargo build --release'
bash scripts/run-guest.sh --name demo demo-zswap
log=$ZS_BUILD/guest/demo/console.log
grep -E 'DEMO:|zsmalloc_rs: loaded' "$log" | sed -E 's/^\[ *[0-9.]+\] //; s/^DEMO: ?//'
verdict=$(python3 scripts/check-console.py "$log" demo-zswap) || {
	grep FAIL <<<"$verdict"
	die "the demo did not run cleanly (console: $log)"
}
# The closing lines: compression ratio and pages saved, for zswap and for zram.
summary=$(sed -n -E 's/^(\[ *[0-9.]+\] )?DEMO-SUMMARY: //p' "$log")
[ "$(grep -c . <<<"$summary")" = 2 ] || die "the demo printed no zswap and zram summary (console: $log)"
echo "$summary"
step "demo: done (console: $log)"
