// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for rust_zsmalloc: wrappers of static inline functions and macros that Rust
 * cannot call in 6.12. No allocator logic lives here.
 */
#include <linux/cpuhotplug.h>
#include <linux/debugfs.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include "helpers.h"

void rzs_rcu_read_lock(void)
{
	rcu_read_lock();
}

void rzs_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

unsigned long rzs_page_to_pfn(struct page *page)
{
	return page_to_pfn(page);
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

void rzs_init_list_head(struct list_head *head)
{
	INIT_LIST_HEAD(head);
}

void rzs_list_add(struct list_head *entry, struct list_head *head)
{
	list_add(entry, head);
}

void rzs_list_add_tail(struct list_head *entry, struct list_head *head)
{
	list_add_tail(entry, head);
}

void rzs_list_del_init(struct list_head *entry)
{
	list_del_init(entry);
}

bool rzs_list_empty(const struct list_head *head)
{
	return list_empty(head);
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
