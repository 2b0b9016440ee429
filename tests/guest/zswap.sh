# zswap stores real swapped-out pages in rust_zsmalloc, byte-exact: switch zswap to it at
# runtime, push varied content out from a memory-limited cgroup, check that the pages went
# through our pool while stored, read everything back, then switch away and unload.
. /tests/lib.sh
zswap_on_rust_zsmalloc
make_cgroup zswaptest 48M

# zstest holds its data after the fill and pageout until released: while it is held, zswap
# holds pages, and they are in our pool (and, when maintained, in nr_zspages).
start_held_zstest zswaptest --mib 80 --pageout
wait_zstest_held 300
stored=$(zswap_stat stored_pages)
pages=$(rzs_pool_pages)
echo "while stored: zswap stored_pages=$stored pool_total_size=$(zswap_stat pool_total_size) rust_zsmalloc pages=$pages nr_zspages=$(vmstat_zspages)"
[ "$stored" -gt 1000 ] || fail "zswap stored only $stored pages"
[ "$pages" -gt 0 ] || fail "rust_zsmalloc pool held no pages while zswap stored $stored"
if nr_zspages_maintained; then
	expect_eq "nr_zspages while zswap holds data" "$(vmstat_zspages)" "$(rzs_pool_pages)"
fi
release_zstest

# Every page came back: with the data gone, the pool (zswap still uses it) is empty.
swap_off_zswap_empty "zstest exited"
check_pool_empty "zstest exited and swap off"
echo zbud >/sys/module/zswap/parameters/zpool
# zswap drains and destroys the old pool asynchronously; the module is busy until then.
poll_until 60 rmmod zsmalloc_rs || fail "rmmod zsmalloc_rs failed after switching zswap away"
echo "zswap on rust_zsmalloc: ok"
