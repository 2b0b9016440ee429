// SPDX-License-Identifier: GPL-2.0

//! A pool handed to C callers (zpool, the zsmalloc API) as an opaque pointer: created here,
//! borrowed back for each call, destroyed once.

use crate::pool::Pool;
use core::ffi::c_void;
use kernel::{prelude::*, str::CStr};

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
/// `pool` came from `create` and has not been destroyed.
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
