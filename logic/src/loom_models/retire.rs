// SPDX-License-Identifier: GPL-2.0

//! A zspage's retirement against a migration callback's lockless lookup of it (seeds 000
//! and 003): the lookup must find a live zspage, or one it can tell is dead, or nothing,
//! and never leave a page naming a zspage whose memory is gone.
//!
//! Mirrored code, with its orderings:
//! - publishing (`Pool::malloc`, `Zspage::publish`): the metadata is made, then each page is
//!   pointed at it (`rzs_page_set_zspage`: `smp_store_release`), then the zspage is listed
//!   under the class lock (`Life::New` until then);
//! - retirement (`Pool::free` → `ClassLists::object_freed` → `kill`, then
//!   `DeadZspage::retire`): under the class lock the zspage becomes `Dead` and its pages stop
//!   naming it (`unlink_pages`: store-release of null); after the lock, its memory is freed
//!   one RCU grace period later (`call_rcu`);
//! - the callback (`migrate.rs` `with_owner` + `Pool::migrate`): inside an RCU read-side
//!   section, load the page's zspage (`rzs_page_zspage`: `smp_load_acquire`), read its
//!   metadata (the class, to find the lock), lock the class, and go on only if the zspage is
//!   `Listed` and still has the page (`classify`); the move points the new page at the
//!   zspage and the old one at nothing.
//!
//! The grace period is `super::Rcu`. A freed zspage's memory is modelled by its metadata
//! being overwritten: reading it unordered with the free is a race loom reports.

use super::{check, Bytes, Rcu};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// A page's link to its zspage, stored (loom mutant `retire_publish_relaxed`).
const PUBLISH: Ordering = if cfg!(zs_loom_mutant = "retire_publish_relaxed") {
    Ordering::Relaxed
} else {
    Ordering::Release
};
/// Loom mutant (the kernel's `no_grace_period`): the zspage is freed at once.
const NO_GRACE_PERIOD: bool = cfg!(zs_loom_mutant = "retire_no_grace_period");
/// Loom mutant (the kernel's `no_liveness_check`): the callback trusts what it found.
const NO_LIVENESS_CHECK: bool = cfg!(zs_loom_mutant = "retire_no_liveness_check");
/// Loom mutant (the kernel's `keep_page_link`): a dead zspage's pages keep naming it.
const KEEP_PAGE_LINK: bool = cfg!(zs_loom_mutant = "retire_keep_page_link");

/// The zspage's class, as its metadata records it, and what freed memory holds.
const CLASS: u64 = 7;
const FREED: u64 = 0xdead;
/// A page's link: nothing, or the model's one zspage.
const NONE: usize = 0;
const ZSPAGE: usize = 1;
/// Page numbers: the zspage's page, and the page migration moves it to.
const OLD_PAGE: usize = 0;
const NEW_PAGE: usize = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    New,
    Listed,
    Dead,
}

/// What the class lock guards.
struct ClassLists {
    life: Life,
    /// The zspage's page chain (one page here).
    page: usize,
}

struct World {
    /// The zspage's metadata; overwritten when its memory is freed.
    metadata: Bytes,
    class: Mutex<ClassLists>,
    /// Each page's `private`: which zspage it names.
    page_owner: [AtomicUsize; 2],
    rcu: Rcu,
}

/// `Pool::malloc` making the zspage: metadata, pages pointed at it, listed.
fn publish(world: &World) {
    world.metadata.write(CLASS);
    world.page_owner[OLD_PAGE].store(ZSPAGE, PUBLISH);
    world.class.lock().unwrap().life = Life::Listed;
}

/// `Pool::free` of the zspage's last object: `kill` under the class lock, `retire` after.
fn free_last_object(world: &World) {
    {
        let mut lists = world.class.lock().unwrap();
        if lists.life != Life::Listed {
            return; // Nothing allocated in it yet.
        }
        lists.life = Life::Dead;
        if !KEEP_PAGE_LINK {
            world.page_owner[lists.page].store(NONE, Ordering::Release);
        }
    }
    if !NO_GRACE_PERIOD {
        world.rcu.synchronize();
    }
    world.metadata.write(FREED);
}

/// The migration core's callback on the zspage's first page: lookup, check, move.
fn migrate_old_page(world: &World) {
    world.rcu.read_lock();
    if world.page_owner[OLD_PAGE].load(Ordering::Acquire) == ZSPAGE {
        assert_eq!(
            world.metadata.read(),
            CLASS,
            "the lookup found freed memory"
        );
        let mut lists = world.class.lock().unwrap();
        let live = lists.life == Life::Listed || NO_LIVENESS_CHECK && lists.life == Life::Dead;
        if live && lists.page == OLD_PAGE {
            world.page_owner[NEW_PAGE].store(ZSPAGE, PUBLISH);
            lists.page = NEW_PAGE;
            world.page_owner[OLD_PAGE].store(NONE, Ordering::Release);
        }
    }
    world.rcu.read_unlock();
}

/// The zspage is made, has its last object freed, and is retired while the migration core
/// moves its page. Catches `retire_publish_relaxed` (the lookup reads metadata unordered
/// with its making), `retire_no_grace_period` (unordered with its free),
/// `retire_no_liveness_check` and `retire_keep_page_link` (a page names the retired zspage).
#[test]
fn retire_against_page_lookup() {
    check("retire::retire_against_page_lookup", || {
        let world = Arc::new(World {
            metadata: Bytes::new(0),
            class: Mutex::new(ClassLists {
                life: Life::New,
                page: OLD_PAGE,
            }),
            page_owner: [AtomicUsize::new(NONE), AtomicUsize::new(NONE)],
            rcu: Rcu::new(),
        });
        let maker = {
            let world = world.clone();
            thread::spawn(move || publish(&world))
        };
        let freer = {
            let world = world.clone();
            thread::spawn(move || free_last_object(&world))
        };
        migrate_old_page(&world);
        maker.join().unwrap();
        freer.join().unwrap();
        if world.class.lock().unwrap().life == Life::Dead {
            for owner in &world.page_owner {
                assert_eq!(
                    owner.load(Ordering::Relaxed),
                    NONE,
                    "a page names a retired zspage"
                );
            }
        }
    });
}
