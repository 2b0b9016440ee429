// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters of rust_zsmalloc: module_param() is a macro with no Rust counterpart in
 * 6.12. Module init reads them once (sys/params.rs) and checks their ranges there.
 */
#include <linux/moduleparam.h>
#include "helpers.h"

/* DEFAULT_CHAIN_PAGES in logic/src/size_class.rs; module init checks the range. */
static unsigned int chain_pages = 8;
module_param(chain_pages, uint, 0444);
MODULE_PARM_DESC(chain_pages,
		 "longest zspage chain in pages, 4..16 as upstream's CONFIG_ZSMALLOC_CHAIN_SIZE "
		 "(default 8); sets the size classes and zs_huge_class_size(); others fail the load with EINVAL");

unsigned int rzs_param_chain_pages(void)
{
	return chain_pages;
}

/* PageLayout in pool.rs: read by each pool at its creation. */
static bool contiguous_zspages = true;
module_param(contiguous_zspages, bool, 0444);
MODULE_PARM_DESC(contiguous_zspages,
		 "take a multi-page zspage's pages as one physically contiguous block when the page "
		 "allocator has one free (no reclaim), so that objects crossing a page boundary are "
		 "mapped in place instead of copied (default Y); N: single pages and copies, as upstream");

bool rzs_param_contiguous_zspages(void)
{
	return contiguous_zspages;
}
