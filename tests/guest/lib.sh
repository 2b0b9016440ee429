# Helpers for guest scenarios (sourced). Scenarios run under `sh -e`: any failing command
# fails the scenario. Print "ZS-FAIL <why>" before failing so the host shows the reason.

MODDIR=/lib/modules

fail() {
	echo "ZS-FAIL $*"
	exit 1
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# poll_until SECS CMD...: retry CMD once a second until it succeeds or SECS pass.
poll_until() {
	n=$1
	shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 1
	done
}

# wait_zstest PID: wait for a background `zstest ... >/tmp/zstest.out`, show its output, and
# fail the scenario unless it verified every page.
wait_zstest() {
	rc=0
	wait "$1" || rc=$?
	cat /tmp/zstest.out
	[ "$rc" = 0 ] || fail "zstest exited $rc: data did not come back intact"
}

# wait_ready FILE PID: wait until the background workload PID creates FILE (zstest
# --ready-file: its data is out and held); fail if it exits first.
wait_ready() {
	while [ ! -e "$1" ]; do
		kill -0 "$2" 2>/dev/null || {
			cat /tmp/*.out 2>/dev/null
			fail "the workload exited before its data was out"
		}
		sleep 1
	done
}

module_loaded() {
	[ -d "/sys/module/$1" ]
}

# Pages held by all rust_zsmalloc pools (debugfs).
rzs_pool_pages() {
	rzs_pool_counter total_pages
}

zswap_stat() {
	cat "/sys/kernel/debug/zswap/$1"
}

# swap on the virtio disk (a sparse file on the host)
swap_on() {
	mkswap /dev/vda >/dev/null
	swapon /dev/vda
}

# make_cgroup NAME MEMORY_MAX: a cgroup v2 group with a memory limit
make_cgroup() {
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	mkdir -p "/sys/fs/cgroup/$1"
	echo "$2" >"/sys/fs/cgroup/$1/memory.max"
}

# in_cgroup NAME CMD...: run CMD inside the cgroup
in_cgroup() {
	cg=$1
	shift
	sh -c 'echo $$ > "$0" && exec "$@"' "/sys/fs/cgroup/$cg/cgroup.procs" "$@"
}

# zram on rust_zsmalloc: our allocator, the zs_* compat module, then the kernel's own zram.ko
# (insmod, not modprobe, which would pull in upstream zsmalloc.ko).
zram_load() {
	insmod $MODDIR/zsmalloc_rs.ko
	insmod $MODDIR/zsmalloc_rs_compat.ko
	insmod $MODDIR/zram.ko num_devices=1
}

zram_unload() {
	rmmod zram
	rmmod zsmalloc_rs_compat
	rmmod zsmalloc_rs
	for m in zram zsmalloc_rs_compat zsmalloc_rs; do
		module_loaded $m && fail "$m still loaded after rmmod"
	done
	true
}

# zram_start SIZE: size zram0 and check that its pool is one of ours.
zram_start() {
	echo "$1" >/sys/block/zram0/disksize
	ls -d /sys/kernel/debug/rust_zsmalloc/zram0-* >/dev/null 2>&1 ||
		fail "zram0's pool is not a rust_zsmalloc pool"
}

# mm_stat FIELD: 1 orig_data_size, 2 compr_data_size, 3 mem_used_total, 8 huge_pages
mm_stat() {
	awk -v f="$1" '{ print $f }' /sys/block/zram0/mm_stat
}

# zram's mm_stat agrees with the pool: mem_used_total = pool pages x PAGE_SIZE. The two
# reads are not atomic together, so retry while writes may still be landing.
mm_stat_matches_pool() {
	used=$(mm_stat 3)
	pages=$(rzs_pool_pages)
	[ "$pages" -gt 0 ] && [ "$used" = "$((pages * 4096))" ]
}

check_mm_stat_matches_pool() {
	poll_until 20 mm_stat_matches_pool ||
		fail "mm_stat mem_used_total $(mm_stat 3) != rust_zsmalloc pages $(rzs_pool_pages) x 4096"
}

# For poll_until (which re-runs its command, so the values must be read inside it):
pool_is_empty() {
	[ "$(rzs_pool_pages)" = 0 ]
}

zram_holds_more_than() {
	[ "$(mm_stat 1)" -gt "$1" ]
}

# Sum of one counter over all rust_zsmalloc pools.
rzs_pool_counter() {
	total=0
	for f in /sys/kernel/debug/rust_zsmalloc/*/"$1"; do
		[ -f "$f" ] && total=$((total + $(cat "$f")))
	done
	echo "$total"
}

# Online memory blocks of the movable zone (the hot-plugged DIMM).
movable_blocks() {
	for b in /sys/devices/system/memory/memory*; do
		[ "$(cat "$b/state")" = online ] && grep -q Movable "$b/valid_zones" && echo "$b"
	done
}

# offline_movable_blocks: offline every online movable block (each page in it must be
# migrated); prints how many went offline. Bounded: offlining retries until signalled.
offline_movable_blocks() {
	n=0
	for b in $(movable_blocks); do
		timeout "${OFFLINE_TIMEOUT:-60}" sh -c "echo offline > $b/state" 2>/dev/null && n=$((n + 1))
	done
	echo "$n"
}

online_movable_blocks() {
	for b in /sys/devices/system/memory/memory*; do
		[ "$(cat "$b/state")" = offline ] && echo online_movable >"$b/state"
	done
	true
}

# cmdline_value NAME DEFAULT: the value of NAME=... on the kernel command line, or DEFAULT.
cmdline_value() {
	v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p")
	echo "${v:-$2}"
}

# run_microbench ROUNDS OBJECTS RUN_MS: the microbenchmark module against upstream zsmalloc.ko
# (loaded here; zsmalloc_rs_compat.ko must not be, it exports the same zs_* names) and
# zsmalloc_rs.ko. Its results are ZS-BENCH lines on the console; insmod fails if any object
# read back wrong or an operation failed.
run_microbench() {
	module_loaded zsmalloc_rs_compat && fail "zsmalloc_rs_compat is loaded: the benchmark must call upstream zs_*"
	insmod $MODDIR/zsmalloc.ko
	insmod $MODDIR/zsmalloc_rs.ko
	insmod $MODDIR/zsmalloc_rs_bench.ko rounds="$1" objects="$2" run_ms="$3" ||
		fail "the microbenchmark failed (its pr_err lines above say where)"
	rmmod zsmalloc_rs_bench
	rmmod zsmalloc_rs
	rmmod zsmalloc
}
