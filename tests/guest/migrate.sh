# Every zspage page in the hot-plugged DIMM's movable memory must move when its block goes
# offline. Put zram data in the pool (zram allocates movable: it lands in the DIMM), offline
# every movable block, bring them back, compact memory, and read everything back.
# What shows that the offlined blocks held zspage pages and that every one moved:
# - every movable block went offline: the kernel offlines a block only once every page in it
#   has moved (a zspage page can only move through this module's migrate callback);
# - the movable zone's used pages (the page allocator's zone statistics, not this module's)
#   grew during the fill (from an emptied DIMM) by at least 9/10 of the pool's pages: the
#   pool's pages were there (per-CPU free lists count as used: the error is on the safe side);
# - the pool's pages_migrated grew during the offlining by at least 9/10 of its pages;
# - once this module keeps nr_zspages: the movable zone's nr_zspages before the offlining is
#   > 0, pages_migrated grew by at least that much, and none is left in the zone after.
. /tests/lib.sh
zram_load
zram_start 256M
mke2fs -q -b 4096 /dev/zram0
mount -t ext2 /dev/zram0 /mnt
sync
echo 3 >/proc/sys/vm/drop_caches
# Empty the DIMM first (offlining moves every page out, and drains the per-CPU free lists),
# so that what the fill puts there can be counted.
blocks=$(movable_blocks | wc -l)
[ "$blocks" -gt 0 ] || fail "no online movable memory blocks (is the DIMM there?)"
expect_eq "movable blocks emptied before the fill" "$(offline_movable_blocks)" "$blocks"
online_movable_blocks
used_before=$(movable_used_pages)
zstest files --dir /mnt --mib 64 write
sync
echo 3 >/proc/sys/vm/drop_caches
used_after=$(movable_used_pages)
zspages_movable=$(zone_zspages Movable)
pages=$(rzs_pool_pages)
grown=$((used_after - used_before))
expect_eq "movable blocks online after the fill" "$(movable_blocks | wc -l)" "$blocks"
migrated_before=$(rzs_pool_counter pages_migrated)
offlined=$(offline_movable_blocks)
migrated=$(($(rzs_pool_counter pages_migrated) - migrated_before))
zspages_movable_after=$(zone_zspages Movable)
echo "migrate: pool pages=$pages, movable zone grew by $grown pages during the fill (nr_zspages there: $zspages_movable); offlined $offlined of $blocks movable blocks; pages_migrated +$migrated"
online_movable_blocks
[ "$offlined" = "$blocks" ] || fail "only $offlined of $blocks movable blocks went offline: a page in them did not move"
[ "$grown" -ge $((pages * 9 / 10)) ] || fail "the movable zone grew by $grown pages for a pool of $pages: the zspage pages are not in movable memory"
[ "$migrated" -ge $((pages * 9 / 10)) ] || fail "offlining every movable block migrated $migrated zspage pages of $pages"
# With nr_zspages kept per zone (as upstream does, moving the count on migration): the
# offlined zone held zspage pages, each went through the migrate callback, none is left.
if nr_zspages_maintained; then
	[ "$zspages_movable" -gt 0 ] || fail "no zspage page in movable memory (zoneinfo Movable nr_zspages 0)"
	[ "$migrated" -ge "$zspages_movable" ] || fail "offlining migrated $migrated zspage pages, the movable zone held $zspages_movable"
	expect_eq "Movable nr_zspages after offlining every block" "$zspages_movable_after" 0
fi
echo 1 >/proc/sys/vm/compact_memory
zstest files --dir /mnt --mib 64 verify
check_pool_pages
# The per-class table is consistent: the classes' pages sum to total_pages, and each class's
# zspages are all on its fullness lists (the table walks the lists, the count is kept apart).
table=$(cat /sys/kernel/debug/rust_zsmalloc/zram0-*/classes)
echo "$table" | head -4
echo "$table" | tail -1
[ "$(echo "$table" | wc -l)" -gt 3 ] || fail "classes table lists no class in use"
echo "$table" | awk '
	NR > 1 && $1 ~ /^[0-9]+$/ {
		sum += $6
		groups = 0
		for (i = 9; i <= NF; i++) groups += $i
		if (groups != $5) { print "ZS-FAIL class " $1 ": " $5 " zspages, " groups " on fullness lists"; bad = 1 }
	}
	$1 == "total_pages" && $2 != sum { print "ZS-FAIL classes pages sum to " sum ", total_pages " $2; bad = 1 }
	END { exit bad }' || fail "classes table inconsistent"
umount /mnt
blkdiscard /dev/zram0
zram_check_empty
echo 1 >/sys/block/zram0/reset
zram_unload
