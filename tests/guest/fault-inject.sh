# Allocation failures injected from outside the allocator: the kernel's own fault injection
# (fail_page_alloc and failslab), limited by its stack-trace filter to allocations made with
# a return address inside the allocator module's text (require-start/require-end), fails
# about one in five of the allocator's page and slab allocations while zswap and zram run on
# it. zswap falls back to the swap device for a page it cannot store (reject_alloc_fail);
# zram retries with GFP_NOIO (writestall), which the injection leaves alone (ignore-gfp-wait),
# so no write fails. Checked: failures were injected into both page and slab allocations,
# every byte comes back (zstest verifies zswap's 40 MiB and zram's 24 MiB of files), no
# splat (the host's console check), and nothing leaks: both pools, still there, drain to 0
# pages (nr_zspages, the page allocator's count, too) and the modules unload. Then the same
# run on upstream zsmalloc.ko, for comparison: one "fault-inject:" line each.
. /tests/lib.sh
FI=/sys/kernel/debug
TIMES=1000000

# text_range MODULE: "START END" around MODULE's resident text sections (.text, .text.*,
# .exit.text; .init.text is gone by now). The last section starts within its own
# page-aligned text mapping, which a vmalloc guard page follows: START..last+4096 holds no
# other module's code.
text_range() {
	first= last=
	for f in /sys/module/$1/sections/.text /sys/module/$1/sections/.text.* /sys/module/$1/sections/.exit.text; do
		[ -f "$f" ] || continue
		a=$(cat "$f")
		[ $((a)) -ne 0 ] || fail "$f reads 0 (kptr_restrict?)"
		{ [ -z "$first" ] || [ $((a)) -lt $((first)) ]; } && first=$a
		{ [ -z "$last" ] || [ $((a)) -gt $((last)) ]; } && last=$a
	done
	[ -n "$first" ] || fail "no text section of $1 in /sys/module/$1/sections"
	printf '%#x %#x\n' $((first)) $((last + 4096))
}

# inject_on MODULE PERCENT: fail PERCENT% of the page and slab allocations whose stack has a
# return address in MODULE's text. Allocations that may reclaim directly are left alone.
inject_on() {
	set -- "$1" "$2" $(text_range "$1")
	for d in $FI/fail_page_alloc $FI/failslab; do
		echo 0 >$d/probability
		echo 0 >$d/verbose
		echo 1 >$d/interval
		echo 0 >$d/space
		echo $TIMES >$d/times
		echo N >$d/task-filter
		echo Y >$d/ignore-gfp-wait
		echo 32 >$d/stacktrace-depth
		echo "$3" >$d/require-start
		echo "$4" >$d/require-end
	done
	# zswap and zram allocate zspage pages with __GFP_HIGHMEM | __GFP_MOVABLE.
	echo N >$FI/fail_page_alloc/ignore-gfp-highmem
	echo 0 >$FI/fail_page_alloc/min-order
	echo N >$FI/failslab/cache-filter
	echo "$1 text $3..$4: failing $2% of its page and slab allocations"
	echo "$2" >$FI/fail_page_alloc/probability
	echo "$2" >$FI/failslab/probability
}

# inject_off: stop injecting; sets PAGE_FAILS and SLAB_FAILS (failures injected).
inject_off() {
	echo 0 >$FI/fail_page_alloc/probability
	echo 0 >$FI/failslab/probability
	PAGE_FAILS=$((TIMES - $(cat $FI/fail_page_alloc/times)))
	SLAB_FAILS=$((TIMES - $(cat $FI/failslab/times)))
}

nr_zspages_zero() {
	[ "$(vmstat_zspages)" = 0 ]
}

# run_under_injection MODULE ZPOOL: zswap (zpool ZPOOL) and zram on MODULE, loaded by the
# caller, with MODULE's allocations failing; data verified, pools drained.
run_under_injection() {
	mod=$1 zpool=$2
	swap_on
	echo 1 >/sys/module/zswap/parameters/enabled
	echo "$zpool" >/sys/module/zswap/parameters/zpool
	expect_eq "zswap zpool" "$(cat /sys/module/zswap/parameters/zpool)" "$zpool"
	make_cgroup faultinj 24M
	zram_start_any 64M
	mke2fs -q -b 4096 /dev/zram0
	mount -t ext2 /dev/zram0 /mnt
	rejects_before=$(zswap_stat reject_alloc_fail)
	stalls_before=$(zram_writestall)
	inject_on "$mod" 20
	start_held_zstest faultinj --mib 40 --pageout
	trap 'inject_off; touch /tmp/zstest.release' EXIT
	zstest files --dir /mnt --mib 24 write
	sync
	wait_zstest_held 300
	stored=$(zswap_stat stored_pages)
	echo 3 >/proc/sys/vm/drop_caches
	umount /mnt
	mount -t ext2 /dev/zram0 /mnt
	zstest files --dir /mnt --mib 24 verify
	release_zstest
	inject_off
	rejects=$(($(zswap_stat reject_alloc_fail) - rejects_before))
	stalls=$(($(zram_writestall) - stalls_before))
	echo "fault-inject: $mod: injected $PAGE_FAILS page and $SLAB_FAILS slab allocation failures; zswap stored $stored pages, rejected $rejects (allocation failed); zram write stalls $stalls (retried); data verified"
	[ "$PAGE_FAILS" -gt 0 ] || fail "$mod: no page allocation failure was injected"
	[ "$SLAB_FAILS" -gt 0 ] || fail "$mod: no slab allocation failure was injected"
	[ "$rejects" -gt 0 ] || fail "$mod: zswap saw no allocation failure"
	[ "$stored" -gt 0 ] || fail "$mod: zswap stored nothing"
	# Every object freed: zswap's (zstest exited) and zram's (discarded); the pools, still
	# there, hold no page.
	umount /mnt
	blkdiscard /dev/zram0
	expect_eq "$mod: zram orig_data_size after discard" "$(mm_stat 1)" 0
	swap_off_zswap_empty "$mod: zstest exited"
	if [ "$mod" = zsmalloc_rs ]; then
		check_pool_empty "$mod: zstest exited and zram discarded"
	fi
	poll_until 30 nr_zspages_zero || fail "$mod: nr_zspages $(vmstat_zspages) with zswap and zram empty"
	expect_eq "$mod: zram mem_used_total after discard" "$(mm_stat 3)" 0
	echo 1 >/sys/block/zram0/reset
	rmmod zram
	echo zbud >/sys/module/zswap/parameters/zpool
	rmdir /sys/fs/cgroup/faultinj
}

# zram_start_any SIZE: zram_start without the check that the pool is rust_zsmalloc's.
zram_start_any() {
	echo "$1" >/sys/block/zram0/disksize
}

# zram's write stalls (debug_stat line 2, field 1): writes whose first, non-blocking
# allocation failed and that were retried with GFP_NOIO.
zram_writestall() {
	sed -n 2p /sys/block/zram0/debug_stat | awk '{ print $1 }'
}

for d in $FI/fail_page_alloc $FI/failslab; do
	[ -f $d/require-start ] || fail "$d/require-start missing (CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_STACKTRACE_FILTER)"
done
trap 'inject_off' EXIT

# rust_zsmalloc: zswap through its zpool driver, zram through zsmalloc_rs_compat.
zram_load
ls -d /sys/kernel/debug/rust_zsmalloc >/dev/null || fail "zsmalloc_rs not loaded"
run_under_injection zsmalloc_rs rust_zsmalloc
rmmod zsmalloc_rs_compat
poll_until 60 rmmod zsmalloc_rs || fail "rmmod zsmalloc_rs failed after teardown"

# Upstream zsmalloc, the same run.
insmod $MODDIR/zsmalloc.ko
insmod $MODDIR/zram.ko num_devices=1
run_under_injection zsmalloc zsmalloc
poll_until 60 rmmod zsmalloc || fail "rmmod zsmalloc failed after teardown"
expect_eq "nr_zspages after both runs" "$(vmstat_zspages)" 0
echo "fault injection: ok"
