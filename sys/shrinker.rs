// SPDX-License-Identifier: GPL-2.0

//! Shrinkers: memory-pressure callbacks on an object that outlives its registration.

use core::ptr::NonNull;
use kernel::{bindings, str::CStr};

/// What a shrinker asks of the object it was registered for.
pub(crate) trait ShrinkerOps: Sync {
    /// Objects (here: pages) that `scan` could free now.
    fn count(&self) -> usize;
    /// Frees what it can; returns how much, or 0 when there was nothing to do.
    fn scan(&self) -> usize;
}

/// A registered shrinker, freed (after its running callbacks finish) on drop.
///
/// # Invariants
///
/// `0` is registered, and its private data is a `T` that outlives this value.
pub(crate) struct Shrinker(NonNull<bindings::shrinker>);

// SAFETY: a shrinker may be freed from any thread.
unsafe impl Send for Shrinker {}
// SAFETY: `&Shrinker` exposes nothing.
unsafe impl Sync for Shrinker {}

/// # Safety
///
/// Called by the shrinker core for a `Shrinker` registered by `Shrinker::new::<T>`.
unsafe extern "C" fn count_trampoline<T: ShrinkerOps>(
    shrinker: *mut bindings::shrinker,
    _sc: *mut bindings::shrink_control,
) -> usize {
    // SAFETY: the shrinker is live during its callback and its data is a live `T` (type
    // invariant of the `Shrinker` that registered it).
    let data = unsafe { &*(*shrinker).private_data.cast::<T>() };
    data.count()
}

/// # Safety
///
/// As for `count_trampoline`.
unsafe extern "C" fn scan_trampoline<T: ShrinkerOps>(
    shrinker: *mut bindings::shrinker,
    _sc: *mut bindings::shrink_control,
) -> usize {
    // SAFETY: as in `count_trampoline`.
    let data = unsafe { &*(*shrinker).private_data.cast::<T>() };
    match data.scan() {
        0 => bindings::SHRINK_STOP as usize,
        freed => freed,
    }
}

impl Shrinker {
    /// Registers a shrinker named `mm-rust_zsmalloc:<name>` for `data`.
    ///
    /// # Safety
    ///
    /// `data` stays valid, at the same address, until the `Shrinker` is dropped.
    pub(crate) unsafe fn new<T: ShrinkerOps>(name: &CStr, data: &T) -> Option<Shrinker> {
        // SAFETY: a NUL-terminated format with one `%s` and its NUL-terminated argument.
        let shrinker = unsafe {
            bindings::shrinker_alloc(
                0,
                c"mm-rust_zsmalloc:%s".as_ptr().cast(),
                name.as_char_ptr(),
            )
        };
        let shrinker = NonNull::new(shrinker)?;
        // SAFETY: freshly allocated, not registered yet: nobody else accesses it.
        unsafe {
            let s = shrinker.as_ptr();
            (*s).count_objects = Some(count_trampoline::<T>);
            (*s).scan_objects = Some(scan_trampoline::<T>);
            (*s).private_data = core::ptr::from_ref(data).cast_mut().cast();
            bindings::shrinker_register(s);
        }
        // INVARIANT: registered above, for `data`, which outlives it (caller).
        Some(Shrinker(shrinker))
    }
}

impl Drop for Shrinker {
    fn drop(&mut self) {
        // SAFETY: registered by `new`; `shrinker_free` waits for running callbacks.
        unsafe { bindings::shrinker_free(self.0.as_ptr()) };
    }
}
