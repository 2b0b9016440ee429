// SPDX-License-Identifier: GPL-2.0

//! Handles: what a caller holds for an object.
//!
//! A handle is the address of a slot (a slab object of the module's handle cache) holding
//! the object's `Location` (zspage metadata address + object index). The slot changes only
//! when compaction moves the object: under the class lock, with the source and destination
//! zspages write-locked, in one release store after the bytes are copied. Handles are never
//! 0 and never error values (zram treats 0 as empty).
//!
//! In Rust a handle is a `Handle`: not `Copy`, consumed by `Pool::free`, borrowed mutably
//! by a mapping, and tied to its pool's lifetime. Raw handle values exist only in the C
//! shims (`zs_api.rs`, `zpool_glue.rs`), which turn them into `Handle`s under zsmalloc's
//! contract.

use crate::{
    logic::location::Location,
    sys::SlabBox,
    zspage::{Held, ObjectHeader, Zspage, ZspageLocation},
};
use core::{
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::bindings;

/// A handle's slot: the object's `Location`, raw; only ever one made from a zspage
/// (`ZspageLocation`), or none yet.
#[repr(transparent)]
pub(crate) struct HandleSlot(AtomicU64);

impl HandleSlot {
    /// A slot that names no object yet.
    pub(crate) const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// The location the slot holds (acquire: the object's bytes are in place).
    #[inline]
    pub(crate) fn load(&self) -> Option<Location> {
        Location::from_raw(self.0.load(Ordering::Acquire))
    }

    /// Points the slot at `location` (release: after the object's bytes are in place).
    #[inline]
    pub(crate) fn store(&self, location: ZspageLocation) {
        self.0.store(location.to_raw(), Ordering::Release);
    }
}

/// A live object of a pool: the only way to reach, map or free it.
///
/// # Invariants
///
/// `slot` is a live slot of the handle cache whose object is allocated in a pool that lives
/// at least for `'pool`; this value is the object's only handle.
#[must_use = "an object whose handle is dropped without `free` leaks until its pool is destroyed"]
pub(crate) struct Handle<'pool> {
    slot: NonNull<HandleSlot>,
    _pool: PhantomData<&'pool ()>,
}

// SAFETY: a handle is an owned reference to an object, usable from any thread.
unsafe impl Send for Handle<'_> {}
// SAFETY: `&Handle` only reads the slot, atomically.
unsafe impl Sync for Handle<'_> {}

impl<'pool> Handle<'pool> {
    /// The handle that owns `slot`, a fresh slot of the handle cache. Until the pool
    /// points it at an object (`Pool::malloc`, before it returns the handle) it names none,
    /// and any use of it but `free_slot` panics (`HandleSlot::zspage`).
    pub(crate) fn new(slot: SlabBox<HandleSlot>) -> Self {
        // INVARIANT: the pool's `malloc`, the only caller, points the slot at the object it
        // allocates before anything else uses the handle.
        Handle {
            slot: slot.into_raw(),
            _pool: PhantomData,
        }
    }

    /// A handle from its C value; `None` for 0 and error values (which zsmalloc ignores).
    ///
    /// # Safety
    ///
    /// Unless 0 or an error value, `raw` came from `into_raw` of a pool that lives for
    /// `'pool`, and its object has not been freed (zsmalloc's contract with its callers);
    /// the caller does not make two `Handle`s of it at once.
    pub(crate) unsafe fn from_raw(raw: usize) -> Option<Handle<'pool>> {
        if raw == 0 || raw >= (-(bindings::MAX_ERRNO as isize)) as usize {
            return None;
        }
        // INVARIANT: a live handle of a live pool (caller).
        NonNull::new(raw as *mut HandleSlot).map(|slot| Handle {
            slot,
            _pool: PhantomData,
        })
    }

    /// The C value of the handle; the object stays allocated.
    pub(crate) fn into_raw(self) -> usize {
        self.slot.as_ptr() as usize
    }

    /// The C value, for tests and test hooks that pass handles through statics.
    pub(crate) fn raw(&self) -> usize {
        self.slot.as_ptr() as usize
    }

    #[inline]
    pub(crate) fn slot(&self) -> &HandleSlot {
        // SAFETY: a live slot (invariant).
        unsafe { self.slot.as_ref() }
    }

    /// The slot, given up for freeing (the object is gone).
    pub(crate) fn into_slot(self) -> NonNull<HandleSlot> {
        self.slot
    }
}

impl HandleSlot {
    /// The zspage and object index the slot names, as of now.
    ///
    /// The zspage is valid for `'r`, the caller's RCU read-side section (an `RcuReadGuard`,
    /// or a held spinlock: zspages are freed one grace period after they stop being named
    /// by any slot, and a spinlock holder is an RCU reader).
    #[inline]
    pub(crate) fn zspage<'r, R: crate::sys::RcuReader>(&self, _rcu: &'r R) -> (&'r Zspage, u32) {
        let Some(location) = self.load() else {
            unreachable!("a live handle's slot names no object")
        };
        // SAFETY: a slot holds only locations made from zspages (`ZspageLocation`, the type
        // `store` takes), so a live slot names a zspage that was live when the slot was
        // read; it is retired through RCU after no slot names it, and the caller's read-side
        // section (`'r`) began before this read, so the memory is valid for `'r`.
        let zspage = unsafe { &*(location.addr() as *const Zspage) };
        (zspage, u32::from(location.obj_index()))
    }
}

impl Handle<'_> {
    /// Returns the slot to the handle cache: the object is gone (freed, or never made).
    pub(crate) fn free_slot(self) {
        // SAFETY: the handle's slot came from the handle cache (`Pool::malloc`) and the
        // handle, consumed here, was its only owner (invariant).
        drop(unsafe { SlabBox::from_raw(self.into_slot()) });
    }
}

/// Frees the slot of the handle that an allocated object's header names, when its pool is
/// destroyed with the object still allocated (which ends every handle of the pool).
pub(crate) fn free_slot_of_object(header: ObjectHeader) {
    if let Some(slot) = NonNull::new(header.handle() as *mut HandleSlot) {
        // SAFETY: an allocated object's header names the live slot of its handle, from the
        // handle cache; destroying the pool ends the handle, so nothing uses it again.
        drop(unsafe { SlabBox::from_raw(slot) });
    }
}

/// The slot of the object `idx` of `zspage`, if it is allocated: its header names it.
pub(crate) fn slot_of_object<'g>(zspage: Held<'g>, idx: u32) -> Option<&'g HandleSlot> {
    let (found, header) = zspage.next_allocated(idx)?;
    if found != idx {
        return None;
    }
    let raw = header.handle();
    // SAFETY: an allocated object's header (or a huge zspage's metadata) names the live slot
    // of its handle; the class lock (`Held`) keeps the object allocated while `'g` lasts.
    NonNull::new(raw as *mut HandleSlot).map(|slot| unsafe { &*slot.as_ptr() })
}
