// SPDX-License-Identifier: GPL-2.0

//! rust_zsmalloc: the zsmalloc compressed-memory allocator, re-implemented in Rust.
//!
//! Module `zsmalloc_rs.ko`; zpool driver `rust_zsmalloc` (module alias
//! `zpool-rust_zsmalloc`, so `zswap.zpool=rust_zsmalloc` finds it). Each pool's page count
//! is in `/sys/kernel/debug/rust_zsmalloc/<pool>-<id>/total_pages`.

use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::{c_str, prelude::*};

mod allocator;
mod c_pool;
mod compaction;
mod handle;
#[path = "logic/src/lib.rs"]
#[allow(
    unused_attributes,
    dead_code,
    unreachable_pub,
    reason = "shared with the host crate"
)]
mod logic;
mod mapping;
mod migrate;
mod pool;
mod stats;
mod sys;
mod testing;
mod zpool_glue;
pub mod zs_api;
mod zspage;

/// The size-class table: one of the tables computed at compile time, selected by module init
/// from the `chain_pages` parameter.
pub(crate) static CLASSES: logic::size_class::ClassSelection =
    logic::size_class::ClassSelection::new();

module! {
    type: RustZsmalloc,
    name: "zsmalloc_rs",
    author: "rust_zsmalloc developers",
    description: "zsmalloc compressed-memory allocator in Rust",
    license: "GPL",
    alias: ["zpool-rust_zsmalloc"],
}

/// The allocator every pool of this module uses: published by init before any pool can be
/// created, cleared by exit.
static ALLOCATOR: AtomicPtr<allocator::Allocator> = AtomicPtr::new(core::ptr::null_mut());

/// The module's allocator, while the module is live.
pub(crate) fn allocator() -> Option<&'static allocator::Allocator> {
    // SAFETY: the pointer is null or points at the allocator owned by the module struct,
    // which lives until exit. Every pool holds the module: zpool takes a module reference
    // for each pool (driver `.owner`), and zs_* users depend on this module's symbols, so no
    // pool, and no caller of this function, outlives the allocator.
    unsafe { ALLOCATOR.load(Ordering::Acquire).as_ref() }
}

struct RustZsmalloc {
    // Dropped first: no pool can be created once the driver is gone.
    _driver: zpool_glue::Registration,
    _alloc: Pin<KBox<allocator::Allocator>>,
}

impl kernel::Module for RustZsmalloc {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // Before any pool exists: a zspage's class index means something in one table only.
        select_chain_pages()?;
        let alloc = allocator::Allocator::new(&allocator::AllocatorNames {
            zspage_cache: c_str!("rust_zsmalloc_zspage"),
            handle_cache: c_str!("rust_zsmalloc_handle"),
            hotplug: c_str!("mm/rust_zsmalloc:prepare"),
            debugfs: c_str!("rust_zsmalloc"),
        })?;
        ALLOCATOR.store(core::ptr::from_ref(&*alloc).cast_mut(), Ordering::Release);
        let driver = zpool_glue::Registration::new(module);
        pr_info!(
            "loaded: {} size classes, huge from {} bytes, zspages of up to {} pages\n",
            CLASSES.nr_classes(),
            CLASSES.huge_class_size(),
            CLASSES.chain_pages()
        );
        Ok(RustZsmalloc {
            _driver: driver,
            _alloc: alloc,
        })
    }
}

/// Selects the class table for the `chain_pages` parameter; `EINVAL` if it is out of range.
fn select_chain_pages() -> Result {
    use logic::size_class::{MAX_PAGES_PER_ZSPAGE, MIN_CHAIN_PAGES};
    let pages = sys::params::chain_pages();
    CLASSES.select(pages).map_err(|_| {
        pr_err!("chain_pages={pages}: want {MIN_CHAIN_PAGES}..={MAX_PAGES_PER_ZSPAGE}\n");
        EINVAL
    })
}

impl Drop for RustZsmalloc {
    fn drop(&mut self) {
        // Runs before the fields drop: no pool exists any more (see `allocator`).
        ALLOCATOR.store(core::ptr::null_mut(), Ordering::Release);
    }
}
