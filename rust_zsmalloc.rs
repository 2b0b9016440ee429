// SPDX-License-Identifier: GPL-2.0

//! rust_zsmalloc: the zsmalloc compressed-memory allocator, re-implemented in Rust.
//!
//! Module `zsmalloc_rs.ko`; zpool driver `rust_zsmalloc` (module alias
//! `zpool-rust_zsmalloc`, so `zswap.zpool=rust_zsmalloc` finds it). Each pool's page count
//! is in `/sys/kernel/debug/rust_zsmalloc/<pool>-<id>/total_pages`.

use kernel::{c_str, prelude::*};

mod copybuf;
#[path = "logic/src/lib.rs"]
#[allow(unused_attributes, dead_code, unreachable_pub, reason = "shared with the host crate")]
mod logic;
mod pool;
mod sys;
mod zpool_glue;
mod zspage;

/// The size-class table, computed at compile time.
pub(crate) static CLASSES: logic::size_class::ClassTable = logic::size_class::ClassTable::new();

module! {
    type: RustZsmalloc,
    name: "zsmalloc_rs",
    author: "rust_zsmalloc developers",
    description: "zsmalloc compressed-memory allocator in Rust",
    license: "GPL",
    alias: ["zpool-rust_zsmalloc"],
}

struct RustZsmalloc {
    // Dropped first: no pool can be created once the driver is gone.
    _driver: zpool_glue::Registration,
    _alloc: Pin<KBox<pool::Allocator>>,
}

impl kernel::Module for RustZsmalloc {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let alloc = KBox::pin(
            pool::Allocator::new(&pool::AllocatorNames {
                zspage_cache: c_str!("rust_zsmalloc_zspage"),
                handle_cache: c_str!("rust_zsmalloc_handle"),
                hotplug: c_str!("mm/rust_zsmalloc:prepare"),
                debugfs: c_str!("rust_zsmalloc"),
            })?,
            GFP_KERNEL,
        )?;
        let driver = zpool_glue::Registration::new(module, &alloc);
        pr_info!("loaded: {} size classes, huge from {} bytes\n", CLASSES.nr_classes(), CLASSES.huge_class_size());
        Ok(RustZsmalloc { _driver: driver, _alloc: alloc })
    }
}
