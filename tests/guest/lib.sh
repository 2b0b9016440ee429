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

module_loaded() {
	[ -d "/sys/module/$1" ]
}

# Pages held by all rust_zsmalloc pools (debugfs).
rzs_pool_pages() {
	total=0
	for f in /sys/kernel/debug/rust_zsmalloc/*/total_pages; do
		[ -f "$f" ] && total=$((total + $(cat "$f")))
	done
	echo "$total"
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
