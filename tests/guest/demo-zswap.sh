# The demo: rust_zsmalloc serving zswap under memory pressure and zram with a filesystem,
# with their stats. Stats are read while the workload says its data is out and held (a
# handshake, whatever the machine's speed); an empty zswap or pool then fails the demo.
. /tests/lib.sh

# summary WHAT STORED_PAGES POOL_PAGES: the demo's closing line for one user of the pool.
summary() {
	awk -v what="$1" -v stored="$2" -v pool="$3" 'BEGIN {
		printf "DEMO-SUMMARY: %s: %d pages stored in %d pool pages: compression ratio %.2f, %d pages saved (%.1f MiB)\n",
			what, stored, pool, stored / pool, stored - pool, (stored - pool) / 256
	}'
}

# demo_zstest ARGS...: zstest with its output shown as demo lines; fails the demo on error.
demo_zstest() {
	rc=0
	zstest "$@" >/tmp/zstest.out 2>&1 || rc=$?
	sed 's/^/DEMO: zstest: /' /tmp/zstest.out
	[ "$rc" = 0 ] || fail "zstest $1 exited $rc: the data did not come back intact"
}

insmod $MODDIR/zsmalloc_rs.ko
swap_on
echo 1 >/sys/module/zswap/parameters/enabled
echo rust_zsmalloc >/sys/module/zswap/parameters/zpool
echo "DEMO: zswap zpool = $(cat /sys/module/zswap/parameters/zpool)"
make_cgroup demo 48M
rm -f /tmp/ready /tmp/go
in_cgroup demo zstest anon --mib 80 --pageout --ready-file /tmp/ready --hold-until /tmp/go \
	>/tmp/demo.out 2>&1 &
pid=$!
wait_ready /tmp/ready $pid
stored=$(zswap_stat stored_pages)
pages=$(rzs_pool_pages)
echo "DEMO: while 80 MiB of varied data is pushed out of a 48 MiB cgroup (and held out):"
echo "DEMO:   zswap stored_pages   = $stored"
echo "DEMO:   zswap pool_total_size = $(zswap_stat pool_total_size) bytes"
for f in /sys/kernel/debug/rust_zsmalloc/*/total_pages; do
	echo "DEMO:   rust_zsmalloc pool $(basename "$(dirname "$f")"): $(cat "$f") pages"
done
grep -E 'SwapTotal|SwapFree|Zswap' /proc/meminfo | sed 's/^/DEMO:   /'
touch /tmp/go
rc=0
wait $pid || rc=$?
sed 's/^/DEMO: zstest: /' /tmp/demo.out
[ "$rc" = 0 ] || fail "zstest exited $rc: the data did not come back intact"
[ "$stored" -gt 0 ] || fail "zswap stored_pages was 0 while the data was out: zswap stored nothing"
[ "$pages" -gt 0 ] || fail "the rust_zsmalloc pool was empty while zswap stored $stored pages"
zswap_summary=$(summary "zswap on rust_zsmalloc" "$stored" "$pages")
echo zbud >/sys/module/zswap/parameters/zpool
echo 0 >/sys/module/zswap/parameters/enabled
swapoff /dev/vda

echo "DEMO: zram on rust_zsmalloc (unmodified zram.ko through zsmalloc_rs_compat.ko):"
insmod $MODDIR/zsmalloc_rs_compat.ko
insmod $MODDIR/zram.ko num_devices=1
echo 128M >/sys/block/zram0/disksize
mke2fs -q -b 4096 /dev/zram0
mount -t ext2 /dev/zram0 /mnt
demo_zstest files --dir /mnt --mib 32 write
sync
echo "DEMO:   zram0 mm_stat (orig compr mem_used limit max same compacted huge) = $(cat /sys/block/zram0/mm_stat)"
zram_pages=0
for f in /sys/kernel/debug/rust_zsmalloc/zram0-*/total_pages; do
	echo "DEMO:   rust_zsmalloc pool $(basename "$(dirname "$f")"): $(cat "$f") pages"
	zram_pages=$((zram_pages + $(cat "$f")))
done
zram_stored=$(($(mm_stat 1) / 4096))
[ "$zram_stored" -gt 0 ] || fail "zram holds no data after 32 MiB of files were written"
[ "$zram_pages" -gt 0 ] || fail "zram0's rust_zsmalloc pool is empty while zram holds $zram_stored pages"
echo 3 >/proc/sys/vm/drop_caches
demo_zstest files --dir /mnt --mib 32 verify
umount /mnt
echo "$zswap_summary"
summary "zram on rust_zsmalloc" "$zram_stored" "$zram_pages"
