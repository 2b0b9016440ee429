# zram as swap on rust_zsmalloc under memory pressure: every byte comes back, and zram's
# mm_stat agrees with the pool.
. /tests/lib.sh
zram_load
zram_start 256M
mkswap /dev/zram0 >/dev/null
swapon /dev/zram0
make_cgroup zramswap 48M
in_cgroup zramswap zstest anon --mib 80 --hold-secs 6 >/tmp/zstest.out 2>&1 &
pid=$!
# Wait for the fill to push data out, then check mm_stat while it sits in zram.
poll_until 90 zram_holds_more_than $((8 << 20)) || {
	cat /tmp/zstest.out
	fail "zram received only $(mm_stat 1) bytes"
}
sleep 1
check_mm_stat_matches_pool
echo "zram swap: mm_stat $(cat /sys/block/zram0/mm_stat), pool pages $(rzs_pool_pages)"
wait_zstest $pid
swapoff /dev/zram0
echo 1 >/sys/block/zram0/reset
expect_eq "pool pages after reset" "$(rzs_pool_pages)" 0
zram_unload
