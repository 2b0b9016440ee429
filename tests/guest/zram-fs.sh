# ext2 on zram on rust_zsmalloc: files of varied content written while compaction and page
# migration are forced, synced, caches dropped, remounted, read back byte for byte. Then a
# fragmenting workload (every other 128 KiB of the device discarded) must give compaction
# something to free, with the surviving data intact; discarding everything must leave the pool,
# still there, empty. Reset/unload/reload cycles leave nothing behind.
. /tests/lib.sh
zram_load
zram_start 128M
mke2fs -q -b 4096 /dev/zram0
mount -t ext2 /dev/zram0 /mnt
touch /tmp/busy
trap 'rm -f /tmp/busy' EXIT
# Background pressure while writing (paced, not a synchronisation).
(while [ -f /tmp/busy ]; do
	echo 1 >/sys/block/zram0/compact || true
	echo 1 >/proc/sys/vm/compact_memory || true
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
check_pool_pages
[ "$(mm_stat 8)" -gt 0 ] || fail "no huge pages: random content should be stored uncompressed"
echo "zram fs: mm_stat $(cat /sys/block/zram0/mm_stat), pool pages $(rzs_pool_pages)"
umount /mnt

# Fragment: free the objects of every other 128 KiB range of the device (zram frees a slot on
# discard), so that most zspages keep some objects and lose others. The survivors' bytes are
# summed before, and read back from zram (page cache dropped) after compaction.
ranges=$((128 * 8)) # the whole device: ext2 places data by the writer's pid (its "colour")
survivors() {
	i=0
	while [ $i -lt $ranges ]; do
		dd if=/dev/zram0 bs=128k skip=$i count=1 2>/dev/null
		i=$((i + 2))
	done | md5sum
}
sum_before=$(survivors)
pages_before=$(rzs_pool_pages)
compacted_before=$(mm_stat 7)
i=1
while [ $i -lt $ranges ]; do
	blkdiscard -o $((i * 131072)) -l 131072 /dev/zram0
	i=$((i + 2))
done
echo 1 >/sys/block/zram0/compact
compacted=$(($(mm_stat 7) - compacted_before))
echo "fragmented: pool pages $pages_before -> $(rzs_pool_pages) after discarding every other range and compacting, pages_compacted +$compacted, mm_stat $(cat /sys/block/zram0/mm_stat)"
[ "$compacted" -gt 0 ] || fail "compaction freed no page after half of every zspage's neighbourhood was discarded"
check_pool_pages
echo 3 >/proc/sys/vm/drop_caches
expect_eq "surviving ranges after compaction" "$(survivors)" "$sum_before"

# Empty after free, checked while the pool still exists: discard everything.
blkdiscard /dev/zram0
zram_check_empty
echo 1 >/sys/block/zram0/reset
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
	blkdiscard /dev/zram0
	zram_check_empty
	echo 1 >/sys/block/zram0/reset
	zram_unload
done
echo "zram reload cycles: ok"
