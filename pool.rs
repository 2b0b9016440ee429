// SPDX-License-Identifier: GPL-2.0

//! A pool: size classes of zspages, handles, and the malloc/free/map/unmap API.
//!
//! Lock order (every lock this module owns), outermost first:
//!
//! 1. `Pool::inner`, the pool spinlock: the fullness-group lists, each zspage's allocation
//!    state (`Zspage::state`), object headers, and the class counters. Never held across
//!    anything that sleeps.
//! 2. `Zspage::lock`, the per-zspage reader/writer lock (seed 004): object bytes and
//!    locations. `map` takes it for reading (never under 1) and holds it until `unmap`;
//!    writers (compaction, migration) take it with `try_write` only, under 1, and back off
//!    on contention: a writer never sleeps and never spins on it.
//!
//! A handle is the address of a slot (module slab) holding the object's `Location`
//! (zspage metadata address + object index). Handles are never 0 and never error values.
//! A slot changes only when compaction moves the object: under 1, with the source and
//! destination zspages write-locked, in one release store after the bytes are copied.
//! So `free` (under 1) and a reader holding the object's zspage read lock see a stable slot.
//!
//! Zspages die by retirement: off their lists under 1, then freed (pages and metadata) one
//! RCU grace period later. `map` finds the zspage from the slot without 1, inside an RCU
//! read-side section: the zspage it finds may be retiring, but is not freed before the
//! section ends; once read-locked, `map` re-reads the slot to make sure the object is still
//! there (compaction may have moved it in between).

#[path = "migrate.rs"]
mod migrate;

use crate::{
    copybuf::{CopyBuffers, MapMode},
    logic::{
        fullness::{fullness_group, ALLOC_ORDER, GROUP_EMPTY, NR_FULLNESS_GROUPS},
        location::Location,
        fullness::{compactable_pages, COMPACT_DST_ORDER, COMPACT_SRC_ORDER},
        size_class::SizeError,
    },
    sys::{self, CpuPin, DebugfsDir, Gfp, KmemCache, ListHead, RcuReadGuard},
    zspage::{Life, Zspage},
    CLASSES,
};
#[cfg(zs_mutate_repoint_after_unlock)]
use kernel::alloc::flags::GFP_ATOMIC;
use migrate::MOVABLE_OPS;
pub(crate) use migrate::MOVABLE_PAGES;
#[cfg(zs_kunit)]
pub(crate) use migrate::{isolate_page, migrate_page, putback_page};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering},
};
use kernel::{
    alloc::flags::GFP_KERNEL,
    bindings, c_str, fmt, new_spinlock,
    prelude::*,
    str::{CStr, CString},
    sync::SpinLock,
};

/// A handle's slot: the object's `Location`, raw. Changed only under the pool lock with the
/// object's zspage write-locked (compaction); read by `map` under the zspage read lock.
#[repr(transparent)]
pub(crate) struct HandleSlot(AtomicU64);

/// What every pool of this module shares: slab caches, copy buffers, the debugfs root.
pub(crate) struct Allocator {
    zspages: KmemCache<Zspage>,
    handles: KmemCache<HandleSlot>,
    copy: Pin<KBox<CopyBuffers>>,
    debugfs: DebugfsDir,
    next_pool_id: AtomicUsize,
}

/// Names of what an `Allocator` registers; each module passes its own (the main module and
/// the KUnit module may be loaded together, and duplicate names warn).
pub(crate) struct AllocatorNames {
    pub(crate) zspage_cache: &'static CStr,
    pub(crate) handle_cache: &'static CStr,
    pub(crate) hotplug: &'static CStr,
    pub(crate) debugfs: &'static CStr,
}

/// The zspage cache of the live `Allocator`, for the RCU callback that frees retired
/// zspages (a C callback gets no context but the `rcu_head`).
static RETIRED_ZSPAGE_CACHE: AtomicPtr<KmemCache<Zspage>> = AtomicPtr::new(core::ptr::null_mut());

impl Allocator {
    /// Creates the module's allocator. One per module: it owns the RCU callback's cache.
    pub(crate) fn new(names: &AllocatorNames) -> Result<Pin<KBox<Allocator>>> {
        let alloc = KBox::pin(
            Allocator {
                zspages: KmemCache::new(names.zspage_cache)?,
                handles: KmemCache::new(names.handle_cache)?,
                copy: CopyBuffers::new(names.hotplug)?,
                debugfs: DebugfsDir::new(names.debugfs, None),
                next_pool_id: AtomicUsize::new(0),
            },
            GFP_KERNEL,
        )?;
        let cache = core::ptr::from_ref(&alloc.zspages).cast_mut();
        if RETIRED_ZSPAGE_CACHE.compare_exchange(core::ptr::null_mut(), cache, Ordering::AcqRel, Ordering::Acquire).is_err() {
            pr_err!("a second allocator in one module\n");
            return Err(EBUSY);
        }
        Ok(alloc)
    }
}

impl Drop for Allocator {
    fn drop(&mut self) {
        // Retired zspages are freed by RCU callbacks into `zspages`: let them all run before
        // the cache (and the module's code) goes away.
        sys::rcu_barrier();
        RETIRED_ZSPAGE_CACHE.store(core::ptr::null_mut(), Ordering::Release);
        // Pages the migration core held when their zspage died still point at this module's
        // movable operations until the core calls back; the code must stay until then.
        let mut waited = 0u32;
        while MOVABLE_PAGES.load(Ordering::Acquire) != 0 {
            if waited % 1000 == 0 {
                pr_warn!(
                    "waiting for the migration core to hand back {} pages\n",
                    MOVABLE_PAGES.load(Ordering::Relaxed)
                );
            }
            sys::msleep(10);
            waited += 1;
        }
    }
}

/// Frees a retired zspage, pages and metadata, after its grace period.
unsafe extern "C" fn free_retired_zspage(head: *mut bindings::callback_head) {
    // SAFETY: only `Pool::retire` queues this callback, with the `rcu` head of a zspage
    // that is off every list and that no handle points into; the grace period has passed,
    // so no lockless lookup still uses it.
    let zspage = unsafe { Zspage::from_rcu(head) };
    // The pages' links to the migration core go where their locks are free; a page the core
    // holds keeps it until the core's next callback finds no zspage.
    // SAFETY: the zspage is still allocated (freed just below).
    let released = unsafe { zspage.as_ref() }.release_movable_pages();
    MOVABLE_PAGES.fetch_sub(released, Ordering::Relaxed);
    // SAFETY: the allocator outlives every callback (its drop waits in `rcu_barrier`).
    let cache = unsafe { &*RETIRED_ZSPAGE_CACHE.load(Ordering::Acquire) };
    // SAFETY: as above: the zspage came from this cache and nothing uses it any more.
    unsafe { cache.free(zspage) };
}

/// Counters and lists of one size class. Guarded by the pool lock.
struct ClassState {
    /// One list per fullness group; `link` of each zspage of this class is on one of them.
    groups: [ListHead; NR_FULLNESS_GROUPS],
    /// Objects in use.
    objs_inuse: usize,
    zspages: usize,
}

impl ClassState {
    /// Object capacity of the class's zspages (class `index` is this one).
    fn objs_allocated(&self, index: usize) -> usize {
        self.zspages * CLASSES.class(index).objs_per_zspage as usize
    }
}

/// What the pool spinlock guards.
struct PoolInner {
    /// Indexed by class index; never grows after creation (the list heads must not move).
    classes: KVec<ClassState>,
}

/// A pool of compressed objects.
#[pin_data(PinnedDrop)]
pub(crate) struct Pool {
    alloc: &'static Allocator,
    #[pin]
    inner: SpinLock<PoolInner>,
    /// Pages held by the pool's zspages (readable without the lock, and through debugfs).
    total_pages: AtomicUsize,
    /// Pages freed by compaction (zsmalloc's `pages_compacted`).
    pages_compacted: AtomicUsize,
    /// Zspages retired through RCU.
    zspages_retired: AtomicUsize,
    /// Pages moved by the migration core.
    pages_migrated: AtomicUsize,
    /// Set while a compaction runs: one at a time per pool (zs_compact, the shrinker).
    compacting: AtomicBool,
    /// Compacts under memory pressure; set once the pool is at its final address, and
    /// dropped first on destroy (which waits for its running callbacks).
    shrinker: AtomicPtr<sys::Shrinker>,
    debugfs: DebugfsDir,
    name: CString,
}

/// Why a pool operation failed, mapped to errno by the callers.
fn size_error(err: SizeError) -> Error {
    match err {
        SizeError::Zero => EINVAL,
        SizeError::TooBig => ENOSPC,
    }
}

/// The zspage and object index a raw slot value names.
///
/// # Safety
///
/// `raw` was stored by this module in a live slot, and the zspage it names is not freed
/// while the result is used (the caller's lock or RCU section).
unsafe fn decode<'z>(raw: u64) -> (&'z Zspage, u32) {
    let Some(location) = Location::from_raw(raw) else { unreachable!("a slot without a location") };
    // SAFETY: the address of a zspage this module allocated, live (caller).
    let zspage = unsafe { &*(location.addr() as *const Zspage) };
    (zspage, u32::from(location.obj_index()))
}

/// Whether `handle` can be a handle at all (zram treats 0 as empty; errors are negative).
fn is_handle(handle: usize) -> bool {
    handle != 0 && handle < (-(bindings::MAX_ERRNO as isize)) as usize
}

impl Pool {
    /// Creates a pool named `name` (for messages and debugfs). May sleep.
    pub(crate) fn new(alloc: &'static Allocator, name: &CStr) -> Result<Pin<KBox<Pool>>> {
        sys::might_sleep();
        let nr = CLASSES.nr_classes();
        let mut classes = KVec::with_capacity(nr, GFP_KERNEL)?;
        for _ in 0..nr {
            classes.push(
                ClassState {
                    groups: [const { ListHead::new() }; NR_FULLNESS_GROUPS],
                    objs_inuse: 0,
                    zspages: 0,
                },
                GFP_KERNEL,
            )?;
        }
        let id = alloc.next_pool_id.fetch_add(1, Ordering::Relaxed);
        let dir_name = CString::try_from_fmt(fmt!("{}-{}", name, id))?;
        let pool = KBox::pin_init(
            try_pin_init!(Pool {
                alloc,
                inner <- new_spinlock!(PoolInner { classes }, "rust_zsmalloc_pool"),
                total_pages: AtomicUsize::new(0),
                pages_compacted: AtomicUsize::new(0),
                zspages_retired: AtomicUsize::new(0),
                pages_migrated: AtomicUsize::new(0),
                compacting: AtomicBool::new(false),
                shrinker: AtomicPtr::new(core::ptr::null_mut()),
                debugfs: DebugfsDir::new(&dir_name, Some(&alloc.debugfs)),
                name: CString::try_from_fmt(fmt!("{}", name))?,
            }),
            GFP_KERNEL,
        )?;
        {
            let inner = pool.inner.lock();
            for class in inner.classes.iter() {
                for head in class.groups.iter() {
                    // SAFETY: the heads live in `classes`' buffer, which never moves or grows
                    // again; nothing is linked yet.
                    unsafe { head.init() };
                }
            }
        }
        // SAFETY: the pool is pinned and outlives the shrinker, which destroy drops first.
        match unsafe { sys::Shrinker::new(name, core::ptr::from_ref(&*pool).cast_mut().cast(), shrinker_count, shrinker_scan) } {
            Some(shrinker) => match KBox::new(shrinker, GFP_KERNEL) {
                Ok(shrinker) => pool.shrinker.store(KBox::into_raw(shrinker), Ordering::Release),
                Err(_) => pr_warn!("pool {}: no shrinker (out of memory)\n", name),
            },
            None => pr_warn!("pool {}: no shrinker (out of memory)\n", name),
        }
        // SAFETY: the counters live in the pool, which removes `debugfs` when dropped.
        unsafe {
            pool.debugfs.add_class_table(core::ptr::from_ref(&*pool).cast_mut().cast());
            pool.debugfs.add_ulong(c_str!("total_pages"), &pool.total_pages);
            pool.debugfs.add_ulong(c_str!("pages_compacted"), &pool.pages_compacted);
            pool.debugfs.add_ulong(c_str!("zspages_retired"), &pool.zspages_retired);
            pool.debugfs.add_ulong(c_str!("pages_migrated"), &pool.pages_migrated);
        }
        Ok(pool)
    }

    /// Pages currently held by the pool.
    pub(crate) fn total_pages(&self) -> usize {
        self.total_pages.load(Ordering::Relaxed)
    }

    /// Allocates an object of `size` bytes with the caller's `gfp`, returning its handle.
    /// Never sleeps unless `gfp` allows it. Errors: `EINVAL` (size 0), `ENOSPC` (larger than
    /// a page), `ENOMEM`; nothing is left allocated on error.
    pub(crate) fn malloc(&self, size: usize, gfp: Gfp) -> Result<usize> {
        let (class, _stored) = CLASSES.lookup(size).map_err(size_error)?;
        let slot = self.alloc.handles.alloc(gfp, HandleSlot(AtomicU64::new(0))).map_err(|_| ENOMEM)?;
        let handle = slot.as_ptr() as usize;

        {
            let mut inner = self.inner.lock();
            if let Some(zspage) = inner.first_with_room(class) {
                // SAFETY: zspages on the lists are live while the pool lock is held.
                let zspage = unsafe { zspage.as_ref() };
                inner.alloc_obj(zspage, slot, handle);
                return Ok(handle);
            }
        }

        // No room: a new zspage, allocated outside the lock with the caller's gfp, untouched:
        // every zspage page is registered with the migration core, so `__GFP_MOVABLE` is
        // honoured, and with `__GFP_HIGHMEM` it selects ZONE_MOVABLE (either flag alone does
        // not). x86_64 has no highmem: ZONE_MOVABLE is in the direct map too.
        let zspage = Zspage::new(class, gfp, core::ptr::from_ref(self).cast())
            .ok_or(ENOMEM)
            .and_then(|zspage| self.alloc.zspages.alloc(gfp, zspage).map_err(|_| ENOMEM));
        let zspage = match zspage {
            Ok(zspage) => zspage,
            Err(e) => {
                // SAFETY: the slot was allocated above and was never handed out.
                unsafe { self.alloc.handles.free(slot) };
                return Err(e);
            }
        };
        // SAFETY: just allocated; it stays live until this pool retires it.
        let zspage = unsafe { zspage.as_ref() };
        // Link and register the pages before the zspage is listed (seed 003: published only
        // once initialised); until it is listed, callbacks leave it alone.
        // SAFETY: this module's ops; module exit waits for every registration to go.
        let registered = unsafe { zspage.publish(&MOVABLE_OPS) };
        MOVABLE_PAGES.fetch_add(registered, Ordering::Relaxed);
        self.total_pages.fetch_add(zspage.nr_pages(), Ordering::Relaxed);
        let mut inner = self.inner.lock();
        inner.insert(zspage);
        inner.alloc_obj(zspage, slot, handle);
        Ok(handle)
    }

    /// The slot of `handle`.
    ///
    /// # Safety
    ///
    /// `handle` was returned by this pool's `malloc` and not freed yet.
    unsafe fn slot(&self, handle: usize) -> &HandleSlot {
        // SAFETY: a live handle is the address of a live slot (caller).
        unsafe { &*(handle as *const HandleSlot) }
    }

    /// The object's location, read from its slot.
    ///
    /// # Safety
    ///
    /// As for `slot`, and the caller keeps the location stable: it holds the pool lock, or
    /// the read lock of the zspage it got from a previous call. The zspage is then live
    /// (it holds the object).
    unsafe fn location(&self, handle: usize) -> (&Zspage, u32) {
        // SAFETY: live handle (caller).
        let raw = unsafe { self.slot(handle) }.0.load(Ordering::Acquire);
        // SAFETY: the zspage holds the object and cannot be retired (caller).
        unsafe { decode(raw) }
    }

    /// Read-locks the zspage that holds the object of `handle` and returns it. Lockless:
    /// compaction may move the object meanwhile, so the slot is re-checked under the lock.
    ///
    /// # Safety
    ///
    /// As for `slot`.
    unsafe fn read_lock_object(&self, handle: usize) -> (&Zspage, u32) {
        // SAFETY: live handle (caller).
        let slot = unsafe { self.slot(handle) };
        // A zspage found here may be retiring, but it is not freed while this section lasts.
        let _rcu = RcuReadGuard::new();
        loop {
            let raw = slot.0.load(Ordering::Acquire);
            // SAFETY: the zspage was live when the slot named it and, retired or not, is not
            // freed before `_rcu` ends.
            let (zspage, idx) = unsafe { decode(raw) };
            zspage.lock.read_acquire();
            // Compaction repoints the slot with this zspage write-locked, so with the read
            // lock held the slot either still names this zspage (and then the object stays
            // put until `read_release`) or it was repointed before we got the lock.
            if slot.0.load(Ordering::Acquire) == raw {
                return (zspage, idx);
            }
            zspage.lock.read_release();
        }
    }

    /// Frees `zspage` (pages and metadata) after an RCU grace period.
    ///
    /// # Safety
    ///
    /// `zspage` is off every list and no slot names it; it is retired once.
    unsafe fn retire(&self, zspage: NonNull<Zspage>) {
        // SAFETY: live until the callback runs (caller).
        let zspage = unsafe { zspage.as_ref() };
        self.total_pages.fetch_sub(zspage.nr_pages(), Ordering::Relaxed);
        self.zspages_retired.fetch_add(1, Ordering::Relaxed);
        // Mutation for the seed-000/003 tests: free without waiting for a grace period.
        #[cfg(zs_mutate_no_grace_period)]
        // SAFETY: none: this is the bug the seed tests must catch.
        unsafe {
            free_retired_zspage(zspage.rcu().as_ptr())
        };
        #[cfg(not(zs_mutate_no_grace_period))]
        // SAFETY: off every list and retired once (caller), so its link may become the RCU
        // head; the callback frees it into the allocator's cache, which outlives every
        // callback (`Allocator::drop` waits in `rcu_barrier`).
        unsafe {
            zspage.rcu().call(free_retired_zspage)
        };
    }

    /// Frees the object of `handle`. Ignores 0 and error values. Never sleeps.
    pub(crate) fn free(&self, handle: usize) {
        if !is_handle(handle) {
            return;
        }
        let emptied = {
            let mut inner = self.inner.lock();
            // SAFETY: the caller passes a live handle of this pool (zsmalloc's contract);
            // under the pool lock the location cannot change.
            let (zspage, idx) = unsafe { self.location(handle) };
            inner.free_obj(zspage, idx)
        };
        if let Some(zspage) = emptied {
            // SAFETY: off every list and empty: no handle points into it any more.
            unsafe { self.retire(zspage) };
        }
        // SAFETY: the handle's object is gone; the caller does not use the handle again.
        unsafe { self.alloc.handles.free(NonNull::from(self.slot(handle))) };
    }

    /// Maps the object of `handle` for `mode` until `unmap`. An object that spans two pages
    /// is copied into this CPU's buffer (unless write-only), and preemption stays off until
    /// `unmap`. Callers must not sleep between map and unmap, nor map twice at once.
    pub(crate) fn map(&self, handle: usize, mode: MapMode) -> *mut u8 {
        // SAFETY: live handle of this pool (caller, zsmalloc's contract).
        let (zspage, idx) = unsafe { self.read_lock_object(handle) };
        let header = zspage.spec().header_len();
        if let Some(addr) = zspage.obj_address(idx) {
            return addr.wrapping_add(header);
        }
        let pin = CpuPin::new();
        let area = self.alloc.copy.area(&pin);
        area.mode = mode;
        let size = zspage.spec().size_bytes();
        if mode.copies_in() {
            // SAFETY: read lock held (no migration or compaction); the caller owns the handle.
            unsafe { zspage.read_obj(idx, header, &mut area.buf[header..size]) };
        }
        let addr = area.buf.as_mut_ptr().wrapping_add(header);
        // Preemption stays off until `unmap`, which owns the buffer until then.
        core::mem::forget(pin);
        addr
    }

    /// Compacts every class: moves objects from the emptiest zspages into the fullest and
    /// retires the zspages it empties. Returns the pages freed. Never sleeps and never waits
    /// for a reader: a zspage that is mapped is skipped (seed 004's writer rule).
    pub(crate) fn compact(&self) -> usize {
        // One compaction at a time: a second caller has nothing to add but contention.
        if self.compacting.swap(true, Ordering::Acquire) {
            return 0;
        }
        let freed: usize = (0..CLASSES.nr_classes()).map(|class| self.compact_class(class)).sum();
        self.pages_compacted.fetch_add(freed, Ordering::Relaxed);
        self.compacting.store(false, Ordering::Release);
        freed
    }

    /// Pages the migration core has moved so far.
    pub(crate) fn pages_migrated(&self) -> usize {
        self.pages_migrated.load(Ordering::Relaxed)
    }

    /// Pages compaction has freed so far.
    pub(crate) fn pages_compacted(&self) -> usize {
        self.pages_compacted.load(Ordering::Relaxed)
    }

    /// Pages compaction could free now (the shrinker's count).
    fn compactable_pages(&self) -> usize {
        let inner = self.inner.lock();
        inner
            .classes
            .iter()
            .enumerate()
            .map(|(class, state)| compactable_pages(CLASSES.class(class), state.objs_allocated(class), state.objs_inuse))
            .sum()
    }

    fn compact_class(&self, class: usize) -> usize {
        let mut freed = 0;
        // Each round empties its source or fills its destination, so the number of zspages
        // bounds the rounds; the pool lock is dropped between rounds.
        loop {
            let emptied = {
                let mut inner = self.inner.lock();
                match inner.compact_once(class) {
                    Some(emptied) => emptied,
                    None => break,
                }
            };
            // Mutation for the seed-002 test: the emptied source is killed only after the
            // lock was dropped, so another path can take it meanwhile.
            #[cfg(zs_mutate_kill_after_unlock)]
            let emptied = emptied.map(|zspage| {
                #[cfg(zs_kunit)]
                sys::hooks::run(sys::hooks::Point::AfterCompactionRound);
                // SAFETY: none: this is the bug the seed-002 test must catch.
                self.inner.lock().kill(unsafe { zspage.as_ref() });
                zspage
            });
            if let Some(zspage) = emptied {
                // SAFETY: `compact_once` unlinked it after moving its last object out.
                let pages = unsafe { zspage.as_ref() }.nr_pages();
                // SAFETY: off every list, and every slot that named it was repointed.
                unsafe { self.retire(zspage) };
                freed += pages;
            }
            #[cfg(all(zs_kunit, not(zs_mutate_kill_after_unlock)))]
            sys::hooks::run(sys::hooks::Point::AfterCompactionRound);
        }
        freed
    }

    /// Maps `handle`, runs `f` on the object's first `len` bytes, and unmaps: the safe way
    /// for Rust code (tests, benchmarks) to reach an object. `len` is clamped to the object.
    #[allow(dead_code, reason = "the allocator's own callers are C; Rust users are the tests")]
    pub(crate) fn with_object<R>(&self, handle: usize, mode: MapMode, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let addr = self.map(handle, mode);
        // SAFETY: live handle (caller), read-locked by `map` just above.
        let (zspage, _) = unsafe { self.location(handle) };
        let len = len.min(zspage.spec().size_bytes() - zspage.spec().header_len());
        // SAFETY: `map` returns the object's payload (or a copy of it), valid for the class
        // size minus the header until `unmap`, and the caller's handle is not mapped twice.
        let result = f(unsafe { core::slice::from_raw_parts_mut(addr, len) });
        self.unmap(handle);
        result
    }

    /// Whether the object of `handle` spans two pages (so `map` goes through the copy buffer).
    #[cfg(zs_kunit)]
    pub(crate) fn spans_pages(&self, handle: usize) -> bool {
        let _inner = self.inner.lock();
        // SAFETY: live handle of this pool (caller); the pool lock keeps it in place.
        let (zspage, idx) = unsafe { self.location(handle) };
        zspage.obj_address(idx).is_none()
    }

    /// Where the object of `handle` is in its page, if it lies in one (for tests that check
    /// an object did not move).
    #[cfg(zs_kunit)]
    pub(crate) fn object_address(&self, handle: usize) -> Option<*mut u8> {
        let _inner = self.inner.lock();
        // SAFETY: live handle of this pool (caller); the pool lock keeps it in place.
        let (zspage, idx) = unsafe { self.location(handle) };
        zspage.obj_address(idx).map(|addr| addr.wrapping_add(zspage.spec().header_len()))
    }

    /// The page holding the start of `handle`'s object (tests acting as the migration core).
    #[cfg(zs_kunit)]
    pub(crate) fn object_page(&self, handle: usize) -> *mut bindings::page {
        let _inner = self.inner.lock();
        // SAFETY: live handle of this pool (caller); the pool lock keeps it in place.
        let (zspage, idx) = unsafe { self.location(handle) };
        zspage.page_for_test(zspage.place(idx).page)
    }

    /// Ends the mapping of `handle` made by `map`.
    pub(crate) fn unmap(&self, handle: usize) {
        // SAFETY: live handle of this pool (caller), read-locked by its `map`.
        let (zspage, idx) = unsafe { self.location(handle) };
        if zspage.place(idx).spans {
            // SAFETY: `map` of this spanning object pinned the CPU and forgot the pin.
            let pin = unsafe { CpuPin::resume() };
            let area = self.alloc.copy.area(&pin);
            if area.mode.copies_back() {
                let (header, size) = (zspage.spec().header_len(), zspage.spec().size_bytes());
                // SAFETY: read lock held since `map` (no migration or compaction moves the
                // bytes), and the caller owns the object.
                unsafe { zspage.write_obj(idx, header, &area.buf[header..size]) };
            }
            // Dropping `pin` ends the preemption-off section `map` began.
        }
        zspage.lock.read_release();
    }
}

impl PoolInner {
    /// The fullest zspage of `class` that has a free object.
    fn first_with_room(&mut self, class: usize) -> Option<NonNull<Zspage>> {
        let groups = &self.classes[class].groups;
        ALLOC_ORDER.iter().find_map(|&group| {
            let head = &groups[group];
            // SAFETY: pool lock held (`&mut self`); the head is initialised.
            let first = unsafe { head.next(head) }?;
            // SAFETY: entries of a group list are `link`s of live zspages.
            Some(unsafe { Zspage::from_link(first) })
        })
    }

    /// Puts a new, empty zspage on its class's lists.
    fn insert(&mut self, zspage: &Zspage) {
        let class = &mut self.classes[zspage.class()];
        class.zspages += 1;
        // SAFETY: pool lock held; the zspage is at its final (slab) address and on no list.
        unsafe {
            zspage.link.init();
            zspage.link.add_to(&class.groups[GROUP_EMPTY]);
            let state = zspage.state.get();
            state.set_group(GROUP_EMPTY);
            state.life = Life::Listed;
        }
    }

    /// Moves `zspage` to the list of the group its use now puts it in.
    fn regroup(&mut self, zspage: &Zspage) {
        // SAFETY: pool lock held; no other reference to the state is live.
        let state = unsafe { zspage.state.get() };
        let group = fullness_group(state.inuse(), zspage.spec().objs_per_zspage);
        if group != state.group() {
            state.set_group(group);
            // SAFETY: pool lock held; the zspage is on its class's lists and stays put.
            unsafe {
                zspage.link.del_init();
                zspage.link.add_to(&self.classes[zspage.class()].groups[group]);
            }
        }
    }

    /// Allocates an object in `zspage` (which has room) for `handle` and points its slot at it.
    fn alloc_obj(&mut self, zspage: &Zspage, slot: NonNull<HandleSlot>, handle: usize) {
        // SAFETY: pool lock held; no other reference to the state is live.
        let state = unsafe { zspage.state.get() };
        // SAFETY: pool lock held; the zspage's own state.
        let Some(idx) = (unsafe { zspage.alloc_obj(state, handle) }) else { unreachable!("zspage on a non-full list is full") };
        self.classes[zspage.class()].objs_inuse += 1;
        let location = zspage.location(idx);
        // SAFETY: the slot is fresh and owned by this call until the handle is returned.
        unsafe { slot.as_ref() }.0.store(location.to_raw(), Ordering::Release);
        self.regroup(zspage);
    }

    /// Frees object `idx` of `zspage`; returns the zspage, off every list, if it is now empty.
    fn free_obj(&mut self, zspage: &Zspage, idx: u32) -> Option<NonNull<Zspage>> {
        // SAFETY: pool lock held; no other reference to the state is live.
        let state = unsafe { zspage.state.get() };
        // SAFETY: pool lock held; the caller frees a live handle, which nobody maps any more.
        unsafe { zspage.free_obj(state, idx) };
        let class = &mut self.classes[zspage.class()];
        class.objs_inuse -= 1;
        if state.inuse() > 0 {
            self.regroup(zspage);
            return None;
        }
        class.zspages -= 1;
        self.kill(zspage);
        Some(NonNull::from(zspage))
    }

    /// Takes an empty zspage off its lists for good: `Dead` for the callbacks, its pages
    /// unlinked from it. It is then retired by the caller.
    fn kill(&mut self, zspage: &Zspage) {
        // SAFETY: pool lock held; no other reference to the state is live.
        unsafe { zspage.state.get() }.life = Life::Dead;
        // SAFETY: pool lock held; the zspage is on one of its class's lists.
        unsafe { zspage.link.del_init() };
        zspage.unlink_pages();
    }

    /// The emptiest and the fullest zspage of `class` that both have room to give or take,
    /// if compacting the class can free pages at all.
    fn compaction_pair(&self, class: usize) -> Option<(NonNull<Zspage>, NonNull<Zspage>)> {
        let state = &self.classes[class];
        let spec = CLASSES.class(class);
        if compactable_pages(spec, state.objs_allocated(class), state.objs_inuse) == 0 {
            return None;
        }
        let first_in = |groups: &[usize]| {
            groups.iter().find_map(|&group| {
                let head = &state.groups[group];
                // SAFETY: pool lock held (`&self` of the inner data); the head is initialised.
                unsafe { head.next(head) }
            })
        };
        // SAFETY (both): entries of group lists are `link`s of live zspages.
        let src = unsafe { Zspage::from_link(first_in(&COMPACT_SRC_ORDER)?) };
        let dst = {
            let dst_link = COMPACT_DST_ORDER.iter().find_map(|&group| {
                let head = &state.groups[group];
                // SAFETY: as above. The fullest zspage may be `src` itself when it is the only
                // partly used one; then take the next on that list, if any.
                let first = unsafe { head.next(head) }?;
                // SAFETY: `src` is a live zspage on this pool's lists (pool lock held).
                if first == unsafe { NonNull::from(&src.as_ref().link) } {
                    // SAFETY: as above.
                    unsafe { first.as_ref().next(head) }
                } else {
                    Some(first)
                }
            })?;
            // SAFETY: as above.
            unsafe { Zspage::from_link(dst_link) }
        };
        Some((src, dst))
    }

    /// One compaction round in `class`: moves objects from the emptiest zspage into the
    /// fullest until the first is empty or the second full. `None` when there is nothing to
    /// do or a zspage involved is in use by a reader (writers only try: seed 004); otherwise
    /// the source zspage, unlinked, if it was emptied.
    fn compact_once(&mut self, class: usize) -> Option<Option<NonNull<Zspage>>> {
        let (src, dst) = self.compaction_pair(class)?;
        // SAFETY: live zspages on this pool's lists, pool lock held.
        let (src, dst) = unsafe { (src.as_ref(), dst.as_ref()) };
        let src_guard = sys::writer_try_lock(&src.lock)?;
        let Some(dst_guard) = sys::writer_try_lock(&dst.lock) else { return None };
        // SAFETY: pool lock held; two distinct zspages, one reference to each state.
        let (src_state, dst_state) = unsafe { (src.state.get(), dst.state.get()) };
        #[cfg(zs_kunit)]
        let mut last_moved = 0usize;
        // Mutation for the seed-001 test: repoint handles after the locks are dropped.
        #[cfg(zs_mutate_repoint_after_unlock)]
        let mut deferred: KVec<(usize, u64)> = KVec::new();
        let mut from = 0;
        // SAFETY: pool lock held; `src_state` is `src`'s.
        while let Some((idx, handle)) = unsafe { src.next_allocated(src_state, from) } {
            from = idx + 1;
            // SAFETY: pool lock held; `dst_state` is `dst`'s. The copy below overwrites the
            // new object's header with the same handle.
            let Some(dst_idx) = (unsafe { dst.alloc_obj(dst_state, handle) }) else { break };
            // SAFETY: as above.
            unsafe { src.copy_obj(idx, dst, dst_idx) };
            let location = dst.location(dst_idx);
            // The bytes are in place: repoint the handle in one store. Its readers wait for
            // `src`'s write lock and then re-check the slot; its freer waits for the pool lock.
            #[cfg(zs_mutate_repoint_after_unlock)]
            let _ = deferred.push((handle, location.to_raw()), GFP_ATOMIC);
            #[cfg(not(zs_mutate_repoint_after_unlock))]
            // SAFETY: a live handle's slot (its object was allocated until now).
            unsafe { &*(handle as *const HandleSlot) }.0.store(location.to_raw(), Ordering::Release);
            // SAFETY: pool lock and `src`'s write lock held (no reader); the handle no longer
            // names the object.
            unsafe { src.free_obj(src_state, idx) };
            #[cfg(zs_kunit)]
            {
                last_moved = handle;
            }
        }
        drop(dst_guard);
        drop(src_guard);
        #[cfg(zs_kunit)]
        sys::hooks::run(sys::hooks::Point::AfterCompactionMove(last_moved));
        #[cfg(zs_mutate_repoint_after_unlock)]
        for (handle, raw) in deferred.iter() {
            // SAFETY: none: this is the bug the seed-001 test must catch.
            unsafe { &*(*handle as *const HandleSlot) }.0.store(*raw, Ordering::Release);
        }
        let dst_full = dst_state.inuse() == dst.spec().objs_per_zspage;
        let src_empty = src_state.inuse() == 0;
        self.regroup(dst);
        if src_empty {
            let class = &mut self.classes[class];
            class.zspages -= 1;
            // Seed 002: the path that emptied the zspage takes it off its lists in the same
            // critical section, so no other path can relink it or allocate in it.
            #[cfg(not(zs_mutate_kill_after_unlock))]
            self.kill(src);
            return Some(Some(NonNull::from(src)));
        }
        self.regroup(src);
        debug_assert!(dst_full, "a round ended with room on both sides");
        Some(None)
    }

    /// Any zspage still on a list, for pool destruction.
    fn any_zspage(&self) -> Option<NonNull<Zspage>> {
        self.classes.iter().flat_map(|class| class.groups.iter()).find_map(|head| {
            // SAFETY: pool lock held (`&self` of the inner data); entries of group lists are
            // `link`s of live zspages.
            unsafe { head.next(head).map(|link| Zspage::from_link(link)) }
        })
    }
}

impl Pool {
    /// Writes the per-class table of `.../<pool>/classes`, a line at a time, under the pool
    /// lock (so it is consistent; `line` must not sleep).
    fn write_class_table(&self, mut line: impl FnMut(&[u8])) {
        use core::fmt::Write;
        let mut out = sys::LineBuf::new();
        let _ = write!(out, "class  size objs/zs pages/zs zspages pages objs_alloc objs_used  zspages by fullness group 0..11\n");
        line(out.as_bytes());
        let inner = self.inner.lock();
        for (index, class) in inner.classes.iter().enumerate().filter(|(_, c)| c.zspages > 0) {
            let spec = CLASSES.class(index);
            let mut out = sys::LineBuf::new();
            let _ = write!(
                out,
                "{:5} {:5} {:7} {:8} {:7} {:5} {:10} {:9} ",
                index,
                spec.size,
                spec.objs_per_zspage,
                spec.pages_per_zspage,
                class.zspages,
                class.zspages * spec.pages(),
                class.objs_allocated(index),
                class.objs_inuse
            );
            for head in class.groups.iter() {
                let mut count = 0usize;
                // SAFETY: pool lock held; entries of group lists are `link`s of live zspages.
                let mut entry = unsafe { head.next(head) };
                while let Some(link) = entry {
                    count += 1;
                    // SAFETY: as above.
                    entry = unsafe { link.as_ref().next(head) };
                }
                let _ = write!(out, " {count}");
            }
            let _ = out.write_str("\n");
            line(out.as_bytes());
        }
        drop(inner);
        let mut out = sys::LineBuf::new();
        let _ = write!(
            out,
            "total_pages {} pages_compacted {} pages_migrated {} zspages_retired {}\n",
            self.total_pages(),
            self.pages_compacted(),
            self.pages_migrated(),
            self.zspages_retired.load(Ordering::Relaxed)
        );
        line(out.as_bytes());
    }
}

/// The `classes` debugfs file's show callback (`DEFINE_SHOW_ATTRIBUTE` in `sys/helpers.c`).
#[no_mangle]
unsafe extern "C" fn rzs_classes_show(m: *mut bindings::seq_file, _v: *mut core::ffi::c_void) -> i32 {
    // SAFETY: the file's private data is its pool, which removes the file before it goes.
    let pool = unsafe { &*(*m).private.cast::<Pool>() };
    // SAFETY: `m` is the seq_file being shown.
    pool.write_class_table(|line| unsafe { sys::seq_write(m, line) });
    0
}

unsafe extern "C" fn shrinker_count(shrinker: *mut bindings::shrinker, _sc: *mut bindings::shrink_control) -> usize {
    // SAFETY: the shrinker's data is its pool, alive until the shrinker is freed.
    let pool = unsafe { &*sys::Shrinker::data(shrinker).cast::<Pool>() };
    pool.compactable_pages()
}

unsafe extern "C" fn shrinker_scan(shrinker: *mut bindings::shrinker, _sc: *mut bindings::shrink_control) -> usize {
    // SAFETY: as in `shrinker_count`.
    let pool = unsafe { &*sys::Shrinker::data(shrinker).cast::<Pool>() };
    match pool.compact() {
        0 => bindings::SHRINK_STOP as usize,
        freed => freed,
    }
}

#[pinned_drop]
impl PinnedDrop for Pool {
    fn drop(self: Pin<&mut Self>) {
        let shrinker = self.shrinker.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if !shrinker.is_null() {
            // SAFETY: stored by `new` from `KBox::into_raw`, taken once; dropping it waits for
            // the callbacks that use this pool.
            drop(unsafe { KBox::from_raw(shrinker) });
        }
        let mut live = 0usize;
        {
            let mut inner = self.inner.lock();
            while let Some(zspage) = inner.any_zspage() {
                // SAFETY: a listed zspage of this pool, pool lock held.
                let zspage = unsafe { zspage.as_ref() };
                // SAFETY: pool lock held; nobody else references the state.
                let state = unsafe { zspage.state.get() };
                let mut from = 0;
                // SAFETY: pool lock held; the zspage's own state.
                while let Some((idx, handle)) = unsafe { zspage.next_allocated(state, from) } {
                    from = idx + 1;
                    live += 1;
                    if let Some(slot) = NonNull::new(handle as *mut HandleSlot) {
                        // SAFETY: the header names the object's live slot, from this module's
                        // cache; destroying the pool ends every handle (the caller's contract).
                        unsafe { self.alloc.handles.free(slot) };
                    }
                }
                inner.kill(zspage);
                // SAFETY: killed just above: off every list, its handles gone.
                unsafe { self.retire(NonNull::from(zspage)) };
            }
        }
        // The movable_ops callbacks reach the pool through zspages found under RCU: once
        // every retirement callback has run, none of them can still be using the pool.
        sys::rcu_barrier();
        if live > 0 {
            pr_warn!("pool {}: destroyed with {} live objects; freed them\n", &*self.name, live);
        }
    }
}
