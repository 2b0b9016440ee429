// SPDX-License-Identifier: GPL-2.0

//! What every pool of a module shares: the slab caches, the copy buffers, the debugfs root,
//! the count of pages linked to the migration core, and the end of a zspage's life.
//!
//! A zspage dies in two parts. `ClassLists::kill` (under its class lock) takes it off its
//! lists, unlinks its pages from it (`page->private` = null) and takes the pages out of its
//! metadata (`Held::take_pages`), making a `DeadZspage` of the two. `DeadZspage::retire`,
//! right after the class lock is dropped, frees the pages at once (as upstream does, so a
//! user sees the memory back at once) and the metadata one RCU grace period later.
//!
//! Why only the metadata needs the grace period: every lockless lookup reaches a zspage's
//! metadata, never its pages, until it has checked under a lock that the zspage is live:
//! - `Pool::map` (`read_lock_object`) finds the zspage from the handle's slot, takes its
//!   lock word for reading and re-reads the slot; it walks the chain only if the slot still
//!   names an object of it, and a zspage with an object is never killed (and an object whose
//!   zspage a reader holds cannot be moved away).
//! - `Pool::free` reads the slot only for the zspage's pool and class, locks the class and
//!   reads the slot again: the object is there, so the zspage is live.
//! - The movable_operations callbacks find the zspage from the page the core holds locked
//!   (`page->private`, under RCU), read its class and pool, lock the class, and look for the
//!   page in the chain only if the zspage is not `Dead` (`migrate.rs` `classify`); a dead
//!   zspage's chain is empty anyway (taken at kill, under that lock). The callback's own
//!   page is never one of those freed: the core holds its lock, so `release_movable`'s
//!   trylock fails and the page waits (below); a page whose link was dropped gets no callback
//!   (the core re-checks `PageMovable` under the page lock before each).
//! - Compaction, `malloc` and pool destroy find zspages only on their class's lists, under
//!   the class lock: a dead zspage is on none. The shrinker only counts and compacts.
//! - The KUnit hooks reach pages through a live object (`object_place`, under the class lock)
//!   or hold a page locked and referenced as the core does.
//!
//! So after `kill` nothing can reach the pages through the zspage, and the pages themselves
//! no longer name it: each page is handed to the page allocator once its link to the
//! migration core is dropped (`release_movable`).
//!
//! Module exit (dropping the `Allocator`) waits for every retired zspage's RCU callback
//! (`rcu_barrier`), releases the pages the free path had to leave (`release_deferred`),
//! and waits for every page still linked to this module's movable operations.
//!
//! Why some pages are left: the free path may not sleep (it runs where `zs_free` is called,
//! under the caller's spinlock), so it drops a page's link to the movable operations only if
//! the page lock is free. A busy lock means the migration core (or a scanner of it) has the
//! page, but 6.12 does not promise a callback: memory offlining's `do_migrate_range` or a
//! second `isolate_movable_page` can hold the lock only to find the page isolated and
//! leave, and the path that isolated it then frees it without a callback if ours was the
//! other reference (`migrate_folio_unmap`'s refcount-1 shortcut), with the link never
//! dropped. So such a page keeps the module's reference (the core can then never take that
//! shortcut) on a stack (`DEFERRED`, linked through the page's `index`, which the core never
//! reads) until the module's work drops its link under `lock_page`, which may sleep.

use crate::{
    handle::HandleSlot,
    sys::{
        self, CpuBuffers, DebugfsDir, KmemCache, LockWait, MovableRelease, PageChain, PageStack,
        SlabBox,
    },
    testing,
    zspage::Zspage,
};
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::{alloc::flags::GFP_KERNEL, prelude::*, str::CStr};

/// Pages currently linked to this module's movable operations (registered and not yet
/// released). Module exit waits for it to reach zero.
pub(crate) static MOVABLE_PAGES: AtomicUsize = AtomicUsize::new(0);

/// Pages of dead zspages whose lock was busy when the free path came: released by the
/// module's work (`release_deferred`).
static DEFERRED: PageStack = PageStack::new();

/// The module's allocator.
pub(crate) struct Allocator {
    zspages: KmemCache<Zspage>,
    handles: KmemCache<HandleSlot>,
    copy: Pin<KBox<CpuBuffers>>,
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

impl Allocator {
    /// Creates the module's allocator.
    pub(crate) fn new(names: &AllocatorNames) -> Result<Pin<KBox<Allocator>>> {
        sys::init_direct_map();
        Ok(KBox::pin(
            Allocator {
                zspages: KmemCache::new(names.zspage_cache)?,
                handles: KmemCache::new(names.handle_cache)?,
                copy: CpuBuffers::new(names.hotplug)?,
                debugfs: DebugfsDir::new(names.debugfs, None),
                next_pool_id: AtomicUsize::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    pub(crate) fn zspages(&self) -> &KmemCache<Zspage> {
        &self.zspages
    }

    pub(crate) fn handles(&self) -> &KmemCache<HandleSlot> {
        &self.handles
    }

    pub(crate) fn copy_buffers(&self) -> &CpuBuffers {
        &self.copy
    }

    pub(crate) fn debugfs(&self) -> &DebugfsDir {
        &self.debugfs
    }

    /// A new pool's number, for its debugfs directory name.
    pub(crate) fn next_pool_id(&self) -> usize {
        self.next_pool_id.fetch_add(1, Ordering::Relaxed)
    }
}

impl Drop for Allocator {
    fn drop(&mut self) {
        // Retired zspages' metadata is freed by RCU callbacks into `zspages`: let them all
        // run before the cache (and the module's code) goes away.
        sys::rcu_barrier();
        // No callback queues more now: finish the work queued, then release what is left.
        sys::flush_module_work();
        release_deferred();
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

/// A zspage off its lists for good: no list links it, no slot names it, its pages no longer
/// name it, and its metadata no longer holds them (`pages` does); it is retired exactly once
/// (`retire` consumes it). Made only by `ClassLists::kill`.
pub(crate) struct DeadZspage {
    zspage: SlabBox<Zspage>,
    pages: PageChain,
}

impl DeadZspage {
    /// Wraps a zspage that `ClassLists::kill` has just taken off its lists for good, and
    /// the pages it took out of it.
    pub(crate) fn new(zspage: SlabBox<Zspage>, pages: PageChain) -> Self {
        DeadZspage { zspage, pages }
    }

    pub(crate) fn nr_pages(&self) -> usize {
        self.zspage.nr_pages()
    }

    /// Frees the pages now and the metadata one RCU grace period from now, so that a
    /// lockless lookup that found the zspage can still lock it and see it is dead (see the
    /// top of this file for why the pages need no grace period). Called without a class
    /// lock: the pages go back to the page allocator outside it. Atomic context.
    pub(crate) fn retire(self) {
        let DeadZspage { zspage, pages } = self;
        free_pages(pages);
        if testing::MUTATE_NO_GRACE_PERIOD {
            // The seed-000/003 mutation: the metadata freed at once, under the feet of
            // lookups.
            free_metadata(zspage);
            return;
        }
        // Module exit waits for the callback (`rcu_barrier` in `Allocator::drop`).
        sys::drop_after_grace_period(zspage);
    }
}

/// Frees the pages of a dead zspage (atomic context): each page's link to the migration
/// core is dropped where its lock is free, and the page goes back to the page allocator; a
/// page whose lock is busy keeps its link and the module's reference, and goes to the
/// module's work instead (see the top of this file).
fn free_pages(pages: PageChain) {
    let (mut released, mut busy) = (0, 0);
    for page in pages.into_pages() {
        match page.release_movable(LockWait::No) {
            MovableRelease::Released => released += 1,
            MovableRelease::AlreadyReleased => {}
            // The mutation: put the busy page now and count on the core's next callback.
            MovableRelease::Busy if testing::MUTATE_PUT_BUSY_PAGE => {}
            MovableRelease::Busy => {
                busy += 1;
                DEFERRED.push(page);
            }
        }
    }
    MOVABLE_PAGES.fetch_sub(released, Ordering::Relaxed);
    if busy > 0 {
        sys::schedule_module_work();
    }
}

/// Frees a dead zspage's metadata once nothing can reach it: pages it still holds (only
/// under the `no_liveness_check` mutation, which leaves them there) go first.
fn free_metadata(mut zspage: SlabBox<Zspage>) {
    free_pages(zspage.get_mut().take_pages());
}

/// Releases the pages the free path left: drops each page's remaining link under its lock
/// (waiting for it), then frees the page. Process context.
pub(crate) fn release_deferred() {
    DEFERRED.pop_all(|page| {
        if page.release_movable(LockWait::Yes) == MovableRelease::Released {
            MOVABLE_PAGES.fetch_sub(1, Ordering::Relaxed);
        }
    });
}

/// The module's work (`sys::schedule_module_work`).
#[no_mangle]
extern "C" fn rzs_module_work() {
    release_deferred();
}

impl sys::RcuDrop for Zspage {
    fn rcu_drop(this: SlabBox<Zspage>) {
        free_metadata(this);
    }
}
