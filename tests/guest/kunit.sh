# KUnit: loading the test module runs its suite; the host parses the KTAP it prints.
. /tests/lib.sh
insmod $MODDIR/zsmalloc_rs_kunit.ko
rmmod zsmalloc_rs_kunit
