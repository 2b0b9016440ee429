# The allocator module loads and unloads cleanly, next to upstream zsmalloc.ko too.
. /tests/lib.sh
insmod $MODDIR/zsmalloc_rs.ko
module_loaded zsmalloc_rs || fail "zsmalloc_rs not in /sys/module after insmod"
insmod $MODDIR/zsmalloc.ko
module_loaded zsmalloc || fail "upstream zsmalloc did not load next to zsmalloc_rs"
rmmod zsmalloc
rmmod zsmalloc_rs
module_loaded zsmalloc_rs && fail "zsmalloc_rs still loaded after rmmod"
true
