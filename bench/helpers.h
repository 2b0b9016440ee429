/* SPDX-License-Identifier: GPL-2.0 */
/* Prototypes of bench/helpers.c; bench/ffi.rs declares the same on the Rust side. */
#ifndef RZSB_HELPERS_H
#define RZSB_HELPERS_H

#include <linux/types.h>

unsigned int rzsb_param_rounds(void);
unsigned int rzsb_param_objects(void);
unsigned int rzsb_param_run_ms(void);
unsigned int rzsb_param_only(void);
bool rzsb_kthread_run(int (*fn)(void *), void *data, const char *name);
unsigned long rzsb_slab_pages(void);
unsigned long rzsb_free_pages(void);
long rzsb_slab_cache_pages(const char *name);
long rzsb_slab_cache_aliases(const char *name);
unsigned int rzsb_online_cpus(void);
gfp_t rzsb_gfp(void);

#endif
