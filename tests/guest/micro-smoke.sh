# The microbenchmark as a test, short: one round on a small trace under the debug kernel's
# checkers (KASAN, lockdep, DEBUG_VM), both allocators: every object read back byte for byte
# after the fill, after freeing half and compacting, and after the multi-threaded churn.
. /tests/lib.sh
run_microbench 1 2048 200
