# zram's huge-object and recompression paths (ZRAM_MULTI_COMP) on rust_zsmalloc:
# incompressible pages are stored as huge objects, pages are recompressed with a second
# algorithm (zs_lookup_class_index, new objects), and every byte still reads back.
. /tests/lib.sh
zram_load
echo lzo-rle >/sys/block/zram0/comp_algorithm
echo "algo=zstd priority=1" >/sys/block/zram0/recomp_algorithm
zram_start 96M
mke2fs -q -b 4096 /dev/zram0
mount -t ext2 /dev/zram0 /mnt
zstest files --dir /mnt --mib 24 write
sync
huge_before=$(mm_stat 8)
[ "$huge_before" -gt 0 ] || fail "no huge pages after writing random content"
compr_before=$(mm_stat 2)
echo all >/sys/block/zram0/idle
echo "type=idle" >/sys/block/zram0/recompress
echo "type=huge" >/sys/block/zram0/recompress
compr_after=$(mm_stat 2)
echo "recompress: compr_data_size $compr_before -> $compr_after, huge pages $huge_before -> $(mm_stat 8)"
[ "$compr_after" -lt "$compr_before" ] || fail "recompression with zstd did not shrink the data"
check_pool_pages
echo 3 >/proc/sys/vm/drop_caches
umount /mnt
mount -t ext2 /dev/zram0 /mnt
zstest files --dir /mnt --mib 24 verify
umount /mnt
blkdiscard /dev/zram0
zram_check_empty
echo 1 >/sys/block/zram0/reset
zram_unload
