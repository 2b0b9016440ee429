# KUnit: loading the test module runs its suite; the host parses the KTAP it prints.
# Meanwhile userspace forces page migration (memory compaction, offlining the DIMM's movable
# blocks and onlining them again) and runs the shrinkers, so that the stress case's pool is
# compacted, shrunk and migrated under its threads.
. /tests/lib.sh
# One loop, one trigger at a time: 6.12 itself can trip over memory compaction scanning a
# block that offlining is removing from the zone (VM_BUG_ON_PAGE(!zone_spans_pfn) in
# set_pfnblock_flags_mask, seen with the two run concurrently), which is no allocator bug.
touch /tmp/churn
(while [ -f /tmp/churn ]; do
	echo 1 >/proc/sys/vm/compact_memory
	echo 2 >/proc/sys/vm/drop_caches
	OFFLINE_TIMEOUT=5 offline_movable_blocks >/dev/null
	online_movable_blocks
	sleep 1
done) &
insmod $MODDIR/zsmalloc_rs_kunit.ko
rm /tmp/churn
wait
online_movable_blocks
rmmod zsmalloc_rs_kunit
