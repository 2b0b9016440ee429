// SPDX-License-Identifier: GPL-2.0

//! A pool handed to C callers (zpool, the zsmalloc API, its debugfs `classes` file) as an
//! opaque pointer: created here, borrowed back for each call, destroyed once. Shims only: raw
//! values in, typed values out.

use crate::{
    handle::Handle,
    mapping::{MapMode, Mapping},
    pool::Pool,
    sys::{Gfp, SeqFile},
};
use core::ffi::c_void;
use kernel::{bindings, prelude::*, str::CStr};

/// Creates a pool named by the C string `name` for the module's allocator, leaked to C.
/// Returns null (after a `pr_err`) on failure.
///
/// # Safety
///
/// `name` is a NUL-terminated string.
pub(crate) unsafe fn create(name: *const u8) -> *mut c_void {
    let Some(alloc) = crate::allocator() else {
        pr_err!("no allocator: the module is not initialised\n");
        return core::ptr::null_mut();
    };
    // SAFETY: NUL-terminated (caller).
    let name = unsafe { CStr::from_char_ptr(name) };
    match Pool::new(alloc, name) {
        // SAFETY: the pool never moves out of its box: `destroy` rebuilds the same box.
        Ok(pool) => KBox::into_raw(unsafe { Pin::into_inner_unchecked(pool) }).cast(),
        Err(e) => {
            pr_err!("cannot create pool {}: {:?}\n", name, e);
            core::ptr::null_mut()
        }
    }
}

/// The pool behind `pool`.
///
/// # Safety
///
/// `pool` came from `create` and is not destroyed while the result is used.
pub(crate) unsafe fn get<'a>(pool: *mut c_void) -> &'a Pool {
    // SAFETY: `create` leaked a pinned `Pool` there (caller).
    unsafe { &*pool.cast::<Pool>() }
}

/// Destroys the pool behind `pool`.
///
/// # Safety
///
/// `pool` came from `create`, is destroyed once, and is not used afterwards.
pub(crate) unsafe fn destroy(pool: *mut c_void) {
    // SAFETY: the box `create` leaked, pinned as it was (caller).
    drop(unsafe { Pin::new_unchecked(KBox::from_raw(pool.cast::<Pool>())) });
}

/// `malloc` for C: a raw handle, or the error. Inlined into both entry points (zpool's and
/// the zsmalloc API's): one call less per allocation.
#[inline(always)]
pub(crate) fn malloc(pool: &Pool, size: usize, gfp: bindings::gfp_t) -> Result<usize> {
    pool.malloc(size, Gfp(gfp)).map(Handle::into_raw)
}

/// Frees the object of a raw handle; 0 and error values are ignored.
///
/// # Safety
///
/// `raw` is 0, an error value, or a live handle of `pool` (zsmalloc's contract), not used
/// again.
pub(crate) unsafe fn free(pool: &Pool, raw: usize) {
    // SAFETY: as the caller guarantees; the handle is consumed here.
    if let Some(handle) = unsafe { Handle::from_raw(raw) } {
        pool.free(handle);
    }
}

/// Maps the object of a raw handle until `unmap`; null on a bad handle.
///
/// # Safety
///
/// `raw` is a live handle of `pool` that is not mapped (zsmalloc's contract); the caller
/// unmaps it on the same CPU, without sleeping in between.
pub(crate) unsafe fn map(pool: &Pool, raw: usize, mode: u32) -> *mut c_void {
    // SAFETY: a live handle of `pool` (caller), used only for this call.
    let Some(mut handle) = (unsafe { Handle::from_raw(raw) }) else {
        return core::ptr::null_mut();
    };
    let addr = match pool.map(&mut handle, MapMode::from_c(mode)) {
        Ok(mapping) => mapping.into_raw().cast(),
        Err(_) => core::ptr::null_mut(),
    };
    // The caller keeps the handle: this was a borrow.
    let _ = handle.into_raw();
    addr
}

/// Ends the mapping `map` made.
///
/// # Safety
///
/// `raw` was mapped by `map` on `pool` by the current task, which has not unmapped it.
pub(crate) unsafe fn unmap(pool: &Pool, raw: usize) {
    // SAFETY: a live, mapped handle of `pool` (caller), used only for this call.
    let Some(mut handle) = (unsafe { Handle::from_raw(raw) }) else {
        return;
    };
    // SAFETY: mapped by `map`, which leaked the mapping on this task (caller).
    unsafe { Mapping::end_raw(pool, &mut handle) };
    let _ = handle.into_raw();
}

/// The `classes` debugfs file's show callback (`DEFINE_SHOW_ATTRIBUTE` in `sys/helpers.c`).
///
/// # Safety
///
/// Called by the seq_file core with the file's `seq_file`, whose private data is the pool
/// `register` created the file for.
#[no_mangle]
unsafe extern "C" fn rzs_classes_show(
    m: *mut bindings::seq_file,
    _v: *mut core::ffi::c_void,
) -> i32 {
    // SAFETY: a running show callback's `seq_file` (caller), used only during it.
    let mut out = unsafe { SeqFile::from_raw(m) };
    // SAFETY: the file's private data is its pool, which removes the file before it goes.
    let pool = unsafe { &*out.private().cast::<Pool>() };
    crate::stats::write_class_table(pool, &mut out);
    0
}
