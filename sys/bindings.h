/* SPDX-License-Identifier: GPL-2.0 */
/* Input of the module-local bindgen run (see Kbuild): headers kernel::bindings lacks. */
#include <linux/types.h>
#include <linux/mm.h>
#include <linux/zpool.h>
#include <linux/migrate.h>
#include <linux/debugfs.h>
#include <linux/zsmalloc.h>
