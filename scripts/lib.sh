# shellcheck shell=bash
# Common helpers for rust_zsmalloc scripts: progress lines, cache paths, failure messages.
# Sourced, not executed.

ZS_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZS_CACHE=${ZS_CACHE:-/var/cache/rust_zsmalloc}
ZS_BUILD=${ZS_BUILD:-$ZS_REPO/build}
ZS_START=${ZS_START:-$(date +%s)}
export ZS_START
# QEMU's -cpu for every guest: `max` without the fast-string features (FSRM, FSRS, ERMS), so that
# the kernel's memcpy, memset and clear_page are unrolled loops rather than `rep movsb`/`rep
# stosb`, which TCG emulates one byte at a time. Measured: the bench's copy of an object ~2.3 us
# instead of ~11 us, which is how hardware weighs it next to a malloc (BENCHMARKS.md, "Guest
# CPU"); the zswap test scenario 101-106 s instead of 108-120 s of guest time (alternating runs).
# Override with ZS_GUEST_CPU=max.
ZS_GUEST_CPU=${ZS_GUEST_CPU:-max,-fsrm,-fsrs,-erms}
export ZS_GUEST_CPU

# The kernel this project targets (Debian's linux-source-6.12 package).
ZS_KVER_SERIES=6.12
ZS_TOOLS=$ZS_CACHE/tools            # bindgen
ZS_BINDGEN=$ZS_TOOLS/bin/bindgen
ZS_BINDGEN_VERSION=0.71.1
ZS_LLVM=-19

# One progress line per stage: "[  12s] stage: message".
step() {
	printf '[%4ss] %s\n' "$(($(date +%s) - ZS_START))" "$*"
}

die() {
	printf '[%4ss] ERROR: %s\n' "$(($(date +%s) - ZS_START))" "$*" >&2
	exit 1
}

# Run a noisy command with its output in a log; on failure, show the tail and a hint.
run_logged() {
	local log=$1 hint=$2
	shift 2
	mkdir -p "$(dirname "$log")"
	if ! "$@" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "$hint (full log: $log)"
	fi
}

# The kernel version string of the unpacked source, e.g. 6.12.117.
zs_kernel_source_tarball() {
	echo /usr/src/linux-source-$ZS_KVER_SERIES.tar.xz
}

# rustup's toolchain lives in ~/.cargo/bin; CI's environment may not have it on PATH.
case ":$PATH:" in *":$HOME/.cargo/bin:"*) ;; *) [ -d "$HOME/.cargo/bin" ] && PATH=$HOME/.cargo/bin:$PATH ;; esac
export PATH

ZS_RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library

# Arguments every kernel and module make needs.
zs_kmake_args() {
	echo "LLVM=$ZS_LLVM ARCH=x86_64 BINDGEN=$ZS_BINDGEN RUST_LIB_SRC=$ZS_RUST_LIB_SRC"
}

# The built kernel tree of a flavour (a symlink maintained by build-kernel.sh).
zs_kernel_dir() {
	echo "$ZS_CACHE/kernel/${1:-debug}"
}

# build_bench_modules LOG: builds the modules against the bench kernel flavour in a copy of the
# sources, $ZS_BUILD/bench-src (the ZS_MODULE_DIR for run-guest.sh), so that the debug build in
# the tree is left alone. The copy leaves out the debug build's products (.gitignore) and keeps
# its own from the last bench build, so only what changed is rebuilt. (scripts/bench.sh,
# scripts/profile-micro.sh)
build_bench_modules() {
	local log=$1 src=$ZS_BUILD/bench-src
	mkdir -p "$src"
	rsync -a --delete --filter=':- .gitignore' --exclude .git ./ "$src/"
	run_logged "$log" "module build against the bench kernel failed" \
		make -C "$src" modules KDIR="$(zs_kernel_dir bench)"
}
