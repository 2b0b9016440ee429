// SPDX-License-Identifier: GPL-2.0
/*
 * Symbol exports of zsmalloc_rs_compat.ko: the zs_* API, defined in Rust (zs_compat.rs) as
 * forwarders to zsmalloc_rs.ko. Prototypes come from <linux/zsmalloc.h>.
 */
#include <linux/atomic.h>
#include <linux/export.h>
#include <linux/zsmalloc.h>

EXPORT_SYMBOL_GPL(zs_create_pool);
EXPORT_SYMBOL_GPL(zs_destroy_pool);
EXPORT_SYMBOL_GPL(zs_malloc);
EXPORT_SYMBOL_GPL(zs_free);
EXPORT_SYMBOL_GPL(zs_map_object);
EXPORT_SYMBOL_GPL(zs_unmap_object);
EXPORT_SYMBOL_GPL(zs_get_total_pages);
EXPORT_SYMBOL_GPL(zs_compact);
EXPORT_SYMBOL_GPL(zs_pool_stats);
EXPORT_SYMBOL_GPL(zs_huge_class_size);
EXPORT_SYMBOL_GPL(zs_lookup_class_index);
