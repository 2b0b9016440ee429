// SPDX-License-Identifier: GPL-2.0

//! The zsmalloc API with 6.12's signatures and semantics, under this module's own names
//! (`rzs_*`): upstream `zsmalloc.ko` exports the `zs_*` names, and this module must load next
//! to it. `zsmalloc_rs_compat.ko` re-exports these as `zs_*` for an unmodified zram.ko
//! (load it only when upstream zsmalloc is not loaded).
//!
//! Each function only converts pointers and calls the safe `Pool` API. Callers follow
//! zsmalloc's contract: `pool` comes from `rzs_create_pool`, handles from `rzs_malloc`.

use crate::{c_pool, CLASSES};
use core::ffi::c_void;
use kernel::bindings;

/// `zs_create_pool`: a pool named `name`, or null. May sleep.
///
/// # Safety
///
/// `name` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rzs_create_pool(name: *const u8) -> *mut c_void {
    // SAFETY: zsmalloc's contract: a NUL-terminated name.
    unsafe { c_pool::create(name) }
}

/// `zs_destroy_pool`: frees the pool and every object left in it. May sleep.
///
/// # Safety
///
/// `pool` came from `rzs_create_pool`, is destroyed once and not used afterwards; its
/// handles end with it.
#[no_mangle]
pub unsafe extern "C" fn rzs_destroy_pool(pool: *mut c_void) {
    // SAFETY: a pool from `rzs_create_pool`, destroyed once (caller).
    unsafe { c_pool::destroy(pool) }
}

/// `zs_malloc`: a handle, or an error value (`-EINVAL`, `-ENOSPC`, `-ENOMEM`) as
/// `IS_ERR_VALUE` sees it. Honours `gfp` (zram calls it with preemption off and no direct
/// reclaim).
///
/// # Safety
///
/// `pool` came from `rzs_create_pool` and is not destroyed meanwhile.
#[no_mangle]
pub unsafe extern "C" fn rzs_malloc(pool: *mut c_void, size: usize, gfp: bindings::gfp_t) -> usize {
    // SAFETY: a live pool (caller).
    match c_pool::malloc(unsafe { c_pool::get(pool) }, size, gfp) {
        Ok(handle) => handle,
        Err(e) => e.to_errno() as isize as usize,
    }
}

/// `zs_free`: frees the object; 0 and error values are ignored. Never sleeps.
///
/// # Safety
///
/// As for `rzs_malloc`; `handle` is 0, an error value, or a live handle of `pool`, not
/// used again.
#[no_mangle]
pub unsafe extern "C" fn rzs_free(pool: *mut c_void, handle: usize) {
    // SAFETY: a live pool and one of its live handles, or 0 or an error value (caller).
    unsafe { c_pool::free(c_pool::get(pool), handle) }
}

/// `zs_map_object`: the object's address until `rzs_unmap_object`, or null for a bad
/// handle (or, for an object that crosses a page boundary and is not reached in place, when
/// this CPU's copy buffer is already mapped).
///
/// # Safety
///
/// As for `rzs_malloc`; `handle` is a live handle of `pool` that is not mapped; the caller
/// unmaps it with `rzs_unmap_object` on the same CPU without sleeping in between.
#[no_mangle]
pub unsafe extern "C" fn rzs_map_object(
    pool: *mut c_void,
    handle: usize,
    mode: u32,
) -> *mut c_void {
    // SAFETY: a live pool and one of its live handles, not mapped, unmapped on this CPU
    // without sleeping (caller).
    unsafe { c_pool::map(c_pool::get(pool), handle, mode) }
}

/// `zs_unmap_object`: ends the mapping; a copied object is copied back unless mapped
/// read-only.
///
/// # Safety
///
/// As for `rzs_malloc`; `handle` was mapped by `rzs_map_object` on this task and not
/// unmapped since.
#[no_mangle]
pub unsafe extern "C" fn rzs_unmap_object(pool: *mut c_void, handle: usize) {
    // SAFETY: a live pool and a handle this task mapped with `rzs_map_object` (caller).
    unsafe { c_pool::unmap(c_pool::get(pool), handle) }
}

/// `zs_get_total_pages`: pages held by the pool.
///
/// # Safety
///
/// As for `rzs_malloc`.
#[no_mangle]
pub unsafe extern "C" fn rzs_get_total_pages(pool: *mut c_void) -> usize {
    // SAFETY: a live pool (caller).
    unsafe { c_pool::get(pool) }.total_pages()
}

/// `zs_compact`: moves objects out of sparse zspages; returns the pages freed. May sleep
/// (it never does: it skips zspages that are mapped rather than wait).
///
/// # Safety
///
/// As for `rzs_malloc`.
#[no_mangle]
pub unsafe extern "C" fn rzs_compact(pool: *mut c_void) -> usize {
    // SAFETY: a live pool (caller).
    unsafe { c_pool::get(pool) }.compact()
}

/// `zs_pool_stats`: pages freed by compaction so far.
///
/// # Safety
///
/// As for `rzs_malloc`; `stats` points at a writable `struct zs_pool_stats`.
#[no_mangle]
pub unsafe extern "C" fn rzs_pool_stats(pool: *mut c_void, stats: *mut crate::sys::zs_pool_stats) {
    // SAFETY: a live pool (caller).
    let compacted = unsafe { c_pool::get(pool) }.pages_compacted();
    // SAFETY: zsmalloc's contract: `stats` points at a caller's `struct zs_pool_stats`.
    unsafe { (*stats).pages_compacted.counter = compacted as i64 };
}

/// `zs_huge_class_size`: objects of this size or larger are stored one per page.
#[no_mangle]
pub extern "C" fn rzs_huge_class_size(_pool: *mut c_void) -> usize {
    CLASSES.huge_class_size()
}

/// `zs_lookup_class_index`: the class an object of `size` bytes lands in (zram's
/// recompression keeps a new copy only if it lands in a smaller class).
#[no_mangle]
pub extern "C" fn rzs_lookup_class_index(_pool: *mut c_void, size: u32) -> u32 {
    let size = (size as usize).clamp(1, crate::logic::size_class::PAGE_SIZE);
    CLASSES.lookup(size).map_or(0, |(class, _)| class as u32)
}
