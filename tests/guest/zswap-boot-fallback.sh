# zs-boot: zswap.enabled=1 zswap.zpool=rust_zsmalloc
# zs-modules: none
# zswap.zpool=rust_zsmalloc when the module cannot be loaded as zswap initialises (late_initcall,
# before /init): here there is no /sbin/modprobe and no module tree, as on a system whose
# initramfs lacks the module, or that boots without an initramfs (root is not mounted yet).
# zswap falls back to its default zpool (CONFIG_ZSWAP_ZPOOL_DEFAULT, zbud in this kernel) and
# says so; once the module is loaded, switching zswap to it at run time works.
. /tests/lib.sh
[ -e /sbin/modprobe ] && fail "this boot must have no /sbin/modprobe"
module_loaded zsmalloc_rs && fail "zsmalloc_rs loaded although nothing could load it"
expect_eq "zswap enabled" "$(cat /sys/module/zswap/parameters/enabled)" Y
expect_eq "zswap zpool (fallback)" "$(cat /sys/module/zswap/parameters/zpool)" zbud
dmesg | grep "zswap: "
dmesg | grep -q "zswap: zpool rust_zsmalloc not available, using default zbud" ||
	fail "zswap did not report its fallback to zbud"
insmod $MODDIR/zsmalloc_rs.ko
echo rust_zsmalloc >/sys/module/zswap/parameters/zpool
expect_eq "zswap zpool" "$(cat /sys/module/zswap/parameters/zpool)" rust_zsmalloc
ls -d /sys/kernel/debug/rust_zsmalloc/zswap* >/dev/null 2>&1 || fail "no rust_zsmalloc pool for zswap"
echo zbud >/sys/module/zswap/parameters/zpool
poll_until 60 rmmod zsmalloc_rs || fail "rmmod zsmalloc_rs failed after switching zswap away"
echo "zswap falls back to zbud without modprobe at boot, switches to rust_zsmalloc later: ok"
