#!/usr/bin/env bash
# Boot the test guest under QEMU (TCG) with the built modules and run guest scenarios.
# Usage: scripts/run-guest.sh [--flavour debug|bench] [--timeout SECS] [--scenario-timeout SECS]
#                             [--name RUN] [--append 'KERNEL ARGS'] [--modules-install] SCENARIO...
# --timeout bounds the whole QEMU run. /init ends a scenario that runs out of its time,
# reporting what its processes were doing, and goes on with the next one: each scenario has
# --timeout minus 60 s from its start, or, with --scenario-timeout, that many seconds and
# nothing past a deadline 60 s before --timeout (guest uptime), so that one hung scenario does
# not cost the later ones their run.
# The console goes to build/guest/<RUN>/console.log; check it with scripts/check-console.py.
# --append adds kernel command-line arguments (e.g. zswap.zpool=rust_zsmalloc).
# ZS_QEMU_EXTRA adds QEMU arguments (scripts/profile-micro.sh loads its plugin with it).
# ZS_GUEST_CPU is QEMU's -cpu model (default in scripts/lib.sh: max without fast strings).
# --modules-install gives the guest an installed module tree, as on a real system: the kernel's
# modules and this project's (`make install` into build/, which runs depmod: modules.dep,
# modules.alias) in /lib/modules/<release>/, and /sbin/modprobe (busybox) for the kernel's
# usermode helper, present from the first instruction of the boot (before /init).
# Needs: scripts/build-kernel.sh <flavour> and `make` done (scripts/test.sh does both).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=debug
timeout_s=900
scenario_timeout=
name=
extra_append=
modules_install=0
while [ $# -gt 0 ]; do
	case "$1" in
	--append) extra_append=$2; shift 2 ;;
	--modules-install) modules_install=1; shift ;;
	--no-modules-install) modules_install=0; shift ;;
	--flavour) flavour=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--scenario-timeout) scenario_timeout=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || die "usage: run-guest.sh [--flavour F] [--timeout S] [--scenario-timeout S] [--name RUN] SCENARIO..."
case "$timeout_s$scenario_timeout" in *[!0-9]*) die "--timeout and --scenario-timeout take whole seconds" ;; esac
[ "$timeout_s" -gt 60 ] || die "--timeout $timeout_s: give the guest more than 60 s (kept for the end of the run)"
# The deadline leaves room for boot skew, a timeout report, the cleanup and power-off before
# the host's timeout. Without --scenario-timeout (a run of one scenario: the mutation matrix,
# the bench), a scenario's time does not depend on how long the boot took.
deadline_arg=
if [ -n "$scenario_timeout" ]; then
	deadline_arg=" zs.guest_deadline=$((timeout_s - 60))"
else
	scenario_timeout=$((timeout_s - 60))
fi
scenarios=$(IFS=,; echo "$*")
name=${name:-$flavour}

kdir=$(zs_kernel_dir "$flavour")
[ -f "$kdir/.built" ] || die "no $flavour kernel at $kdir: run scripts/build-kernel.sh $flavour"
run=$ZS_BUILD/guest/$name
rm -rf "$run"
mkdir -p "$run"

# The installed module tree: the kernel's modules laid out as its modules_install does
# (kernel/<path>.ko, modules.order, modules.builtin*), then `make install` for ours, whose
# depmod indexes the whole tree. Debug info is stripped (INSTALL_MOD_STRIP) to keep it small.
modroot=$run/modroot
if [ "$modules_install" = 1 ]; then
	kver=$(cat "$kdir/include/config/kernel.release")
	moddir=$modroot/lib/modules/$kver
	mkdir -p "$moddir/kernel"
	sed 's:^\(.*\)\.o$:\1.ko:' "$kdir/modules.order" | while read -r ko; do
		mkdir -p "$moddir/kernel/$(dirname "$ko")"
		"llvm-strip$ZS_LLVM" --strip-debug -o "$moddir/kernel/$ko" "$kdir/$ko"
	done
	sed 's:^\(.*\)\.o$:kernel/\1.ko:' "$kdir/modules.order" >"$moddir/modules.order"
	cp "$kdir/modules.builtin" "$kdir/modules.builtin.modinfo" "$moddir/"
	run_logged "$run/modules-install.log" "make install into $modroot failed" \
		make -C "${ZS_MODULE_DIR:-$ZS_REPO}" install KDIR="$kdir" INSTALL_MOD_PATH="$modroot" INSTALL_MOD_STRIP=1
	grep -q "^alias zpool-rust_zsmalloc zsmalloc_rs$" "$moddir/modules.alias" ||
		die "depmod did not index the alias zpool-rust_zsmalloc (see $run/modules-install.log)"
fi

# Initramfs from a gen_init_cpio list: no root rights or device nodes needed on the host.
list=$run/initramfs.list
{
	echo "dir /bin 0755 0 0"
	for d in dev proc sys tmp mnt lib lib/modules tests; do echo "dir /$d 0755 0 0"; done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /bin/busybox /bin/busybox 0755 0 0"
	echo "file /init $ZS_REPO/tests/guest/init 0755 0 0"
	for f in "$ZS_REPO"/tests/guest/*.sh; do echo "file /tests/${f##*/} $f 0644 0 0"; done
	for ko in "${ZS_MODULE_DIR:-$ZS_REPO}"/*.ko "$kdir"/mm/zsmalloc.ko "$kdir"/mm/z3fold.ko "$kdir"/drivers/block/zram/zram.ko; do
		[ -f "$ko" ] || die "$ko missing: build the modules (make) and the kernel"
		echo "file /lib/modules/${ko##*/} $ko 0644 0 0"
	done
	if [ "$modules_install" = 1 ]; then
		echo "dir /sbin 0755 0 0"
		echo "slink /sbin/modprobe /bin/busybox 0777 0 0"
		(cd "$modroot" && find lib/modules -mindepth 1) | sort | while read -r f; do
			if [ -d "$modroot/$f" ]; then
				echo "dir /$f 0755 0 0"
			else
				echo "file /$f $modroot/$f 0644 0 0"
			fi
		done
	fi
	tools=$ZS_REPO/guest-tools/target/x86_64-unknown-linux-gnu/release/zstest
	[ -x "$tools" ] && echo "file /bin/zstest $tools 0755 0 0"
} >"$list"
"$kdir/usr/gen_init_cpio" "$list" | gzip -1 >"$run/initramfs.cpio.gz"

# Swap on a virtio disk backed by a sparse file: swapped pages do not eat guest RAM.
truncate -s 1G "$run/swap.img"

# 512 MiB boot memory + a cold-plugged 512 MiB DIMM onlined as movable: offlining its
# blocks migrates every page in them (the deterministic way to force zspage migration).
# TCG on 2 shared cores is slow, not stuck: raise the stall detectors' thresholds.
append="console=ttyS0 panic=-1 loglevel=7 memhp_default_state=online_movable"
append+=" watchdog_thresh=30 rcupdate.rcu_cpu_stall_timeout=60"
append+="${extra_append:+ $extra_append}"
append+=" zs.guest_cpu=$ZS_GUEST_CPU zs.scenarios=$scenarios zs.scenario_timeout=$scenario_timeout$deadline_arg zs.bench_rounds=${ZS_BENCH_ROUNDS:-3} zs.bench_objects=${ZS_BENCH_OBJECTS:-16384} zs.bench_run_ms=${ZS_BENCH_RUN_MS:-1000} zs.bench_only=${ZS_BENCH_ONLY:-1}${ZS_CHAIN_PAGES:+ zs.chain_pages=$ZS_CHAIN_PAGES}"
step "guest: boot $flavour kernel (-cpu $ZS_GUEST_CPU), scenarios: $scenarios (timeout ${timeout_s}s)"
read -r -a qemu_extra <<<"${ZS_QEMU_EXTRA:-}"
set +e
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 "${qemu_extra[@]}" \
	-accel tcg,thread=multi -cpu "$ZS_GUEST_CPU" -smp 2 \
	-m 512M,slots=2,maxmem=2G \
	-object memory-backend-ram,id=mem1,size=512M -device pc-dimm,id=dimm1,memdev=mem1 \
	-kernel "$kdir/arch/x86/boot/bzImage" -initrd "$run/initramfs.cpio.gz" \
	-append "$append" \
	-drive "file=$run/swap.img,format=raw,if=virtio" \
	-display none -monitor none -serial "file:$run/console.log" \
	-no-reboot </dev/null >"$run/qemu.log" 2>&1
rc=$?
set -e
[ "$rc" = 124 ] && step "guest: TIMEOUT after ${timeout_s}s (console: $run/console.log)"
[ "$rc" != 0 ] && [ "$rc" != 124 ] && step "guest: qemu exited $rc (see $run/qemu.log)"
step "guest: done, console log $run/console.log"
