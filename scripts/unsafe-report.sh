#!/usr/bin/env bash
# Where `unsafe` lives: per Rust source of the modules, the `unsafe` blocks, `unsafe fn`s,
# `// SAFETY:` comments and `cfg(zs_*)` lines, and the count of unsafe blocks in
# zsmalloc_rs.ko outside its FFI layer (sys/ and the files of extern "C" shims).
# Usage: scripts/unsafe-report.sh [--max N]   (exit 1 if that count is above N)
set -euo pipefail
cd "$(dirname "$0")/.."

max=
[ "${1:-}" = --max ] && max=${2:?--max needs a number}

# The FFI layer of zsmalloc_rs.ko: the thin unsafe layer and the shim-only files.
ffi_layer='^(sys/.*|zs_api\.rs|zpool_glue\.rs|c_pool\.rs)$'

count() { grep -cE "$1" "$2" || true; }

printf '%-26s %6s %9s %7s %5s\n' file blocks unsafe_fn SAFETY cfg
outside=0
while read -r f; do
	blocks=$(count 'unsafe[[:space:]]*\{' "$f")
	fns=$(count 'unsafe (extern "C" )?fn ' "$f")
	safety=$(count '// SAFETY:' "$f")
	cfgs=$(count 'cfg!?\((not\(|all\(|any\()*zs_' "$f")
	printf '%-26s %6s %9s %7s %5s\n' "$f" "$blocks" "$fns" "$safety" "$cfgs"
	if ! [[ $f =~ $ffi_layer ]] && [[ $f != zs_compat.rs ]]; then
		outside=$((outside + blocks))
	fi
done < <(git ls-files '*.rs' | grep -vE '^(logic|guest-tools|bench|tests)/' | grep -v bindings_generated)
echo "unsafe blocks in zsmalloc_rs.ko outside its FFI layer (sys/, zs_api.rs, zpool_glue.rs, c_pool.rs): $outside"
if [ -n "$max" ] && [ "$outside" -gt "$max" ]; then
	echo "more than $max" >&2
	exit 1
fi
