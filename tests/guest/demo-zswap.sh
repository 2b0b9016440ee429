# The demo: rust_zsmalloc serving zswap under memory pressure and zram with a filesystem,
# with their stats.
. /tests/lib.sh
insmod $MODDIR/zsmalloc_rs.ko
swap_on
echo 1 >/sys/module/zswap/parameters/enabled
echo rust_zsmalloc >/sys/module/zswap/parameters/zpool
echo "DEMO: zswap zpool = $(cat /sys/module/zswap/parameters/zpool)"
make_cgroup demo 48M
# zstest holds the data after its fill until released (no timing guess).
start_held_zstest demo --mib 80
wait_zstest_held 300
echo "DEMO: while 80 MiB of varied data is pushed out of a 48 MiB cgroup:"
echo "DEMO:   zswap stored_pages   = $(zswap_stat stored_pages)"
echo "DEMO:   zswap pool_total_size = $(zswap_stat pool_total_size) bytes"
for f in /sys/kernel/debug/rust_zsmalloc/*/total_pages; do
	echo "DEMO:   rust_zsmalloc pool $(basename "$(dirname "$f")"): $(cat "$f") pages"
done
grep -E 'SwapTotal|SwapFree|Zswap' /proc/meminfo | sed 's/^/DEMO:   /'
touch /tmp/zstest.release
wait "$ZSTEST_PID" || fail "zstest: $(cat /tmp/zstest.out)"
sed 's/^/DEMO: zstest: /' /tmp/zstest.out
echo zbud >/sys/module/zswap/parameters/zpool
echo 0 >/sys/module/zswap/parameters/enabled
swapoff /dev/vda

echo "DEMO: zram on rust_zsmalloc (unmodified zram.ko through zsmalloc_rs_compat.ko):"
insmod $MODDIR/zsmalloc_rs_compat.ko
insmod $MODDIR/zram.ko num_devices=1
echo 128M >/sys/block/zram0/disksize
mke2fs -q -b 4096 /dev/zram0
mount -t ext2 /dev/zram0 /mnt
zstest files --dir /mnt --mib 32 write | sed 's/^/DEMO: zstest: /'
sync
echo "DEMO:   zram0 mm_stat (orig compr mem_used limit max same compacted huge) = $(cat /sys/block/zram0/mm_stat)"
for f in /sys/kernel/debug/rust_zsmalloc/zram0-*/total_pages; do
	echo "DEMO:   rust_zsmalloc pool $(basename "$(dirname "$f")"): $(cat "$f") pages"
done
echo 3 >/proc/sys/vm/drop_caches
zstest files --dir /mnt --mib 32 verify | sed 's/^/DEMO: zstest: /'
umount /mnt
