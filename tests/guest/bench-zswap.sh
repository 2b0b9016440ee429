# Benchmark (not a test; `make bench` runs it on the bench kernel): the same zswap workload on
# each backend for several rounds, the backend order rotated by one every round (round 1:
# rust_zsmalloc zsmalloc zbud z3fold, round 2: zsmalloc zbud z3fold rust_zsmalloc, ...).
# One line per run:
# ZS-BENCH zswap backend=B round=R position=P secs=S total_secs=T hold_secs=H stored_pages=N pool_bytes=M
# secs is the workload's time without its fixed hold (fill, pageout, read back and verify);
# stored_pages and pool_bytes are read while the data is held out, after zstest said so.
# zs.chain_pages (ZS_CHAIN_PAGES of scripts/bench.sh), if given, is zsmalloc_rs.ko's chain_pages.
. /tests/lib.sh
chain=$(cmdline_value zs.chain_pages '')
insmod $MODDIR/zsmalloc_rs.ko ${chain:+chain_pages=$chain}
insmod $MODDIR/zsmalloc.ko
insmod $MODDIR/z3fold.ko
swap_on
echo 1 >/sys/module/zswap/parameters/enabled
make_cgroup bench 64M
rounds=$(cmdline_value zs.bench_rounds 6)
hold=3
set -- rust_zsmalloc zsmalloc zbud z3fold
for round in $(seq 1 "$rounds"); do
	position=1
	for backend in "$@"; do
		echo "$backend" >/sys/module/zswap/parameters/zpool
		rm -f /tmp/bench.ready
		in_cgroup bench zstest anon --mib 128 --pageout --hold-secs $hold \
			--ready-file /tmp/bench.ready >/tmp/bench.out 2>&1 &
		pid=$!
		# Wait (cheaply) until the data is out, then read zswap's figures a few times
		# during the hold, away from the timed part.
		while [ ! -e /tmp/bench.ready ] && kill -0 $pid 2>/dev/null; do
			usleep 100000
		done
		best_stored=0
		best_pool=0
		for sample in 1 2 3; do
			kill -0 $pid 2>/dev/null || break
			stored=$(zswap_stat stored_pages)
			if [ "$stored" -gt "$best_stored" ]; then
				best_stored=$stored
				best_pool=$(zswap_stat pool_total_size)
			fi
			usleep 500000
		done
		wait $pid || fail "zstest failed on $backend: $(cat /tmp/bench.out)"
		[ -e /tmp/bench.ready ] || fail "zstest on $backend never reported its data out"
		total=$(sed -n 's/.* secs=\([0-9.]*\) .*/\1/p' /tmp/bench.out)
		secs=$(echo "$total $hold" | awk '{ printf "%.3f", $1 - $2 }')
		echo "ZS-BENCH zswap backend=$backend round=$round position=$position secs=$secs total_secs=$total hold_secs=$hold stored_pages=$best_stored pool_bytes=$best_pool"
		position=$((position + 1))
	done
	# Rotate: the first backend of this round goes last in the next.
	first=$1
	shift
	set -- "$@" "$first"
done
# z3fold 6.12 WARNs ("Slab cache still has objects") when zswap switches away from it:
# that is z3fold's, not this project's; the report attributes it.
echo zbud >/sys/module/zswap/parameters/zpool
