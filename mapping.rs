// SPDX-License-Identifier: GPL-2.0

//! A mapped object: the guard `Pool::map` returns. It holds the object's zspage read-locked
//! (its bytes and location stay put), borrows the handle mutably (no second mapping of it,
//! no free while mapped), and for an object that spans two pages which are not neighbours in
//! memory (`zspage::reach`) holds this CPU's claimed copy buffer with preemption off.
//! Dropping it copies such an object back (unless read-only) and unlocks: the unmap.
//!
//! C callers pair `zs_map_object` and `zs_unmap_object` in two calls: their shims leak the
//! guard (`into_raw`) and end it (`end_raw`).

use crate::{
    handle::Handle,
    pool::Pool,
    sys::{CpuBufferClaim, CpuPin},
    zspage::ReadHold,
};
use kernel::prelude::*;

/// How an object is mapped; for a copied one, `unmap` copies back only what may have
/// changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum MapMode {
    /// Read and write: copy in at map, copy back at unmap. Zero, so a zeroed area is valid.
    ReadWrite = 0,
    /// Read-only: copy in, no copy back.
    ReadOnly,
    /// Write-only: no copy in (the caller overwrites it all), copy back.
    WriteOnly,
}

impl MapMode {
    /// From zpool's `zpool_mapmode` or zsmalloc's `zs_mapmode`, which share their values
    /// (RW 0, RO 1, WO 2); anything else maps read-write, the safe default.
    pub(crate) fn from_c(mode: u32) -> MapMode {
        match mode {
            1 => MapMode::ReadOnly,
            2 => MapMode::WriteOnly,
            _ => MapMode::ReadWrite,
        }
    }

    pub(crate) fn copies_in(self) -> bool {
        self != MapMode::WriteOnly
    }

    pub(crate) fn copies_back(self) -> bool {
        self != MapMode::ReadOnly
    }
}

impl MapMode {
    fn from_tag(tag: u8) -> MapMode {
        MapMode::from_c(u32::from(tag))
    }
}

/// A mapped object (see the module comment).
pub(crate) struct Mapping<'a> {
    /// `None` only once `into_raw` leaked it.
    hold: Option<ReadHold<'a>>,
    /// The copy of an object that is not reached in place.
    copy: Option<CpuBufferClaim>,
}

impl<'a> Mapping<'a> {
    /// Maps the object that `hold` holds for `mode`, through `pool`'s copy buffers if it
    /// spans two pages that are not neighbours. `EBUSY` if this CPU's buffer is already
    /// claimed by another mapping.
    pub(crate) fn new(pool: &Pool, hold: ReadHold<'a>, mode: MapMode) -> Result<Mapping<'a>> {
        if !hold.copied() {
            return Ok(Mapping {
                hold: Some(hold),
                copy: None,
            });
        }
        let Some(mut copy) = pool.copy_buffers().claim(CpuPin::new(), mode as u8) else {
            pr_err!("map: this CPU's copy buffer is in use by another mapping\n");
            return Err(EBUSY);
        };
        if mode.copies_in() {
            hold.read_payload(copy.buf(hold.payload_len()));
        }
        Ok(Mapping {
            hold: Some(hold),
            copy: Some(copy),
        })
    }

    /// The object's payload (or its copy).
    pub(crate) fn bytes(&mut self) -> &mut [u8] {
        let Some(hold) = self.hold.as_mut() else {
            return &mut [];
        };
        let len = hold.payload_len();
        match self.copy.as_mut() {
            Some(copy) => copy.buf(len),
            None => hold.payload().unwrap_or_default(),
        }
    }

    /// Leaks the mapping for a C caller, who gets the payload's address and must pass the
    /// same handle to `from_raw` (its unmap) on the same CPU without sleeping meanwhile.
    pub(crate) fn into_raw(mut self) -> *mut u8 {
        let addr = self.bytes().as_mut_ptr();
        if let Some(hold) = self.hold.take() {
            hold.leak();
        }
        if let Some(copy) = self.copy.take() {
            copy.leak();
        }
        // Both parts were taken and leaked above: nothing is left for a drop to do.
        core::mem::forget(self);
        addr
    }

    /// Ends a mapping leaked by `into_raw` (the C caller's unmap): copies a copied object
    /// back (unless mapped read-only) and releases the hold.
    ///
    /// # Safety
    ///
    /// `handle`'s object was mapped by `pool` and leaked with `into_raw` by the current task,
    /// which has not taken it back since.
    pub(crate) unsafe fn end_raw(pool: &Pool, handle: &'a mut Handle<'_>) {
        // SAFETY: the leaked mapping's read hold, on the object's zspage (the hold kept the
        // object there), is given back; `handle` is borrowed for `'a`. `None`: the hold was
        // released, the object being in place (nothing to copy back).
        let Some(hold) = (unsafe { ReadHold::resume_copied(handle) }) else {
            return;
        };
        // SAFETY: a copied object's mapping leaked its claim on this task (caller).
        let copy = hold
            .copied()
            .then(|| unsafe { CpuBufferClaim::resume(pool.copy_buffers()) });
        // The drop copies back and releases.
        drop(Mapping {
            hold: Some(hold),
            copy,
        });
    }
}

impl Drop for Mapping<'_> {
    #[inline]
    fn drop(&mut self) {
        if let (Some(hold), Some(copy)) = (self.hold.as_mut(), self.copy.as_mut()) {
            if MapMode::from_tag(copy.tag()).copies_back() {
                let len = hold.payload_len();
                hold.write_payload(copy.buf(len));
            }
        }
        // Then `copy` releases the buffer and the pin, and `hold` the zspage's read lock.
    }
}
