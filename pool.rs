// SPDX-License-Identifier: GPL-2.0

//! A pool: size classes of zspages, and the malloc/free/map API over `Handle`s.
//!
//! Lock order (every lock this module takes), outermost first:
//!
//! 1. The page lock of a zspage page, held by the migration core around the movable_ops
//!    callbacks (`migrate.rs`); this module only ever try-locks a page (`set_movable`,
//!    `release_movable`) and never waits for one under 2–4.
//! 2. `Pool::inner`, the pool spinlock: what is truly pool-wide, the one-compaction-at-a-time
//!    flag. Held for a test-and-set only, never around another lock of this list.
//! 3. `Pool::classes[i]`, one spinlock per size class (`ClassLists`): the class's
//!    fullness-group lists, its zspages' allocation state and object headers
//!    (`zspage::Held`), and its counters. Never held across anything that sleeps; never two
//!    at once (an object never changes class, so compaction and migration stay in one).
//! 4. `Zspage::lock`, the per-zspage reader/writer lock (seed 004): object bytes and
//!    locations. `map` takes it for reading (never under 3) and holds it until the mapping
//!    drops; writers (compaction, migration) take it with `try_write` only, under 3, and
//!    back off on contention: a writer never sleeps and never spins on it.
//!
//! Handles (`handle.rs`) name a slot holding the object's location. A slot changes only
//! when compaction moves the object: under its class lock, with the source and destination
//! zspages write-locked, in one release store after the bytes are copied. So `free` (under
//! the class lock) and a reader holding the object's zspage read lock see a stable slot.
//! `free` takes no pool-wide lock: it reads the slot inside an RCU read-side section to learn
//! the object's class, locks that class, and reads the slot again.
//!
//! Zspages die by retirement: off their lists under their class lock (`ClassLists::kill`,
//! which unlinks the pages from the zspage and takes them out of its metadata, making a
//! `DeadZspage`); then, after the lock is dropped (`Pool::retire`), the pages are freed at
//! once and the metadata one RCU grace period later. Only the metadata needs the grace
//! period, because every lockless lookup stops at the metadata until a lock shows the zspage
//! live (the full argument, path by path, is at the top of `allocator.rs`):
//! - `map` finds the zspage from the slot inside an RCU read-side section, takes its lock
//!   word for reading and re-reads the slot: the zspage may be retiring, but its metadata is
//!   not freed before the section ends, and `map` touches a page only when the slot still
//!   names an object there (a zspage with an object is never killed; compaction, which
//!   would move the object, needs the write lock);
//! - `free` reads the metadata's pool and class only, and re-reads the slot under the class
//!   lock, where the zspage it names is live;
//! - the movable_ops callbacks (`migrate.rs`) reach the metadata from a page the migration
//!   core holds locked, and walk the page chain only for a listed zspage under the class
//!   lock (a dead zspage's chain is empty); the core holds their own page, whose lock makes
//!   the free path leave it to the module's work (`allocator.rs`);
//! - compaction, `malloc`, pool destroy and the shrinker reach zspages only from the lists,
//!   under the class lock.

use crate::{
    allocator::{Allocator, DeadZspage, MOVABLE_PAGES},
    handle::{Handle, HandleSlot},
    logic::{
        fullness::{alloc_group, fullness_group_of, GROUP_EMPTY, NR_FULLNESS_GROUPS},
        size_class::SizeError,
    },
    mapping::{MapMode, Mapping},
    migrate::MOVABLE_OPS,
    sys::{
        self, CpuBuffers, DebugfsDir, Gfp, InlineSpinLock, List, RcuReadGuard, RcuReader, SlabBox,
    },
    testing::{self, hooks},
    zspage::{Held, Life, ObjectHeader, ReadHold, Zspage},
    CLASSES,
};
use core::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use kernel::{
    alloc::flags::GFP_KERNEL,
    c_str, fmt, new_spinlock,
    prelude::*,
    str::{CStr, CString},
    sync::SpinLock,
};

/// The zspage collection of one size class: its fullness lists and counters, the data of
/// the class's spinlock. A `&ClassLists` exists only inside that lock (it is made only by
/// `Pool::new`, in the lock), so it is the proof that the lock is held (`Zspage::held`).
pub(crate) struct ClassLists {
    /// The pool the class belongs to; set once the pool is at its final address.
    pool: *const Pool,
    /// The class's index in `CLASSES`.
    class: usize,
    /// One list per fullness group; each zspage of this class is on the one its state names.
    groups: [List<Zspage>; NR_FULLNESS_GROUPS],
    /// Objects in use. Written under the lock; read without it (the shrinker's count).
    objs_inuse: AtomicUsize,
    /// Zspages on the lists. As above.
    zspages: AtomicUsize,
    /// Bit `g` set when `groups[g]` is not empty (`alloc_group` picks from it). Written
    /// under the lock only.
    occupied: AtomicU16,
}

// SAFETY: `pool` is an address; the lists name zspages that are shared between threads
// under this lock, which is what moving the data between threads amounts to.
unsafe impl Send for ClassLists {}

// SAFETY: `ClassLists` is reachable only through its class's spinlock guard, and a spinlock
// holder runs with preemption off, which 6.12's RCU treats as a read-side section.
unsafe impl RcuReader for ClassLists {}

/// Adds `delta` to a counter only the class lock holder writes: a load and a store, no
/// locked read-modify-write on the hot path.
#[inline]
fn add(counter: &AtomicUsize, delta: isize) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add_signed(delta),
        Ordering::Relaxed,
    );
}

impl ClassLists {
    /// Whether `zspage` is of this lock's pool and class.
    #[inline]
    pub(crate) fn owns(&self, zspage: &Zspage) -> bool {
        core::ptr::eq(zspage.pool_ptr(), self.pool) && zspage.class() == self.class
    }

    pub(crate) fn objs_inuse(&self) -> usize {
        self.objs_inuse.load(Ordering::Relaxed)
    }

    pub(crate) fn zspages(&self) -> usize {
        self.zspages.load(Ordering::Relaxed)
    }

    /// The class's geometry.
    pub(crate) fn spec(&self) -> &'static crate::logic::size_class::ClassSpec {
        CLASSES.class(self.class)
    }

    /// Object capacity of the class's zspages.
    pub(crate) fn objs_allocated(&self) -> usize {
        self.zspages() * self.spec().objs_per_zspage as usize
    }

    /// Zspages per fullness group.
    pub(crate) fn group_counts(&self) -> impl Iterator<Item = usize> + '_ {
        self.groups.iter().map(List::len)
    }

    /// The fullest zspage that has a free object.
    fn first_with_room(&self) -> Option<Held<'_>> {
        let group = alloc_group(self.occupied.load(Ordering::Relaxed))?;
        let zspage = self.groups[group].first();
        debug_assert!(zspage.is_some(), "group {group} marked occupied but empty");
        zspage.map(|zspage| zspage.held(self))
    }

    /// Marks `group`'s list as holding a zspage (one was just put on it).
    #[inline]
    fn mark_occupied(&self, group: usize) {
        let occupied = self.occupied.load(Ordering::Relaxed);
        self.occupied
            .store(occupied | 1 << group, Ordering::Relaxed);
    }

    /// Clears `group`'s bit if a zspage just left its list and it is now empty.
    #[inline]
    fn note_left(&self, group: usize) {
        if self.groups[group].first().is_none() {
            let occupied = self.occupied.load(Ordering::Relaxed);
            self.occupied
                .store(occupied & !(1 << group), Ordering::Relaxed);
        }
    }

    /// The first zspage on the first non-empty group of `order`, skipping `not`.
    pub(crate) fn first_in(&self, order: &[usize], not: Option<&Zspage>) -> Option<Held<'_>> {
        let skip = |zspage: &&Zspage| !not.is_some_and(|not| core::ptr::eq(*zspage, not));
        order
            .iter()
            .find_map(|&group| self.groups[group].iter().find(skip))
            .map(|zspage| zspage.held(self))
    }

    /// The listed zspage at address `addr`, if any (the seed-002 mutation).
    pub(crate) fn find(&self, addr: usize) -> Option<Held<'_>> {
        let at = |zspage: &&Zspage| core::ptr::from_ref(*zspage) as usize == addr;
        self.groups
            .iter()
            .find_map(|list| list.iter().find(at))
            .map(|zspage| zspage.held(self))
    }

    /// Puts a new, empty zspage on the lists; the lists own it from now on.
    fn insert(&self, zspage: SlabBox<Zspage>) -> Held<'_> {
        // A zspage in a box has never been listed: `Life::New`.
        let held = self.groups[GROUP_EMPTY].push_front(zspage).held(self);
        held.set_life(Life::Listed);
        held.set_group(GROUP_EMPTY);
        self.mark_occupied(GROUP_EMPTY);
        add(&self.zspages, 1);
        held
    }

    /// Moves `zspage` to the list of the group its use now puts it in.
    #[inline(always)]
    pub(crate) fn regroup(&self, zspage: Held<'_>) {
        assert!(
            zspage.life() == Life::Listed,
            "regroup of a zspage that is not listed"
        );
        let group = fullness_group_of(zspage.spec(), zspage.inuse());
        let old = zspage.group();
        if group != old {
            // SAFETY: a listed zspage is on the list of the group its state names.
            unsafe { self.groups[old].move_to(zspage.zspage(), &self.groups[group]) };
            zspage.set_group(group);
            self.note_left(old);
            self.mark_occupied(group);
        }
    }

    /// Accounts an object allocated in `zspage`.
    #[inline(always)]
    fn object_allocated(&self, zspage: Held<'_>) {
        add(&self.objs_inuse, 1);
        self.regroup(zspage);
    }

    /// Accounts an object freed from `zspage`; returns the zspage, off its lists for good,
    /// if it is now empty.
    #[inline(always)]
    pub(crate) fn object_freed(&self, zspage: Held<'_>) -> Option<DeadZspage> {
        add(&self.objs_inuse, -1);
        if zspage.inuse() > 0 {
            self.regroup(zspage);
            return None;
        }
        Some(self.kill(zspage))
    }

    /// Takes a zspage off its lists for good: `Dead` for the callbacks, its pages unlinked
    /// from it and taken out of it, so that `retire` can free them as soon as this lock is
    /// dropped. Seed 002: the path that empties a zspage calls this in the same critical
    /// section, so no other path can relink it or allocate in it.
    pub(crate) fn kill(&self, zspage: Held<'_>) -> DeadZspage {
        assert!(
            zspage.life() == Life::Listed,
            "kill of a zspage that is not listed"
        );
        // SAFETY: a listed zspage is on the list of the group its state names.
        let zspage_box = unsafe { self.groups[zspage.group()].remove(zspage.zspage()) };
        self.note_left(zspage.group());
        add(&self.zspages, -1);
        zspage.set_life(Life::Dead);
        zspage.unlink_pages();
        let pages = zspage.take_pages();
        DeadZspage::new(zspage_box, pages)
    }

    /// Any zspage still on a list, for pool destruction.
    fn any_zspage(&self) -> Option<Held<'_>> {
        self.groups
            .iter()
            .find_map(List::first)
            .map(|zs| zs.held(self))
    }
}

/// What the pool spinlock guards.
pub(crate) struct PoolWide {
    /// Set while a compaction runs: one at a time per pool (zs_compact, the shrinker).
    pub(crate) compacting: bool,
}

/// New multi-page zspages that take single pages after a failed try for a contiguous block.
const CONTIGUOUS_BACKOFF: usize = 16;

/// Where a pool's multi-page zspages get their pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PageLayout {
    /// One physically contiguous block when the page allocator has one free without
    /// reclaim (else single pages): an object that crosses a page boundary of such a zspage
    /// is mapped in place for as long as its two pages are still neighbours (migration may
    /// replace one), instead of being copied through a per-CPU buffer.
    Contiguous,
    /// Single pages, and every crossing object copied, as upstream zsmalloc does.
    Scattered,
}

impl PageLayout {
    /// The layout the `contiguous_zspages` module parameter asks for.
    pub(crate) fn from_param() -> PageLayout {
        if sys::params::contiguous_zspages() {
            PageLayout::Contiguous
        } else {
            PageLayout::Scattered
        }
    }
}

/// A pool of compressed objects.
#[pin_data(PinnedDrop)]
pub(crate) struct Pool {
    pub(crate) alloc: &'static Allocator,
    /// The pool spinlock.
    #[pin]
    pub(crate) inner: SpinLock<PoolWide>,
    /// One lock and collection per size class, indexed like `CLASSES`.
    classes: KVec<Pin<KBox<InlineSpinLock<ClassLists>>>>,
    /// Pages held by the pool's zspages (readable without a lock, and through debugfs);
    /// changed only when a zspage is made or retired.
    pub(crate) total_pages: AtomicUsize,
    /// Pages freed by compaction (zsmalloc's `pages_compacted`).
    pub(crate) pages_compacted: AtomicUsize,
    /// Zspages retired through RCU.
    pub(crate) zspages_retired: AtomicUsize,
    /// Pages moved by the migration core.
    pub(crate) pages_migrated: AtomicUsize,
    /// Where new zspages get their pages.
    pub(crate) layout: PageLayout,
    /// Zspages made of one contiguous block (`PageLayout::Contiguous`), and of single pages
    /// (either layout; a one-page zspage counts as neither).
    pub(crate) zspages_contiguous: AtomicUsize,
    pub(crate) zspages_scattered: AtomicUsize,
    /// New multi-page zspages left to take single pages without trying for a block, since
    /// the last try failed (the page allocator had no block free: under fragmentation or
    /// memory pressure, the next ones would most likely fail too).
    contiguous_backoff: AtomicUsize,
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
    /// Creates a pool named `name` (for messages and debugfs), its pages laid out as the
    /// `contiguous_zspages` parameter says. May sleep.
    pub(crate) fn new(alloc: &'static Allocator, name: &CStr) -> Result<Pin<KBox<Pool>>> {
        Self::with_layout(alloc, name, PageLayout::from_param())
    }

    /// Creates a pool whose zspages get their pages as `layout` says. May sleep.
    pub(crate) fn with_layout(
        alloc: &'static Allocator,
        name: &CStr,
        layout: PageLayout,
    ) -> Result<Pin<KBox<Pool>>> {
        sys::might_sleep();
        let nr = CLASSES.nr_classes();
        let mut classes = KVec::with_capacity(nr, GFP_KERNEL)?;
        for class in 0..nr {
            let lists = ClassLists {
                pool: core::ptr::null(),
                class,
                groups: [const { List::new() }; NR_FULLNESS_GROUPS],
                objs_inuse: AtomicUsize::new(0),
                zspages: AtomicUsize::new(0),
                occupied: AtomicU16::new(0),
            };
            classes.push(
                KBox::pin_init(
                    InlineSpinLock::new(
                        lists,
                        c_str!("rust_zsmalloc_class"),
                        kernel::static_lock_class!(),
                    ),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
        }
        let dir_name = CString::try_from_fmt(fmt!("{}-{}", name, alloc.next_pool_id()))?;
        let pool = KBox::pin_init(
            try_pin_init!(Pool {
                alloc,
                inner <- new_spinlock!(PoolWide { compacting: false }, "rust_zsmalloc_pool"),
                classes,
                total_pages: AtomicUsize::new(0),
                pages_compacted: AtomicUsize::new(0),
                zspages_retired: AtomicUsize::new(0),
                pages_migrated: AtomicUsize::new(0),
                layout,
                zspages_contiguous: AtomicUsize::new(0),
                zspages_scattered: AtomicUsize::new(0),
                contiguous_backoff: AtomicUsize::new(0),
                shrinker <- new_spinlock!(None, "rust_zsmalloc_shrinker"),
                debugfs: DebugfsDir::new(&dir_name, Some(alloc.debugfs())),
                name: CString::try_from_fmt(fmt!("{}", name))?,
            }),
            GFP_KERNEL,
        )?;
        for class in pool.classes.iter() {
            class.lock().pool = core::ptr::from_ref(&*pool);
        }
        // SAFETY: the pool is pinned and outlives the shrinker, which destroy drops first.
        match unsafe { sys::Shrinker::new(name, &*pool) } {
            Some(shrinker) => *pool.shrinker.lock() = Some(shrinker),
            None => pr_warn!("pool {}: no shrinker (out of memory)\n", name),
        }
        crate::stats::register(&pool);
        Ok(pool)
    }

    /// The lock and collection of size class `class`.
    #[inline]
    pub(crate) fn class(&self, class: usize) -> &InlineSpinLock<ClassLists> {
        &self.classes[class]
    }

    /// Every class's lock and collection, in class order.
    pub(crate) fn classes(&self) -> impl Iterator<Item = &InlineSpinLock<ClassLists>> + '_ {
        self.classes.iter().map(|class| &**class)
    }

    /// Whether a new multi-page zspage should try for a contiguous block: the layout asks
    /// for it and the last failed try was more than `CONTIGUOUS_BACKOFF` zspages ago. The
    /// countdown is approximate under concurrency (a load and a store), which only shifts
    /// when the next try comes.
    pub(crate) fn wants_contiguous(&self) -> bool {
        if self.layout != PageLayout::Contiguous {
            return false;
        }
        let left = self.contiguous_backoff.load(Ordering::Relaxed);
        if left == 0 {
            return true;
        }
        self.contiguous_backoff.store(left - 1, Ordering::Relaxed);
        false
    }

    /// A try for a contiguous block failed: the next `CONTIGUOUS_BACKOFF` zspages take
    /// single pages.
    pub(crate) fn contiguous_failed(&self) {
        self.contiguous_backoff
            .store(CONTIGUOUS_BACKOFF, Ordering::Relaxed);
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
    #[inline(always)]
    pub(crate) fn malloc(&self, size: usize, gfp: Gfp) -> Result<Handle<'_>> {
        let (class_index, stored) = CLASSES.lookup(size).map_err(size_error)?;
        let slot = self
            .alloc
            .handles()
            .alloc(gfp, HandleSlot::new())
            .map_err(|_| ENOMEM)?;
        let handle = Handle::new(slot);
        let Some(header) = ObjectHeader::for_handle(&handle, stored) else {
            unreachable!("a handle slot outside the direct map, or a stored length over a page")
        };
        {
            let lists = self.class(class_index).lock();
            if let Some(zspage) = lists.first_with_room() {
                Self::alloc_obj(&lists, zspage, &handle, header);
                return Ok(handle);
            }
        }
        self.malloc_in_new_zspage(class_index, gfp, handle, header)
    }

    /// `malloc`'s slow path, out of line so that the fast one inlines into the C entry
    /// points: no zspage of the class has room, so `handle` gets an object in a new one.
    #[inline(never)]
    fn malloc_in_new_zspage<'a>(
        &'a self,
        class_index: usize,
        gfp: Gfp,
        handle: Handle<'a>,
        header: ObjectHeader,
    ) -> Result<Handle<'a>> {
        // No room: a new zspage, allocated outside the lock with the caller's gfp,
        // untouched: every zspage page is registered with the migration core, so
        // `__GFP_MOVABLE` is honoured (with `__GFP_HIGHMEM` it selects ZONE_MOVABLE).
        let zspage = Zspage::new(class_index, gfp, self)
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
        if zspage.nr_pages() > 1 {
            let made = if zspage.is_contiguous() {
                &self.zspages_contiguous
            } else {
                &self.zspages_scattered
            };
            made.fetch_add(1, Ordering::Relaxed);
        }
        MOVABLE_PAGES.fetch_add(Zspage::publish(&zspage, &MOVABLE_OPS), Ordering::Relaxed);
        self.total_pages
            .fetch_add(zspage.nr_pages(), Ordering::Relaxed);
        let lists = self.class(class_index).lock();
        let zspage = lists.insert(zspage);
        Self::alloc_obj(&lists, zspage, &handle, header);
        Ok(handle)
    }

    /// Allocates an object in `zspage` (which has room) for `handle`, with its `header`,
    /// and points the handle's slot at it.
    #[inline(always)]
    fn alloc_obj(lists: &ClassLists, zspage: Held<'_>, handle: &Handle<'_>, header: ObjectHeader) {
        let Some(idx) = zspage.alloc_obj(header) else {
            unreachable!("zspage on a non-full list is full")
        };
        // The slot is fresh and the handle not returned yet: nobody reads it.
        handle.slot().store(zspage.location(idx));
        lists.object_allocated(zspage);
    }

    /// Frees the object of `handle`. Never sleeps, takes no pool-wide lock.
    pub(crate) fn free(&self, handle: Handle<'_>) {
        // The mutation's copy of the location read before the class lock.
        let stale = HandleSlot::new();
        let dead = {
            let lists = {
                // The zspage the slot names now may be retiring (compaction is moving the
                // object), but it lives through this section, and its class is the
                // object's: objects never change class.
                let rcu = RcuReadGuard::new();
                let (zspage, idx) = handle.slot().zspage(&rcu);
                if !core::ptr::eq(zspage.pool_ptr(), self) {
                    pr_err!("free: a handle of another pool; leaked\n");
                    return;
                }
                if testing::MUTATE_FREE_STALE_LOCATION {
                    stale.store(zspage.location(idx));
                }
                hooks::run(hooks::Point::AfterFreeLookup(handle.raw()));
                self.class(zspage.class()).lock()
            };
            // Under the class lock the location cannot change (compaction holds it to move):
            // read it again, the one read before the lock may be stale.
            let slot = if testing::MUTATE_FREE_STALE_LOCATION {
                &stale
            } else {
                handle.slot()
            };
            let (zspage, idx) = slot.zspage(&*lists);
            let zspage = zspage.held(&lists);
            zspage.free_obj(idx);
            lists.object_freed(zspage)
        };
        handle.free_slot();
        // The pages go back to the page allocator after the class lock is dropped.
        if let Some(dead) = dead {
            self.retire(dead);
        }
    }

    /// Retires a dead zspage: its pages go back now, its metadata one RCU grace period from
    /// now. Called after the class lock is dropped.
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
            hooks::run(hooks::Point::AfterMapLookup(handle.raw()));
            let guard = zspage.lock().read();
            // Compaction repoints the slot with this zspage write-locked, so with the read
            // lock held the slot either still names this zspage (and then the object stays
            // put until the hold ends) or it was repointed before we got the lock.
            if testing::MUTATE_MAP_NO_RECHECK || zspage.location(idx).is(handle.slot().load()) {
                if !core::ptr::eq(zspage.pool_ptr(), self) {
                    drop(guard);
                    pr_err!("map: a handle of another pool\n");
                    return Err(EINVAL);
                }
                guard.leak();
                // SAFETY: the read hold leaked just above is given to the hold; the slot
                // names object `idx` of `zspage` under it, so the object is allocated there
                // to `handle`, which is borrowed mutably for `'a`.
                return Ok(unsafe { ReadHold::new(zspage, idx) });
            }
            // The object moved before the hold was taken (the guard drops): look again.
        }
    }

    /// Maps the object of `handle` for `mode` until the mapping drops. An object that crosses
    /// a page boundary and is not reached in place (its two pages are not neighbours:
    /// `zspage::reach`) is copied into this CPU's buffer (unless write-only), and preemption
    /// stays off until the mapping drops: do not sleep meanwhile.
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

    /// Whether a mapping of `handle`'s object goes through the copy buffer (it spans two
    /// pages that are not neighbours), where it starts (its page) and its payload's address
    /// if it is reached in place.
    #[allow(dead_code, reason = "for the KUnit module")]
    pub(crate) fn object_place(
        &self,
        handle: &Handle<'_>,
    ) -> (bool, *mut kernel::bindings::page, Option<*mut u8>) {
        self.with_held_object(handle, |zspage, idx| {
            (
                zspage.copied(idx),
                zspage.page_of(idx),
                zspage.payload_address(idx),
            )
        })
    }

    /// Runs `f` on the zspage of `handle`'s object, under its class lock, and the object's
    /// index there.
    #[allow(dead_code, reason = "for the KUnit module")]
    pub(crate) fn with_held_object<R>(
        &self,
        handle: &Handle<'_>,
        f: impl FnOnce(Held<'_>, u32) -> R,
    ) -> R {
        let lists = {
            let rcu = RcuReadGuard::new();
            self.class(handle.slot().zspage(&rcu).0.class()).lock()
        };
        let (zspage, idx) = handle.slot().zspage(&*lists);
        f(zspage.held(&lists), idx)
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
        for class in self.classes() {
            loop {
                let dead = {
                    let lists = class.lock();
                    let Some(zspage) = lists.any_zspage() else {
                        break;
                    };
                    let mut from = 0;
                    while let Some((idx, header)) = zspage.next_allocated(from) {
                        from = idx + 1;
                        live += 1;
                        zspage.free_obj(idx);
                        // Destroying the pool ends every handle (the caller's contract).
                        crate::handle::free_slot_of_object(header);
                    }
                    lists.kill(zspage)
                };
                self.retire(dead);
            }
        }
        // The movable_ops callbacks reach the pool through zspages found under RCU: once
        // every retirement callback has run, none of them can still be using the pool.
        hooks::run(hooks::Point::AfterDestroyRetire);
        if !testing::MUTATE_DESTROY_NO_BARRIER {
            sys::rcu_barrier();
        }
        if live > 0 {
            pr_warn!(
                "pool {}: destroyed with {} live objects; freed them\n",
                &*self.name,
                live
            );
        }
    }
}
