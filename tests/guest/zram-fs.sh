# ext2 on zram on rust_zsmalloc: files of varied content written while compaction and page
# migration are forced, synced, caches dropped, remounted, read back byte for byte; then
# reset/unload/reload cycles leave nothing behind.
. /tests/lib.sh
zram_load
zram_start 128M
mke2fs -q -b 4096 /dev/zram0
mount -t ext2 /dev/zram0 /mnt
touch /tmp/busy
(while [ -f /tmp/busy ]; do
	echo 1 >/sys/block/zram0/compact
	echo 1 >/proc/sys/vm/compact_memory
	sleep 1
done) &
churn=$!
zstest files --dir /mnt --mib 40 write
rm /tmp/busy
wait $churn
sync
echo 3 >/proc/sys/vm/drop_caches
umount /mnt
mount -t ext2 /dev/zram0 /mnt
zstest files --dir /mnt --mib 40 verify
check_mm_stat_matches_pool
[ "$(mm_stat 8)" -gt 0 ] || fail "no huge pages: random content should be stored uncompressed"
echo "zram fs: mm_stat $(cat /sys/block/zram0/mm_stat), pool pages $(rzs_pool_pages)"
umount /mnt
echo 1 >/sys/block/zram0/reset
expect_eq "pool pages after reset" "$(rzs_pool_pages)" 0
zram_unload

# Reload cycles: the modules come back and work, and unloading leaves nothing (a slab cache
# with objects left would complain on the console).
for cycle in 1 2; do
	zram_load
	zram_start 32M
	mke2fs -q -b 4096 /dev/zram0
	mount -t ext2 /dev/zram0 /mnt
	zstest files --dir /mnt --mib 8 --seed "$cycle" write
	echo 3 >/proc/sys/vm/drop_caches
	zstest files --dir /mnt --mib 8 --seed "$cycle" verify
	umount /mnt
	echo 1 >/sys/block/zram0/reset
	zram_unload
done
echo "zram reload cycles: ok"
