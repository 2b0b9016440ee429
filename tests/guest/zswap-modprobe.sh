# zs-boot: zswap.enabled=0 zswap.zpool=rust_zsmalloc
# zswap.zpool=rust_zsmalloc on the command line with zswap left off: nothing loads the module
# at boot; enabling zswap from userspace initialises it, and zswap asks for
# "zpool-rust_zsmalloc" through the alias (request_module -> /sbin/modprobe). No insmod.
. /tests/lib.sh
. /tests/lib-installed.sh
check_installed_tree
module_loaded zsmalloc_rs && fail "zsmalloc_rs loaded at boot although zswap was off"
expect_eq "zswap enabled at boot" "$(cat /sys/module/zswap/parameters/enabled)" N
echo 1 >/sys/module/zswap/parameters/enabled
dmesg | grep "zswap: " || true
zswap_serves_installed_module
echo 0 >/sys/module/zswap/parameters/enabled
echo "zswap on rust_zsmalloc enabled after boot: ok"
