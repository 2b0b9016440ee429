# zswap stores real swapped-out pages in rust_zsmalloc, byte-exact: switch zswap to it at
# runtime, push varied content out from a memory-limited cgroup, check that the pages went
# through our pool while stored, read everything back, then switch away and unload.
. /tests/lib.sh
insmod $MODDIR/zsmalloc_rs.ko
swap_on
echo 1 >/sys/module/zswap/parameters/enabled
echo rust_zsmalloc >/sys/module/zswap/parameters/zpool
expect_eq "zswap zpool" "$(cat /sys/module/zswap/parameters/zpool)" rust_zsmalloc
make_cgroup zswaptest 48M

in_cgroup zswaptest zstest anon --mib 80 --pageout --hold-secs 4 >/tmp/zstest.out 2>&1 &
pid=$!
# While the data sits in zswap: zswap holds pages, and they are in our pool.
stored=0
pages=0
for _ in $(seq 1 120); do
	stored=$(zswap_stat stored_pages)
	pages=$(rzs_pool_pages)
	[ "$stored" -gt 1000 ] && [ "$pages" -gt 0 ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 1
done
echo "while stored: zswap stored_pages=$stored pool_total_size=$(zswap_stat pool_total_size) rust_zsmalloc pages=$pages"
wait_zstest $pid
[ "$stored" -gt 1000 ] || fail "zswap stored only $stored pages"
[ "$pages" -gt 0 ] || fail "rust_zsmalloc pool held no pages while zswap stored $stored"

# Every page came back: with the data gone, the pool is empty.
poll_until 30 pool_is_empty || fail "pool still holds $(rzs_pool_pages) pages after the data was freed"
echo zbud >/sys/module/zswap/parameters/zpool
# zswap drains and destroys the old pool asynchronously; the module is busy until then.
poll_until 60 rmmod zsmalloc_rs || fail "rmmod zsmalloc_rs failed after switching zswap away"
swapoff /dev/vda
echo "zswap on rust_zsmalloc: ok"
