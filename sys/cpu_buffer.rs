// SPDX-License-Identifier: GPL-2.0

//! Per-CPU buffers, one claim at a time: the copy area for objects that span two pages.
//!
//! A claim pins the task to its CPU (preemption off) and marks that CPU's buffer taken, so
//! a second claim on the same CPU gets nothing instead of an alias. A claim can be leaked
//! and resumed on the same task (a C caller's map ... unmap). Buffers come and go with CPUs
//! through a dynamic hotplug state (`CPUHP_MM_ZS_PREPARE` belongs to upstream zsmalloc).

use super::{nr_cpu_ids, CpuHotplugState, CpuPin};
use crate::logic::size_class::{HANDLE_SIZE, MAX_HUGE_CLASS_SIZE, PAGE_SIZE};
use core::{
    cell::UnsafeCell,
    sync::atomic::{AtomicBool, AtomicPtr, Ordering},
};
use kernel::{
    alloc::flags::{__GFP_ZERO, GFP_KERNEL},
    prelude::*,
    str::CStr,
};

/// Bytes of a copy buffer: room for the largest object that can span two pages (huge
/// objects fill a page of their own and never span), and small enough that a `CopyArea`
/// is one 4 KiB slab object, as upstream's per-CPU buffer is.
pub(crate) const CPU_BUFFER_SIZE: usize = PAGE_SIZE - 64;
// At every chain size `chain_pages` allows.
const _: () = assert!(MAX_HUGE_CLASS_SIZE + HANDLE_SIZE <= CPU_BUFFER_SIZE);
const _: () = assert!(core::mem::size_of::<CopyArea>() <= PAGE_SIZE);

/// One CPU's buffer, whether a claim holds it, and the claim's tag (what it is for).
struct CopyArea {
    buf: UnsafeCell<[u8; CPU_BUFFER_SIZE]>,
    tag: UnsafeCell<u8>,
    claimed: AtomicBool,
}

/// Buffer pointers indexed by CPU id; set by `prepare`, cleared by `dead`.
static AREAS: AtomicPtr<AtomicPtr<CopyArea>> = AtomicPtr::new(core::ptr::null_mut());

/// Owns the buffers and the hotplug state; one per module, created at module init.
pub(crate) struct CpuBuffers {
    /// Taken in `drop`: removing the state runs `dead_cpu` for every CPU, which frees the
    /// buffers through `AREAS`, so it must go before `AREAS` is cleared and `slots` freed.
    hotplug: Option<CpuHotplugState>,
    slots: KVec<AtomicPtr<CopyArea>>,
}

/// The current CPU's buffer, claimed: the only way to reach it.
///
/// # Invariants
///
/// `area` is the buffer of `pin`'s CPU, which stays allocated while the CPU is online (it
/// cannot go offline while this task is pinned to it), and `area.claimed` is set by this
/// value, so nothing else uses the buffer until it is dropped.
pub(crate) struct CpuBufferClaim {
    area: *const CopyArea,
    /// Keeps the task on the buffer's CPU; dropped after the claim is released.
    _pin: CpuPin,
}

impl CpuBuffers {
    pub(crate) fn new(name: &'static CStr) -> Result<Pin<KBox<CpuBuffers>>> {
        let nr = nr_cpu_ids();
        let mut slots = KVec::with_capacity(nr, GFP_KERNEL)?;
        for _ in 0..nr {
            slots.push(AtomicPtr::new(core::ptr::null_mut()), GFP_KERNEL)?;
        }
        if AREAS
            .compare_exchange(
                core::ptr::null_mut(),
                slots.as_mut_ptr(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            pr_err!("copy buffers set up twice\n");
            return Err(EBUSY);
        }
        match CpuHotplugState::new(name, prepare_cpu, dead_cpu) {
            Ok(hotplug) => Ok(KBox::pin(
                CpuBuffers {
                    hotplug: Some(hotplug),
                    slots,
                },
                GFP_KERNEL,
            )?),
            Err(e) => {
                AREAS.store(core::ptr::null_mut(), Ordering::Release);
                Err(e)
            }
        }
    }

    /// Claims the buffer of `pin`'s CPU, tagged `tag`; `None` if a claim already holds it.
    pub(crate) fn claim(&self, pin: CpuPin, tag: u8) -> Option<CpuBufferClaim> {
        let area = self.slots[pin.cpu()].load(Ordering::Acquire);
        // SAFETY: `prepare_cpu` ran for every online CPU, so this CPU's buffer exists and
        // lives until `dead_cpu` runs for it, which cannot happen while we are pinned to it.
        let a = unsafe { &*area };
        if a.claimed.swap(true, Ordering::Acquire) {
            return None;
        }
        // SAFETY: claimed just above: nothing else touches the area.
        unsafe { *a.tag.get() = tag };
        // INVARIANT: this CPU's buffer, claimed by this value, pinned by `pin`.
        Some(CpuBufferClaim { area, _pin: pin })
    }
}

impl CpuBufferClaim {
    fn area(&self) -> &CopyArea {
        // SAFETY: the buffer lives while the CPU is pinned (invariant).
        unsafe { &*self.area }
    }

    /// The tag the buffer was claimed with.
    pub(crate) fn tag(&self) -> u8 {
        // SAFETY: claimed by this value: nothing else touches the area (invariant).
        unsafe { *self.area().tag.get() }
    }

    /// The buffer's first `len` bytes.
    pub(crate) fn buf(&mut self, len: usize) -> &mut [u8] {
        // SAFETY: claimed by this value (invariant), and `&mut self` makes the reference
        // exclusive for as long as it lives.
        let buf = unsafe { &mut *self.area().buf.get() };
        &mut buf[..len.min(CPU_BUFFER_SIZE)]
    }

    /// Keeps the claim (and the CPU pin) past this value; `resume` takes it back.
    pub(crate) fn leak(self) {
        core::mem::forget(self);
    }

    /// Takes back a claim given up with `leak`.
    ///
    /// # Safety
    ///
    /// The current task leaked a claim of `buffers` and has not resumed it since.
    pub(crate) unsafe fn resume(buffers: &CpuBuffers) -> CpuBufferClaim {
        // SAFETY: the leaked claim left preemption off on this task (caller).
        let pin = unsafe { CpuPin::resume() };
        let area = buffers.slots[pin.cpu()].load(Ordering::Acquire);
        // INVARIANT: the pinned CPU's buffer, still claimed by the leaked claim.
        CpuBufferClaim { area, _pin: pin }
    }
}

impl Drop for CpuBufferClaim {
    #[inline]
    fn drop(&mut self) {
        self.area().claimed.store(false, Ordering::Release);
        // Then `pin` drops and preemption comes back on.
    }
}

impl Drop for CpuBuffers {
    fn drop(&mut self) {
        drop(self.hotplug.take());
        AREAS.store(core::ptr::null_mut(), Ordering::Release);
    }
}

/// The hotplug state's prepare callback: allocates `cpu`'s buffer.
///
/// # Safety
///
/// Called by the CPU-hotplug core, before `cpu` comes up.
unsafe extern "C" fn prepare_cpu(cpu: u32) -> i32 {
    let Some(slot) = slot(cpu) else {
        return EINVAL.to_errno();
    };
    if !slot.load(Ordering::Acquire).is_null() {
        return 0;
    }
    match KBox::<CopyArea>::new_uninit(GFP_KERNEL | __GFP_ZERO) {
        Ok(area) => {
            // SAFETY: zeroed memory is a valid `CopyArea`: bytes, tag 0 and an unclaimed
            // flag.
            let area = unsafe { area.assume_init() };
            slot.store(KBox::into_raw(area), Ordering::Release);
            0
        }
        Err(_) => ENOMEM.to_errno(),
    }
}

/// The hotplug state's dead callback: frees `cpu`'s buffer.
///
/// # Safety
///
/// Called by the CPU-hotplug core once `cpu` is dead (no task runs on it).
unsafe extern "C" fn dead_cpu(cpu: u32) -> i32 {
    if let Some(slot) = slot(cpu) {
        let area = slot.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if !area.is_null() {
            // SAFETY: `area` came from `KBox::into_raw` in `prepare_cpu`, and the CPU is
            // dead, so no task is pinned to it and none uses its buffer.
            drop(unsafe { KBox::from_raw(area) });
        }
    }
    0
}

fn slot(cpu: u32) -> Option<&'static AtomicPtr<CopyArea>> {
    let base = AREAS.load(Ordering::Acquire);
    let cpu = cpu as usize;
    if base.is_null() || cpu >= nr_cpu_ids() {
        return None;
    }
    // SAFETY: `AREAS` points at `nr_cpu_ids` slots owned by the live `CpuBuffers`, which
    // removes the hotplug state (the only caller) before freeing them.
    Some(unsafe { &*base.add(cpu) })
}
