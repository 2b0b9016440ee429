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
