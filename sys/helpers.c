// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for rust_zsmalloc: wrappers of static inline functions and macros that Rust
 * cannot call in 6.12. No allocator logic lives here.
 */
#include <linux/mm.h>
#include <linux/rcupdate.h>
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
