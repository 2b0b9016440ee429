#!/usr/bin/env bash
# The gates the kernel already has, on this project's sources; prints one PASS/FAIL line each
# (for scripts/test.sh):
#   build:rustfmt        every Rust source formatted as `.rustfmt.toml` (the kernel's) says
#   build:clippy         a CLIPPY=1 build of every module (the Rust objects rebuilt) has no
#                        clippy or rustc finding
#   build:unsafe-budget  at most 30 `unsafe` blocks in zsmalloc_rs.ko outside its FFI layer
#                        (scripts/unsafe-report.sh)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZS_REPO"
logs=$ZS_BUILD/logs
mkdir -p "$logs"

step "gates: rustfmt --check" >&2
mapfile -t module_sources < <(git ls-files '*.rs' | grep -vE '^(logic|guest-tools)/')
fmt_ok=1
rustfmt --check --config-path .rustfmt.toml "${module_sources[@]}" >"$logs/rustfmt.log" 2>&1 || fmt_ok=0
for crate in logic guest-tools; do
	(cd "$crate" && cargo fmt --check) >>"$logs/rustfmt.log" 2>&1 || fmt_ok=0
done
if [ "$fmt_ok" = 1 ]; then
	echo "PASS build:rustfmt"
else
	echo "FAIL build:rustfmt: $(grep -c '^Diff in' "$logs/rustfmt.log") hunks, see $logs/rustfmt.log (fix: rustfmt --config-path .rustfmt.toml FILE)"
fi

step "gates: CLIPPY=1 build of every module" >&2
# Touching the crate roots makes Kbuild recompile every Rust object under clippy-driver.
touch rust_zsmalloc.rs zs_compat.rs tests/kunit.rs bench/zs_bench.rs
if ! make modules CLIPPY=1 ZS_INJECT="${ZS_INJECT:-}" ZS_MUTATE="${ZS_MUTATE:-}" >"$logs/clippy.log" 2>&1; then
	echo "FAIL build:clippy: the build failed, see $logs/clippy.log"
elif grep -qE '^(warning|error)(\[|:)' "$logs/clippy.log"; then
	echo "FAIL build:clippy: $(grep -cE '^(warning|error)(\[|:)' "$logs/clippy.log") findings, see $logs/clippy.log"
else
	echo "PASS build:clippy"
fi

if report=$(bash scripts/unsafe-report.sh --max 30 2>&1); then
	echo "PASS build:unsafe-budget: ${report##*: } blocks outside the FFI layer (max 30)"
else
	echo "FAIL build:unsafe-budget: $(tail -n 2 <<<"$report" | head -n 1)"
fi
