#!/usr/bin/env bash
# The test command: host tests (cargo test) and guest tests (KUnit + scenarios in QEMU on
# the debug kernel). Prints one line per test and ends with "N passed, N failed".
# Exits non-zero on any failure. Set up and builds everything it needs first (cached).
#
# Environment:
#   ZS_INJECT=kunit-fail|warning   build the KUnit module with an injected failure
#                                  (shows that the harness fails; never set in CI)
#   ZS_MUTATE=<guard>              build the KUnit module with one seed-race guard removed
#                                  (tests/README.md; never set in CI)
#   ZS_SCENARIOS="a b"             run only these guest scenarios
#   ZS_GUEST_TIMEOUT=SECS          bound the guest run (default 900)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZS_REPO"

# Guest scenarios in the order they run (tests/guest/<name>.sh).
ALL_SCENARIOS=(kunit module-load zswap zram-swap zram-fs zram-recompress migrate micro-smoke)
read -r -a scenarios <<<"${ZS_SCENARIOS:-${ALL_SCENARIOS[*]}}"

logs=$ZS_BUILD/logs
mkdir -p "$logs"
results=$ZS_BUILD/results.txt
: >"$results"

step "setup: host packages and tools"
bash scripts/setup-host.sh
bash scripts/build-kernel.sh debug

# Host tests: every cargo crate in the tree; each test case counts.
for crate in logic guest-tools; do
	[ -f "$crate/Cargo.toml" ] || continue
	step "host: cargo test ($crate)"
	# Test scratch files stay in the build directory (std::env::temp_dir follows TMPDIR).
	mkdir -p "$ZS_BUILD/tmp"
	(cd "$crate" && TMPDIR=$ZS_BUILD/tmp cargo test) >"$logs/cargo-test-$crate.log" 2>&1 || true
	# "test foo::bar ... ok" / "... FAILED" lines are the cases.
	sed -n -E 's/^test (.+) \.\.\. (ok|FAILED|ignored)$/\2 \1/p' "$logs/cargo-test-$crate.log" |
		while read -r verdict name; do
			case "$verdict" in
			ok) echo "PASS host:$crate:$name" ;;
			ignored) echo "SKIP host:$crate:$name: ignored" ;;
			*) echo "FAIL host:$crate:$name: see $logs/cargo-test-$crate.log" ;;
			esac
		done >>"$results"
	if ! grep -q '^test result: ok' "$logs/cargo-test-$crate.log" || grep -q '^test result: FAILED\|^error' "$logs/cargo-test-$crate.log"; then
		grep -q "^FAIL host:$crate:" "$results" ||
			echo "FAIL host:$crate:build: cargo test did not run cleanly, see $logs/cargo-test-$crate.log" >>"$results"
	fi
done

# The harness's own verdict: good synthetic logs pass, each kind of bad one fails.
step "host: harness self-test (checkers on synthetic logs)"
bash scripts/run-checker.sh harness-selftest "$results" python3 scripts/check-console-selftest.py

if [ -f guest-tools/Cargo.toml ]; then
	step "build: guest test program (static)"
	run_logged "$logs/guest-tools.log" "building guest-tools failed" \
		bash -c 'cd guest-tools && cargo build --release'
fi

step "build: kernel modules, every object recompiled${ZS_INJECT:+ (ZS_INJECT=$ZS_INJECT)}${ZS_MUTATE:+ (ZS_MUTATE=$ZS_MUTATE)}"
# Remove the module objects (not the kernel's, not the cargo crates'), so that every compiler
# and objtool/modpost speak again and the warning check judges the whole build.
find . \( -path ./build -o -path ./logic -o -path ./guest-tools -o -path ./.git \) -prune -o \
	-type f \( -name '*.o' -o -name '*.ko' \) -print0 | xargs -0 rm -f
run_logged "$logs/modules.log" "module build failed" make modules ZS_INJECT="${ZS_INJECT:-}" ZS_MUTATE="${ZS_MUTATE:-}"
bash scripts/run-checker.sh build-log "$results" python3 scripts/check-build-log.py "$logs/modules.log"

bash scripts/run-guest.sh --name test --timeout "${ZS_GUEST_TIMEOUT:-900}" "${scenarios[@]}"
# The Rust cfgs the KUnit module was built with decide which #[cfg] cases it declares (Kbuild).
cfgs=(--cfg zs_kunit)
[ -n "${ZS_INJECT:-}" ] && cfgs+=(--cfg "zs_inject_${ZS_INJECT//-/_}")
[ -n "${ZS_MUTATE:-}" ] && cfgs+=(--cfg "zs_mutate_$ZS_MUTATE")
step "check: console log"
bash scripts/run-checker.sh check-console "$results" \
	python3 scripts/check-console.py "${cfgs[@]}" "$ZS_BUILD/guest/test/console.log" "${scenarios[@]}"

cat "$results"
passed=$(grep -c '^PASS' "$results" || true)
failed=$(grep -c '^FAIL' "$results" || true)
skipped=$(grep -c '^SKIP' "$results" || true)
step "test: done (console: $ZS_BUILD/guest/test/console.log, logs: $logs)"
if [ "$failed" -gt 0 ]; then
	# The next run overwrites build/guest/test: keep this failure's evidence.
	kept="$ZS_BUILD/failed/$(date +%Y%m%d-%H%M%S)"
	mkdir -p "$kept"
	cp "$ZS_BUILD/guest/test/console.log" "$results" "$ZS_BUILD"/*.std{out,err} "$kept/" 2>/dev/null || true
	step "test: failure kept in $kept"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
