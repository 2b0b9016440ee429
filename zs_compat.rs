// SPDX-License-Identifier: GPL-2.0

//! `zsmalloc_rs_compat.ko`: the `zs_*` symbols of the zsmalloc API, forwarding to
//! `zsmalloc_rs.ko`'s `rzs_*`, so that an unmodified zram.ko runs on rust_zsmalloc.
//!
//! Load it instead of upstream `zsmalloc.ko` (both export `zs_*`, so only one can be
//! loaded), after `zsmalloc_rs.ko` and before `insmod zram.ko`.

use core::ffi::c_void;
use kernel::{bindings::gfp_t, prelude::*};

module! {
    type: ZsmallocCompat,
    name: "zsmalloc_rs_compat",
    author: "rust_zsmalloc developers",
    description: "zs_* zsmalloc API on rust_zsmalloc",
    license: "GPL",
}

struct ZsmallocCompat;

impl kernel::Module for ZsmallocCompat {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("zs_* API served by rust_zsmalloc\n");
        Ok(ZsmallocCompat)
    }
}

extern "C" {
    fn rzs_create_pool(name: *const u8) -> *mut c_void;
    fn rzs_destroy_pool(pool: *mut c_void);
    fn rzs_malloc(pool: *mut c_void, size: usize, gfp: gfp_t) -> usize;
    fn rzs_free(pool: *mut c_void, handle: usize);
    fn rzs_map_object(pool: *mut c_void, handle: usize, mode: u32) -> *mut c_void;
    fn rzs_unmap_object(pool: *mut c_void, handle: usize);
    fn rzs_get_total_pages(pool: *mut c_void) -> usize;
    fn rzs_compact(pool: *mut c_void) -> usize;
    fn rzs_pool_stats(pool: *mut c_void, stats: *mut c_void);
    fn rzs_huge_class_size(pool: *mut c_void) -> usize;
    fn rzs_lookup_class_index(pool: *mut c_void, size: u32) -> u32;
}

/// Defines `zs_<name>` as a forwarder to `rzs_<name>` with the same C signature.
macro_rules! forward {
    ($($zs:ident => $rzs:ident ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {$(
        #[doc = concat!("`", stringify!($zs), "`, served by `", stringify!($rzs), "`.")]
        #[doc = ""]
        #[doc = "# Safety"]
        #[doc = ""]
        #[doc = concat!("The contract of `", stringify!($rzs), "` (zsmalloc's).")]
        #[no_mangle]
        pub unsafe extern "C" fn $zs($($arg: $ty),*) $(-> $ret)? {
            // SAFETY: same signature and contract as the callee; the caller (zram) keeps
            // zsmalloc's contract, which the callee documents.
            unsafe { $rzs($($arg),*) }
        }
    )*};
}

forward! {
    zs_create_pool => rzs_create_pool(name: *const u8) -> *mut c_void;
    zs_destroy_pool => rzs_destroy_pool(pool: *mut c_void);
    zs_malloc => rzs_malloc(pool: *mut c_void, size: usize, gfp: gfp_t) -> usize;
    zs_free => rzs_free(pool: *mut c_void, handle: usize);
    zs_map_object => rzs_map_object(pool: *mut c_void, handle: usize, mode: u32) -> *mut c_void;
    zs_unmap_object => rzs_unmap_object(pool: *mut c_void, handle: usize);
    zs_get_total_pages => rzs_get_total_pages(pool: *mut c_void) -> usize;
    zs_compact => rzs_compact(pool: *mut c_void) -> usize;
    zs_pool_stats => rzs_pool_stats(pool: *mut c_void, stats: *mut c_void);
    zs_huge_class_size => rzs_huge_class_size(pool: *mut c_void) -> usize;
    zs_lookup_class_index => rzs_lookup_class_index(pool: *mut c_void, size: u32) -> u32;
}
