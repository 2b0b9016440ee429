// SPDX-License-Identifier: GPL-2.0
/*
 * Symbol exports of zsmalloc_rs.ko: the zsmalloc API under this module's own names, defined
 * in Rust (zs_api.rs). zsmalloc_rs_compat.ko re-exports them as zs_*.
 */
#include <linux/atomic.h>
#include <linux/export.h>
#include <linux/zsmalloc.h>

struct zs_pool *rzs_create_pool(const char *name);
void rzs_destroy_pool(struct zs_pool *pool);
unsigned long rzs_malloc(struct zs_pool *pool, size_t size, gfp_t flags);
void rzs_free(struct zs_pool *pool, unsigned long obj);
void *rzs_map_object(struct zs_pool *pool, unsigned long handle, enum zs_mapmode mm);
void rzs_unmap_object(struct zs_pool *pool, unsigned long handle);
unsigned long rzs_get_total_pages(struct zs_pool *pool);
unsigned long rzs_compact(struct zs_pool *pool);
void rzs_pool_stats(struct zs_pool *pool, struct zs_pool_stats *stats);
size_t rzs_huge_class_size(struct zs_pool *pool);
unsigned int rzs_lookup_class_index(struct zs_pool *pool, unsigned int size);

EXPORT_SYMBOL_GPL(rzs_create_pool);
EXPORT_SYMBOL_GPL(rzs_destroy_pool);
EXPORT_SYMBOL_GPL(rzs_malloc);
EXPORT_SYMBOL_GPL(rzs_free);
EXPORT_SYMBOL_GPL(rzs_map_object);
EXPORT_SYMBOL_GPL(rzs_unmap_object);
EXPORT_SYMBOL_GPL(rzs_get_total_pages);
EXPORT_SYMBOL_GPL(rzs_compact);
EXPORT_SYMBOL_GPL(rzs_pool_stats);
EXPORT_SYMBOL_GPL(rzs_huge_class_size);
EXPORT_SYMBOL_GPL(rzs_lookup_class_index);
