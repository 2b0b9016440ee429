#!/usr/bin/env bash
# Install everything the build and the guest need on a fresh Debian 12 machine.
# Idempotent: a second run only checks. Runs as root (CI does).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_root() {
	[ "$(id -u)" -eq 0 ] || die "setup-host.sh installs packages: run it as root"
}

APT_PACKAGES=(
	linux-source-6.12
	clang-19 lld-19 llvm-19 libclang-19-dev
	flex bison bc libelf-dev libssl-dev cpio lz4 zstd rsync kmod xz-utils make
	busybox-static
	dkms # the DKMS build test (scripts/test-install.sh)
	python3
)

apt_sources() {
	local changed=0
	if [ ! -f /etc/apt/sources.list.d/rust_zsmalloc-backports.sources ]; then
		cat >/etc/apt/sources.list.d/rust_zsmalloc-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		changed=1
	fi
	if [ ! -f /etc/apt/preferences.d/rust_zsmalloc-trixie ]; then
		# Nothing may be upgraded from trixie-backports by accident: only what we name.
		cat >/etc/apt/preferences.d/rust_zsmalloc-trixie <<'PIN'
Package: *
Pin: release n=trixie-backports
Pin-Priority: 1
PIN
		changed=1
	fi
	if [ "$changed" = 1 ] || [ ! -f /var/lib/apt/rust_zsmalloc-updated ]; then
		step "apt: update package lists"
		run_logged "$ZS_CACHE/logs/apt-update.log" "apt-get update failed: check network access to Debian's mirror" \
			apt-get update
		touch /var/lib/apt/rust_zsmalloc-updated
	fi
}

missing_packages() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"
	done
}

# The kernel's Rust build compiles core/alloc from source with rustc: the source must be
# rustc's own version exactly. trixie-backports serves several; pick the matching one.
install_matching_rust_src() {
	local rustc_ver=$1 have want
	have=$(dpkg-query -W -f='${Version}' rust-src 2>/dev/null || true)
	case "$have" in "$rustc_ver"+*) return 0 ;; esac
	need_root
	apt_sources
	want=$(apt-cache madison rust-src | awk -v v="$rustc_ver" '$3 ~ "^"v"[+]" {print $3; exit}')
	[ -n "$want" ] || die "no rust-src $rustc_ver in the apt sources (have: ${have:-none}): rustc and Debian's rust-src must match"
	step "apt: install rust-src=$want (matches rustc $rustc_ver)"
	run_logged "$ZS_CACHE/logs/apt-rust-src.log" "installing rust-src=$want failed" \
		apt-get install -y --no-install-recommends --allow-downgrades "rust-src=$want"
}

main() {
	mkdir -p "$ZS_CACHE/logs" 2>/dev/null || { need_root; mkdir -p "$ZS_CACHE/logs"; }
	local rustc_ver
	rustc_ver=$(rustc --version | awk '{print $2}') || die "rustc not found: the machine's rustup toolchain is required"

	local missing
	missing=$(missing_packages "${APT_PACKAGES[@]}" qemu-system-x86)
	if [ -n "$missing" ]; then
		need_root
		apt_sources
		step "apt: install $(echo "$missing" | tr '\n' ' ')"
		export DEBIAN_FRONTEND=noninteractive
		# shellcheck disable=SC2086
		run_logged "$ZS_CACHE/logs/apt-install.log" "apt-get install failed" \
			apt-get install -y --no-install-recommends $(missing_packages "${APT_PACKAGES[@]}")
		if [ -n "$(missing_packages qemu-system-x86)" ]; then
			# bookworm's QEMU 7.2 conflicts with the preinstalled backports qemu-utils.
			run_logged "$ZS_CACHE/logs/apt-qemu.log" "installing qemu-system-x86 from bookworm-backports failed" \
				apt-get install -y --no-install-recommends -t bookworm-backports qemu-system-x86
		fi
	fi
	install_matching_rust_src "$rustc_ver"
	step "apt: packages present"

	local src_ver
	src_ver=$(dpkg-query -W -f='${Version}' rust-src)
	case "$src_ver" in
	"$rustc_ver"+* | "$rustc_ver"-*) ;;
	*) die "rust-src $src_ver does not match rustc $rustc_ver: install the matching rust-src (trixie-backports)" ;;
	esac
	step "rust-src $src_ver matches rustc $rustc_ver"

	if [ ! -x "$ZS_BINDGEN" ] || ! "$ZS_BINDGEN" --version | grep -q "$ZS_BINDGEN_VERSION"; then
		step "bindgen: cargo install bindgen-cli $ZS_BINDGEN_VERSION (about 1.5 min)"
		run_logged "$ZS_CACHE/logs/bindgen-install.log" "cargo install bindgen-cli failed: crates.io must be reachable" \
			cargo install --locked bindgen-cli --version "$ZS_BINDGEN_VERSION" --root "$ZS_TOOLS"
	fi
	step "bindgen: $("$ZS_BINDGEN" --version)"
}

main "$@"
