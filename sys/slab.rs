// SPDX-License-Identifier: GPL-2.0

//! Slab caches and the objects they hand out.

use super::Gfp;
use core::{marker::PhantomData, ops::Deref, ptr::NonNull};
use kernel::{bindings, error::code::ENOMEM, prelude::*, str::CStr};

#[allow(
    improper_ctypes,
    reason = "pointers to kernel structs; their layout is C's"
)]
extern "C" {
    fn rzs_kmem_cache_create(name: *const u8, size: u32, align: u32) -> *mut bindings::kmem_cache;
    #[cfg(CONFIG_MEM_ALLOC_PROFILING)]
    fn rzs_kmem_cache_alloc(cache: *mut bindings::kmem_cache, gfp: bindings::gfp_t) -> *mut u8;
}

/// A slab cache of `T`s, destroyed on drop.
///
/// # Invariants
///
/// `cache` is a live cache created for objects of `size_of::<T>()` bytes aligned for `T`.
pub(crate) struct KmemCache<T> {
    cache: NonNull<bindings::kmem_cache>,
    _type: PhantomData<T>,
}

// SAFETY: kmem caches are safe to use from any thread; the cache only hands out `T`s, which
// must themselves be `Send` to move between threads.
unsafe impl<T: Send> Send for KmemCache<T> {}
// SAFETY: as above; `alloc` takes `&self` and the slab allocator serializes it.
unsafe impl<T: Send> Sync for KmemCache<T> {}

/// `kmem_cache_alloc`, a macro in 6.12: without allocation profiling it is exactly
/// `kmem_cache_alloc_noprof`, called here directly (one call per malloc instead of two);
/// with profiling, the C wrapper, whose call site the macro tags.
///
/// # Safety
///
/// `cache` is a live slab cache.
#[inline]
unsafe fn kmem_cache_alloc(
    cache: *mut bindings::kmem_cache,
    gfp: bindings::gfp_t,
) -> *mut core::ffi::c_void {
    #[cfg(not(CONFIG_MEM_ALLOC_PROFILING))]
    // SAFETY: as the caller guarantees.
    return unsafe { bindings::kmem_cache_alloc_noprof(cache, gfp) };
    #[cfg(CONFIG_MEM_ALLOC_PROFILING)]
    // SAFETY: as the caller guarantees.
    return unsafe { rzs_kmem_cache_alloc(cache, gfp) }.cast();
}

impl<T> KmemCache<T> {
    /// Creates the cache `name` (prefixed by the caller: duplicate names warn under DEBUG_VM).
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        let size = u32::try_from(core::mem::size_of::<T>()).map_err(|_| EINVAL)?;
        let align = u32::try_from(core::mem::align_of::<T>()).map_err(|_| EINVAL)?;
        // SAFETY: `name` is a NUL-terminated string that lives forever, as the slab requires.
        let cache = unsafe { rzs_kmem_cache_create(name.as_char_ptr(), size, align) };
        // INVARIANT: created for `T`'s size and alignment.
        Ok(Self {
            cache: NonNull::new(cache).ok_or(ENOMEM)?,
            _type: PhantomData,
        })
    }

    /// Moves `value` into a new object allocated with `gfp`; gives it back on failure.
    pub(crate) fn alloc(&self, gfp: Gfp, value: T) -> Result<SlabBox<T>, T> {
        if crate::testing::fault::should_fail() {
            return Err(value);
        }
        // SAFETY: `self.cache` is live (type invariant); `gfp` has no highmem/movable bits.
        let obj = unsafe { kmem_cache_alloc(self.cache.as_ptr(), gfp.for_slab().0) };
        match NonNull::new(obj.cast::<T>()) {
            Some(obj) => {
                // SAFETY: `obj` is a fresh, suitably sized and aligned allocation.
                unsafe { obj.as_ptr().write(value) };
                // INVARIANT: a live `T` in a slab object, owned by the box.
                Ok(SlabBox(obj))
            }
            None => Err(value),
        }
    }
}

impl<T> Drop for KmemCache<T> {
    fn drop(&mut self) {
        // SAFETY: the cache is live (type invariant) and its owner freed every object (the
        // slab reports leftovers itself, which the test harness treats as a failure).
        unsafe { bindings::kmem_cache_destroy(self.cache.as_ptr()) };
    }
}

/// A `T` in a slab object, owned: dropped and freed (`kfree`, which takes objects of any
/// cache since 6.4) on drop.
///
/// # Invariants
///
/// `0` is a live `T` in a slab object that this value owns.
pub(crate) struct SlabBox<T>(NonNull<T>);

// SAFETY: owning a `T` in slab memory is like owning it anywhere.
unsafe impl<T: Send> Send for SlabBox<T> {}
// SAFETY: `&SlabBox<T>` gives `&T` only.
unsafe impl<T: Sync> Sync for SlabBox<T> {}

impl<T> SlabBox<T> {
    /// Gives up ownership without freeing (the object is owned elsewhere, e.g. by a list).
    pub(crate) fn into_raw(self) -> NonNull<T> {
        let obj = self.0;
        core::mem::forget(self);
        obj
    }

    /// Takes back ownership of an object given up with `into_raw`.
    ///
    /// # Safety
    ///
    /// `obj` came from `into_raw` and this is the only call that takes it back.
    pub(crate) unsafe fn from_raw(obj: NonNull<T>) -> SlabBox<T> {
        // INVARIANT: the owned object `into_raw` gave up (caller).
        SlabBox(obj)
    }
}

impl<T> Deref for SlabBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a live `T` (type invariant).
        unsafe { self.0.as_ref() }
    }
}

impl<T> Drop for SlabBox<T> {
    fn drop(&mut self) {
        // SAFETY: a live `T` in a slab object that this value owns (type invariant).
        unsafe {
            core::ptr::drop_in_place(self.0.as_ptr());
            bindings::kfree(self.0.as_ptr().cast());
        }
    }
}

impl<T> SlabBox<T> {
    /// Exclusive access: the box owns the object, and no shared reference outlives a borrow
    /// of the box.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        // SAFETY: a live `T` owned by this box (type invariant); `&mut self` is exclusive.
        unsafe { self.0.as_mut() }
    }
}
