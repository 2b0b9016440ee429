# Profiling run (not a test; scripts/profile-micro.sh runs it under QEMU's tbprof plugin): the
# microbenchmark for one allocator (zs.bench_only=1 rust_zsmalloc, 2 zsmalloc), then the
# modules' symbols, which the host maps the plugin's block addresses with (the kernel's own
# come from System.map: the bench kernel has no KASLR).
. /tests/lib.sh
chain=$(cmdline_value zs.chain_pages '')
insmod $MODDIR/zsmalloc.ko
insmod $MODDIR/zsmalloc_rs.ko ${chain:+chain_pages=$chain}
insmod $MODDIR/zsmalloc_rs_bench.ko rounds="$(cmdline_value zs.bench_rounds 2)" \
	objects="$(cmdline_value zs.bench_objects 16384)" run_ms="$(cmdline_value zs.bench_run_ms 1000)" \
	only="$(cmdline_value zs.bench_only 1)" || fail "the microbenchmark failed"
grep -E '[[:space:]]\[(zsmalloc|zsmalloc_rs|zsmalloc_rs_bench)\]$' /proc/kallsyms | sed 's/^/ZS-KSYM /'
rmmod zsmalloc_rs_bench
rmmod zsmalloc_rs
rmmod zsmalloc
