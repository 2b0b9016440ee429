# zswap's pages under memory offlining: zswap (on rust_zsmalloc) allocates movable zspage
# pages, which land in the hot-plugged DIMM's movable zone; offlining every movable block
# must move each of them (through this module's migrate callback) while zswap still holds
# the data, and every byte must come back afterwards.
# What shows it:
# - the DIMM was emptied first, and after the pageout the movable zone holds zspage pages
#   (/proc/zoneinfo Movable nr_zspages > 0: the page allocator's per-zone count);
# - every movable block went offline (the kernel offlines a block only once every page in
#   it moved), pages_migrated grew by at least the zone's nr_zspages, and none is left there;
# - zstest verifies every page of its 48 MiB on release (the data comes back from zswap or
#   swap after the move), zswap's pool then drains, and the module unloads.
. /tests/lib.sh
blocks=$(movable_blocks | wc -l)
[ "$blocks" -gt 0 ] || fail "no online movable memory blocks (is the DIMM there?)"
expect_eq "movable blocks emptied before the fill" "$(offline_movable_blocks)" "$blocks"
online_movable_blocks
zswap_on_rust_zsmalloc
make_cgroup migzswap 24M
start_held_zstest migzswap --mib 48 --pageout
wait_zstest_held 300
stored=$(zswap_stat stored_pages)
pages=$(rzs_pool_pages)
zspages_movable=$(zone_zspages Movable)
echo "while stored: zswap stored_pages=$stored, pool pages=$pages, Movable nr_zspages=$zspages_movable"
[ "$stored" -gt 1000 ] || fail "zswap stored only $stored pages"
[ "$zspages_movable" -gt 0 ] || fail "no zswap zspage page in movable memory (zoneinfo Movable nr_zspages 0)"
migrated_before=$(rzs_pool_counter pages_migrated)
offlined=$(offline_movable_blocks)
migrated=$(($(rzs_pool_counter pages_migrated) - migrated_before))
zspages_movable_after=$(zone_zspages Movable)
stored_after=$(zswap_stat stored_pages)
echo "migrate-zswap: offlined $offlined of $blocks movable blocks; pages_migrated +$migrated (Movable nr_zspages $zspages_movable -> $zspages_movable_after); zswap stored_pages $stored -> $stored_after"
online_movable_blocks
[ "$offlined" = "$blocks" ] || fail "only $offlined of $blocks movable blocks went offline: a page in them did not move"
[ "$migrated" -ge "$zspages_movable" ] || fail "offlining migrated $migrated zspage pages, the movable zone held $zspages_movable"
expect_eq "Movable nr_zspages after offlining every block" "$zspages_movable_after" 0
# zswap still held the data during the move (nothing was written back or dropped meanwhile).
[ "$stored_after" -ge $((stored * 9 / 10)) ] || fail "zswap stored_pages fell from $stored to $stored_after during the offlining"
expect_eq "nr_zspages while zswap holds data after the move" "$(vmstat_zspages)" "$(rzs_pool_pages)"
release_zstest
swap_off_zswap_empty "zstest exited"
check_pool_empty "zstest exited and swap off"
echo zbud >/sys/module/zswap/parameters/zpool
poll_until 60 rmmod zsmalloc_rs || fail "rmmod zsmalloc_rs failed after switching zswap away"
rmdir /sys/fs/cgroup/migzswap
echo "zswap pages under memory offlining: ok"
