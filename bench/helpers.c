// SPDX-License-Identifier: GPL-2.0
/*
 * C side of zsmalloc_rs_bench.ko: module parameters (a macro Rust cannot expand in 6.12) and
 * wrappers of static inlines and macros. No benchmark logic here; bench/ffi.rs declares these.
 */
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/vmstat.h>

#include "helpers.h"

static unsigned int rounds = 3;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "rounds per allocator, alternating (default 3)");

static unsigned int objects = 16384;
module_param(objects, uint, 0444);
MODULE_PARM_DESC(objects, "objects in the trace, one per generated page (default 16384)");

static unsigned int run_ms = 1000;
module_param(run_ms, uint, 0444);
MODULE_PARM_DESC(run_ms, "duration of each throughput measurement in ms (default 1000)");

unsigned int rzsb_param_rounds(void)
{
	return rounds;
}

unsigned int rzsb_param_objects(void)
{
	return objects;
}

unsigned int rzsb_param_run_ms(void)
{
	return run_ms;
}

/* kthread_run() is a macro. */
bool rzsb_kthread_run(int (*fn)(void *), void *data, const char *name)
{
	return !IS_ERR(kthread_run(fn, data, "%s", name));
}

/* Unreclaimable slab memory in pages (both allocators' handle and zspage caches are there). */
unsigned long rzsb_slab_pages(void)
{
	return global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B);
}

unsigned int rzsb_online_cpus(void)
{
	return num_online_cpus();
}

/* What zram 6.12 passes to zs_malloc on its slow path: may sleep, no I/O, movable pages. */
gfp_t rzsb_gfp(void)
{
	return GFP_NOIO | __GFP_HIGHMEM | __GFP_MOVABLE;
}
