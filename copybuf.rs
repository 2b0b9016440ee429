// SPDX-License-Identifier: GPL-2.0

//! Per-CPU copy buffers for objects that span two pages.
//!
//! `map` of a spanning object copies it into the current CPU's buffer (unless write-only),
//! returns the buffer with preemption disabled, and `unmap` copies it back (unless
//! read-only) and re-enables preemption — the contract zswap and zram were written for.
//! Buffers come and go with CPUs through a dynamic hotplug state.

use crate::{
    logic::size_class::{ClassTable, HANDLE_SIZE, PAGE_SIZE},
    sys,
};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::{
    alloc::flags::{GFP_KERNEL, __GFP_ZERO},
    prelude::*,
    str::CStr,
};

/// How a spanning object is mapped; `unmap` copies back only what may have changed.
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

/// Bytes of a copy buffer: room for the largest object that can span two pages (huge
/// objects fill a page of their own and never span), and small enough that a `CopyArea`
/// is one 4 KiB slab object, as upstream's per-CPU buffer is (a full page plus the mode
/// would take an 8 KiB one).
const COPY_BUF_SIZE: usize = PAGE_SIZE - 64;
const _: () = assert!(ClassTable::new().huge_class_size() + HANDLE_SIZE <= COPY_BUF_SIZE);
const _: () = assert!(core::mem::size_of::<CopyArea>() <= PAGE_SIZE);

/// One CPU's buffer and the mode of the mapping it currently holds.
pub(crate) struct CopyArea {
    pub(crate) buf: [u8; COPY_BUF_SIZE],
    pub(crate) mode: MapMode,
}

/// Buffer pointers indexed by CPU id; set by `prepare`, cleared by `dead`.
static AREAS: AtomicPtr<AtomicPtr<CopyArea>> = AtomicPtr::new(core::ptr::null_mut());

/// Owns the buffers and the hotplug state; one per module, created at module init.
pub(crate) struct CopyBuffers {
    /// Taken in `drop`: removing the state runs `dead_cpu` for every CPU, which frees the
    /// buffers through `AREAS`, so it must go before `AREAS` is cleared and `slots` freed.
    hotplug: Option<sys::CpuHotplugState>,
    slots: KVec<AtomicPtr<CopyArea>>,
}

impl CopyBuffers {
    pub(crate) fn new(name: &'static CStr) -> Result<Pin<KBox<CopyBuffers>>> {
        let nr = sys::nr_cpu_ids();
        let mut slots = KVec::with_capacity(nr, GFP_KERNEL)?;
        for _ in 0..nr {
            slots.push(AtomicPtr::new(core::ptr::null_mut()), GFP_KERNEL)?;
        }
        if AREAS
            .compare_exchange(core::ptr::null_mut(), slots.as_mut_ptr(), Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            pr_err!("copy buffers set up twice\n");
            return Err(EBUSY);
        }
        match sys::CpuHotplugState::new(name, prepare_cpu, dead_cpu) {
            Ok(hotplug) => Ok(KBox::pin(CopyBuffers { hotplug: Some(hotplug), slots }, GFP_KERNEL)?),
            Err(e) => {
                AREAS.store(core::ptr::null_mut(), Ordering::Release);
                Err(e)
            }
        }
    }

    /// The current CPU's area, for as long as the caller keeps it pinned.
    pub(crate) fn area<'a>(&'a self, pin: &'a sys::CpuPin) -> &'a mut CopyArea {
        let area = self.slots[pin.cpu()].load(Ordering::Acquire);
        // SAFETY: `prepare` ran for every online CPU, so the current CPU's buffer exists and
        // lives until `dead` runs for it, which cannot happen while this task is pinned to
        // it. Only the task pinned to this CPU uses the buffer, and map/unmap never nest, so
        // the reference is exclusive for the pin's lifetime.
        unsafe { &mut *area }
    }
}

impl Drop for CopyBuffers {
    fn drop(&mut self) {
        drop(self.hotplug.take());
        AREAS.store(core::ptr::null_mut(), Ordering::Release);
    }
}

unsafe extern "C" fn prepare_cpu(cpu: u32) -> i32 {
    let Some(slot) = slot(cpu) else { return EINVAL.to_errno() };
    if !slot.load(Ordering::Acquire).is_null() {
        return 0;
    }
    match KBox::<CopyArea>::new_uninit(GFP_KERNEL | __GFP_ZERO) {
        Ok(area) => {
            // SAFETY: zeroed memory is a valid `CopyArea`: bytes, and `MapMode::ReadWrite`.
            let area = unsafe { area.assume_init() };
            slot.store(KBox::into_raw(area), Ordering::Release);
            0
        }
        Err(_) => ENOMEM.to_errno(),
    }
}

unsafe extern "C" fn dead_cpu(cpu: u32) -> i32 {
    if let Some(slot) = slot(cpu) {
        let area = slot.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if !area.is_null() {
            // SAFETY: `area` came from `KBox::into_raw` in `prepare_cpu`, and the CPU is dead,
            // so no task uses its buffer.
            drop(unsafe { KBox::from_raw(area) });
        }
    }
    0
}

fn slot(cpu: u32) -> Option<&'static AtomicPtr<CopyArea>> {
    let base = AREAS.load(Ordering::Acquire);
    let cpu = cpu as usize;
    if base.is_null() || cpu >= sys::nr_cpu_ids() {
        return None;
    }
    // SAFETY: `AREAS` points at `nr_cpu_ids` slots owned by the live `CopyBuffers`, which
    // removes the hotplug state (the only caller) before freeing them.
    Some(unsafe { &*base.add(cpu) })
}
