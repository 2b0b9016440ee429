// SPDX-License-Identifier: GPL-2.0

//! What every pool of a module shares: the slab caches, the copy buffers, the debugfs root,
//! the count of pages linked to the migration core, and the end of a zspage's life.
//!
//! Module exit (dropping the `Allocator`) waits for every retired zspage's RCU callback
//! (`rcu_barrier`), releases the pages the RCU free path had to leave (`release_deferred`),
//! and waits for every page still linked to this module's movable operations.
//!
//! Why some pages are left: the RCU free path may not sleep, so it drops a page's link to
//! the movable operations only if the page lock is free. A busy lock means the migration
//! core (or a scanner of it) has the page, but 6.12 does not promise a callback: memory
//! offlining's `do_migrate_range` or a second `isolate_movable_page` can hold the lock only
//! to find the page isolated and leave, and the path that isolated it then frees it without
//! a callback if ours was the other reference (`migrate_folio_unmap`'s refcount-1 shortcut),
//! with the link never dropped. So such a zspage keeps its pages, and with them the
//! module's references (the core can then never take that shortcut), until the module's
//! work drops the links under `lock_page`, which may sleep.

use crate::{
    handle::HandleSlot,
    sys::{self, BoxStack, CpuBuffers, DebugfsDir, KmemCache, LockWait, SlabBox},
    testing,
    zspage::Zspage,
};
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::{alloc::flags::GFP_KERNEL, prelude::*, str::CStr};

/// Pages currently linked to this module's movable operations (registered and not yet
/// released). Module exit waits for it to reach zero.
pub(crate) static MOVABLE_PAGES: AtomicUsize = AtomicUsize::new(0);

/// Dead zspages with a page whose lock was busy when the RCU free path came: released by
/// the module's work (`release_deferred`).
static DEFERRED: BoxStack<Zspage> = BoxStack::new();

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
        // Retired zspages are freed by RCU callbacks into `zspages`: let them all run before
        // the cache (and the module's code) goes away.
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
/// name it, and it is retired exactly once (`retire` consumes it). Made only by
/// `ClassLists::kill`.
pub(crate) struct DeadZspage(SlabBox<Zspage>);

impl DeadZspage {
    /// Wraps a zspage that `ClassLists::kill` has just taken off its lists for good.
    pub(crate) fn new(zspage: SlabBox<Zspage>) -> Self {
        DeadZspage(zspage)
    }

    pub(crate) fn nr_pages(&self) -> usize {
        self.0.nr_pages()
    }

    /// Frees the zspage, pages and metadata, one RCU grace period from now, so that a
    /// lockless lookup that found it can still lock and check it.
    pub(crate) fn retire(self) {
        if testing::MUTATE_NO_GRACE_PERIOD {
            // The seed-000/003 mutation: freed at once, under the feet of lookups.
            free_dead(self.0);
            return;
        }
        // Module exit waits for the callback (`rcu_barrier` in `Allocator::drop`).
        sys::drop_after_grace_period(self.0);
    }
}

/// Drops a dead zspage (atomic context): links of its pages to the migration core go where
/// their locks are free, then the pages and the metadata; a zspage with a page whose lock
/// was busy goes, whole, to the module's work instead (see the top of this file).
fn free_dead(mut zspage: SlabBox<Zspage>) {
    let (released, busy) = zspage.get_mut().release_movable_pages(LockWait::No);
    MOVABLE_PAGES.fetch_sub(released, Ordering::Relaxed);
    // The put_busy_page mutation: put the busy pages now and count on the core's next
    // callback. The no_grace_period mutation frees everything at once as well: deferring a
    // busy zspage would keep its metadata alive past the lookups that seed 003's test makes
    // while the migration core holds a page, which is the use-after-free it must show.
    if busy > 0 && !testing::MUTATE_PUT_BUSY_PAGE && !testing::MUTATE_NO_GRACE_PERIOD {
        DEFERRED.push(zspage);
        sys::schedule_module_work();
    }
}

/// Releases the dead zspages the RCU free path left: drops every page's remaining link
/// under its lock (waiting for it), then frees the pages and the metadata. Process context.
pub(crate) fn release_deferred() {
    DEFERRED.pop_all(|mut zspage| {
        let (released, _) = zspage.get_mut().release_movable_pages(LockWait::Yes);
        MOVABLE_PAGES.fetch_sub(released, Ordering::Relaxed);
    });
}

/// The module's work (`sys::schedule_module_work`).
#[no_mangle]
extern "C" fn rzs_module_work() {
    release_deferred();
}

impl sys::RcuDrop for Zspage {
    fn rcu_drop(this: SlabBox<Zspage>) {
        free_dead(this);
    }
}
