# rmmod while the allocator is in use: `rmmod zsmalloc_rs` must be refused (the module stays,
# and its users' data with it) while zswap's pool lives on it, and while zram runs on it
# through zsmalloc_rs_compat; once each user has torn down, the same rmmod must succeed.
# Every refusal is checked for its reason (busybox rmmod: "Resource temporarily unavailable",
# EAGAIN from delete_module: the module is referenced or depended on), for the module still
# being live, and the data stored before it is read back byte for byte after it.
. /tests/lib.sh

# rmmod_refused MODULE WHY: rmmod MODULE must fail because the module is in use, and leave
# it loaded and live.
rmmod_refused() {
	if rmmod "$1" 2>/tmp/rmmod.err; then
		fail "rmmod $1 succeeded $2"
	fi
	grep -qiE 'resource temporarily unavailable|in use|busy' /tmp/rmmod.err ||
		fail "rmmod $1 $2 failed for another reason: $(cat /tmp/rmmod.err)"
	expect_eq "$1 state after the refused rmmod ($2)" "$(cat "/sys/module/$1/initstate")" live
	echo "rmmod $1 $2: refused ($(cat /tmp/rmmod.err))"
}

# (a) zswap: its pool holds a reference on the module (zpool_get_driver) from the switch
# until the pool is destroyed.
zswap_on_rust_zsmalloc
make_cgroup rmmodbusy 24M
start_held_zstest rmmodbusy --mib 32 --pageout
wait_zstest_held 300
stored=$(zswap_stat stored_pages)
[ "$stored" -gt 1000 ] || fail "zswap stored only $stored pages"
[ "$(rzs_pool_pages)" -gt 0 ] || fail "rust_zsmalloc pool empty while zswap stored $stored pages"
rmmod_refused zsmalloc_rs "while zswap stores $stored pages in it"
# The data is still there and intact (zstest verifies every page on release).
release_zstest
swap_off_zswap_empty "zstest exited"
check_pool_empty "zstest exited"
rmmod_refused zsmalloc_rs "while zswap's (empty) pool exists"
echo zbud >/sys/module/zswap/parameters/zpool
# zswap destroys its old pool asynchronously, after which the module is free.
poll_until 60 rmmod zsmalloc_rs || fail "rmmod zsmalloc_rs refused after switching zswap away"
module_loaded zsmalloc_rs && fail "zsmalloc_rs still loaded after rmmod"
rmdir /sys/fs/cgroup/rmmodbusy

# (b) zram: zram.ko uses zsmalloc_rs_compat's zs_* symbols, which use zsmalloc_rs's.
zram_load
zram_start 64M
mke2fs -q -b 4096 /dev/zram0
mount -t ext2 /dev/zram0 /mnt
zstest files --dir /mnt --mib 16 write
sync
[ "$(rzs_pool_pages)" -gt 0 ] || fail "zram's pool holds no page after 16 MiB of files"
rmmod_refused zsmalloc_rs "while zram stores $(mm_stat 1) bytes through zsmalloc_rs_compat"
rmmod_refused zsmalloc_rs_compat "while zram uses it"
echo 3 >/proc/sys/vm/drop_caches
umount /mnt
mount -t ext2 /dev/zram0 /mnt
zstest files --dir /mnt --mib 16 verify
umount /mnt
blkdiscard /dev/zram0
zram_check_empty
echo 1 >/sys/block/zram0/reset
# zram still holds the compat module (a symbol user) until it goes itself.
rmmod_refused zsmalloc_rs "while zram.ko is loaded"
zram_unload
echo "rmmod while in use: ok"
