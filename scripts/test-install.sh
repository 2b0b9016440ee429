#!/usr/bin/env bash
# Host checks of the module as users install and read it, against the cached debug kernel:
#   install:make-install    `make install` into build/install: modules_install + depmod,
#                           modules.alias maps zpool-rust_zsmalloc, modprobe resolves it
#   install:modinfo         every built .ko shows description, license, and a description
#                           for each parameter; zsmalloc_rs.ko its alias
#   install:rust-analyzer   `make rust-analyzer` writes valid JSON naming every crate root
#   install:dkms-build      `dkms add` + `dkms build` (Debian's dkms) for the cached kernel,
#                           all of its state under build/dkms
# Prints one "PASS name" / "FAIL name: why" line per check on stdout (progress on stderr);
# the details of a failure are in build/logs/install-<check>.log.
# Needs: scripts/build-kernel.sh debug and `make` done (scripts/test.sh does both).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZS_REPO"

kdir=$(zs_kernel_dir debug)
[ -f "$kdir/.built" ] || die "no debug kernel at $kdir: run scripts/build-kernel.sh debug"
kver=$(cat "$kdir/include/config/kernel.release")
logs=$ZS_BUILD/logs
mkdir -p "$logs"

# check NAME: run check_NAME with its output in a log; its last line says why it failed.
check() {
	local log=$logs/install-$1.log
	step "host: $1" >&2
	if (set -euo pipefail; "check_${1//-/_}") >"$log" 2>&1; then
		echo "PASS install:$1"
	else
		echo "FAIL install:$1: $(tail -n 1 "$log") (log: $log)"
	fi
}

# fail WHY: end a check with the reason as its last line.
fail() {
	echo "$*"
	exit 1
}

check_make_install() {
	local root=$ZS_BUILD/install
	rm -rf "$root"
	make install KDIR="$kdir" INSTALL_MOD_PATH="$root"
	local dir=$root/lib/modules/$kver
	for m in zsmalloc_rs zsmalloc_rs_compat; do
		[ -f "$dir/updates/$m.ko" ] || fail "$dir/updates/$m.ko not installed"
	done
	grep -qx "alias zpool-rust_zsmalloc zsmalloc_rs" "$dir/modules.alias" ||
		fail "modules.alias lacks 'alias zpool-rust_zsmalloc zsmalloc_rs'"
	grep -qx "updates/zsmalloc_rs_compat.ko: updates/zsmalloc_rs.ko" "$dir/modules.dep" ||
		fail "modules.dep lacks 'updates/zsmalloc_rs_compat.ko: updates/zsmalloc_rs.ko'"
	# What zswap's request_module("zpool-rust_zsmalloc") resolves to, by the host's kmod.
	local resolved
	resolved=$(modprobe -d "$root" -S "$kver" --resolve-alias zpool-rust_zsmalloc)
	[ "$resolved" = zsmalloc_rs ] || fail "modprobe resolves zpool-rust_zsmalloc to '$resolved'"
	modprobe -d "$root" -S "$kver" --show-depends zsmalloc_rs_compat
}

check_modinfo() {
	local ko field value parms
	for ko in *.ko; do
		for field in description license; do
			value=$(modinfo -F "$field" "$ko")
			echo "$ko $field: $value"
			[ -n "$value" ] || fail "$ko has no $field"
		done
		# "name:description (type)"; a parameter without a description shows "name: (type)".
		parms=$(modinfo -F parm "$ko")
		[ -z "$parms" ] || echo "$parms" | sed "s/^/$ko parm: /"
		if echo "$parms" | grep -E '^[^:]+:[[:space:]]*(\([a-z]+\))?$'; then
			fail "$ko has a parameter without a description"
		fi
	done
	value=$(modinfo -F alias zsmalloc_rs.ko)
	echo "zsmalloc_rs.ko alias: $value"
	[ "$value" = zpool-rust_zsmalloc ] || fail "zsmalloc_rs.ko alias is '$value', not zpool-rust_zsmalloc"
	expect_field() { [ "$(modinfo -F "$2" "$1")" = "$3" ] || fail "$1 $2 is not '$3'"; }
	expect_field zsmalloc_rs.ko license GPL
	expect_field zsmalloc_rs.ko vermagic "$(modinfo -F vermagic "$kdir/mm/zsmalloc.ko")"
}

check_rust_analyzer() {
	rm -f rust-project.json
	make rust-analyzer KDIR="$kdir"
	python3 - rust-project.json "$ZS_REPO" <<'PY'
import json, sys
project = json.load(open(sys.argv[1]))  # fails on invalid JSON
roots = {c["root_module"]: c for c in project["crates"]}
for rel in ("rust_zsmalloc.rs", "zs_compat.rs", "tests/kunit.rs", "bench/zs_bench.rs"):
    crate = roots.get(f"{sys.argv[2]}/{rel}")
    if crate is None:
        sys.exit(f"rust-project.json names no crate root {rel}")
    deps = {project["crates"][d["crate"]]["display_name"] for d in crate["deps"]}
    if "kernel" not in deps:
        sys.exit(f"crate {rel} does not depend on the kernel crate")
    print(f"crate {crate['display_name']}: {rel}, deps {sorted(deps)}")
if "zs_kunit" not in roots[f"{sys.argv[2]}/tests/kunit.rs"]["cfg"]:
    sys.exit("tests/kunit.rs lacks --cfg zs_kunit")
PY
}

check_dkms_build() {
	command -v dkms >/dev/null || fail "dkms not installed: run scripts/setup-host.sh"
	local top=$ZS_BUILD/dkms name version
	name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' dkms.conf)
	version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
	rm -rf "$top"
	# The source tree dkms copies from: what git tracks (and new files not ignored), no
	# build products.
	mkdir -p "$top/src/$name-$version" "$top/tree"
	git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - | tar -xf - -C "$top/src/$name-$version"
	# sign_file: a path that does not exist, so that dkms signs nothing and makes no key
	# under /var/lib/dkms (this kernel does not check module signatures).
	local dk=(--dkmstree "$top/tree" --sourcetree "$top/src")
	# The README's commands, with dkms's state under build/dkms.
	sign_file=$top/no-sign-file dkms add "$name/$version" "${dk[@]}"
	sign_file=$top/no-sign-file dkms build "$name/$version" -k "$kver" \
		--kernelsourcedir "$kdir" "${dk[@]}" ||
		{ cat "$top/tree/$name/$version/build/make.log" 2>/dev/null; fail "dkms build failed"; }
	dkms status -m "$name" "${dk[@]}"
	local m built
	for m in zsmalloc_rs zsmalloc_rs_compat; do
		built=$top/tree/$name/$version/$kver/x86_64/module/$m.ko
		[ -f "$built" ] || fail "dkms built no $m.ko ($built)"
		[ "$(modinfo -F vermagic "$built")" = "$(modinfo -F vermagic "$kdir/mm/zsmalloc.ko")" ] ||
			fail "$built was not built for $kver"
	done
}

# Usage: test-install.sh [CHECK...]   (default: all, in this order)
[ $# -gt 0 ] || set -- make-install modinfo rust-analyzer dkms-build
for c in "$@"; do check "$c"; done
