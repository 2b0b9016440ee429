# The microbenchmark as a test, short: one round on a small trace under the debug kernel's
# checkers (KASAN, lockdep, DEBUG_VM), both allocators: every object read back byte for byte
# after the fill, after freeing half and compacting, and after the multi-threaded churn.
. /tests/lib.sh
# One round here (data checks, not timing): the bench module says an odd count is unfair.
echo "ZS-EXPECT zsmalloc_rs_bench: rounds=1: odd, so rust_zsmalloc goes first once more than zsmalloc"
run_microbench 1 2048 200
