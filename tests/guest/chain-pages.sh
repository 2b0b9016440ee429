# The chain_pages parameter of zsmalloc_rs.ko takes effect: out-of-range values fail the load
# with EINVAL; the default is 8; at 4 and 16 the module says so, zram's pool never makes a
# zspage longer than the chain (debugfs classes table), zs_huge_class_size() follows (zram
# stores pages compressing to 3257..3624 bytes as huge at 4, not at 8), and the
# microbenchmark's data checks (fill, free half and compact, multi-threaded churn) pass at 4
# and 16. The contiguous_zspages parameter too: by default (Y) zram's pool makes contiguous
# zspages (a fresh guest has free blocks), with N only single-page ones; data verified.
. /tests/lib.sh
for bad in 0 3 17; do
	echo "ZS-EXPECT zsmalloc_rs: chain_pages=$bad: want 4..=16"
	rc=0
	insmod $MODDIR/zsmalloc_rs.ko chain_pages=$bad 2>/tmp/insmod.err || rc=$?
	[ "$rc" != 0 ] || fail "insmod zsmalloc_rs.ko chain_pages=$bad succeeded"
	grep -q "Invalid argument" /tmp/insmod.err || fail "chain_pages=$bad: insmod said '$(cat /tmp/insmod.err)', not EINVAL"
	module_loaded zsmalloc_rs && fail "zsmalloc_rs loaded with chain_pages=$bad"
done

# 40 pages, the first k bytes of each random and the rest zero, k from 100 to 3610 bytes: they
# compress to sizes across the class table.
rm -f /tmp/pages
k=100
while [ $k -le 3610 ]; do
	{ head -c $k /dev/urandom; head -c $((4096 - k)) /dev/zero; } >>/tmp/pages
	k=$((k + 90))
done
# 12 pages with 3300 random bytes: compressed to about 3310 bytes, huge only below chain 5.
rm -f /tmp/huge
for i in $(seq 12); do
	{ head -c 3300 /dev/urandom; head -c 796 /dev/zero; } >>/tmp/huge
done

# chain_run PAGES [PARAM=VALUE]: loads the allocator with chain_pages=PAGES (or its default
# for "") and the other parameter given, writes the pages to zram, and prints the longest
# zspage in use, zram's huge page count and the contiguous and scattered zspages made.
chain_run() {
	insmod $MODDIR/zsmalloc_rs.ko ${1:+chain_pages=$1} ${2:-}
	want=${1:-8}
	expect_eq "chain_pages parameter" "$(cat /sys/module/zsmalloc_rs/parameters/chain_pages)" "$want"
	dmesg | grep "zsmalloc_rs: loaded:" | tail -n 1 | grep -q "zspages of up to $want pages" ||
		fail "zsmalloc_rs did not say 'zspages of up to $want pages'"
	insmod $MODDIR/zsmalloc_rs_compat.ko
	insmod $MODDIR/zram.ko num_devices=1
	zram_start 16M
	dd if=/tmp/pages of=/dev/zram0 bs=4096 conv=fsync 2>/dev/null
	huge_before=$(mm_stat 8)
	dd if=/tmp/huge of=/dev/zram0 bs=4096 seek=64 conv=fsync 2>/dev/null
	huge=$(($(mm_stat 8) - huge_before))
	longest=$(awk '$1 ~ /^[0-9]+$/ && $4 > m { m = $4 } END { print m + 0 }' \
		/sys/kernel/debug/rust_zsmalloc/zram0-*/classes)
	contiguous=$(cat /sys/kernel/debug/rust_zsmalloc/zram0-*/zspages_contiguous)
	scattered=$(cat /sys/kernel/debug/rust_zsmalloc/zram0-*/zspages_scattered)
	contiguous_param=$(cat /sys/module/zsmalloc_rs/parameters/contiguous_zspages)
	echo "chain_pages=$want ${2:-}: longest zspage in use $longest pages, huge pages $huge, zspages contiguous $contiguous scattered $scattered, mm_stat $(cat /sys/block/zram0/mm_stat)"
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/zram0 bs=4096 count=40 2>/dev/null | cmp - /tmp/pages ||
		fail "zram data differ at chain_pages=$want"
	[ "$longest" -le "$want" ] || fail "a zspage of $longest pages with chain_pages=$want"
	echo 1 >/sys/block/zram0/reset
	zram_unload
}

chain_run ""
[ "$huge" = 0 ] || fail "chain_pages=8: $huge of 12 pages compressed to ~3310 bytes stored as huge (threshold 3625)"
[ "$longest" -gt 4 ] || fail "chain_pages=8: no zspage longer than 4 pages in use (longest $longest)"
expect_eq "contiguous_zspages parameter (default)" "$contiguous_param" Y
[ "$contiguous" -gt 0 ] || fail "contiguous_zspages=Y (default): no contiguous zspage made (scattered $scattered)"
chain_run "" contiguous_zspages=N
expect_eq "contiguous_zspages parameter" "$contiguous_param" N
[ "$contiguous" = 0 ] || fail "contiguous_zspages=N: $contiguous contiguous zspages made"
[ "$scattered" -gt 0 ] || fail "contiguous_zspages=N: no multi-page zspage made"
chain_run 4
[ "$huge" = 12 ] || fail "chain_pages=4: $huge of 12 pages compressed to ~3310 bytes stored as huge (threshold 3257)"
[ "$longest" = 4 ] || fail "chain_pages=4: longest zspage in use $longest pages, want 4"
chain_run 16
[ "$huge" = 0 ] || fail "chain_pages=16: $huge pages compressed to ~3310 bytes stored as huge (threshold 3833)"
[ "$longest" -gt 8 ] || fail "chain_pages=16: no zspage longer than 8 pages in use (longest $longest)"

# The microbenchmark's data checks at both ends of the range (one round; see micro-smoke).
for chain in 4 16; do
	echo "ZS-EXPECT zsmalloc_rs_bench: rounds=1: odd, so rust_zsmalloc goes first once more than zsmalloc"
	run_microbench 1 2048 200 $chain
done
