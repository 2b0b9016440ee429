// SPDX-License-Identifier: GPL-2.0

//! The KUnit suite `rust_zsmalloc` (module `zsmalloc_rs_kunit.ko`), built from the
//! allocator's own sources (with `--cfg zs_kunit`, which adds fault injection and a live page
//! count) so that the allocator module itself needs no KUnit.

use core::{
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering},
};
use kernel::{c_str, prelude::*};

#[path = "../copybuf.rs"]
mod copybuf;
#[path = "../logic/src/lib.rs"]
#[allow(unused_attributes, dead_code, unreachable_pub, reason = "shared with the host crate")]
mod logic;
#[path = "../pool.rs"]
mod pool;
#[path = "../sys/mod.rs"]
#[allow(dead_code, reason = "the suite uses part of the bindings")]
mod sys;
#[path = "../zspage.rs"]
mod zspage;

mod kunit_support;

use copybuf::MapMode;
use kunit_support::{check, check_eq, kunit_suite, Test};
use logic::size_class::{HANDLE_SIZE, PAGE_SIZE};
use pool::{Allocator, AllocatorNames, Pool, MOVABLE_PAGES};
use sys::{fault, Gfp};

/// The size-class table, as in the allocator module.
pub(crate) static CLASSES: logic::size_class::ClassTable = logic::size_class::ClassTable::new();

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

fn allocator() -> &'static Allocator {
    // SAFETY: set by init before any case runs, cleared only at module exit after the suite.
    unsafe { &*ALLOCATOR.load(Ordering::Acquire) }
}

fn new_pool() -> Pin<KBox<Pool>> {
    match Pool::new(allocator(), c_str!("kunit")) {
        Ok(pool) => pool,
        Err(e) => panic!("cannot create a test pool: {e:?}"),
    }
}

const GFP: Gfp = Gfp(kernel::bindings::GFP_KERNEL);

/// Pages of retired zspages go back one RCU grace period after retirement: wait for every
/// pending retirement, then count the module's live zspage pages.
fn settled_live_pages() -> isize {
    sys::rcu_barrier();
    fault::LIVE_PAGES.load(Ordering::Relaxed)
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
    check_eq!(test, CLASSES.lookup(24).map(|(c, _)| CLASSES.class(c).size), Ok(32));
    check!(test, CLASSES.lookup(25).map(|(c, _)| CLASSES.class(c).size).unwrap_or(0) >= 48);
    // Requests of 32 and 33 bytes carry a header too: 40 and 41 bytes, both in a class of at
    // least 48, and never in the 32-byte class.
    for len in [32, 33] {
        let stored = CLASSES.lookup(len).map(|(c, stored)| (CLASSES.class(c).size as usize, stored));
        check!(test, stored.is_ok_and(|(size, stored)| size >= 48 && stored == len + HANDLE_SIZE && stored <= size));
    }
    let huge = CLASSES.huge_class_size();
    check!(test, huge > 32 && huge < PAGE_SIZE);
    let class_of = |len| CLASSES.lookup(len).map(|(c, _)| *CLASSES.class(c));
    check!(test, class_of(huge).map(|c| c.huge) == Ok(true));
    check!(test, class_of(huge - 1).map(|c| c.huge) == Ok(false));
    for len in [4095, PAGE_SIZE] {
        let spec = class_of(len);
        check!(test, spec.map(|c| c.huge && c.size as usize == PAGE_SIZE) == Ok(true));
        // A huge object has no header: it is stored as it is.
        check_eq!(test, CLASSES.lookup(len).map(|(_, stored)| stored), Ok(len));
    }
}

/// `malloc` returns upstream's errors and never a 0 or error-valued handle.
fn malloc_errors_and_handles(test: &Test) {
    let pool = new_pool();
    check_eq!(test, pool.malloc(0, GFP), Err(EINVAL));
    check_eq!(test, pool.malloc(PAGE_SIZE + 1, GFP), Err(ENOSPC));
    let handle = pool.malloc(100, GFP).unwrap_or(0);
    check!(test, handle != 0 && handle < usize::MAX - 4095);
    pool.free(handle);
    // Freeing 0 or an error value does nothing.
    pool.free(0);
    pool.free(ENOMEM.to_errno() as isize as usize);
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
        let mode = if n % 2 == 0 { MapMode::WriteOnly } else { MapMode::ReadWrite };
        pool.with_object(handle, mode, len, |bytes| {
            bytes.iter_mut().enumerate().for_each(|(i, b)| *b = pattern(n, i))
        });
        if handles.push(handle, GFP_KERNEL).is_err() {
            pool.free(handle);
            test.fail(file!(), line!(), "out of memory for the handle list");
            return false;
        }
    }
    let mut ok = true;
    for (n, &handle) in handles.iter().enumerate() {
        let mode = if n % 2 == 0 { MapMode::ReadOnly } else { MapMode::ReadWrite };
        let intact = pool.with_object(handle, mode, len, |bytes| {
            bytes.len() == len && bytes.iter().enumerate().all(|(i, &b)| b == pattern(n, i))
        });
        if !intact {
            pr_err!("object {} of {} bytes read back wrong (spans pages: {})\n", n, len, pool.spans_pages(handle));
            ok = false;
        }
    }
    for &handle in handles.iter() {
        pool.free(handle);
    }
    ok
}

/// Every byte written comes back, in every class size at the edges, spanning or not.
fn readback_byte_exact(test: &Test) {
    let pool = new_pool();
    let huge = CLASSES.huge_class_size();
    for len in [1, 24, 25, 100, 500, 1000, 1500, 2000, 3000, huge - 1, huge, 4095, PAGE_SIZE] {
        check!(test, write_and_verify(test, &pool, len, 64));
    }
    check_eq!(test, pool.total_pages(), 0);
}

/// For an object spanning two pages, WO does not copy in and RO does not copy back.
fn spanning_copy_rules(test: &Test) {
    let pool = new_pool();
    // 1500 + 8 bytes: a multi-page class whose objects cross page boundaries.
    let len = 1500;
    let mut handles = KVec::new();
    let mut spanning = None;
    while spanning.is_none() && handles.len() < 64 {
        let Ok(handle) = pool.malloc(len, GFP) else { break };
        if handles.push(handle, GFP_KERNEL).is_err() {
            pool.free(handle);
            break;
        }
        if pool.spans_pages(handle) {
            spanning = Some(handle);
        }
    }
    let Some(handle) = spanning else {
        handles.iter().for_each(|&h| pool.free(h));
        test.fail(file!(), line!(), "no spanning object among 64 of 1500 bytes");
        return;
    };
    // Stay on one CPU so every map below uses the same copy buffer.
    let pin = sys::CpuPin::new();
    pool.with_object(handle, MapMode::WriteOnly, len, |b| b.fill(0xb0));
    // RO: the copy is the object; scribbling on it must not reach the object.
    let saw_b = pool.with_object(handle, MapMode::ReadOnly, len, |b| {
        let saw = b.iter().all(|&x| x == 0xb0);
        b.fill(0xc0);
        saw
    });
    let still_b = pool.with_object(handle, MapMode::ReadWrite, len, |b| b.iter().all(|&x| x == 0xb0));
    // Leave 0xc0 in the buffer again, then WO must hand out the buffer as it is (no copy in).
    pool.with_object(handle, MapMode::ReadOnly, len, |b| b.fill(0xc0));
    let no_copy_in = pool.with_object(handle, MapMode::WriteOnly, len, |b| {
        let untouched = b.iter().all(|&x| x == 0xc0);
        b.fill(0xd0);
        untouched
    });
    let now_d = pool.with_object(handle, MapMode::ReadOnly, len, |b| b.iter().all(|&x| x == 0xd0));
    drop(pin);
    handles.iter().for_each(|&h| pool.free(h));
    check!(test, saw_b);
    check!(test, still_b);
    check!(test, no_copy_in);
    check!(test, now_d);
    check_eq!(test, pool.total_pages(), 0);
}

/// Each allocation a malloc makes (handle slot, zspage pages, metadata) can fail: the malloc
/// returns ENOMEM and leaves nothing behind.
fn alloc_failure_leaks_nothing(test: &Test) {
    let pool = new_pool();
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
    let mut handles = KVec::new();
    for n in 0..2000usize {
        match pool.malloc(64 + (n * 37) % 3000, GFP) {
            Ok(handle) => {
                if handles.push(handle, GFP_KERNEL).is_err() {
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
    // Free in an order unlike the allocation order: even slots, then odd ones.
    for parity in [0, 1] {
        handles.iter().skip(parity).step_by(2).for_each(|&handle| pool.free(handle));
    }
    check_eq!(test, pool.total_pages(), 0);
    check_eq!(test, settled_live_pages(), pages_before);
}

/// Destroying a pool with live objects frees every page and handle (the slab caches would
/// complain at module unload otherwise).
fn destroy_with_live_objects(test: &Test) {
    let pages_before = settled_live_pages();
    let pool = new_pool();
    for n in 0..500usize {
        if pool.malloc(1 + (n * 53) % PAGE_SIZE, GFP).is_err() {
            test.fail(file!(), line!(), "malloc failed");
            return;
        }
    }
    check!(test, settled_live_pages() > pages_before);
    drop(pool);
    check_eq!(test, settled_live_pages(), pages_before);
}

/// Fills a pool with objects of mixed sizes, frees two thirds of them scattered across the
/// zspages, and returns the survivors (handle, pattern number, length).
fn fragmented_pool(test: &Test, pool: &Pool) -> Option<KVec<(usize, usize, usize)>> {
    // Allocate everything first: frees during the fill would be refilled at once.
    let mut all = KVec::new();
    for n in 0..3000usize {
        // Four sizes, so that each class has many zspages to compact.
        let len = [100, 700, 1500, 3000][n % 4] + n % 7;
        let Ok(handle) = pool.malloc(len, GFP) else {
            test.fail(file!(), line!(), "malloc failed");
            break;
        };
        pool.with_object(handle, MapMode::WriteOnly, len, |b| {
            b.iter_mut().enumerate().for_each(|(i, x)| *x = pattern(n, i))
        });
        if all.push((handle, n, len), GFP_KERNEL).is_err() {
            pool.free(handle);
            test.fail(file!(), line!(), "out of memory for the handle list");
            break;
        }
    }
    let mut live = KVec::new();
    for &(handle, n, len) in all.iter() {
        if n % 3 != 0 || live.push((handle, n, len), GFP_KERNEL).is_err() {
            pool.free(handle);
        }
    }
    (all.len() == 3000).then_some(live)
}

fn all_intact(pool: &Pool, live: &[(usize, usize, usize)]) -> bool {
    live.iter().all(|&(handle, n, len)| {
        pool.with_object(handle, MapMode::ReadOnly, len, |b| {
            b.iter().enumerate().all(|(i, &x)| x == pattern(n, i))
        })
    })
}

/// Compaction frees pages, counts them, retires the emptied zspages through RCU, and every
/// surviving object reads back byte for byte through its (repointed) handle.
fn compaction_frees_pages_keeps_data(test: &Test) {
    let pool = new_pool();
    let Some(live) = fragmented_pool(test, &pool) else { return };
    let before = pool.total_pages();
    let freed = pool.compact();
    let after = pool.total_pages();
    pr_info!("compaction: {} -> {} pages, {} freed\n", before, after, freed);
    check!(test, freed > 0);
    check_eq!(test, before - after, freed);
    check_eq!(test, pool.pages_compacted(), freed);
    check!(test, all_intact(&pool, &live));
    // Compacted once, the pool has (almost) nothing left to give.
    check!(test, pool.compact() <= freed / 4);
    check!(test, all_intact(&pool, &live));
    live.iter().for_each(|&(handle, _, _)| pool.free(handle));
    check_eq!(test, pool.total_pages(), 0);
}

/// Seed 004's writer rule: compaction meets a zspage that a reader has mapped and skips it
/// instead of waiting; the reader's object stays where it is, intact.
fn compaction_skips_mapped_zspage(test: &Test) {
    let pool = new_pool();
    let Some(live) = fragmented_pool(test, &pool) else { return };
    let (handle, n, len) = live[0];
    let addr = pool.map(handle, MapMode::ReadOnly);
    let freed = pool.compact();
    // SAFETY: `map` returned the object (or its copy), valid for `len` bytes until `unmap`.
    let bytes = unsafe { core::slice::from_raw_parts(addr, len) };
    let intact = bytes.iter().enumerate().all(|(i, &x)| x == pattern(n, i));
    let same_place = pool.object_address(handle) == Some(addr) || pool.spans_pages(handle);
    pool.unmap(handle);
    check!(test, intact);
    check!(test, same_place);
    check!(test, freed > 0);
    check!(test, all_intact(&pool, &live));
    live.iter().for_each(|&(handle, _, _)| pool.free(handle));
}

/// The pool and handle a seed test's hook acts on (hooks are plain functions).
static HOOK_POOL: AtomicPtr<Pool> = AtomicPtr::new(core::ptr::null_mut());
static HOOK_HANDLE: AtomicUsize = AtomicUsize::new(0);

fn hook_pool() -> &'static Pool {
    // SAFETY: set by the case that installed the hook, to a pool it keeps alive until it
    // has cleared the hook.
    unsafe { &*HOOK_POOL.load(Ordering::Acquire) }
}

/// Acts as the migration core on the page where `handle`'s object starts: takes a
/// reference, locks the page, isolates it, runs `between`, then migrates it to a fresh page
/// and puts it back if that failed. Returns the isolation verdict and the migration result.
fn act_as_migration_core(pool: &Pool, handle: usize, between: impl FnOnce()) -> Option<(bool, i32)> {
    let src = pool.object_page(handle);
    // SAFETY: a live page of the pool; the core holds its own reference while it works.
    let core_ref = unsafe { sys::ZsPage::adopt(NonNull::new(src)?) };
    if !sys::try_lock_page(src) {
        return None;
    }
    // SAFETY: as the migration core does: a movable page of ours, locked and referenced.
    let isolated = unsafe { pool::isolate_page(src, 0) };
    between();
    let mut rc = EAGAIN.to_errno();
    if isolated {
        let dst = sys::ZsPage::alloc(GFP)?;
        if sys::try_lock_page(dst.as_ptr()) {
            // SAFETY: as the core: `src` isolated and locked, `dst` fresh and locked.
            rc = unsafe { pool::migrate_page(dst.as_ptr(), src, 0) };
            sys::unlock_page(dst.as_ptr());
        }
        // The core puts a page back only while it is still movable.
        if rc != 0 && sys::page_is_movable(src) {
            // SAFETY: as the core: isolated, locked, still movable.
            unsafe { pool::putback_page(src) };
        }
        drop(dst);
    }
    sys::unlock_page(src);
    drop(core_ref);
    Some((isolated, rc))
}

/// Seed 000: the last object of a zspage is freed while one of its pages is isolated; the
/// grace period passes; then the migration core comes back to the page. It must find no
/// zspage (the page's link was cleared when the zspage died), back off, and drop the page's
/// movable link, without touching freed memory (KASAN) and without leaking anything.
fn seed000_free_while_isolated(test: &Test) {
    let pool = new_pool();
    let (movable_before, pages_before) = (MOVABLE_PAGES.load(Ordering::Relaxed), settled_live_pages());
    let Ok(handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    let result = act_as_migration_core(&pool, handle, || {
        pool.free(handle);
        // The zspage's grace period ends, and it is freed, while the page is isolated.
        sys::rcu_barrier();
    });
    check_eq!(test, result, Some((true, EAGAIN.to_errno())));
    check_eq!(test, settled_live_pages(), pages_before);
    check_eq!(test, MOVABLE_PAGES.load(Ordering::Relaxed), movable_before);
}

fn free_hook_handle(point: sys::hooks::Point) {
    if point == sys::hooks::Point::AfterPageLookup {
        let handle = HOOK_HANDLE.swap(0, Ordering::AcqRel);
        if handle != 0 {
            hook_pool().free(handle);
        }
    }
}
static FREE_HOOK_HANDLE: fn(sys::hooks::Point) = free_hook_handle;

fn malloc_in_window(point: sys::hooks::Point) {
    if point == sys::hooks::Point::AfterCompactionRound && HOOK_HANDLE.load(Ordering::Acquire) == 0 {
        let handle = hook_pool().malloc(SEED002_LEN, GFP).unwrap_or(0);
        if handle != 0 {
            hook_pool().with_object(handle, MapMode::WriteOnly, SEED002_LEN, |b| b.fill(0x02));
        }
        HOOK_HANDLE.store(handle, Ordering::Release);
    }
}
static MALLOC_IN_WINDOW: fn(sys::hooks::Point) = malloc_in_window;
const SEED002_LEN: usize = 1500;

/// Seed 002: compaction empties a zspage; another path (an allocation, right after the
/// compaction round drops the pool lock) must not get it: the path that emptied it took it
/// off its lists in the same critical section. The new object must survive the zspage's
/// retirement byte for byte.
fn seed002_emptied_zspage_stays_off_lists(test: &Test) {
    let pool = new_pool();
    let Ok((class, _)) = CLASSES.lookup(SEED002_LEN) else { return };
    let per_zspage = CLASSES.class(class).objs_per_zspage as usize;
    // Two full zspages; then one object left in the first and one slot free in the second,
    // so compaction moves that object and empties the first.
    let mut handles = KVec::new();
    for _ in 0..2 * per_zspage {
        match pool.malloc(SEED002_LEN, GFP) {
            Ok(h) => {
                if handles.push(h, GFP_KERNEL).is_err() {
                    pool.free(h);
                }
            }
            Err(_) => break,
        }
    }
    check_eq!(test, handles.len(), 2 * per_zspage);
    for &h in handles[1..per_zspage].iter() {
        pool.free(h);
    }
    pool.free(handles[per_zspage]);
    HOOK_POOL.store(core::ptr::from_ref(&*pool).cast_mut(), Ordering::Release);
    HOOK_HANDLE.store(0, Ordering::Release);
    sys::hooks::set(&MALLOC_IN_WINDOW);
    let freed = pool.compact();
    sys::hooks::clear();
    let newcomer = HOOK_HANDLE.swap(0, Ordering::AcqRel);
    // Let the emptied zspage's grace period pass: its pages and metadata are freed now.
    sys::rcu_barrier();
    check!(test, freed > 0 && newcomer != 0);
    check!(test, pool.with_object(newcomer, MapMode::ReadOnly, SEED002_LEN, |b| b.iter().all(|&x| x == 0x02)));
    pool.free(newcomer);
    pool.free(handles[0]);
    for &h in handles[per_zspage + 1..].iter() {
        pool.free(h);
    }
    check_eq!(test, pool.total_pages(), 0);
}

/// Seed 003: the last object is freed mid-migration, after the callback found the zspage
/// from the page and before it locked the pool. The zspage memory must still be valid (RCU
/// grace period), and the callback must see it is dead under the lock and back off.
fn seed003_free_mid_migration(test: &Test) {
    let pool = new_pool();
    let (movable_before, pages_before) = (MOVABLE_PAGES.load(Ordering::Relaxed), settled_live_pages());
    let Ok(handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    HOOK_POOL.store(core::ptr::from_ref(&*pool).cast_mut(), Ordering::Release);
    let result = act_as_migration_core(&pool, handle, || {
        // Free at the lookup inside `migrate_page`.
        HOOK_HANDLE.store(handle, Ordering::Release);
        sys::hooks::set(&FREE_HOOK_HANDLE);
    });
    sys::hooks::clear();
    check_eq!(test, HOOK_HANDLE.load(Ordering::Acquire), 0);
    check_eq!(test, result, Some((true, EAGAIN.to_errno())));
    check_eq!(test, settled_live_pages(), pages_before);
    check_eq!(test, MOVABLE_PAGES.load(Ordering::Relaxed), movable_before);
}

/// Seed 004: migration meets a reader that holds the zspage mapped. It backs off at once
/// (-EAGAIN; it neither spins nor sleeps) and the reader's data is intact.
fn seed004_migration_meets_reader(test: &Test) {
    let pool = new_pool();
    let Ok(handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    pool.with_object(handle, MapMode::WriteOnly, 100, |b| b.fill(0x44));
    let addr = pool.map(handle, MapMode::ReadOnly);
    let result = act_as_migration_core(&pool, handle, || {});
    // SAFETY: mapped above for 100 bytes until `unmap`.
    let intact = unsafe { core::slice::from_raw_parts(addr, 100) }.iter().all(|&b| b == 0x44);
    pool.unmap(handle);
    check_eq!(test, result, Some((true, EAGAIN.to_errno())));
    check!(test, intact);
    // With the reader gone, the same page moves.
    check_eq!(test, act_as_migration_core(&pool, handle, || {}), Some((true, 0)));
    check!(test, pool.with_object(handle, MapMode::ReadOnly, 100, |b| b.iter().all(|&x| x == 0x44)));
    pool.free(handle);
}

fn write_moved_object(point: sys::hooks::Point) {
    if let sys::hooks::Point::AfterCompactionMove(moved) = point {
        if moved != 0 && HOOK_HANDLE.compare_exchange(0, moved, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            hook_pool().with_object(moved, MapMode::ReadWrite, usize::MAX, |b| b.fill(0x5a));
        }
    }
}
static WRITE_MOVED_OBJECT: fn(sys::hooks::Point) = write_moved_object;

/// Seed 001: a reader writes an object right after compaction moved it. The handle must
/// already name the new copy (repointed in one store after the copy, under the locks that
/// exclude readers), so the write lands in the object, not in its abandoned old place.
fn seed001_write_after_move(test: &Test) {
    let pool = new_pool();
    let Some(live) = fragmented_pool(test, &pool) else { return };
    HOOK_POOL.store(core::ptr::from_ref(&*pool).cast_mut(), Ordering::Release);
    HOOK_HANDLE.store(0, Ordering::Release);
    sys::hooks::set(&WRITE_MOVED_OBJECT);
    let freed = pool.compact();
    sys::hooks::clear();
    let moved = HOOK_HANDLE.swap(0, Ordering::AcqRel);
    check!(test, freed > 0 && moved != 0);
    check!(test, pool.with_object(moved, MapMode::ReadOnly, usize::MAX, |b| b.iter().all(|&x| x == 0x5a)));
    live.iter().for_each(|&(handle, _, _)| pool.free(handle));
}

/// How long each stress thread runs, in milliseconds of guest time.
const STRESS_MS: u32 = 12_000;
const STRESS_THREADS: usize = 4;
/// Movable, like zram's allocations: the pages land where memory offlining must move them.
const GFP_MOVABLE: Gfp =
    Gfp(kernel::bindings::GFP_KERNEL | kernel::bindings::__GFP_HIGHMEM | (1 << kernel::bindings::___GFP_MOVABLE_BIT));

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
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (id as u64 + 1);
    // Live objects are `table[..live]`: (handle, pattern number, length).
    let Ok(mut table) = KVec::from_elem((0usize, 0usize, 0usize), TABLE, GFP_KERNEL) else {
        stress.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut live = 0;
    let mut serial = id << 32;
    let intact = |(handle, n, len): (usize, usize, usize), mode| {
        stress.pool.with_object(handle, mode, len, |b| b.iter().enumerate().all(|(i, &x)| x == pattern(n, i)))
    };
    while !stress.stop.load(Ordering::Acquire) {
        let r = xorshift(&mut rng);
        if live < TABLE && (r % 3 != 0 || live == 0) {
            let len = 1 + (r >> 8) as usize % PAGE_SIZE;
            serial += 1;
            let Ok(handle) = stress.pool.malloc(len, GFP_MOVABLE) else { continue };
            stress.pool.with_object(handle, MapMode::WriteOnly, len, |b| {
                b.iter_mut().enumerate().for_each(|(i, x)| *x = pattern(serial, i))
            });
            table[live] = (handle, serial, len);
            live += 1;
        } else {
            let pick = (r >> 16) as usize % live;
            let mode = if r & 1 == 0 { MapMode::ReadOnly } else { MapMode::ReadWrite };
            if !intact(table[pick], mode) {
                stress.errors.fetch_add(1, Ordering::Relaxed);
            }
            if r & 2 == 0 {
                stress.pool.free(table[pick].0);
                live -= 1;
                table[pick] = table[live];
            }
        }
        stress.ops.fetch_add(1, Ordering::Relaxed);
    }
    for &entry in table[..live].iter() {
        if !intact(entry, MapMode::ReadOnly) {
            stress.errors.fetch_add(1, Ordering::Relaxed);
        }
        stress.pool.free(entry.0);
    }
}

unsafe extern "C" fn stress_thread(data: *mut core::ffi::c_void) -> i32 {
    // SAFETY: `stress_concurrent` passes a `(&Stress, id)` that outlives the thread: it
    // waits for `running` to drop to zero before returning.
    let (stress, id) = unsafe { *data.cast::<(&Stress, usize)>() };
    if id == STRESS_THREADS {
        // The compactor: explicit compaction while the workers churn.
        while !stress.stop.load(Ordering::Acquire) {
            stress.pool.compact();
            sys::msleep(50);
        }
    } else {
        stress_worker(stress, id);
    }
    stress.running.fetch_sub(1, Ordering::AcqRel);
    0
}

/// Stress: four kernel threads malloc / write / map and verify / free on one pool for a
/// bounded time while a fifth compacts it, and (in the `kunit` guest scenario) memory
/// compaction, DIMM offlining and the shrinker run from userspace. Every object is
/// verified byte for byte; the migration and compaction counters show the paths ran.
fn stress_concurrent(test: &Test) {
    extern "C" {
        fn rzs_kthread_run(f: unsafe extern "C" fn(*mut core::ffi::c_void) -> i32, data: *mut core::ffi::c_void, name: *const u8) -> bool;
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
        if !unsafe { rzs_kthread_run(stress_thread, core::ptr::from_ref(arg).cast_mut().cast(), c"rzs_stress".as_ptr().cast()) } {
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
    check_eq!(test, MapMode::from_c(sys::zpool_mapmode_ZPOOL_MM_RW), MapMode::ReadWrite);
    check_eq!(test, MapMode::from_c(sys::zpool_mapmode_ZPOOL_MM_RO), MapMode::ReadOnly);
    check_eq!(test, MapMode::from_c(sys::zpool_mapmode_ZPOOL_MM_WO), MapMode::WriteOnly);
    check_eq!(test, MapMode::from_c(sys::zs_mapmode_ZS_MM_RW), MapMode::ReadWrite);
    check_eq!(test, MapMode::from_c(sys::zs_mapmode_ZS_MM_RO), MapMode::ReadOnly);
    check_eq!(test, MapMode::from_c(sys::zs_mapmode_ZS_MM_WO), MapMode::WriteOnly);
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
        class_table_edges,
        malloc_errors_and_handles,
        readback_byte_exact,
        spanning_copy_rules,
        alloc_failure_leaks_nothing,
        total_pages_tracks_zspages,
        destroy_with_live_objects,
        compaction_frees_pages_keeps_data,
        compaction_skips_mapped_zspage,
        seed000_free_while_isolated,
        seed001_write_after_move,
        seed002_emptied_zspage_stays_off_lists,
        seed003_free_mid_migration,
        seed004_migration_meets_reader,
        stress_concurrent,
        #[cfg(zs_inject_kunit_fail)]
        injected_failure,
        #[cfg(zs_inject_warning)]
        injected_warning,
    ]
}
