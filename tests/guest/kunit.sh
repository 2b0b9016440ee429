# KUnit: loading the test module runs its suite; the host checks the KTAP it prints against
# the cases tests/kunit.rs declares. While the stress case's threads (kthreads "rzs_stress")
# run, and only then, userspace forces page migration (memory compaction, offlining the DIMM's
# movable blocks and onlining them again) and runs the shrinkers, so that the stress pool is
# compacted, shrunk and migrated under its threads while the other cases' exact page counts
# are left alone.
. /tests/lib.sh
# destroy_with_live_objects destroys a pool holding 500 objects on purpose.
echo "ZS-EXPECT zsmalloc_rs_kunit: pool kunit: destroyed with 500 live objects; freed them"
# destroy_pool_while_page_isolated and destroy_pool_mid_migration_cross_cpu destroy pools
# holding 1 and 2 objects, the pages of which the migration core has isolated.
echo "ZS-EXPECT zsmalloc_rs_kunit: pool kunit: destroyed with 1 live objects; freed them"
echo "ZS-EXPECT zsmalloc_rs_kunit: pool kunit: destroyed with 2 live objects; freed them"
# spanning_copy_rules maps a second spanning object while the first holds the copy buffer.
echo "ZS-EXPECT zsmalloc_rs_kunit: map: this CPU's copy buffer is in use by another mapping"

rm -f /tmp/kunit.rc /tmp/churn
trap 'rm -f /tmp/churn' EXIT
(
	rc=0
	insmod $MODDIR/zsmalloc_rs_kunit.ko || rc=$?
	echo "$rc" >/tmp/kunit.rc
) &
suite=$!
suite_running() { [ ! -e /tmp/kunit.rc ]; }
stress_running() { grep -qx rzs_stress /proc/[0-9]*/comm 2>/dev/null; }

# Polling (not synchronisation): the stress case runs for 12 s of guest time.
while suite_running && ! stress_running; do sleep 0.2; done
if stress_running; then
	echo "kunit: stress threads running: churn on"
	touch /tmp/churn
	# One loop, one trigger at a time: 6.12 itself can trip over memory compaction scanning
	# a block that offlining is removing from the zone (VM_BUG_ON_PAGE(!zone_spans_pfn) in
	# set_pfnblock_flags_mask, seen with the two run concurrently), which is no allocator bug.
	(while [ -f /tmp/churn ]; do
		echo 1 >/proc/sys/vm/compact_memory || true
		echo 2 >/proc/sys/vm/drop_caches || true
		OFFLINE_TIMEOUT=5 offline_movable_blocks >/dev/null
		online_movable_blocks || true
		sleep 1
	done) &
	churn=$!
	while stress_running; do sleep 0.2; done
	rm -f /tmp/churn
	wait $churn
	echo "kunit: stress threads gone: churn off"
else
	echo "kunit: the stress case's threads never ran (suite filtered?): no churn"
fi
wait $suite
online_movable_blocks
[ "$(cat /tmp/kunit.rc)" = 0 ] || fail "insmod zsmalloc_rs_kunit failed ($(cat /tmp/kunit.rc))"
rmmod zsmalloc_rs_kunit
