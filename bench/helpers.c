// SPDX-License-Identifier: GPL-2.0
/*
 * C side of zsmalloc_rs_bench.ko: module parameters (a macro Rust cannot expand in 6.12) and
 * wrappers of static inlines and macros. No benchmark logic here; bench/ffi.rs declares these.
 */
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/moduleparam.h>
#include <linux/nodemask.h>
#include <linux/percpu.h>
#include <linux/vmstat.h>

#include "helpers.h"

static unsigned int rounds = 6;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "rounds per allocator, in ABBA order; even for a fair run (default 6)");

static unsigned int objects = 16384;
module_param(objects, uint, 0444);
MODULE_PARM_DESC(objects, "objects in the trace, one per generated page (default 16384)");

static unsigned int run_ms = 1000;
module_param(run_ms, uint, 0444);
MODULE_PARM_DESC(run_ms, "duration of each throughput measurement in ms (default 1000)");

static unsigned int only;
module_param(only, uint, 0444);
MODULE_PARM_DESC(only, "0: both allocators (default); 1: rust_zsmalloc only; 2: zsmalloc only (for profiling one allocator per boot, scripts/profile-micro.sh)");

unsigned int rzsb_param_only(void)
{
	return only;
}

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

/*
 * Unreclaimable slab memory in pages (both allocators' handle and zspage caches are there),
 * with the per-CPU counter deltas folded in: the global counter alone lags by up to a stat
 * threshold per CPU, which is the size of the differences being measured.
 */
unsigned long rzsb_slab_pages(void)
{
	long pages = global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B);
	int nid, cpu;

	for_each_online_node(nid)
		for_each_online_cpu(cpu)
			pages += READ_ONCE(per_cpu_ptr(NODE_DATA(nid)->per_cpu_nodestats, cpu)
						   ->vm_node_stat_diff[NR_SLAB_UNRECLAIMABLE_B]);
	return pages < 0 ? 0 : pages;
}

/*
 * Free pages as the page allocator sees them right now: the buddy lists' NR_FREE_PAGES with the
 * per-CPU counter deltas folded in, plus the pages sitting on the per-CPU free lists (a page
 * freed by __free_page() lands there first and is not in NR_FREE_PAGES until drained). The
 * difference of two readings is the memory given back in between, to the page.
 */
unsigned long rzsb_free_pages(void)
{
	unsigned long pages = 0;
	int nid, cpu;

	for_each_online_node(nid) {
		struct zone *zone;

		for (zone = NODE_DATA(nid)->node_zones; zone < NODE_DATA(nid)->node_zones + MAX_NR_ZONES;
		     zone++) {
			if (!populated_zone(zone))
				continue;
			pages += zone_page_state_snapshot(zone, NR_FREE_PAGES);
			for_each_online_cpu(cpu)
				pages += READ_ONCE(per_cpu_ptr(zone->per_cpu_pageset, cpu)->count);
		}
	}
	return pages;
}

/* The leading number of /sys/kernel/slab/<cache>/<attr> ("slabs" reads "N N0=..."). */
static int read_slab_attr(const char *cache, const char *attr, long *val)
{
	char path[128], buf[64];
	struct file *file;
	loff_t pos = 0;
	ssize_t n;

	if (snprintf(path, sizeof(path), "/sys/kernel/slab/%s/%s", cache, attr) >= sizeof(path))
		return -ENAMETOOLONG;
	file = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(file))
		return PTR_ERR(file);
	n = kernel_read(file, buf, sizeof(buf) - 1, &pos);
	filp_close(file, NULL);
	if (n <= 0)
		return n < 0 ? n : -EIO;
	buf[n] = 0;
	return sscanf(buf, "%ld", val) == 1 ? 0 : -EIO;
}

/*
 * Pages in the slabs of the slab cache @name (slabs << order), or -errno. The counters behind
 * /sys/kernel/slab/<name>/slabs need CONFIG_SLUB_DEBUG (the bench kernel has it, without
 * slub_debug on, so no debugging cost). A cache merged into another has its name linked to the
 * cache it shares slabs with: the figure is then that shared cache's, and
 * rzsb_slab_cache_aliases() says how many other names share it.
 */
long rzsb_slab_cache_aliases(const char *name)
{
	long aliases;
	int err = read_slab_attr(name, "aliases", &aliases);

	return err ? err : aliases;
}

long rzsb_slab_cache_pages(const char *name)
{
	long slabs, order;
	int err;

	err = read_slab_attr(name, "slabs", &slabs);
	if (err)
		return err;
	err = read_slab_attr(name, "order", &order);
	if (err)
		return err;
	return slabs << order;
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
