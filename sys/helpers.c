// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for rust_zsmalloc: wrappers of static inline functions and macros that Rust
 * cannot call in 6.12. No allocator logic lives here.
 */
#include <linux/cpuhotplug.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/migrate.h>
#include <linux/pagemap.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/workqueue.h>
#include "helpers.h"

void rzs_rcu_read_lock(void)
{
	rcu_read_lock();
}

void rzs_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

/* kmem_cache_create() and kmem_cache_alloc() are macros in 6.12. */
struct kmem_cache *rzs_kmem_cache_create(const char *name, unsigned int size, unsigned int align)
{
	return kmem_cache_create(name, size, align, 0, NULL);
}

void *rzs_kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp)
{
	return kmem_cache_alloc(cache, gfp);
}

unsigned int rzs_get_cpu(void)
{
	return get_cpu();
}

void rzs_put_cpu(void)
{
	put_cpu();
}

unsigned int rzs_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

/* A dynamic prepare-stage state: CPUHP_MM_ZS_PREPARE belongs to upstream zsmalloc. */
int rzs_cpuhp_setup_dyn(const char *name, int (*prepare)(unsigned int), int (*dead)(unsigned int))
{
	return cpuhp_setup_state(CPUHP_BP_PREPARE_DYN, name, prepare, dead);
}

void rzs_cpuhp_remove(int state)
{
	cpuhp_remove_state(state);
}

void rzs_might_sleep(void)
{
	might_sleep();
}

bool rzs_preemptible(void)
{
	return preemptible();
}

struct dentry *rzs_debugfs_create_dir(const char *name, struct dentry *parent)
{
	return debugfs_create_dir(name, parent);
}

void rzs_debugfs_create_ulong(const char *name, struct dentry *parent, unsigned long *value)
{
	debugfs_create_ulong(name, 0444, parent, value);
}

void *rzs_page_address(struct page *page)
{
	return page_address(page);
}

/* The layout page_address() computes with under SPARSEMEM_VMEMMAP (macros, or variables under KASLR). */
unsigned long rzs_vmemmap_start(void)
{
#ifdef CONFIG_SPARSEMEM_VMEMMAP
	return (unsigned long)vmemmap;
#else
	return 0;
#endif
}

unsigned long rzs_direct_map_start(void)
{
	return PAGE_OFFSET;
}

/*
 * page->private links a zspage page to its zspage. Published with release after the zspage
 * is initialised, cleared before it is retired; readers (movable_ops callbacks) use acquire
 * inside an RCU read-side section.
 */
void *rzs_page_zspage(struct page *page)
{
	return (void *)smp_load_acquire(&page->private);
}

void rzs_page_set_zspage(struct page *page, void *zspage)
{
	smp_store_release(&page->private, (unsigned long)zspage);
}

void rzs_get_page(struct page *page)
{
	get_page(page);
}

/* trylock_page() is a static inline; __SetPageMovable() needs the page lock. */
bool rzs_trylock_page(struct page *page)
{
	return trylock_page(page);
}

void rzs_unlock_page(struct page *page)
{
	unlock_page(page);
}

/* For the KUnit module, which acts as the migration core. */
int rzs_page_ref_count(struct page *page)
{
	return page_ref_count(page);
}

void rzs_put_page(struct page *page)
{
	put_page(page);
}

/*
 * The module's one work item: the crate's rzs_module_work() (allocator.rs) in process
 * context. A static per module (the KUnit module links this file too).
 */
void rzs_module_work(void);

static void rzs_module_work_fn(struct work_struct *work)
{
	rzs_module_work();
}

static DECLARE_WORK(rzs_work, rzs_module_work_fn);

void rzs_schedule_module_work(void)
{
	schedule_work(&rzs_work);
}

void rzs_flush_module_work(void)
{
	flush_work(&rzs_work);
}

void rzs_cond_resched(void)
{
	cond_resched();
}

void rzs_msleep(unsigned int msecs)
{
	msleep(msecs);
}

/*
 * Drops a page's link to this module's movable_operations under its lock: with !wait only
 * if the lock can be had without waiting. 1 released, 2 no longer movable (a callback
 * released it), 0 lock busy (only with !wait).
 */
int rzs_release_movable(struct page *page, bool wait)
{
	int ret = 2;

	if (wait)
		lock_page(page);
	else if (!trylock_page(page))
		return 0;
	if (__PageMovable(page) && page_movable_ops(page)) {
		__ClearPageMovable(page);
		ret = 1;
	}
	unlock_page(page);
	return ret;
}

/* Drops a registered page's link under the page lock its caller (the migration core) holds. */
bool rzs_clear_movable_locked(struct page *page)
{
	if (!__PageMovable(page) || !page_movable_ops(page))
		return false;
	__ClearPageMovable(page);
	return true;
}

/* Whether the page is still linked to movable operations (PageMovable() is not exported). */
bool rzs_page_movable(struct page *page)
{
	return __PageMovable(page) && page_movable_ops(page);
}

/*
 * /sys/kernel/debug/rust_zsmalloc/<pool>/classes: DEFINE_SHOW_ATTRIBUTE is a macro; the
 * table itself is written by rzs_classes_show(), in Rust (pool.rs).
 */
int rzs_classes_show(struct seq_file *m, void *v);
DEFINE_SHOW_ATTRIBUTE(rzs_classes);

void rzs_debugfs_create_classes(struct dentry *dir, void *pool)
{
	debugfs_create_file("classes", 0444, dir, pool, &rzs_classes_fops);
}
