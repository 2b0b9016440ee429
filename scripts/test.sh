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
#   ZS_MUTANTS=0                   skip the mutation matrix (scripts/mutants.sh) of a full run
#   ZS_GUEST_TIMEOUT=SECS          bound the main guest run (default 2100; a boot of its own
#                                  for "# zs-boot:" scenarios: 300). It took 700-1120 s on
#                                  this 2-core TCG host, depending on the host's load
#   ZS_SCENARIO_TIMEOUT=SECS       bound each scenario of the main run (default 480, about
#                                  four times the longest one's usual time): one that does not
#                                  end fails with what it was doing, and the rest still run
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZS_REPO"

# Guest scenarios in the order they run (tests/guest/<name>.sh).
ALL_SCENARIOS=(kunit module-load zswap zram-swap zram-fs zram-recompress migrate cpu-hotplug
	rmmod-busy migrate-zswap fault-inject
	micro-smoke chain-pages zswap-boot zswap-boot-fallback zswap-modprobe zram-modprobe)
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

# The lock protocols under loom (logic/src/loom_models), and each loom mutant failing them.
step "host: loom models and mutants (scripts/loom.sh)"
bash scripts/loom.sh >>"$results" 2>"$logs/loom.stderr" ||
	echo "FAIL host:loom:script: scripts/loom.sh failed, see $logs/loom.stderr" >>"$results"

# The harness's own verdict: good synthetic logs pass, each kind of bad one fails.
step "host: harness self-test (checkers on synthetic logs)"
bash scripts/run-checker.sh harness-selftest "$results" python3 scripts/check-console-selftest.py

if [ -f guest-tools/Cargo.toml ]; then
	step "build: guest test program (static)"
	run_logged "$logs/guest-tools.log" "building guest-tools failed" \
		bash -c 'cd guest-tools && cargo build --release'
fi

# rustfmt, clippy and the unsafe budget (the gates the kernel has, on this project's code).
bash scripts/check-style.sh >>"$results"

step "build: kernel modules, every object recompiled${ZS_INJECT:+ (ZS_INJECT=$ZS_INJECT)}${ZS_MUTATE:+ (ZS_MUTATE=$ZS_MUTATE)}"
# Remove the module objects (not the kernel's, not the cargo crates'), so that every compiler
# and objtool/modpost speak again and the warning check judges the whole build.
find . \( -path ./build -o -path ./logic -o -path ./guest-tools -o -path ./.git \) -prune -o \
	-type f \( -name '*.o' -o -name '*.ko' \) -print0 | xargs -0 rm -f
run_logged "$logs/modules.log" "module build failed" make modules ZS_INJECT="${ZS_INJECT:-}" ZS_MUTATE="${ZS_MUTATE:-}"
bash scripts/run-checker.sh build-log "$results" python3 scripts/check-build-log.py "$logs/modules.log"

# As users install and read the module: make install + depmod, modinfo, rust-analyzer, DKMS.
bash scripts/test-install.sh >>"$results"

# A scenario whose file has a "# zs-boot: ARGS" line needs a boot of its own, with ARGS on the
# kernel command line and the modules installed in the guest (make install + depmod) unless
# it also says "# zs-modules: none"; scenarios with the same boot share it. The rest share the
# main boot ("test").
main=()
boot_keys=()
declare -A boots=()
for s in "${scenarios[@]}"; do
	args=$(sed -n 's/^# zs-boot: //p' "tests/guest/$s.sh" 2>/dev/null | head -n 1) || true
	if [ -z "$args" ]; then main+=("$s"); continue; fi
	install=--modules-install
	grep -qx "# zs-modules: none" "tests/guest/$s.sh" && install=--no-modules-install
	key="$install $args"
	[ -n "${boots[$key]:-}" ] || boot_keys+=("$key")
	boots[$key]+=" $s"
done
rm -rf "$ZS_BUILD"/guest/test-*
# The Rust cfgs the KUnit module was built with decide which #[cfg] cases it declares (Kbuild).
cfgs=(--cfg zs_kunit)
[ -n "${ZS_INJECT:-}" ] && cfgs+=(--cfg "zs_inject_${ZS_INJECT//-/_}")
[ -n "${ZS_MUTATE:-}" ] && cfgs+=(--cfg "zs_mutate_$ZS_MUTATE")
if [ ${#main[@]} -gt 0 ]; then
	bash scripts/run-guest.sh --name test --timeout "${ZS_GUEST_TIMEOUT:-2100}" \
		--scenario-timeout "${ZS_SCENARIO_TIMEOUT:-480}" "${main[@]}"
	step "check: console log"
	bash scripts/run-checker.sh check-console "$results" \
		python3 scripts/check-console.py "${cfgs[@]}" "$ZS_BUILD/guest/test/console.log" "${main[@]}"
fi
for key in "${boot_keys[@]}"; do
	read -r -a group <<<"${boots[$key]}"
	run=test-${group[0]}
	bash scripts/run-guest.sh --name "$run" --timeout 300 --append "${key#* }" "${key%% *}" "${group[@]}"
	# The run checks are per boot: guest:<run>:reached-end, guest:<run>:no-kernel-splat, ...
	boot_results=$logs/$run.results
	: >"$boot_results"
	bash scripts/run-checker.sh "check-console-$run" "$boot_results" \
		python3 scripts/check-console.py "${cfgs[@]}" "$ZS_BUILD/guest/$run/console.log" "${group[@]}"
	sed -E "s/ guest:(reached-end|no-kernel-splat|no-module-warning)/ guest:$run:\1/" "$boot_results" >>"$results"
done

# The mutation matrix (make mutants): the seed race tests must still fail without their
# guards. Part of the full run (CI); skipped for targeted runs (ZS_SCENARIOS, ZS_MUTATE,
# ZS_INJECT) or with ZS_MUTANTS=0.
if [ "${ZS_MUTANTS:-1}" = 1 ] && [ -z "${ZS_SCENARIOS:-}${ZS_MUTATE:-}${ZS_INJECT:-}" ]; then
	step "mutants: the seed race tests without their guards"
	if ! bash scripts/mutants.sh >"$logs/mutants.log" 2>&1; then
		grep -q '^FAIL mutants:' "$ZS_BUILD/mutants/results.txt" 2>/dev/null ||
			echo "FAIL mutants: scripts/mutants.sh failed, see $logs/mutants.log" >>"$results"
	fi
	grep -E '^(PASS|FAIL) mutants:' "$ZS_BUILD/mutants/results.txt" >>"$results" 2>/dev/null ||
		echo "FAIL mutants: no result, see $logs/mutants.log" >>"$results"
fi

cat "$results"
passed=$(grep -c '^PASS' "$results" || true)
failed=$(grep -c '^FAIL' "$results" || true)
skipped=$(grep -c '^SKIP' "$results" || true)
step "test: done (console: $ZS_BUILD/guest/test/console.log, logs: $logs)"
if [ "$failed" -gt 0 ]; then
	# The next run overwrites build/guest/test: keep this failure's evidence.
	kept="$ZS_BUILD/failed/$(date +%Y%m%d-%H%M%S)"
	mkdir -p "$kept"
	cp "$results" "$ZS_BUILD"/*.std{out,err} "$logs"/*.std{out,err} "$kept/" 2>/dev/null || true
	for log in "$ZS_BUILD"/guest/test*/console.log; do
		if [ -f "$log" ]; then cp "$log" "$kept/$(basename "$(dirname "$log")")-console.log"; fi
	done
	step "test: failure kept in $kept"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
