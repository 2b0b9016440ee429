#!/usr/bin/env bash
# Build the Rust-enabled 6.12 test kernel of one flavour (debug | bench), cached outside the
# repo under $ZS_CACHE/kernel/<version>-<flavour>-<hash>, keyed by kernel version, config
# fragments and toolchain versions. A second run with the same key reuses the build.
# Usage: scripts/build-kernel.sh [debug|bench]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-debug}
case "$flavour" in debug | bench) ;; *) die "unknown flavour '$flavour' (debug or bench)" ;; esac

tarball=$(zs_kernel_source_tarball)
[ -f "$tarball" ] || die "$tarball missing: run scripts/setup-host.sh"
debver=$(dpkg-query -W -f='${Version}' linux-source-$ZS_KVER_SERIES)

src=$ZS_CACHE/src/linux-$debver
if [ ! -f "$src/.unpacked" ]; then
	step "kernel: unpack linux-source $debver"
	rm -rf "$src" "$ZS_CACHE/src/linux-source-$ZS_KVER_SERIES"
	mkdir -p "$ZS_CACHE/src"
	tar -C "$ZS_CACHE/src" -xf "$tarball"
	mv "$ZS_CACHE/src/linux-source-$ZS_KVER_SERIES" "$src"
	touch "$src/.unpacked"
fi
kver=$(make -s -C "$src" kernelversion)

fragments=("$ZS_REPO/kernel/common.config")
[ "$flavour" = debug ] && fragments+=("$ZS_REPO/kernel/debug.config")
[ "$flavour" = bench ] && fragments+=("$ZS_REPO/kernel/bench.config")

key=$({
	echo "$debver"
	cat "${fragments[@]}"
	rustc --version
	clang$ZS_LLVM --version | head -1
	"$ZS_BINDGEN" --version
} | sha256sum | cut -c1-12)
out=$ZS_CACHE/kernel/$kver-$flavour-$key
link=$(zs_kernel_dir "$flavour")

if [ -f "$out/.built" ]; then
	ln -sfn "$out" "$link"
	step "kernel: $flavour $kver cached at $out"
	exit 0
fi

# shellcheck disable=SC2046
kmake() { make -C "$src" O="$out" $(zs_kmake_args) "$@"; }

mkdir -p "$out"
step "kernel: configure $flavour $kver (tinyconfig + ${fragments[*]##*/})"
run_logged "$out/config.log" "rustc/bindgen/rust-src not usable by the kernel: run scripts/setup-host.sh" \
	kmake rustavailable
run_logged "$out/config.log" "tinyconfig failed" kmake tinyconfig
run_logged "$out/config.log" "merging config fragments failed" \
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${fragments[@]}"
run_logged "$out/config.log" "olddefconfig failed" kmake olddefconfig

# Every option asked for must really be in .config: Kconfig drops unmet ones silently.
missing=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$out/.config" || missing+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$out/.config" || echo absent))")
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		grep -qE "^$opt=" "$out/.config" && missing+=("$line (got: $(grep -E "^$opt=" "$out/.config"))")
		;;
	esac
done < <(cat "${fragments[@]}" | awk '{ k = $0; sub(/=.*/, "", k); sub(/^# /, "", k); sub(/ is not set$/, "", k); last[k] = $0; order[k] = NR } END { for (k in last) print last[k] }')
if [ ${#missing[@]} -gt 0 ]; then
	printf '  not in .config: %s\n' "${missing[@]}" >&2
	die "kernel config lacks options it asked for: fix the dependencies in kernel/*.config"
fi
step "kernel: config verified ($(grep -c '^CONFIG_' "$out/.config") options set)"

step "kernel: build bzImage + modules (about 8 min cold on 2 cores; log: $out/build.log)"
run_logged "$out/build.log" "kernel build failed" kmake -j"$(($(nproc) + 1))" bzImage modules
touch "$out/.built"
ln -sfn "$out" "$link"
step "kernel: built $flavour $kver at $out"
