// SPDX-License-Identifier: GPL-2.0

//! The zpool driver `rust_zsmalloc`, through which zswap uses this allocator
//! (`echo rust_zsmalloc > /sys/module/zswap/parameters/zpool`).
//!
//! The callbacks only convert pointers and call the safe `Pool` API.

use crate::{c_pool, sys, zs_api};
use core::{cell::UnsafeCell, ffi::c_void};
use kernel::{bindings, prelude::*, ThisModule};

/// The registered driver; zpool writes its refcount and list links.
struct DriverCell(UnsafeCell<sys::zpool_driver>);

// SAFETY: zpool serializes its accesses to the driver with its own lock; Rust only writes
// the `owner` field before registering it.
unsafe impl Sync for DriverCell {}

static DRIVER: DriverCell = DriverCell(UnsafeCell::new(sys::zpool_driver {
    type_: c"rust_zsmalloc".as_ptr().cast_mut().cast(),
    owner: core::ptr::null_mut(),
    // SAFETY: all-zero is the unregistered state of `atomic_t` and `list_head`.
    refcount: unsafe { core::mem::zeroed() },
    // SAFETY: as above.
    list: unsafe { core::mem::zeroed() },
    create: Some(zp_create),
    // Same C signature as the zsmalloc API's: one function serves both.
    destroy: Some(zs_api::rzs_destroy_pool),
    // Every zspage page is registered with the migration core (migrate.rs).
    malloc_support_movable: true,
    malloc: Some(zp_malloc),
    free: Some(zs_api::rzs_free),
    sleep_mapped: false,
    map: Some(zs_api::rzs_map_object),
    unmap: Some(zs_api::rzs_unmap_object),
    total_pages: Some(zp_total_pages),
}));

/// The driver's registration; unregisters on drop.
pub(crate) struct Registration(());

impl Registration {
    /// Registers the driver; its pools use the module's allocator (`crate::allocator`).
    pub(crate) fn new(module: &'static ThisModule) -> Registration {
        // SAFETY: not registered yet, so nobody else accesses the driver; `.owner` makes
        // zpool hold a module reference for every pool, so no pool outlives the module.
        unsafe {
            (*DRIVER.0.get()).owner = module.as_ptr();
            sys::zpool_register_driver(DRIVER.0.get());
        }
        Registration(())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered in `new`. Pools hold module references, so none exists when
        // the module is being removed and unregistering cannot find the driver busy.
        let ret = unsafe { sys::zpool_unregister_driver(DRIVER.0.get()) };
        if ret != 0 {
            pr_err!("zpool driver still in use on unregister ({ret})\n");
        }
    }
}

/// zpool's `create`: a pool named `name`; the gfp is not used (pools allocate nothing
/// up front).
///
/// # Safety
///
/// `name` is a NUL-terminated string.
unsafe extern "C" fn zp_create(name: *const u8, _gfp: bindings::gfp_t) -> *mut c_void {
    // SAFETY: zpool passes a NUL-terminated pool name.
    unsafe { c_pool::create(name) }
}

/// zpool's `malloc`: 0 and the handle in `*handle`, or -errno.
///
/// # Safety
///
/// `pool_ptr` came from `zp_create` and is not destroyed meanwhile; `handle` is valid for
/// a write.
unsafe extern "C" fn zp_malloc(
    pool_ptr: *mut c_void,
    size: usize,
    gfp: bindings::gfp_t,
    handle: *mut usize,
) -> i32 {
    // SAFETY: a live pool (zpool's contract).
    match c_pool::malloc(unsafe { c_pool::get(pool_ptr) }, size, gfp) {
        Ok(h) => {
            // SAFETY: zpool passes a valid pointer for the handle.
            unsafe { *handle = h };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// zpool's `total_pages`.
///
/// # Safety
///
/// `pool_ptr` came from `zp_create` and is not destroyed meanwhile.
unsafe extern "C" fn zp_total_pages(pool_ptr: *mut c_void) -> u64 {
    // SAFETY: a live pool (zpool's contract).
    unsafe { c_pool::get(pool_ptr) }.total_pages() as u64
}
