/* SPDX-License-Identifier: GPL-2.0 */
/* Prototypes of the C helpers; sys/mod.rs declares the same on the Rust side. */
#ifndef RZS_HELPERS_H
#define RZS_HELPERS_H

#include <linux/types.h>

struct page;
struct kunit;
struct kmem_cache;
struct dentry;

unsigned int rzs_param_chain_pages(void);
bool rzs_param_contiguous_zspages(void);
void *rzs_page_address(struct page *page);
unsigned long rzs_vmemmap_start(void);
unsigned long rzs_direct_map_start(void);
void rzs_rcu_read_lock(void);
void rzs_rcu_read_unlock(void);

struct kmem_cache *rzs_kmem_cache_create(const char *name, unsigned int size, unsigned int align);
void *rzs_kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp);


unsigned int rzs_get_cpu(void);
void rzs_put_cpu(void);
unsigned int rzs_nr_cpu_ids(void);
int rzs_cpuhp_setup_dyn(const char *name, int (*prepare)(unsigned int), int (*dead)(unsigned int));
void rzs_cpuhp_remove(int state);
void rzs_might_sleep(void);
bool rzs_preemptible(void);

struct dentry *rzs_debugfs_create_dir(const char *name, struct dentry *parent);
void rzs_debugfs_create_ulong(const char *name, struct dentry *parent, unsigned long *value);

/* Test module only (tests/kunit_helpers.c). */
void rzs_kunit_fail(struct kunit *test, const char *file, size_t file_len, u32 line,
		    const char *what, size_t what_len);
void rzs_provoke_warning(void);
bool rzs_kthread_run(int (*fn)(void *), void *data, const char *name);
bool rzs_kthread_run_on(int (*fn)(void *), void *data, const char *name, unsigned int cpu);


void *rzs_page_zspage(struct page *page);
void rzs_page_set_zspage(struct page *page, void *zspage);
void rzs_get_page(struct page *page);
bool rzs_trylock_page(struct page *page);
void rzs_unlock_page(struct page *page);
int rzs_page_ref_count(struct page *page);
void rzs_put_page(struct page *page);
void rzs_msleep(unsigned int msecs);
void rzs_cond_resched(void);
int rzs_release_movable(struct page *page, bool wait);
void rzs_schedule_module_work(void);
void rzs_flush_module_work(void);
bool rzs_clear_movable_locked(struct page *page);
bool rzs_page_movable(struct page *page);
void rzs_debugfs_create_classes(struct dentry *dir, void *pool);

#endif
