// SPDX-License-Identifier: GPL-2.0

//! Compaction moving an object against the owner of its handle (seed 001).
//!
//! Mirrored code, with its orderings:
//! - the handle slot (`handle.rs` `HandleSlot`): loads acquire, stores release;
//! - compaction's move (`compaction.rs` `compact_once`): under the class lock, `try_write`
//!   on the source and the destination zspage (back off if either fails), copy the bytes,
//!   free the source object, repoint the slot in one store, drop the write locks;
//! - the owner's map (`pool.rs` `Pool::read_lock_object`): load the slot, read-lock the
//!   zspage it names, re-load the slot and retry unless it still names the same place; only
//!   then read the zspage's metadata (`pool_ptr`) and the bytes;
//! - the owner's free (`Pool::free`): load the slot and read the zspage's metadata (its
//!   class) with no lock, lock that class, re-load the slot, free.
//!
//! A third thread allocates the destination zspage (`Zspage::new`, then
//! `ClassLists::insert` under the class lock), so that its metadata reaches the owner's free
//! only through the slot's release/acquire pair.
//!
//! The zspage lock is the real one. Loom shows the slot's acquire/release is not what hands
//! the moved bytes to a mapper (the destination's write lock does: a mapper that finds the
//! new place waits for it); it is what makes the lockless read of the destination's
//! metadata in `free` safe.

use super::{check, Bytes};
use crate::zspage_lock::ZspageLock;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// The slot's store ordering (loom mutant `repoint_store_relaxed`).
const SLOT_STORE: Ordering = if cfg!(zs_loom_mutant = "repoint_store_relaxed") {
    Ordering::Relaxed
} else {
    Ordering::Release
};
/// The slot's load ordering (`HandleSlot::load`).
const SLOT_LOAD: Ordering = Ordering::Acquire;
/// Loom mutant: map trusts the place it looked up without re-checking it under the lock.
const NO_RECHECK: bool = cfg!(zs_loom_mutant = "repoint_no_recheck");
/// Loom mutant (the kernel's `repoint_after_unlock`): the slot is repointed after the
/// write locks are dropped.
const AFTER_UNLOCK: bool = cfg!(zs_loom_mutant = "repoint_after_unlock");

/// The size class of the model's zspages, as their metadata records it.
const CLASS: u64 = 7;
/// The object's bytes when it was stored, and after its owner's write.
const STORED: u64 = 42;
const WRITTEN: u64 = 43;
/// What a freed object's place holds (`free_obj` writes the free-list link over it).
const FREED: u64 = 0xdead;
/// Zspage numbers: the one the object starts in, the one compaction moves it to.
const SRC: usize = 0;
const DST: usize = 1;

struct Zspage {
    lock: ZspageLock,
    /// Metadata set when the zspage is made (class, pool).
    class: Bytes,
    /// The place of the one object this model follows.
    object: Bytes,
}

/// What the class lock guards.
struct ClassLists {
    /// Whether the destination zspage is on the lists (made and inserted).
    dst_listed: bool,
    /// The zspage holding the object, while it is allocated.
    object_in: Option<usize>,
}

struct World {
    zspages: [Zspage; 2],
    class: Mutex<ClassLists>,
    /// The handle's slot: the zspage holding the object.
    slot: AtomicUsize,
}

/// `Zspage::new` + `ClassLists::insert` of the destination.
fn make_dst(world: &World) {
    world.zspages[DST].class.write(CLASS);
    world.class.lock().unwrap().dst_listed = true;
}

/// One `compact_once` round moving the object from `SRC` to `DST`.
fn compact(world: &World) {
    let mut lists = world.class.lock().unwrap();
    if !lists.dst_listed || lists.object_in != Some(SRC) {
        return;
    }
    let (src, dst) = (&world.zspages[SRC], &world.zspages[DST]);
    let Some(src_write) = src.lock.try_write() else {
        return;
    };
    let Some(dst_write) = dst.lock.try_write() else {
        return;
    };
    dst.object.write(src.object.read());
    src.object.write(FREED);
    if !AFTER_UNLOCK {
        world.slot.store(DST, SLOT_STORE);
    }
    lists.object_in = Some(DST);
    drop(dst_write);
    drop(src_write);
    if AFTER_UNLOCK {
        world.slot.store(DST, SLOT_STORE);
    }
}

/// The owner maps the object read-write (`read_lock_object`), checks it, writes it, unmaps.
fn map_and_write(world: &World) {
    loop {
        let at = world.slot.load(SLOT_LOAD);
        let zspage = &world.zspages[at];
        let read = zspage.lock.read();
        if !NO_RECHECK && world.slot.load(SLOT_LOAD) != at {
            drop(read);
            continue;
        }
        assert_eq!(zspage.class.read(), CLASS, "map: the zspage's metadata");
        assert_eq!(zspage.object.read(), STORED, "map: a place the object left");
        zspage.object.write(WRITTEN);
        return;
    }
}

/// The owner frees the object (`Pool::free`); the write must be in the object's place.
fn free(world: &World) {
    let at = world.slot.load(SLOT_LOAD);
    assert_eq!(
        world.zspages[at].class.read(),
        CLASS,
        "free: the class read with no lock"
    );
    let mut lists = world.class.lock().unwrap();
    let at = world.slot.load(SLOT_LOAD);
    assert_eq!(
        lists.object_in,
        Some(at),
        "free: the slot names another place"
    );
    assert_eq!(
        world.zspages[at].object.read(),
        WRITTEN,
        "free: the write was lost"
    );
    lists.object_in = None;
}

/// Compaction moves the object while its owner maps, writes and frees it, and the
/// destination zspage is being made. Catches `repoint_store_relaxed` (free reads the
/// destination's metadata unordered after its making), `repoint_no_recheck` and
/// `repoint_after_unlock` (the owner reads and writes the place the object left).
#[test]
fn move_against_map_and_free() {
    check("repoint::move_against_map_and_free", || {
        let world = Arc::new(World {
            zspages: [0, 1].map(|_| Zspage {
                lock: ZspageLock::new(),
                class: Bytes::new(0),
                object: Bytes::new(0),
            }),
            class: Mutex::new(ClassLists {
                dst_listed: false,
                object_in: Some(SRC),
            }),
            slot: AtomicUsize::new(SRC),
        });
        // The source zspage and the object are older than the threads.
        world.zspages[SRC].class.write(CLASS);
        world.zspages[SRC].object.write(STORED);
        let maker = {
            let world = world.clone();
            thread::spawn(move || make_dst(&world))
        };
        let compactor = {
            let world = world.clone();
            thread::spawn(move || compact(&world))
        };
        map_and_write(&world);
        free(&world);
        maker.join().unwrap();
        compactor.join().unwrap();
    });
}
