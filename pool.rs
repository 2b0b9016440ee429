// SPDX-License-Identifier: GPL-2.0

//! A pool: size classes of zspages, and the malloc/free/map API over `Handle`s.
//!
//! Lock order (every lock this module takes), outermost first:
//!
//! 1. The page lock of a zspage page, held by the migration core around the movable_ops
//!    callbacks (`migrate.rs`); this module only ever try-locks a page (`set_movable`,
//!    `release_movable`) and never under 2 or 3 waits for one.
//! 2. `Pool::inner`, the pool spinlock: the fullness-group lists, each zspage's allocation
//!    state and object headers (`zspage::Held`), and the class counters. Never held across
//!    anything that sleeps.
//! 3. `Zspage::lock`, the per-zspage reader/writer lock (seed 004): object bytes and
//!    locations. `map` takes it for reading (never under 2) and holds it until the mapping
//!    drops; writers (compaction, migration) take it with `try_write` only, under 2, and
//!    back off on contention: a writer never sleeps and never spins on it.
//!
//! Handles (`handle.rs`) name a slot holding the object's location. A slot changes only
//! when compaction moves the object: under 2, with the source and destination zspages
//! write-locked, in one release store after the bytes are copied. So `free` (under 2) and
//! a reader holding the object's zspage read lock see a stable slot.
//!
//! Zspages die by retirement: off their lists under 2 (`PoolInner::kill`, which makes a
//! `DeadZspage`), then freed (pages and metadata) one RCU grace period later. `map` finds
//! the zspage from the slot without 2, inside an RCU read-side section: the zspage it finds
//! may be retiring, but is not freed before the section ends; once read-locked, `map`
//! re-reads the slot to make sure the object is still there (compaction may have moved it).

use crate::{
    allocator::{Allocator, DeadZspage, MOVABLE_PAGES},
    handle::{Handle, HandleSlot},
    logic::{
        fullness::{fullness_group, ALLOC_ORDER, GROUP_EMPTY, NR_FULLNESS_GROUPS},
        size_class::SizeError,
    },
    mapping::{MapMode, Mapping},
    migrate::MOVABLE_OPS,
    sys::{self, CpuBuffers, DebugfsDir, Gfp, List, RcuReadGuard, RcuReader, SlabBox},
    zspage::{Held, Life, ReadHold, Zspage},
    CLASSES,
};
use core::{
    cell::Cell,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};
use kernel::{
    alloc::flags::GFP_KERNEL,
    fmt, new_spinlock,
    prelude::*,
    str::{CStr, CString},
    sync::SpinLock,
};

/// The lists and counters of one size class. Guarded by the pool lock.
pub(crate) struct ClassLists {
    /// One list per fullness group; each zspage of this class is on the one its state names.
    groups: [List<Zspage>; NR_FULLNESS_GROUPS],
    /// Objects in use.
    objs_inuse: Cell<usize>,
    zspages: Cell<usize>,
}

impl ClassLists {
    pub(crate) fn objs_inuse(&self) -> usize {
        self.objs_inuse.get()
    }

    pub(crate) fn zspages(&self) -> usize {
        self.zspages.get()
    }

    /// Object capacity of the class's zspages (class `index` is this one).
    pub(crate) fn objs_allocated(&self, index: usize) -> usize {
        self.zspages() * CLASSES.class(index).objs_per_zspage as usize
    }

    /// Zspages per fullness group.
    pub(crate) fn group_counts(&self) -> impl Iterator<Item = usize> + '_ {
        self.groups.iter().map(List::len)
    }
}

/// What the pool spinlock guards: the zspage collection of the pool. A `&PoolInner` exists
/// only inside the lock (its constructor is private to this file), so it is the proof that
/// the lock is held (`Zspage::held`).
pub(crate) struct PoolInner {
    /// The pool this is the lock data of; set once the pool is at its final address.
    pool: *const Pool,
    /// Indexed by class index.
    classes: KVec<ClassLists>,
}

// SAFETY: `pool` is an address; the lists name zspages that are shared between threads
// under this lock, which is what moving the data between threads amounts to.
unsafe impl Send for PoolInner {}

// SAFETY: `PoolInner` is reachable only through the pool's spinlock guard, and a spinlock
// holder runs with preemption off, which 6.12's RCU treats as a read-side section.
unsafe impl RcuReader for PoolInner {}

impl PoolInner {
    /// Whether `zspage` belongs to this lock's pool.
    pub(crate) fn owns(&self, zspage: &Zspage) -> bool {
        core::ptr::eq(zspage.pool_ptr(), self.pool)
    }

    pub(crate) fn classes(&self) -> &[ClassLists] {
        &self.classes
    }

    /// The fullest zspage of `class` that has a free object.
    fn first_with_room(&self, class: usize) -> Option<Held<'_>> {
        let groups = &self.classes[class].groups;
        ALLOC_ORDER
            .iter()
            .find_map(|&group| groups[group].first())
            .map(|zspage| zspage.held(self))
    }

    /// The first zspage on the first non-empty group of `order` in `class`, skipping `not`.
    pub(crate) fn first_in(
        &self,
        class: usize,
        order: &[usize],
        not: Option<&Zspage>,
    ) -> Option<Held<'_>> {
        let groups = &self.classes[class].groups;
        let skip = |zspage: &&Zspage| !not.is_some_and(|not| core::ptr::eq(*zspage, not));
        order
            .iter()
            .find_map(|&group| groups[group].iter().find(skip))
            .map(|zspage| zspage.held(self))
    }

    /// The listed zspage of `class` at address `addr`, if any (the seed-002 mutation).
    pub(crate) fn find(&self, class: usize, addr: usize) -> Option<Held<'_>> {
        let groups = &self.classes[class].groups;
        let at = |zspage: &&Zspage| core::ptr::from_ref(*zspage) as usize == addr;
        groups
            .iter()
            .find_map(|list| list.iter().find(at))
            .map(|zspage| zspage.held(self))
    }

    /// Puts a new, empty zspage on its class's lists; the lists own it from now on.
    fn insert(&self, zspage: SlabBox<Zspage>) -> Held<'_> {
        let class = &self.classes[zspage.class()];
        // A zspage in a box has never been listed: `Life::New`.
        let held = class.groups[GROUP_EMPTY].push_front(zspage).held(self);
        let mut state = held.state();
        state.life = Life::Listed;
        state.set_group(GROUP_EMPTY);
        held.set_state(state);
        class.zspages.set(class.zspages.get() + 1);
        held
    }

    /// Moves `zspage` to the list of the group its use now puts it in.
    pub(crate) fn regroup(&self, zspage: Held<'_>) {
        let mut state = zspage.state();
        assert!(
            state.life == Life::Listed,
            "regroup of a zspage that is not listed"
        );
        let group = fullness_group(state.inuse(), zspage.spec().objs_per_zspage);
        if group != state.group() {
            let groups = &self.classes[zspage.class()].groups;
            // SAFETY: a listed zspage is on the list of the group its state names.
            unsafe { groups[state.group()].move_to(zspage.zspage(), &groups[group]) };
            state.set_group(group);
            zspage.set_state(state);
        }
    }

    /// Accounts an object allocated in `zspage`.
    fn object_allocated(&self, zspage: Held<'_>) {
        let class = &self.classes[zspage.class()];
        class.objs_inuse.set(class.objs_inuse.get() + 1);
        self.regroup(zspage);
    }

    /// Accounts an object freed from `zspage`; returns the zspage, off its lists for good,
    /// if it is now empty.
    pub(crate) fn object_freed(&self, zspage: Held<'_>) -> Option<DeadZspage> {
        let class = &self.classes[zspage.class()];
        class.objs_inuse.set(class.objs_inuse.get() - 1);
        if zspage.state().inuse() > 0 {
            self.regroup(zspage);
            return None;
        }
        Some(self.kill(zspage))
    }

    /// Takes a zspage off its lists for good: `Dead` for the callbacks, its pages unlinked
    /// from it. Seed 002: the path that empties a zspage calls this in the same critical
    /// section, so no other path can relink it or allocate in it.
    pub(crate) fn kill(&self, zspage: Held<'_>) -> DeadZspage {
        let mut state = zspage.state();
        assert!(
            state.life == Life::Listed,
            "kill of a zspage that is not listed"
        );
        let class = &self.classes[zspage.class()];
        // SAFETY: a listed zspage is on the list of the group its state names.
        let zspage_box = unsafe { class.groups[state.group()].remove(zspage.zspage()) };
        class.zspages.set(class.zspages.get() - 1);
        state.life = Life::Dead;
        zspage.set_state(state);
        zspage.unlink_pages();
        DeadZspage::new(zspage_box)
    }

    /// Any zspage still on a list, for pool destruction.
    fn any_zspage(&self) -> Option<Held<'_>> {
        self.classes
            .iter()
            .flat_map(|class| class.groups.iter())
            .find_map(List::first)
            .map(|zs| zs.held(self))
    }
}

/// A pool of compressed objects.
#[pin_data(PinnedDrop)]
pub(crate) struct Pool {
    pub(crate) alloc: &'static Allocator,
    #[pin]
    pub(crate) inner: SpinLock<PoolInner>,
    /// Pages held by the pool's zspages (readable without the lock, and through debugfs).
    pub(crate) total_pages: AtomicUsize,
    /// Pages freed by compaction (zsmalloc's `pages_compacted`).
    pub(crate) pages_compacted: AtomicUsize,
    /// Zspages retired through RCU.
    pub(crate) zspages_retired: AtomicUsize,
    /// Pages moved by the migration core.
    pub(crate) pages_migrated: AtomicUsize,
    /// Set while a compaction runs: one at a time per pool (zs_compact, the shrinker).
    pub(crate) compacting: AtomicBool,
    /// Compacts under memory pressure; set once the pool is at its final address, and
    /// dropped first on destroy (which waits for its running callbacks).
    #[pin]
    shrinker: SpinLock<Option<sys::Shrinker>>,
    pub(crate) debugfs: DebugfsDir,
    name: CString,
}

/// Why a pool operation failed, mapped to errno by the callers.
fn size_error(err: SizeError) -> Error {
    match err {
        SizeError::Zero => EINVAL,
        SizeError::TooBig => ENOSPC,
    }
}

impl Pool {
    /// Creates a pool named `name` (for messages and debugfs). May sleep.
    pub(crate) fn new(alloc: &'static Allocator, name: &CStr) -> Result<Pin<KBox<Pool>>> {
        sys::might_sleep();
        let nr = CLASSES.nr_classes();
        let mut classes = KVec::with_capacity(nr, GFP_KERNEL)?;
        for _ in 0..nr {
            classes.push(
                ClassLists {
                    groups: [const { List::new() }; NR_FULLNESS_GROUPS],
                    objs_inuse: Cell::new(0),
                    zspages: Cell::new(0),
                },
                GFP_KERNEL,
            )?;
        }
        let dir_name = CString::try_from_fmt(fmt!("{}-{}", name, alloc.next_pool_id()))?;
        let pool = KBox::pin_init(
            try_pin_init!(Pool {
                alloc,
                inner <- new_spinlock!(PoolInner { pool: core::ptr::null(), classes }, "rust_zsmalloc_pool"),
                total_pages: AtomicUsize::new(0),
                pages_compacted: AtomicUsize::new(0),
                zspages_retired: AtomicUsize::new(0),
                pages_migrated: AtomicUsize::new(0),
                compacting: AtomicBool::new(false),
                shrinker <- new_spinlock!(None, "rust_zsmalloc_shrinker"),
                debugfs: DebugfsDir::new(&dir_name, Some(alloc.debugfs())),
                name: CString::try_from_fmt(fmt!("{}", name))?,
            }),
            GFP_KERNEL,
        )?;
        pool.inner.lock().pool = core::ptr::from_ref(&*pool);
        // SAFETY: the pool is pinned and outlives the shrinker, which destroy drops first.
        match unsafe { sys::Shrinker::new(name, &*pool) } {
            Some(shrinker) => *pool.shrinker.lock() = Some(shrinker),
            None => pr_warn!("pool {}: no shrinker (out of memory)\n", name),
        }
        crate::stats::register(&pool);
        Ok(pool)
    }

    /// Pages currently held by the pool.
    pub(crate) fn total_pages(&self) -> usize {
        self.total_pages.load(Ordering::Relaxed)
    }

    /// Pages the migration core has moved so far.
    pub(crate) fn pages_migrated(&self) -> usize {
        self.pages_migrated.load(Ordering::Relaxed)
    }

    /// Pages compaction has freed so far.
    pub(crate) fn pages_compacted(&self) -> usize {
        self.pages_compacted.load(Ordering::Relaxed)
    }

    pub(crate) fn copy_buffers(&self) -> &CpuBuffers {
        self.alloc.copy_buffers()
    }

    /// Allocates an object of `size` bytes with the caller's `gfp`. Never sleeps unless
    /// `gfp` allows it. Errors: `EINVAL` (size 0), `ENOSPC` (larger than a page), `ENOMEM`;
    /// nothing is left allocated on error.
    pub(crate) fn malloc(&self, size: usize, gfp: Gfp) -> Result<Handle<'_>> {
        let (class, _stored) = CLASSES.lookup(size).map_err(size_error)?;
        let slot = self
            .alloc
            .handles()
            .alloc(gfp, HandleSlot::new())
            .map_err(|_| ENOMEM)?;
        let slot = slot.into_raw();
        let handle = Handle::new(slot);

        {
            let inner = self.inner.lock();
            if let Some(zspage) = inner.first_with_room(class) {
                Self::alloc_obj(&inner, zspage, &handle);
                return Ok(handle);
            }
        }

        // No room: a new zspage, allocated outside the lock with the caller's gfp,
        // untouched: every zspage page is registered with the migration core, so
        // `__GFP_MOVABLE` is honoured (with `__GFP_HIGHMEM` it selects ZONE_MOVABLE).
        let zspage = Zspage::new(class, gfp, self)
            .ok_or(ENOMEM)
            .and_then(|zspage| self.alloc.zspages().alloc(gfp, zspage).map_err(|_| ENOMEM));
        let zspage = match zspage {
            Ok(zspage) => zspage,
            Err(e) => {
                handle.free_slot();
                return Err(e);
            }
        };
        // Link and register the pages at the zspage's final (slab) address, before it is
        // listed (seed 003: published only once initialised); until then a callback that
        // finds it sees `Life::New` and leaves it alone.
        MOVABLE_PAGES.fetch_add(Zspage::publish(&zspage, &MOVABLE_OPS), Ordering::Relaxed);
        self.total_pages
            .fetch_add(zspage.nr_pages(), Ordering::Relaxed);
        let inner = self.inner.lock();
        let zspage = inner.insert(zspage);
        Self::alloc_obj(&inner, zspage, &handle);
        Ok(handle)
    }

    /// Allocates an object in `zspage` (which has room) for `handle` and points its slot
    /// at it.
    fn alloc_obj(inner: &PoolInner, zspage: Held<'_>, handle: &Handle<'_>) {
        let Some(idx) = zspage.alloc_obj(handle.raw()) else {
            unreachable!("zspage on a non-full list is full")
        };
        // The slot is fresh and the handle not returned yet: nobody reads it.
        handle.slot().store(zspage.location(idx));
        inner.object_allocated(zspage);
    }

    /// Frees the object of `handle`. Never sleeps.
    pub(crate) fn free(&self, handle: Handle<'_>) {
        let dead = {
            let inner = self.inner.lock();
            // Under the pool lock the location cannot change (compaction holds it to move).
            let (zspage, idx) = handle.slot().zspage(&*inner);
            if !inner.owns(zspage) {
                pr_err!("free: a handle of another pool; leaked\n");
                return;
            }
            let zspage = zspage.held(&inner);
            zspage.free_obj(idx);
            inner.object_freed(zspage)
        };
        handle.free_slot();
        if let Some(dead) = dead {
            self.retire(dead);
        }
    }

    /// Retires a dead zspage: pages and metadata go one RCU grace period from now.
    pub(crate) fn retire(&self, zspage: DeadZspage) {
        self.total_pages
            .fetch_sub(zspage.nr_pages(), Ordering::Relaxed);
        self.zspages_retired.fetch_add(1, Ordering::Relaxed);
        zspage.retire();
    }

    /// Read-locks the zspage that holds the object of `handle`. Lockless: compaction may
    /// move the object meanwhile, so the slot is re-checked under the lock.
    fn read_lock_object<'a>(&self, handle: &'a mut Handle<'_>) -> Result<ReadHold<'a>> {
        // A zspage found here may be retiring, but it is not freed while this section lasts.
        let rcu = RcuReadGuard::new();
        loop {
            let (zspage, idx) = handle.slot().zspage(&rcu);
            zspage.lock().read_acquire();
            // Compaction repoints the slot with this zspage write-locked, so with the read
            // lock held the slot either still names this zspage (and then the object stays
            // put until the hold ends) or it was repointed before we got the lock.
            if handle.slot().load() == Some(zspage.location(idx)) {
                if !core::ptr::eq(zspage.pool_ptr(), self) {
                    zspage.lock().read_release();
                    pr_err!("map: a handle of another pool\n");
                    return Err(EINVAL);
                }
                // SAFETY: the read hold taken above is given to the hold; the slot names
                // object `idx` of `zspage` under it, so the object is allocated there to
                // `handle`, which is borrowed mutably for `'a`.
                return Ok(unsafe { ReadHold::new(zspage, idx) });
            }
            zspage.lock().read_release();
        }
    }

    /// Maps the object of `handle` for `mode` until the mapping drops. An object that spans
    /// two pages is copied into this CPU's buffer (unless write-only), and preemption stays
    /// off until the mapping drops: do not sleep meanwhile.
    pub(crate) fn map<'a>(
        &'a self,
        handle: &'a mut Handle<'_>,
        mode: MapMode,
    ) -> Result<Mapping<'a>> {
        let hold = self.read_lock_object(handle)?;
        Mapping::new(self, hold, mode)
    }

    /// Maps `handle`, runs `f` on the object's first `len` bytes (clamped to the object),
    /// and unmaps.
    #[allow(
        dead_code,
        reason = "the allocator's own callers are C; Rust users are the tests"
    )]
    pub(crate) fn with_object<R>(
        &self,
        handle: &mut Handle<'_>,
        mode: MapMode,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> Result<R> {
        let mut mapping = self.map(handle, mode)?;
        let bytes = mapping.bytes();
        let len = len.min(bytes.len());
        Ok(f(&mut bytes[..len]))
    }

    /// Whether the object of `handle` spans two pages (so `map` goes through the copy
    /// buffer), and where it starts: its page and its address if it lies in one page.
    #[allow(dead_code, reason = "for the KUnit module")]
    pub(crate) fn object_place(
        &self,
        handle: &Handle<'_>,
    ) -> (bool, *mut kernel::bindings::page, Option<*mut u8>) {
        let inner = self.inner.lock();
        let (zspage, idx) = handle.slot().zspage(&*inner);
        let zspage = zspage.held(&inner);
        (
            zspage.place(idx).spans,
            zspage.page_of(idx),
            zspage.payload_address(idx),
        )
    }
}

impl sys::ShrinkerOps for Pool {
    fn count(&self) -> usize {
        self.compactable_pages()
    }

    fn scan(&self) -> usize {
        self.compact()
    }
}

#[pinned_drop]
impl PinnedDrop for Pool {
    fn drop(self: Pin<&mut Self>) {
        // Dropped outside the lock: freeing a shrinker waits for its running callbacks.
        let shrinker = self.shrinker.lock().take();
        drop(shrinker);
        let mut live = 0usize;
        loop {
            let dead = {
                let inner = self.inner.lock();
                let Some(zspage) = inner.any_zspage() else {
                    break;
                };
                let mut from = 0;
                while let Some((idx, handle)) = zspage.next_allocated(from) {
                    from = idx + 1;
                    live += 1;
                    zspage.free_obj(idx);
                    // Destroying the pool ends every handle (the caller's contract).
                    crate::handle::free_slot_of_object(handle);
                }
                inner.kill(zspage)
            };
            self.retire(dead);
        }
        // The movable_ops callbacks reach the pool through zspages found under RCU: once
        // every retirement callback has run, none of them can still be using the pool.
        sys::rcu_barrier();
        if live > 0 {
            pr_warn!(
                "pool {}: destroyed with {} live objects; freed them\n",
                &*self.name,
                live
            );
        }
    }
}
