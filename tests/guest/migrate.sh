# Every zspage page in the hot-plugged DIMM's movable memory must move when its block goes
# offline: put zram data in the pool, offline the movable blocks, bring them back, compact
# memory, and read everything back. The pool's pages_migrated counter proves the path ran.
. /tests/lib.sh
zram_load
zram_start 256M
mke2fs -q -b 4096 /dev/zram0
mount -t ext2 /dev/zram0 /mnt
zstest files --dir /mnt --mib 64 write
sync
echo 3 >/proc/sys/vm/drop_caches
blocks=$(movable_blocks | wc -l)
[ "$blocks" -gt 0 ] || fail "no online movable memory blocks (is the DIMM there?)"
offlined=$(offline_movable_blocks)
migrated=$(rzs_pool_counter pages_migrated)
echo "migrate: offlined $offlined of $blocks movable blocks, pool pages_migrated=$migrated, pool pages=$(rzs_pool_pages)"
online_movable_blocks
echo 1 >/proc/sys/vm/compact_memory
[ "$offlined" -gt 0 ] || fail "no movable block could be offlined"
[ "$migrated" -gt 0 ] || fail "no zspage page was migrated"
zstest files --dir /mnt --mib 64 verify
check_mm_stat_matches_pool
# The per-class table agrees with the pool: its total line, and classes in use.
table=$(cat /sys/kernel/debug/rust_zsmalloc/zram0-*/classes)
echo "$table" | head -4
echo "$table" | tail -1
echo "$table" | tail -1 | grep -q "^total_pages $(rzs_pool_pages) " || fail "classes table total disagrees with total_pages"
[ "$(echo "$table" | wc -l)" -gt 3 ] || fail "classes table lists no class in use"
umount /mnt
echo 1 >/sys/block/zram0/reset
zram_unload
