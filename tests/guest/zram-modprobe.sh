# zs-boot: zswap.enabled=0 zswap.zpool=rust_zsmalloc
# zram on rust_zsmalloc through `modprobe zram`, with upstream zsmalloc.ko installed too. Both
# zsmalloc.ko and zsmalloc_rs_compat.ko export the zs_* names zram needs; depmod gives a symbol
# to the last module it indexes, and it indexes the kernel's own modules (modules.order) first
# and the rest (updates/) after them, so modules.dep says zram needs zsmalloc_rs_compat.ko.
. /tests/lib.sh
. /tests/lib-installed.sh
check_installed_tree
deps=$(sed -n 's|^kernel/drivers/block/zram/zram.ko: *||p' "$INSTALLED/modules.dep")
echo "modules.dep: zram.ko needs: $deps"
case " $deps " in *" updates/zsmalloc_rs_compat.ko "*) ;; *) fail "zram.ko does not depend on zsmalloc_rs_compat.ko: $deps" ;; esac
modprobe zram num_devices=1
for m in zsmalloc_rs zsmalloc_rs_compat zram; do
	module_loaded $m || fail "modprobe zram did not load $m"
done
module_loaded zsmalloc && fail "modprobe zram loaded upstream zsmalloc"
zram_start 64M
mke2fs -q -b 4096 /dev/zram0 >/dev/null
mount -t ext2 /dev/zram0 /mnt
zstest files --dir /mnt --mib 8 write
check_pool_pages
echo 3 >/proc/sys/vm/drop_caches
zstest files --dir /mnt --mib 8 verify
umount /mnt
# Empty while the pool still exists: every slot discarded, then the pool drains to 0 pages.
blkdiscard /dev/zram0
zram_check_empty
echo 1 >/sys/block/zram0/reset
modprobe -r zram
for m in zram zsmalloc_rs_compat zsmalloc_rs; do
	module_loaded $m && fail "$m still loaded after modprobe -r zram"
done
echo "zram on rust_zsmalloc through modprobe: ok"
