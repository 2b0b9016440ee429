// SPDX-License-Identifier: GPL-2.0

//! The KUnit suite `rust_zsmalloc` (module `zsmalloc_rs_kunit.ko`), built from the
//! allocator's own sources (with `--cfg zs_kunit`, which adds fault injection and a live page
//! count) so that the allocator module itself needs no KUnit.

use core::{
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering},
};
use kernel::{c_str, prelude::*};

// The allocator's own files (README "What is where"), compiled with `--cfg zs_kunit`.
#[path = "../allocator.rs"]
mod allocator;
#[path = "../c_pool.rs"]
#[allow(
    dead_code,
    reason = "create, get and destroy serve zsmalloc_rs.ko's shims"
)]
mod c_pool;
#[path = "../compaction.rs"]
mod compaction;
#[path = "../handle.rs"]
mod handle;
#[path = "../logic/src/lib.rs"]
#[allow(
    unused_attributes,
    dead_code,
    unreachable_pub,
    reason = "shared with the host crate"
)]
mod logic;
#[path = "../mapping.rs"]
mod mapping;
#[path = "../migrate.rs"]
mod migrate;
#[path = "../pool.rs"]
mod pool;
#[path = "../stats.rs"]
mod stats;
#[path = "../sys/mod.rs"]
#[allow(dead_code, reason = "the suite uses part of the bindings")]
mod sys;
#[path = "../testing.rs"]
mod testing;
#[path = "../zspage.rs"]
mod zspage;

mod kunit_races;
mod kunit_support;

use allocator::{Allocator, AllocatorNames, MOVABLE_PAGES};
use handle::Handle;
use kunit_races::{
    compaction_meets_isolated_pages, compaction_meets_migration_cross_cpu,
    destroy_pool_mid_migration_cross_cpu, destroy_pool_while_page_isolated,
    free_meets_compaction_move, free_meets_compaction_move_cross_cpu,
    map_covers_exactly_the_stored_payload, map_meets_compaction_move,
    seed001_map_meets_compaction_cross_cpu, seed003_free_mid_migration_cross_cpu,
};
use kunit_support::{check, check_eq, kunit_suite, Test};
use logic::size_class::{HANDLE_SIZE, PAGE_SIZE};
use mapping::MapMode;
use pool::{PageLayout, Pool};
use sys::Gfp;
use testing::{fault, hooks};

/// The size-class table, as in the allocator module (`chain_pages` works here too).
pub(crate) static CLASSES: logic::size_class::ClassSelection =
    logic::size_class::ClassSelection::new();

module! {
    type: ZsmallocKunit,
    name: "zsmalloc_rs_kunit",
    author: "rust_zsmalloc developers",
    description: "KUnit tests for rust_zsmalloc",
    license: "GPL",
}

/// The allocator the cases' pools use; created by module init, which runs before KUnit
/// runs the suite (when the module goes live).
static ALLOCATOR: AtomicPtr<Allocator> = AtomicPtr::new(core::ptr::null_mut());

struct ZsmallocKunit {
    // Owned so that it lives until module exit; the cases reach it through `ALLOCATOR`.
    _alloc: Pin<KBox<Allocator>>,
}

impl kernel::Module for ZsmallocKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let pages = sys::params::chain_pages();
        if CLASSES.select(pages).is_err() {
            pr_err!("chain_pages={pages}: out of range\n");
            return Err(EINVAL);
        }
        let alloc = Allocator::new(&AllocatorNames {
            zspage_cache: c_str!("rust_zsmalloc_kunit_zspage"),
            handle_cache: c_str!("rust_zsmalloc_kunit_handle"),
            hotplug: c_str!("mm/rust_zsmalloc_kunit:prepare"),
            debugfs: c_str!("rust_zsmalloc_kunit"),
        })?;
        ALLOCATOR.store(core::ptr::from_ref(&*alloc).cast_mut(), Ordering::Release);
        Ok(ZsmallocKunit { _alloc: alloc })
    }
}

impl Drop for ZsmallocKunit {
    fn drop(&mut self) {
        // Every case destroyed its pools; when `_alloc` drops next, its slab caches complain
        // (a splat the harness catches) if any object was left behind.
        ALLOCATOR.store(core::ptr::null_mut(), Ordering::Release);
    }
}

/// The allocator, for the shared sources (`c_pool.rs` is not part of this module).
#[allow(dead_code, reason = "the name the allocator sources use")]
pub(crate) fn allocator() -> Option<&'static Allocator> {
    Some(test_allocator())
}

fn test_allocator() -> &'static Allocator {
    // SAFETY: set by init before any case runs, cleared only at module exit after the suite.
    unsafe { &*ALLOCATOR.load(Ordering::Acquire) }
}

/// A test pool laid out as production's default (`contiguous_zspages=Y`).
fn new_pool() -> Pin<KBox<Pool>> {
    new_pool_with(PageLayout::Contiguous)
}

/// A test pool whose zspages get their pages as `layout` says.
fn new_pool_with(layout: PageLayout) -> Pin<KBox<Pool>> {
    match Pool::with_layout(test_allocator(), c_str!("kunit"), layout) {
        Ok(pool) => pool,
        Err(e) => panic!("cannot create a test pool: {e:?}"),
    }
}

const GFP: Gfp = Gfp(kernel::bindings::GFP_KERNEL);

/// Pages of retired zspages go back at retirement (or, for a page whose lock was busy then,
/// when the module's work has released it), their metadata one RCU grace period later: wait
/// for every pending retirement, then count the module's live zspage pages.
fn settled_live_pages() -> isize {
    sys::rcu_barrier();
    sys::flush_module_work();
    fault::LIVE_PAGES.load(Ordering::Relaxed)
}

/// What a case that makes and retires zspages must leave as it found it: the module's live
/// zspage pages (settled: every pending retirement done) and its pages registered with the
/// migration core.
struct PageBaseline {
    live: isize,
    movable: usize,
}

impl PageBaseline {
    /// The module's counts now, pending retirements settled first.
    fn now() -> Self {
        let live = settled_live_pages();
        PageBaseline {
            live,
            movable: MOVABLE_PAGES.load(Ordering::Relaxed),
        }
    }

    /// Checks, once pending retirements are settled, that the counts are back to these.
    fn check(&self, test: &Test) {
        check_eq!(test, settled_live_pages(), self.live);
        check_eq!(test, MOVABLE_PAGES.load(Ordering::Relaxed), self.movable);
    }
}

/// Pushes `handle`, or gives it back when the list cannot grow.
fn push<'p>(handles: &mut KVec<Handle<'p>>, handle: Handle<'p>) -> Result<(), Handle<'p>> {
    if handles.reserve(1, GFP_KERNEL).is_err() {
        return Err(handle);
    }
    // Room reserved just above: the push cannot fail.
    let _ = handles.push(handle, GFP_KERNEL);
    Ok(())
}

/// Frees every handle of `handles`.
fn free_all<'p>(pool: &'p Pool, handles: KVec<Handle<'p>>) {
    for handle in handles {
        pool.free(handle);
    }
}

/// A deterministic byte pattern for object `n`.
fn pattern(n: usize, i: usize) -> u8 {
    (n.wrapping_mul(131) ^ i.wrapping_mul(7) ^ (i >> 8)) as u8
}

/// Requests of each size land in the class upstream's rules give, at the edges.
fn class_table_edges(test: &Test) {
    use logic::size_class::SizeError;
    check_eq!(test, CLASSES.lookup(0), Err(SizeError::Zero));
    check_eq!(test, CLASSES.lookup(PAGE_SIZE + 1), Err(SizeError::TooBig));
    // 1 byte + the 8-byte handle header: the smallest class, 32 bytes.
    let (class, stored) = CLASSES.lookup(1).unwrap_or((usize::MAX, 0));
    check_eq!(test, CLASSES.class(class).size, 32);
    check_eq!(test, stored, 1 + HANDLE_SIZE);
    // 24 + 8 = 32 still fits; 25 + 8 = 33 goes to the next slot's class.
    check_eq!(
        test,
        CLASSES.lookup(24).map(|(c, _)| CLASSES.class(c).size),
        Ok(32)
    );
    check!(
        test,
        CLASSES
            .lookup(25)
            .map(|(c, _)| CLASSES.class(c).size)
            .unwrap_or(0)
            >= 48
    );
    // Requests of 32 and 33 bytes carry a header too: 40 and 41 bytes, both in a class of at
    // least 48, and never in the 32-byte class.
    for len in [32, 33] {
        let stored = CLASSES
            .lookup(len)
            .map(|(c, stored)| (CLASSES.class(c).size as usize, stored));
        check!(
            test,
            stored.is_ok_and(|(size, stored)| size >= 48
                && stored == len + HANDLE_SIZE
                && stored <= size)
        );
    }
    let huge = CLASSES.huge_class_size();
    check!(test, huge > 32 && huge < PAGE_SIZE);
    let class_of = |len| CLASSES.lookup(len).map(|(c, _)| *CLASSES.class(c));
    check!(test, class_of(huge).map(|c| c.huge) == Ok(true));
    check!(test, class_of(huge - 1).map(|c| c.huge) == Ok(false));
    for len in [4095, PAGE_SIZE] {
        let spec = class_of(len);
        check!(
            test,
            spec.map(|c| c.huge && c.size as usize == PAGE_SIZE) == Ok(true)
        );
        // A huge object has no header: it is stored as it is.
        check_eq!(test, CLASSES.lookup(len).map(|(_, stored)| stored), Ok(len));
    }
}

/// `malloc` returns upstream's errors and never a 0 or error-valued handle.
fn malloc_errors_and_handles(test: &Test) {
    let pool = new_pool();
    check_eq!(test, pool.malloc(0, GFP).err(), Some(EINVAL));
    check_eq!(test, pool.malloc(PAGE_SIZE + 1, GFP).err(), Some(ENOSPC));
    let Ok(handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    let raw = handle.raw();
    check!(test, raw != 0 && raw < usize::MAX - 4095);
    pool.free(handle);
    // 0 and error values are no handles (zsmalloc's free ignores them).
    // SAFETY: neither value is a handle: `from_raw` must refuse both.
    check!(test, unsafe { Handle::from_raw(0) }.is_none());
    let error_value = ENOMEM.to_errno() as isize as usize;
    // SAFETY: as above.
    check!(test, unsafe { Handle::from_raw(error_value) }.is_none());
    check_eq!(test, pool.total_pages(), 0);
}

/// Writes `count` objects of `len` bytes with `mode`, then checks every byte with RO and RW.
fn write_and_verify(test: &Test, pool: &Pool, len: usize, count: usize) -> bool {
    let mut handles = KVec::new();
    for n in 0..count {
        let Ok(handle) = pool.malloc(len, GFP) else {
            test.fail(file!(), line!(), "malloc failed");
            return false;
        };
        let mut handle = handle;
        let mode = if n % 2 == 0 {
            MapMode::WriteOnly
        } else {
            MapMode::ReadWrite
        };
        let _ = pool.with_object(&mut handle, mode, len, |bytes| {
            bytes
                .iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = pattern(n, i))
        });
        if let Err(handle) = push(&mut handles, handle) {
            pool.free(handle);
            test.fail(file!(), line!(), "out of memory for the handle list");
            return false;
        }
    }
    let mut ok = true;
    for (n, handle) in handles.iter_mut().enumerate() {
        let mode = if n % 2 == 0 {
            MapMode::ReadOnly
        } else {
            MapMode::ReadWrite
        };
        let intact = pool.with_object(handle, mode, len, |bytes| {
            bytes.len() == len && bytes.iter().enumerate().all(|(i, &b)| b == pattern(n, i))
        });
        if intact != Ok(true) {
            pr_err!(
                "object {} of {} bytes read back wrong (spans pages: {})\n",
                n,
                len,
                pool.object_place(handle).0
            );
            ok = false;
        }
    }
    free_all(pool, handles);
    ok
}

/// Every byte written comes back, in every class size at the edges, spanning or not.
fn readback_byte_exact(test: &Test) {
    for layout in [PageLayout::Contiguous, PageLayout::Scattered] {
        readback_byte_exact_on(test, layout);
    }
}

/// `readback_byte_exact` on a pool of `layout`.
fn readback_byte_exact_on(test: &Test, layout: PageLayout) {
    let pool = new_pool_with(layout);
    let huge = CLASSES.huge_class_size();
    for len in [
        1,
        24,
        25,
        100,
        500,
        1000,
        1500,
        2000,
        3000,
        huge - 1,
        huge,
        4095,
        PAGE_SIZE,
    ] {
        check!(test, write_and_verify(test, &pool, len, 64));
    }
    check_eq!(test, pool.total_pages(), 0);
}

/// For an object spanning two pages, WO does not copy in and RO does not copy back.
fn spanning_copy_rules(test: &Test) {
    // Single pages: every spanning object is copied.
    let pool = new_pool_with(PageLayout::Scattered);
    // 1500 + 8 bytes: a multi-page class whose objects cross page boundaries.
    let len = 1500;
    let mut handles = KVec::new();
    // Two spanning objects: one for the copy rules, one to map while the first is mapped.
    let mut spanning = KVec::new();
    while spanning.len() < 2 && handles.len() < 64 {
        let Ok(handle) = pool.malloc(len, GFP) else {
            break;
        };
        let list = if pool.object_place(&handle).0 {
            &mut spanning
        } else {
            &mut handles
        };
        if let Err(handle) = push(list, handle) {
            pool.free(handle);
            break;
        }
    }
    if spanning.len() < 2 {
        free_all(&pool, handles);
        free_all(&pool, spanning);
        test.fail(
            file!(),
            line!(),
            "not two spanning objects among 64 of 1500 bytes",
        );
        return;
    }
    let (first, rest) = spanning.split_at_mut(1);
    let (handle, other) = (&mut first[0], &mut rest[0]);
    // Stay on one CPU so every map below uses the same copy buffer.
    let pin = sys::CpuPin::new();
    let _ = pool.with_object(handle, MapMode::WriteOnly, len, |b| b.fill(0xb0));
    // RO: the copy is the object; scribbling on it must not reach the object.
    let saw_b = pool.with_object(handle, MapMode::ReadOnly, len, |b| {
        let saw = b.iter().all(|&x| x == 0xb0);
        b.fill(0xc0);
        saw
    });
    let still_b = pool.with_object(handle, MapMode::ReadWrite, len, |b| {
        b.iter().all(|&x| x == 0xb0)
    });
    // Leave 0xc0 in the buffer again, then WO must hand out the buffer as it is (no copy in).
    let _ = pool.with_object(handle, MapMode::ReadOnly, len, |b| b.fill(0xc0));
    let no_copy_in = pool.with_object(handle, MapMode::WriteOnly, len, |b| {
        let untouched = b.iter().all(|&x| x == 0xc0);
        b.fill(0xd0);
        untouched
    });
    let now_d = pool.with_object(handle, MapMode::ReadOnly, len, |b| {
        b.iter().all(|&x| x == 0xd0)
    });
    // A second mapping on this CPU while the first holds the copy buffer gets no buffer
    // (EBUSY) instead of an alias of the first one's.
    let first_map = pool.map(handle, MapMode::ReadOnly);
    let nested = pool.map(other, MapMode::ReadOnly).err();
    let first_ok = first_map.is_ok();
    drop(first_map);
    drop(pin);
    free_all(&pool, handles);
    free_all(&pool, spanning);
    check!(test, first_ok);
    check!(test, saw_b == Ok(true));
    check!(test, still_b == Ok(true));
    check!(test, no_copy_in == Ok(true));
    check!(test, now_d == Ok(true));
    check_eq!(test, nested, Some(EBUSY));
    check_eq!(test, pool.total_pages(), 0);
}

/// Issue 14: in a zspage made of one contiguous block, an object that crosses a page
/// boundary is mapped in place (its mapping is the object's own address, and no copy buffer
/// is claimed: a second crossing object maps on the same CPU meanwhile); once migration has
/// replaced the page it starts in (so that page is no longer its second page's neighbour),
/// it is copied again, its bytes and every other object's intact.
fn crossing_object_in_place_until_moved(test: &Test) {
    let pool = new_pool();
    let len = 1500;
    let byte = |n: usize, i: usize| (n * 31 + i * 7) as u8;
    let mut handles = KVec::new();
    for n in 0..64 {
        let Ok(mut handle) = pool.malloc(len, GFP) else {
            break;
        };
        let _ = pool.with_object(&mut handle, MapMode::WriteOnly, len, |b| {
            b.iter_mut().enumerate().for_each(|(i, x)| *x = byte(n, i))
        });
        if let Err(handle) = push(&mut handles, handle) {
            pool.free(handle);
            break;
        }
    }
    let intact = |handles: &mut KVec<Handle<'_>>| {
        handles.iter_mut().enumerate().all(|(n, h)| {
            pool.with_object(h, MapMode::ReadOnly, len, |b| {
                b.len() == len && b.iter().enumerate().all(|(i, &x)| x == byte(n, i))
            }) == Ok(true)
        })
    };
    // Objects that cross a page boundary (by the class layout) and are reached in place.
    let mut crossing = KVec::new();
    for (n, handle) in handles.iter().enumerate() {
        let spans = pool.with_held_object(handle, |zspage, idx| zspage.place(idx).spans);
        if spans && !pool.object_place(handle).0 && crossing.push(n, GFP_KERNEL).is_err() {
            break;
        }
    }
    let contiguous = pool.zspages_contiguous.load(Ordering::Relaxed);
    // Page `i` found by arithmetic in a block (`ChainRef::page`) is the one the links lead to:
    // the page an object starts in is, by the walk, the page its place says.
    let pages_agree = |handles: &KVec<Handle<'_>>| {
        handles.iter().all(|h| {
            pool.with_held_object(h, |zspage, idx| {
                zspage.page_index(zspage.page_of(idx)) == Some(zspage.place(idx).page)
            })
        })
    };
    let agree_before = pages_agree(&handles);
    let (mut in_place, mut both_mapped, mut moved, mut copied_after) = (false, false, None, false);
    if let [a, b, ..] = crossing[..] {
        let (low, high) = handles.split_at_mut(b);
        let (first, second) = (&mut low[a], &mut high[0]);
        let addr = pool.object_place(first).2;
        {
            let _pin = sys::CpuPin::new();
            let mut map_a = pool.map(first, MapMode::ReadOnly);
            let map_b = pool.map(second, MapMode::ReadOnly);
            in_place = map_a
                .as_mut()
                .is_ok_and(|m| Some(m.bytes().as_mut_ptr()) == addr && addr.is_some());
            both_mapped = map_a.is_ok() && map_b.is_ok();
        }
        let page_before = pool.object_place(first).1;
        moved = act_as_migration_core(&pool, first, || {});
        let (copied, page_after, addr_after) = pool.object_place(first);
        copied_after = copied && addr_after.is_none() && page_after != page_before;
    }
    let agree_after = pages_agree(&handles);
    let all_intact = intact(&mut handles);
    free_all(&pool, handles);
    check!(test, contiguous > 0);
    check!(test, agree_before);
    check!(test, agree_after);
    check!(test, crossing.len() >= 2);
    check!(test, in_place);
    check!(test, both_mapped);
    check_eq!(test, moved, Some((true, 0)));
    check!(test, copied_after);
    check!(test, all_intact);
    check_eq!(test, pool.total_pages(), 0);
}

/// Each allocation a malloc makes (handle slot, zspage pages, metadata) can fail: the malloc
/// returns ENOMEM and leaves nothing behind.
fn alloc_failure_leaks_nothing(test: &Test) {
    // Single pages, one failure point each (a contiguous block is not a failure point: when
    // it is not available, the pages come one by one).
    let pool = new_pool_with(PageLayout::Scattered);
    let pages_before = settled_live_pages();
    // 3000 bytes: a multi-page zspage, so failures hit the middle of the page loop too.
    let mut succeeded = None;
    for n in 0..16 {
        fault::SUCCEED_BEFORE_FAILURE.store(n, Ordering::Release);
        let result = pool.malloc(3000, GFP);
        fault::SUCCEED_BEFORE_FAILURE.store(-1, Ordering::Release);
        match result {
            Err(e) => {
                check_eq!(test, e, ENOMEM);
                check_eq!(test, pool.total_pages(), 0);
                check_eq!(test, settled_live_pages(), pages_before);
            }
            Ok(handle) => {
                succeeded = Some(n);
                pool.free(handle);
                break;
            }
        }
    }
    // The zspage of 3000-byte objects has several pages: several distinct failure points.
    check!(test, succeeded.is_some_and(|n| n >= 3));
    check_eq!(test, settled_live_pages(), pages_before);
}

/// Page counts follow zspages exactly, and go back to 0 when every object is freed.
fn total_pages_tracks_zspages(test: &Test) {
    let pool = new_pool();
    let pages_before = settled_live_pages();
    let (mut even, mut odd) = (KVec::new(), KVec::new());
    for n in 0..2000usize {
        match pool.malloc(64 + (n * 37) % 3000, GFP) {
            Ok(handle) => {
                if let Err(handle) = push(if n % 2 == 0 { &mut even } else { &mut odd }, handle) {
                    pool.free(handle);
                }
            }
            Err(e) => {
                test.fail(file!(), line!(), "malloc failed");
                pr_err!("malloc: {:?}\n", e);
                break;
            }
        }
    }
    let live = settled_live_pages() - pages_before;
    check!(test, pool.total_pages() > 0);
    check_eq!(test, pool.total_pages() as isize, live);
    // Free in an order unlike the allocation order: even ones, then odd ones.
    free_all(&pool, even);
    free_all(&pool, odd);
    check_eq!(test, pool.total_pages(), 0);
    check_eq!(test, settled_live_pages(), pages_before);
}

/// Issue 14: the pages of a zspage emptied by `free` or by compaction go back to the page
/// allocator at once, not one RCU grace period later (only the metadata waits, for the
/// lockless lookups of seeds 000 and 003). No `rcu_barrier` between the frees and the
/// counts: only the module's work is flushed, in case a page's lock was busy (the kernel's
/// own compaction may have been looking at it), which waits for no grace period.
fn retired_pages_freed_at_once(test: &Test) {
    let pool = new_pool();
    let pages_before = settled_live_pages();
    let Ok(handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    let with_zspage = fault::LIVE_PAGES.load(Ordering::Relaxed);
    check!(test, pool.total_pages() > 0);
    check_eq!(
        test,
        with_zspage - pages_before,
        pool.total_pages() as isize
    );
    pool.free(handle);
    sys::flush_module_work();
    check_eq!(
        test,
        fault::LIVE_PAGES.load(Ordering::Relaxed),
        pages_before
    );
    let Some(live) = fragmented_pool(test, &pool) else {
        return;
    };
    sys::flush_module_work();
    let before = fault::LIVE_PAGES.load(Ordering::Relaxed);
    let freed = pool.compact();
    sys::flush_module_work();
    check!(test, freed > 0);
    check_eq!(
        test,
        before - fault::LIVE_PAGES.load(Ordering::Relaxed),
        freed as isize
    );
    free_live(&pool, live);
    sys::flush_module_work();
    check_eq!(test, pool.total_pages(), 0);
    check_eq!(
        test,
        fault::LIVE_PAGES.load(Ordering::Relaxed),
        pages_before
    );
}

/// Destroying a pool with live objects frees every page and handle (the slab caches would
/// complain at module unload otherwise).
fn destroy_with_live_objects(test: &Test) {
    let pages_before = settled_live_pages();
    let pool = new_pool();
    for n in 0..500usize {
        match pool.malloc(1 + (n * 53) % PAGE_SIZE, GFP) {
            // Left for the destroy to free: the handle is dropped, not freed.
            Ok(handle) => {
                let _ = handle.into_raw();
            }
            Err(_) => {
                test.fail(file!(), line!(), "malloc failed");
                return;
            }
        }
    }
    check!(test, settled_live_pages() > pages_before);
    drop(pool);
    check_eq!(test, settled_live_pages(), pages_before);
}

/// A surviving object of `fragmented_pool`: its handle, pattern number and length.
struct Live<'p> {
    handle: Handle<'p>,
    n: usize,
    len: usize,
}

/// Fills a pool with objects of mixed sizes, frees two thirds of them scattered across the
/// zspages, and returns the survivors.
fn fragmented_pool<'p>(test: &Test, pool: &'p Pool) -> Option<KVec<Live<'p>>> {
    // Allocate everything first: frees during the fill would be refilled at once.
    let mut all = KVec::new();
    for n in 0..3000usize {
        // Four sizes, so that each class has many zspages to compact.
        let len = [100, 700, 1500, 3000][n % 4] + n % 7;
        let Ok(mut handle) = pool.malloc(len, GFP) else {
            test.fail(file!(), line!(), "malloc failed");
            break;
        };
        let _ = pool.with_object(&mut handle, MapMode::WriteOnly, len, |b| {
            b.iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = pattern(n, i))
        });
        if all.reserve(1, GFP_KERNEL).is_err() {
            pool.free(handle);
            test.fail(file!(), line!(), "out of memory for the handle list");
            break;
        }
        let _ = all.push(Live { handle, n, len }, GFP_KERNEL);
    }
    let complete = all.len() == 3000;
    let mut live = KVec::new();
    for object in all {
        if object.n % 3 != 0 || live.reserve(1, GFP_KERNEL).is_err() {
            pool.free(object.handle);
        } else {
            let _ = live.push(object, GFP_KERNEL);
        }
    }
    if !complete {
        free_live(pool, live);
        return None;
    }
    Some(live)
}

fn free_live<'p>(pool: &'p Pool, live: KVec<Live<'p>>) {
    for object in live {
        pool.free(object.handle);
    }
}

fn all_intact(pool: &Pool, live: &mut [Live<'_>]) -> bool {
    live.iter_mut().all(|object| {
        let (n, len) = (object.n, object.len);
        pool.with_object(&mut object.handle, MapMode::ReadOnly, len, |b| {
            b.iter().enumerate().all(|(i, &x)| x == pattern(n, i))
        }) == Ok(true)
    })
}

/// Compaction frees pages, counts them, retires the emptied zspages through RCU, and every
/// surviving object reads back byte for byte through its (repointed) handle.
fn compaction_frees_pages_keeps_data(test: &Test) {
    let pool = new_pool();
    let Some(mut live) = fragmented_pool(test, &pool) else {
        return;
    };
    let before = pool.total_pages();
    let freed = pool.compact();
    let after = pool.total_pages();
    pr_info!(
        "compaction: {} -> {} pages, {} freed\n",
        before,
        after,
        freed
    );
    check!(test, freed > 0);
    check_eq!(test, before - after, freed);
    check_eq!(test, pool.pages_compacted(), freed);
    check!(test, all_intact(&pool, &mut live));
    // Compacted once, the pool has (almost) nothing left to give.
    check!(test, pool.compact() <= freed / 4);
    check!(test, all_intact(&pool, &mut live));
    free_live(&pool, live);
    check_eq!(test, pool.total_pages(), 0);
}

/// Seed 004's writer rule: compaction meets a zspage that a reader has mapped and skips it
/// instead of waiting; the reader's object stays where it is, intact.
fn compaction_skips_mapped_zspage(test: &Test) {
    let pool = new_pool();
    let Some(mut live) = fragmented_pool(test, &pool) else {
        return;
    };
    let (intact, same_place, freed) = {
        let (first, rest) = live.split_at_mut(1);
        let Live { handle, n, len } = &mut first[0];
        let (n, len) = (*n, *len);
        let (spans, _, place_before) = pool.object_place(handle);
        let Ok(mut mapping) = pool.map(handle, MapMode::ReadOnly) else {
            test.fail(file!(), line!(), "map failed");
            return;
        };
        let freed = pool.compact();
        let bytes = mapping.bytes();
        let addr = bytes.as_mut_ptr();
        let intact = bytes[..len]
            .iter()
            .enumerate()
            .all(|(i, &x)| x == pattern(n, i));
        drop(mapping);
        let _ = rest;
        (intact, spans || place_before == Some(addr), freed)
    };
    check!(test, intact);
    check!(test, same_place);
    check!(test, freed > 0);
    check!(test, all_intact(&pool, &mut live));
    free_live(&pool, live);
}

/// The hook the allocator's test points run (`testing::hooks::run` calls `run`).
mod kunit_hooks {
    use super::hooks::Point;
    use core::sync::atomic::{AtomicU8, Ordering};

    /// Which hook is installed.
    #[derive(Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub(crate) enum Hook {
        None,
        FreeHandle,
        MallocInWindow,
        WriteMovedObject,
        CompactInline,
        Meet,
    }

    static ACTIVE: AtomicU8 = AtomicU8::new(Hook::None as u8);

    pub(crate) fn set(hook: Hook) {
        ACTIVE.store(hook as u8, Ordering::Release);
    }

    pub(crate) fn run(point: Point) {
        match ACTIVE.load(Ordering::Acquire) {
            x if x == Hook::FreeHandle as u8 => super::free_hook_handle(point),
            x if x == Hook::MallocInWindow as u8 => super::malloc_in_window(point),
            x if x == Hook::WriteMovedObject as u8 => super::write_moved_object(point),
            x if x == Hook::CompactInline as u8 => super::kunit_races::compact_inline(point),
            x if x == Hook::Meet as u8 => super::kunit_races::meet_hook(point),
            _ => {}
        }
    }
}

/// The pool and raw handle a seed test's hook acts on (hooks are plain functions).
static HOOK_POOL: AtomicPtr<Pool> = AtomicPtr::new(core::ptr::null_mut());
static HOOK_HANDLE: AtomicUsize = AtomicUsize::new(0);

fn hook_pool() -> &'static Pool {
    // SAFETY: set by the case that installed the hook, to a pool it keeps alive until it
    // has cleared the hook.
    unsafe { &*HOOK_POOL.load(Ordering::Acquire) }
}

/// The handle a hook was given through `HOOK_HANDLE` (raw), as a `Handle` again.
///
/// # Safety
///
/// `raw` is a live handle of `hook_pool()`, which nobody else uses meanwhile.
unsafe fn hook_handle(raw: usize) -> Option<Handle<'static>> {
    // SAFETY: as the caller guarantees.
    unsafe { Handle::from_raw(raw) }
}

/// Acts as the migration core on the page where `handle`'s object starts: takes a
/// reference, locks the page, isolates it, runs `between`, then migrates it to a fresh page
/// and puts it back if that failed. Returns the isolation verdict and the migration result.
fn act_as_migration_core(
    pool: &Pool,
    handle: &Handle<'_>,
    between: impl FnOnce(),
) -> Option<(bool, i32)> {
    act_as_migration_core_on(pool.object_place(handle).1, between)
}

/// `act_as_migration_core` on page `src`, a live page of a pool (whose zspage holds it).
fn act_as_migration_core_on(
    src: *mut kernel::bindings::page,
    between: impl FnOnce(),
) -> Option<(bool, i32)> {
    let src = NonNull::new(src)?;
    // SAFETY: a live page of the pool, locked below only if the lock is free.
    if !unsafe { sys::test_pages::try_lock(src.as_ptr()) } {
        return None;
    }
    // SAFETY: locked just above, a live page of a pool.
    Some(unsafe { act_as_migration_core_locked(src, between) })
}

/// The page of `handle`'s object, locked: try-locked under the class lock, where the page is
/// its zspage's and so alive; once locked, neither the migration core nor a retirement can
/// free it (a retirement leaves a locked page to the module's work). For acting as the
/// migration core while other threads use the pool.
fn lock_object_page(pool: &Pool, handle: &Handle<'_>) -> Option<NonNull<kernel::bindings::page>> {
    pool.with_held_object(handle, |zspage, idx| {
        let page = NonNull::new(zspage.page_of(idx))?;
        // SAFETY: a page of a listed zspage, alive while its class lock is held; a try-lock
        // never waits, as the lock order allows under the class lock.
        unsafe { sys::test_pages::try_lock(page.as_ptr()) }.then_some(page)
    })
}

/// `act_as_migration_core_on` for a page the caller has locked.
///
/// # Safety
///
/// `src` is a live page of a pool, locked by the caller, who gives the lock up to this call.
unsafe fn act_as_migration_core_locked(
    src: NonNull<kernel::bindings::page>,
    between: impl FnOnce(),
) -> (bool, i32) {
    use sys::test_pages;
    let ops = &migrate::MOVABLE_OPS;
    // SAFETY: locked by the caller, referenced by its zspage; acting as the core.
    let core_ref = sys::ZsPage::adopt(&unsafe { sys::LockedPage::from_raw(src) });
    let isolated = ops.isolate_page.is_some_and(|isolate| {
        // SAFETY: as the migration core does: a movable page of ours, locked and referenced.
        unsafe { isolate(src.as_ptr(), 0) }
    });
    between();
    let mut rc = EAGAIN.to_errno();
    if isolated {
        if let (Some(dst), Some(migrate)) = (sys::ZsPage::alloc(GFP), ops.migrate_page) {
            // SAFETY: a fresh page, ours.
            if unsafe { test_pages::try_lock(dst.as_ptr()) } {
                // SAFETY: as the core: `src` isolated and locked, `dst` fresh and locked.
                rc = unsafe { migrate(dst.as_ptr(), src.as_ptr(), 0) };
                // SAFETY: locked above.
                unsafe { test_pages::unlock(dst.as_ptr()) };
            }
        }
        // The core puts a page back only while it is still movable.
        // SAFETY: `src` is live and locked.
        if rc != 0 && unsafe { test_pages::is_movable(src.as_ptr()) } {
            if let Some(putback) = ops.putback_page {
                // SAFETY: as the core: isolated, locked, still movable.
                unsafe { putback(src.as_ptr()) };
            }
        }
    }
    // SAFETY: locked by the caller.
    unsafe { test_pages::unlock(src.as_ptr()) };
    drop(core_ref);
    (isolated, rc)
}

/// Seed 000: the last object of a zspage is freed while one of its pages is isolated; the
/// grace period passes; then the migration core comes back to the page. It must find no
/// zspage (the page's link was cleared when the zspage died), back off, and drop the page's
/// movable link, without touching freed memory (KASAN) and without leaking anything.
fn seed000_free_while_isolated(test: &Test) {
    let pool = new_pool();
    let baseline = PageBaseline::now();
    let Ok(handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    let raw = handle.into_raw();
    // SAFETY: the handle just given up, used once here.
    let Some(handle) = (unsafe { Handle::from_raw(raw) }) else {
        return;
    };
    let result = act_as_migration_core(&pool, &handle, || {
        // SAFETY: the live handle `raw`, used only here from now on.
        if let Some(h) = unsafe { Handle::from_raw(raw) } {
            pool.free(h);
        }
        // The zspage is freed (its pages at once, the isolated one left to the module's
        // work; its metadata after the grace period) while the page is isolated.
        sys::rcu_barrier();
    });
    let _ = handle.into_raw();
    check_eq!(test, result, Some((true, EAGAIN.to_errno())));
    baseline.check(test);
}

/// The rmmod hang: a zspage dies while another path holds one of its pages locked and
/// leaves without a callback (memory offlining's `do_migrate_range`, or a second scanner
/// that finds the page isolated). 6.12's isolating path then frees the page without a
/// callback if its reference is the last (`migrate_folio_unmap`); had the free path
/// put the module's reference on the busy page, its link to the movable operations would
/// never be dropped and module exit would wait for it forever. The module must keep its
/// reference and drop the link later, under the page lock, from process context.
fn dead_page_lock_busy_no_callback(test: &Test) {
    use sys::test_pages;
    let pool = new_pool();
    let baseline = PageBaseline::now();
    let Ok(handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    let Some(page) = NonNull::new(pool.object_place(&handle).1) else {
        test.fail(file!(), line!(), "no page behind the object");
        pool.free(handle);
        return;
    };
    let page = page.as_ptr();
    // Act as the core: the isolating path's reference, then a second scanner's lock.
    // SAFETY: a live page of the pool (its zspage holds it); the reference keeps it live
    // until the `put` below.
    unsafe { test_pages::get(page) };
    // SAFETY: live (referenced above).
    let locked = unsafe { test_pages::try_lock(page) };
    // The zspage dies, and its pages are freed, while the lock is held.
    pool.free(handle);
    sys::rcu_barrier();
    // SAFETY: live (referenced above).
    let (refs_at_free, linked_at_free) =
        unsafe { (test_pages::ref_count(page), test_pages::is_movable(page)) };
    if locked {
        // The scanner leaves without a callback.
        // SAFETY: locked above by this case.
        unsafe { test_pages::unlock(page) };
    }
    // The module's work runs (it may have been waiting for the lock just dropped).
    sys::flush_module_work();
    // SAFETY: live (referenced above).
    let (refs_after, linked_after) =
        unsafe { (test_pages::ref_count(page), test_pages::is_movable(page)) };
    if refs_after == 1 && linked_after {
        // The isolating path's shortcut frees the page with its link (mm/migrate.c): give
        // the count back so that module exit does not wait for it forever; the checks
        // below report the failure.
        MOVABLE_PAGES.fetch_sub(1, Ordering::Relaxed);
    }
    // SAFETY: the reference taken above, given up here.
    unsafe { test_pages::put(page) };
    check!(test, locked);
    // Freed under a busy lock: the link stays, and so does the module's reference.
    check!(test, linked_at_free);
    check_eq!(test, refs_at_free, 2);
    // Released later under the lock, with no callback from the core.
    check!(test, !linked_after);
    check_eq!(test, refs_after, 1);
    baseline.check(test);
}

fn free_hook_handle(point: hooks::Point) {
    if point == hooks::Point::AfterPageLookup {
        let raw = HOOK_HANDLE.swap(0, Ordering::AcqRel);
        // SAFETY: the case handed its live handle over through `HOOK_HANDLE`.
        if let Some(handle) = unsafe { hook_handle(raw) } {
            hook_pool().free(handle);
        }
    }
}

fn malloc_in_window(point: hooks::Point) {
    if point == hooks::Point::AfterCompactionRound && HOOK_HANDLE.load(Ordering::Acquire) == 0 {
        let raw = match hook_pool().malloc(SEED002_LEN, GFP) {
            Ok(mut handle) => {
                let _ =
                    hook_pool().with_object(&mut handle, MapMode::WriteOnly, SEED002_LEN, |b| {
                        b.fill(0x02)
                    });
                handle.into_raw()
            }
            Err(_) => 0,
        };
        HOOK_HANDLE.store(raw, Ordering::Release);
    }
}
const SEED002_LEN: usize = 1500;

/// Seed 002: compaction empties a zspage; another path (an allocation, right after the
/// compaction round drops the pool lock) must not get it: the path that emptied it took it
/// off its lists in the same critical section. The new object must survive the zspage's
/// retirement byte for byte.
fn seed002_emptied_zspage_stays_off_lists(test: &Test) {
    let pool = new_pool();
    let Ok((class, _)) = CLASSES.lookup(SEED002_LEN) else {
        return;
    };
    let per_zspage = CLASSES.class(class).objs_per_zspage as usize;
    // Two full zspages; then one object left in the first and one slot free in the second,
    // so compaction moves that object and empties the first.
    let mut handles = KVec::new();
    for _ in 0..2 * per_zspage {
        match pool.malloc(SEED002_LEN, GFP) {
            Ok(h) => {
                if let Err(h) = push(&mut handles, h) {
                    pool.free(h);
                }
            }
            Err(_) => break,
        }
    }
    check_eq!(test, handles.len(), 2 * per_zspage);
    let mut kept = KVec::new();
    for (i, h) in handles.into_iter().enumerate() {
        if (1..=per_zspage).contains(&i) {
            pool.free(h);
        } else if let Err(h) = push(&mut kept, h) {
            pool.free(h);
        }
    }
    HOOK_POOL.store(core::ptr::from_ref(&*pool).cast_mut(), Ordering::Release);
    HOOK_HANDLE.store(0, Ordering::Release);
    kunit_hooks::set(kunit_hooks::Hook::MallocInWindow);
    let freed = pool.compact();
    kunit_hooks::set(kunit_hooks::Hook::None);
    let newcomer = HOOK_HANDLE.swap(0, Ordering::AcqRel);
    // Let the emptied zspage's grace period pass: its metadata is freed now (its pages went
    // at once).
    sys::rcu_barrier();
    check!(test, freed > 0 && newcomer != 0);
    // SAFETY: the hook's live handle, handed over through `HOOK_HANDLE`.
    if let Some(mut newcomer) = unsafe { Handle::from_raw(newcomer) } {
        let intact = pool.with_object(&mut newcomer, MapMode::ReadOnly, SEED002_LEN, |b| {
            b.iter().all(|&x| x == 0x02)
        });
        check!(test, intact == Ok(true));
        pool.free(newcomer);
    }
    free_all(&pool, kept);
    check_eq!(test, pool.total_pages(), 0);
}

/// Seed 003: the last object is freed mid-migration, after the callback found the zspage
/// from the page and before it locked the class. The zspage's metadata must still be valid
/// (RCU grace period; its pages but the callback's are freed already, and its chain is
/// empty), and the callback must see it is dead under the lock and back off.
fn seed003_free_mid_migration(test: &Test) {
    let pool = new_pool();
    let baseline = PageBaseline::now();
    let Ok(handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    HOOK_POOL.store(core::ptr::from_ref(&*pool).cast_mut(), Ordering::Release);
    let raw = handle.raw();
    let result = act_as_migration_core(&pool, &handle, || {
        // Free at the lookup inside `migrate_page`.
        HOOK_HANDLE.store(raw, Ordering::Release);
        kunit_hooks::set(kunit_hooks::Hook::FreeHandle);
    });
    // The hook freed it (checked below): this copy of the handle is spent.
    let _ = handle.into_raw();
    kunit_hooks::set(kunit_hooks::Hook::None);
    check_eq!(test, HOOK_HANDLE.load(Ordering::Acquire), 0);
    check_eq!(test, result, Some((true, EAGAIN.to_errno())));
    baseline.check(test);
}

/// Seed 004: migration meets a reader that holds the zspage mapped. It backs off at once
/// (-EAGAIN; it neither spins nor sleeps) and the reader's data is intact.
fn seed004_migration_meets_reader(test: &Test) {
    let pool = new_pool();
    let Ok(mut handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    let _ = pool.with_object(&mut handle, MapMode::WriteOnly, 100, |b| b.fill(0x44));
    let raw = handle.raw();
    let (result, intact) = {
        let Ok(mut mapping) = pool.map(&mut handle, MapMode::ReadOnly) else {
            test.fail(file!(), line!(), "map failed");
            return;
        };
        // SAFETY: the mapped handle, only read to find its page (acting as the core).
        let Some(alias) = (unsafe { Handle::from_raw(raw) }) else {
            return;
        };
        let result = act_as_migration_core(&pool, &alias, || {});
        let _ = alias.into_raw();
        let intact = mapping.bytes()[..100].iter().all(|&b| b == 0x44);
        (result, intact)
    };
    check_eq!(test, result, Some((true, EAGAIN.to_errno())));
    check!(test, intact);
    // With the reader gone, the same page moves.
    check_eq!(
        test,
        act_as_migration_core(&pool, &handle, || {}),
        Some((true, 0))
    );
    check!(
        test,
        pool.with_object(&mut handle, MapMode::ReadOnly, 100, |b| b
            .iter()
            .all(|&x| x == 0x44))
            == Ok(true)
    );
    pool.free(handle);
}

fn write_moved_object(point: hooks::Point) {
    if let hooks::Point::AfterCompactionMove(moved) = point {
        if moved != 0
            && HOOK_HANDLE
                .compare_exchange(0, moved, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            // SAFETY: a live handle of the hook's pool (compaction just moved its object),
            // which the case does not use while compaction runs.
            if let Some(mut handle) = unsafe { hook_handle(moved) } {
                let _ = hook_pool().with_object(&mut handle, MapMode::ReadWrite, usize::MAX, |b| {
                    b.fill(0x5a)
                });
                let _ = handle.into_raw();
            }
        }
    }
}

/// Seed 001: a reader writes an object right after compaction moved it. The handle must
/// already name the new copy (repointed in one store after the copy, under the locks that
/// exclude readers), so the write lands in the object, not in its abandoned old place.
fn seed001_write_after_move(test: &Test) {
    let pool = new_pool();
    let Some(live) = fragmented_pool(test, &pool) else {
        return;
    };
    HOOK_POOL.store(core::ptr::from_ref(&*pool).cast_mut(), Ordering::Release);
    HOOK_HANDLE.store(0, Ordering::Release);
    kunit_hooks::set(kunit_hooks::Hook::WriteMovedObject);
    let freed = pool.compact();
    kunit_hooks::set(kunit_hooks::Hook::None);
    let moved = HOOK_HANDLE.swap(0, Ordering::AcqRel);
    check!(test, freed > 0 && moved != 0);
    // SAFETY: one of `live`'s handles, used only here until it is freed below.
    if let Some(mut handle) = unsafe { Handle::from_raw(moved) } {
        let written = pool.with_object(&mut handle, MapMode::ReadOnly, usize::MAX, |b| {
            b.iter().all(|&x| x == 0x5a)
        });
        check!(test, written == Ok(true));
        let _ = handle.into_raw();
    }
    free_live(&pool, live);
}

/// How long each stress thread runs, in milliseconds of guest time.
const STRESS_MS: u32 = 12_000;
const STRESS_THREADS: usize = 4;
/// Movable, like zram's allocations: the pages land where memory offlining must move them.
const GFP_MOVABLE: Gfp = Gfp(kernel::bindings::GFP_KERNEL
    | kernel::bindings::__GFP_HIGHMEM
    | (1 << kernel::bindings::___GFP_MOVABLE_BIT));

/// What the stress threads share: the pool, a stop flag, and their verdicts.
struct Stress {
    pool: &'static Pool,
    stop: AtomicBool,
    running: AtomicUsize,
    errors: AtomicUsize,
    ops: AtomicUsize,
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One worker: random-size malloc, write a pattern, map and verify, free, against a table
/// of live objects; every surviving object is verified at the end, then freed.
fn stress_worker(stress: &Stress, id: usize) {
    const TABLE: usize = 512;
    let pool = stress.pool;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (id as u64 + 1);
    // Live objects: (handle, pattern number, length).
    // `table[..live]` are `Some`.
    let mut table: KVec<Option<(Handle<'static>, usize, usize)>> = KVec::new();
    for _ in 0..TABLE {
        if table.push(None, GFP_KERNEL).is_err() {
            stress.errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    let mut live = 0;
    let mut serial = id << 32;
    let intact = |entry: &mut (Handle<'static>, usize, usize), mode| {
        let (n, len) = (entry.1, entry.2);
        pool.with_object(&mut entry.0, mode, len, |b| {
            b.iter().enumerate().all(|(i, &x)| x == pattern(n, i))
        }) == Ok(true)
    };
    while !stress.stop.load(Ordering::Acquire) {
        let r = xorshift(&mut rng);
        if live < TABLE && (r % 3 != 0 || live == 0) {
            let len = 1 + (r >> 8) as usize % PAGE_SIZE;
            serial += 1;
            let Ok(mut handle) = pool.malloc(len, GFP_MOVABLE) else {
                continue;
            };
            let _ = pool.with_object(&mut handle, MapMode::WriteOnly, len, |b| {
                b.iter_mut()
                    .enumerate()
                    .for_each(|(i, x)| *x = pattern(serial, i))
            });
            table[live] = Some((handle, serial, len));
            live += 1;
        } else {
            let pick = (r >> 16) as usize % live;
            let mode = if r & 1 == 0 {
                MapMode::ReadOnly
            } else {
                MapMode::ReadWrite
            };
            if !table[pick]
                .as_mut()
                .is_some_and(|entry| intact(entry, mode))
            {
                stress.errors.fetch_add(1, Ordering::Relaxed);
            }
            if r & 2 == 0 {
                table.swap(pick, live - 1);
                live -= 1;
                if let Some((handle, _, _)) = table[live].take() {
                    pool.free(handle);
                }
            }
        }
        stress.ops.fetch_add(1, Ordering::Relaxed);
    }
    for mut entry in table.into_iter().flatten() {
        if !intact(&mut entry, MapMode::ReadOnly) {
            stress.errors.fetch_add(1, Ordering::Relaxed);
        }
        pool.free(entry.0);
    }
}

/// A stress thread's body (`kthread_run`).
///
/// # Safety
///
/// `data` points at a `(&Stress, usize)` that outlives the thread.
unsafe extern "C" fn stress_thread(data: *mut core::ffi::c_void) -> i32 {
    // SAFETY: `stress_concurrent` passes a `(&Stress, id)` that outlives the thread: it
    // waits for `running` to drop to zero before returning.
    let (stress, id) = unsafe { *data.cast::<(&Stress, usize)>() };
    if id == STRESS_THREADS {
        stress_compactor(stress);
    } else {
        stress_worker(stress, id);
    }
    stress.running.fetch_sub(1, Ordering::AcqRel);
    0
}

/// Length of the object the compactor migrates.
const STRESS_OWN_LEN: usize = 700;

/// The stress case's fifth thread: explicit compaction while the workers churn, and a
/// migration core of its own on the page of an object it owns, so that pages move under the
/// workers whether or not userspace's memory compaction and offlining (the guest scenario)
/// reach this pool's pages in the case's time. The object is verified after every move.
fn stress_compactor(stress: &Stress) {
    let pool = stress.pool;
    let Ok(mut own) = pool.malloc(STRESS_OWN_LEN, GFP_MOVABLE) else {
        stress.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let fill = |b: &mut [u8]| {
        b.iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = pattern(7, i))
    };
    let intact = |b: &mut [u8]| b.iter().enumerate().all(|(i, &x)| x == pattern(7, i));
    let written = pool.with_object(&mut own, MapMode::WriteOnly, usize::MAX, fill);
    if written.is_err() {
        stress.errors.fetch_add(1, Ordering::Relaxed);
    }
    while !stress.stop.load(Ordering::Acquire) {
        pool.compact();
        // A move backs off (EAGAIN) while a worker maps an object of the same zspage.
        let moved = lock_object_page(pool, &own).is_some_and(|page| {
            // SAFETY: a live page of the pool, locked just now and given up here.
            unsafe { act_as_migration_core_locked(page, || {}) }.1 == 0
        });
        if moved && pool.with_object(&mut own, MapMode::ReadOnly, usize::MAX, intact) != Ok(true) {
            stress.errors.fetch_add(1, Ordering::Relaxed);
        }
        // Pacing, not synchronisation: compaction and moves a few times a second.
        sys::msleep(50);
    }
    pool.free(own);
}

/// Stress: four kernel threads malloc / write / map and verify / free on one pool for a
/// bounded time while a fifth compacts it and migrates the page of an object of its own
/// (`stress_compactor`), and (in the `kunit` guest scenario) memory compaction, DIMM
/// offlining and the shrinker run from userspace. Every object is verified byte for byte;
/// the migration and compaction counters show the paths ran.
fn stress_concurrent(test: &Test) {
    extern "C" {
        fn rzs_kthread_run(
            f: unsafe extern "C" fn(*mut core::ffi::c_void) -> i32,
            data: *mut core::ffi::c_void,
            name: *const u8,
        ) -> bool;
    }
    let pool = new_pool();
    // SAFETY: the pool outlives the threads: this case waits for them all before dropping it.
    let pool_ref: &'static Pool = unsafe { &*core::ptr::from_ref(&*pool) };
    let stress = Stress {
        pool: pool_ref,
        stop: AtomicBool::new(false),
        running: AtomicUsize::new(STRESS_THREADS + 1),
        errors: AtomicUsize::new(0),
        ops: AtomicUsize::new(0),
    };
    let args: [(&Stress, usize); STRESS_THREADS + 1] = core::array::from_fn(|id| (&stress, id));
    for arg in args.iter() {
        // SAFETY: `arg` outlives the thread (see `stress_thread`); the name is NUL-terminated.
        if !unsafe {
            rzs_kthread_run(
                stress_thread,
                core::ptr::from_ref(arg).cast_mut().cast(),
                c"rzs_stress".as_ptr().cast(),
            )
        } {
            stress.running.fetch_sub(1, Ordering::AcqRel);
            test.fail(file!(), line!(), "cannot start a stress thread");
        }
    }
    sys::msleep(STRESS_MS);
    stress.stop.store(true, Ordering::Release);
    while stress.running.load(Ordering::Acquire) != 0 {
        sys::msleep(10);
    }
    pr_info!(
        "stress: {} ops, {} errors, {} pages migrated, {} pages compacted, {} pages left\n",
        stress.ops.load(Ordering::Relaxed),
        stress.errors.load(Ordering::Relaxed),
        pool.pages_migrated(),
        pool.pages_compacted(),
        pool.total_pages()
    );
    check_eq!(test, stress.errors.load(Ordering::Relaxed), 0);
    check!(test, stress.ops.load(Ordering::Relaxed) > 1000);
    check!(test, pool.pages_compacted() > 0);
    check!(test, pool.pages_migrated() > 0);
    check_eq!(test, pool.total_pages(), 0);
}

/// zpool's and zsmalloc's C map modes turn into the right `MapMode`.
fn c_map_modes(test: &Test) {
    check_eq!(
        test,
        MapMode::from_c(sys::zpool_mapmode_ZPOOL_MM_RW),
        MapMode::ReadWrite
    );
    check_eq!(
        test,
        MapMode::from_c(sys::zpool_mapmode_ZPOOL_MM_RO),
        MapMode::ReadOnly
    );
    check_eq!(
        test,
        MapMode::from_c(sys::zpool_mapmode_ZPOOL_MM_WO),
        MapMode::WriteOnly
    );
    check_eq!(
        test,
        MapMode::from_c(sys::zs_mapmode_ZS_MM_RW),
        MapMode::ReadWrite
    );
    check_eq!(
        test,
        MapMode::from_c(sys::zs_mapmode_ZS_MM_RO),
        MapMode::ReadOnly
    );
    check_eq!(
        test,
        MapMode::from_c(sys::zs_mapmode_ZS_MM_WO),
        MapMode::WriteOnly
    );
}

/// The C callers' map/unmap pair (`zs_map_object`, `zs_unmap_object`): the mapping is
/// leaked at map and taken back at unmap, objects crossing a page boundary included (in
/// place on contiguous zspages; on single pages, with the copy buffer claimed across the two
/// calls); bad handles map to null.
fn c_map_unmap_pair(test: &Test) {
    for layout in [PageLayout::Contiguous, PageLayout::Scattered] {
        c_map_unmap_pair_on(test, layout);
    }
}

/// `c_map_unmap_pair` on a pool of `layout`.
fn c_map_unmap_pair_on(test: &Test, layout: PageLayout) {
    let pool = new_pool_with(layout);
    let mut raws = KVec::new();
    for (n, len) in [100usize, 1500, 1500, 1500, 3000].into_iter().enumerate() {
        let Ok(raw) = c_pool::malloc(&pool, len, GFP.0) else {
            test.fail(file!(), line!(), "malloc failed");
            break;
        };
        // SAFETY: a live handle of `pool`, not mapped; unmapped below without sleeping.
        let addr = unsafe { c_pool::map(&pool, raw, sys::zs_mapmode_ZS_MM_WO) }.cast::<u8>();
        check!(test, !addr.is_null());
        if !addr.is_null() {
            // SAFETY: the mapping covers the object's `len` bytes until unmap.
            unsafe { core::slice::from_raw_parts_mut(addr, len) }
                .iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = pattern(n, i));
        }
        // SAFETY: mapped just above by this task.
        unsafe { c_pool::unmap(&pool, raw) };
        let _ = raws.push((raw, n, len), GFP_KERNEL);
    }
    for &(raw, n, len) in raws.iter() {
        // SAFETY: as above.
        let addr = unsafe { c_pool::map(&pool, raw, sys::zs_mapmode_ZS_MM_RO) }.cast::<u8>();
        // SAFETY: as above.
        let intact = !addr.is_null()
            && unsafe { core::slice::from_raw_parts(addr, len) }
                .iter()
                .enumerate()
                .all(|(i, &b)| b == pattern(n, i));
        // SAFETY: as above.
        unsafe { c_pool::unmap(&pool, raw) };
        check!(test, intact);
        // SAFETY: a live handle of `pool`, freed once.
        unsafe { c_pool::free(&pool, raw) };
    }
    // SAFETY: 0 and error values are not handles: map refuses them, free ignores them.
    check!(test, unsafe { c_pool::map(&pool, 0, 0) }.is_null());
    // SAFETY: as above.
    unsafe { c_pool::free(&pool, ENOMEM.to_errno() as isize as usize) };
    check_eq!(test, pool.total_pages(), 0);
}

/// `ZS_INJECT=kunit-fail`: a case that must fail, to show that failures are caught.
#[cfg(zs_inject_kunit_fail)]
fn injected_failure(test: &Test) {
    check!(test, 1 + 1 == 3);
}

/// `ZS_INJECT=warning`: a case that provokes a kernel WARNING, which must fail the run.
#[cfg(zs_inject_warning)]
fn injected_warning(_test: &Test) {
    extern "C" {
        fn rzs_provoke_warning();
    }
    // SAFETY: the helper only calls WARN(); it has no preconditions.
    unsafe { rzs_provoke_warning() };
}

kunit_suite! {
    name: "rust_zsmalloc",
    cases: [
        c_map_modes,
        c_map_unmap_pair,
        class_table_edges,
        malloc_errors_and_handles,
        readback_byte_exact,
        spanning_copy_rules,
        crossing_object_in_place_until_moved,
        alloc_failure_leaks_nothing,
        total_pages_tracks_zspages,
        retired_pages_freed_at_once,
        destroy_with_live_objects,
        compaction_frees_pages_keeps_data,
        // Seed 004's own case first: under `ZS_MUTATE=blocking_writer` the run hangs in the
        // first case whose writer meets a reader.
        seed004_migration_meets_reader,
        compaction_skips_mapped_zspage,
        seed000_free_while_isolated,
        seed001_write_after_move,
        seed002_emptied_zspage_stays_off_lists,
        seed003_free_mid_migration,
        dead_page_lock_busy_no_callback,
        // tests/RACES.md's planned rows (tests/kunit_races.rs).
        free_meets_compaction_move,
        map_meets_compaction_move,
        map_covers_exactly_the_stored_payload,
        destroy_pool_while_page_isolated,
        compaction_meets_isolated_pages,
        // The cross-CPU variants: two kthreads, bound to CPUs 0 and 1.
        free_meets_compaction_move_cross_cpu,
        seed001_map_meets_compaction_cross_cpu,
        seed003_free_mid_migration_cross_cpu,
        compaction_meets_migration_cross_cpu,
        destroy_pool_mid_migration_cross_cpu,
        stress_concurrent,
        #[cfg(zs_inject_kunit_fail)]
        injected_failure,
        #[cfg(zs_inject_warning)]
        injected_warning,
    ]
}
