# CPU hotplug under load: the module's per-CPU copy buffers (for objects that span two pages)
# are allocated and freed by a CPU hotplug state as CPU1 comes and goes. CPU1 is taken offline
# and brought back in a loop while zswap (on rust_zsmalloc) stores and returns anonymous memory
# pushed out of a memory cgroup, and, at the same time, ext2 on zram (on rust_zsmalloc) writes
# and reads back files: the workloads map objects on both CPUs between the transitions. Every
# byte must come back, toggles in both directions must have happened while the workloads ran,
# both pools must drain, and CPU1 ends online.
. /tests/lib.sh
cpu1=/sys/devices/system/cpu/cpu1/online
[ -w "$cpu1" ] || fail "$cpu1 missing: CPU1 cannot be taken offline"
expect_eq "CPU1 online at the start" "$(cat "$cpu1")" 1

# zswap on rust_zsmalloc.
zswap_on_rust_zsmalloc
make_cgroup hotplug 24M
# zram on rust_zsmalloc (zsmalloc_rs.ko is already in: zram_load would load it again).
insmod $MODDIR/zsmalloc_rs_compat.ko
insmod $MODDIR/zram.ko num_devices=1
zram_start 64M
mke2fs -q -b 4096 /dev/zram0
mount -t ext2 /dev/zram0 /mnt

# The toggle loop (pacing, not synchronisation): each transition that succeeded is counted in
# /tmp/hotplug.count ("offlined onlined failed"). It stops when /tmp/churn goes (cleanup.sh
# removes it too), always after bringing CPU1 back.
touch /tmp/churn
trap 'rm -f /tmp/churn' EXIT
(
	off=0 on=0 failed=0
	while [ -f /tmp/churn ]; do
		if echo 0 >"$cpu1"; then off=$((off + 1)); else failed=$((failed + 1)); fi
		sleep 0.3
		if echo 1 >"$cpu1"; then on=$((on + 1)); else failed=$((failed + 1)); fi
		echo "$off $on $failed" >/tmp/hotplug.count.new
		mv /tmp/hotplug.count.new /tmp/hotplug.count
		sleep 0.3
	done
) &
toggler=$!
echo "$toggler" >/tmp/hotplug.pid
toggles() {
	cat /tmp/hotplug.count 2>/dev/null || echo "0 0 0"
}
# The workloads start once the loop has gone round at least once.
first_round() {
	[ "$(toggles | cut -d' ' -f2)" -gt 0 ]
}
poll_until 60 first_round || fail "the CPU1 toggle loop did not complete a round: $(toggles)"
before=$(toggles)

# (a) zswap: 40 MiB pushed out with MADV_PAGEOUT from a 24 MiB cgroup, held, then read back and
# verified by zstest on release. (b) zram: 24 MiB of files written meanwhile.
start_held_zstest hotplug --mib 40 --pageout
trap 'touch /tmp/zstest.release; rm -f /tmp/churn' EXIT
zstest files --dir /mnt --mib 24 write
wait_zstest_held 300
stored=$(zswap_stat stored_pages)
echo "while stored: zswap stored_pages=$stored, rust_zsmalloc pages=$(rzs_pool_pages) (zswap and zram pools), toggles so far (offlined onlined failed): $(toggles)"
[ "$stored" -gt 1000 ] || fail "zswap stored only $stored pages"
# The files come back from zram (page cache dropped, remounted) while the anon data does from
# zswap: both read paths run while CPU1 toggles.
sync
echo 3 >/proc/sys/vm/drop_caches
umount /mnt
mount -t ext2 /dev/zram0 /mnt
zstest files --dir /mnt --mib 24 verify &
verifier=$!
release_zstest
wait $verifier || fail "the files on zram did not read back intact"
after=$(toggles)

rm -f /tmp/churn
wait $toggler
final=$(toggles)
rm -f /tmp/hotplug.pid /tmp/hotplug.count
echo "CPU1 toggles (offlined onlined failed): before the workloads $before, after them $after, at the end $final"
set -- $before $after
offlined=$(($4 - $1))
onlined=$(($5 - $2))
[ "$offlined" -gt 0 ] || fail "CPU1 never went offline while the workloads ran"
[ "$onlined" -gt 0 ] || fail "CPU1 never came back online while the workloads ran"
echo "during the workloads: CPU1 offlined $offlined times, onlined $onlined times"
expect_eq "failed CPU1 transitions" "$(echo "$final" | cut -d' ' -f3)" 0
expect_eq "CPU1 online at the end" "$(cat "$cpu1")" 1

# Every object freed: zswap's (the anon data came back) and zram's (discarded); both pools,
# still there, drain.
check_pool_pages
swap_off_zswap_empty "the anon data came back"
umount /mnt
blkdiscard /dev/zram0
zram_check_empty
echo 1 >/sys/block/zram0/reset
rmmod zram
rmmod zsmalloc_rs_compat
echo zbud >/sys/module/zswap/parameters/zpool
poll_until 60 rmmod zsmalloc_rs || fail "rmmod zsmalloc_rs failed after switching zswap away"
for m in zram zsmalloc_rs_compat zsmalloc_rs; do
	module_loaded $m && fail "$m still loaded after rmmod"
done
rmdir /sys/fs/cgroup/hotplug
echo "cpu hotplug: ok"
