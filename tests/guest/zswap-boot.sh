# zs-boot: zswap.enabled=1 zswap.zpool=rust_zsmalloc
# zswap enabled on rust_zsmalloc from the kernel command line. zswap initialises at
# late_initcall, before /init: it asks for "zpool-rust_zsmalloc" (request_module), and 6.12's
# usermode helper is usable by then (enabled at rootfs_initcall; it waits for the initramfs
# to be unpacked), so /sbin/modprobe resolves the alias through modules.alias and loads
# zsmalloc_rs. Nobody runs insmod. (Had modprobe failed, zswap would have fallen back to its
# default zpool, zbud, and said "zpool rust_zsmalloc not available".)
. /tests/lib.sh
. /tests/lib-installed.sh
check_installed_tree
dmesg | grep "zswap: " || true
zswap_serves_installed_module
echo "zswap on rust_zsmalloc from the command line: ok"
