# Benchmark (not a test; `make bench` runs it on the bench kernel): the microbenchmark module,
# rust_zsmalloc against upstream zsmalloc in this boot, in ABBA order. ZS-BENCH micro lines on
# the console. zs.chain_pages (ZS_CHAIN_PAGES of scripts/bench.sh), if given, is
# zsmalloc_rs.ko's chain_pages.
. /tests/lib.sh
run_microbench "$(cmdline_value zs.bench_rounds 6)" "$(cmdline_value zs.bench_objects 16384)" \
	"$(cmdline_value zs.bench_run_ms 1000)" "$(cmdline_value zs.chain_pages '')"
