# zram as swap on rust_zsmalloc under memory pressure: every byte comes back, zram's mm_stat
# and the page allocator's count agree with the pool while the data is held, and once swap is
# off and the device discarded the pool (still there) is empty.
. /tests/lib.sh
zram_load
zram_start 256M
mkswap /dev/zram0 >/dev/null
swapon /dev/zram0
make_cgroup zramswap 48M
# zstest holds its 80 MiB after the fill until released: the checks below see it stored.
start_held_zstest zramswap --mib 80
wait_zstest_held 300
zram_holds_more_than $((8 << 20)) || fail "zram received only $(mm_stat 1) bytes of 80 MiB pushed out of a 48 MiB cgroup"
check_pool_pages
echo "zram swap: mm_stat $(cat /sys/block/zram0/mm_stat), pool pages $(rzs_pool_pages)"
release_zstest
swapoff /dev/zram0
# swapoff freed every swapped page's slot; the swap header page remains: discard the device.
blkdiscard /dev/zram0
zram_check_empty
echo 1 >/sys/block/zram0/reset
zram_unload
