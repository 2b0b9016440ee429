// SPDX-License-Identifier: GPL-2.0

//! The race cases of `tests/RACES.md` beyond the seeds, and the seeds' cross-CPU variants.
//!
//! Single-thread cases drive the interleaving from a hook (`testing::hooks`): the hook runs
//! the other side of the race at the dangerous point, on the same thread. Cross-CPU cases
//! (`*_cross_cpu`) run the two sides in two kthreads bound to CPUs 0 and 1 (`meet`): a hook
//! parks thread A at the dangerous point (it spins on a flag, bounded: the case fails if
//! the flag does not come), thread B waits until A is parked and performs the racing
//! operation, and A is released when B has done it (or has reached its own point). No
//! sleep orders anything; every wait is bounded and fails the case when it runs out.

use super::*;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU8};
use kernel::time::{ktime_ms_delta, Ktime};

/// How long a side waits for the other before the case fails.
const MEET_TIMEOUT_MS: i64 = 5_000;
/// How long the migration callback, parked inside a pool being destroyed, watches for the
/// destroy to finish (which must not happen while it is inside: a correct build passes
/// whatever this is; a build whose destroy does not wait shows it within microseconds).
const DESTROY_WINDOW_MS: i64 = 200;

/// Waits until `cond` holds, spinning (usable with preemption off and inside RCU
/// sections); false if `timeout_ms` ran out first.
fn spin_until(timeout_ms: i64, cond: impl Fn() -> bool) -> bool {
    let start = Ktime::ktime_get();
    while !cond() {
        if ktime_ms_delta(Ktime::ktime_get(), start) >= timeout_ms {
            return cond();
        }
        core::hint::spin_loop();
    }
    true
}

/// Waits until `cond` holds, sleeping a millisecond between looks (process context);
/// false if `timeout_ms` ran out first.
fn poll_until(timeout_ms: i64, cond: impl Fn() -> bool) -> bool {
    let start = Ktime::ktime_get();
    while !cond() {
        if ktime_ms_delta(Ktime::ktime_get(), start) >= timeout_ms {
            return cond();
        }
        sys::msleep(1);
    }
    true
}

/// The objects of a pool with one class laid out for compaction: `target` alone in the
/// first zspage, `kept` filling the second but one slot, so compaction moves `target` (the
/// only object it moves) into the second and retires the first.
struct Straggler<'p> {
    target: Handle<'p>,
    kept: KVec<Handle<'p>>,
    class: usize,
    /// The page where the second zspage's free slot starts (where `target` goes).
    free_slot_page: *mut kernel::bindings::page,
}

const STRAGGLER_LEN: usize = 1500;

/// `target`'s bytes, and each kept object's.
const TARGET_BYTE: u8 = 0x13;
const KEPT_BYTE: u8 = 0x31;

fn straggler<'p>(test: &Test, pool: &'p Pool) -> Option<Straggler<'p>> {
    let Ok((class, _)) = CLASSES.lookup(STRAGGLER_LEN) else {
        test.fail(file!(), line!(), "no class");
        return None;
    };
    let per_zspage = CLASSES.class(class).objs_per_zspage as usize;
    let mut handles = KVec::new();
    for n in 0..2 * per_zspage {
        let Ok(mut handle) = pool.malloc(STRAGGLER_LEN, GFP) else {
            break;
        };
        let byte = if n == 0 { TARGET_BYTE } else { KEPT_BYTE };
        let _ = pool.with_object(&mut handle, MapMode::WriteOnly, usize::MAX, |b| {
            b.fill(byte)
        });
        if let Err(handle) = push(&mut handles, handle) {
            pool.free(handle);
            break;
        }
    }
    if handles.len() != 2 * per_zspage {
        free_all(pool, handles);
        test.fail(file!(), line!(), "cannot fill two zspages");
        return None;
    }
    let free_slot_page = pool.object_place(&handles[per_zspage]).1;
    let mut target = None;
    let mut kept = KVec::new();
    for (i, handle) in handles.into_iter().enumerate() {
        if i == 0 {
            target = Some(handle);
        } else if (1..=per_zspage).contains(&i) {
            pool.free(handle);
        } else if let Err(handle) = push(&mut kept, handle) {
            pool.free(handle);
        }
    }
    let target = target?;
    if kept.len() != per_zspage - 1 {
        pool.free(target);
        free_all(pool, kept);
        test.fail(file!(), line!(), "out of memory for the handle list");
        return None;
    }
    Some(Straggler {
        target,
        kept,
        class,
        free_slot_page,
    })
}

/// Whether every byte of the object of `handle` is `byte`.
fn all_bytes(pool: &Pool, handle: &mut Handle<'_>, byte: u8) -> bool {
    pool.with_object(handle, MapMode::ReadOnly, usize::MAX, |b| {
        b.iter().all(|&x| x == byte)
    }) == Ok(true)
}

/// The single-thread hooks' part: at `free`'s or `map`'s lookup of `HOOK_HANDLE`, compact
/// `HOOK_CLASS` there (once), inside the caller's RCU section.
pub(super) fn compact_inline(point: hooks::Point) {
    let raw = match point {
        hooks::Point::AfterFreeLookup(raw) | hooks::Point::AfterMapLookup(raw) => raw,
        _ => return,
    };
    if raw != 0
        && raw == HOOK_HANDLE.load(Ordering::Acquire)
        && HOOK_ARMED.swap(false, Ordering::AcqRel)
    {
        let freed = hook_pool().compact_class(HOOK_CLASS.load(Ordering::Acquire));
        HOOK_FREED.store(freed, Ordering::Release);
    }
}

static HOOK_ARMED: AtomicBool = AtomicBool::new(false);
static HOOK_CLASS: AtomicUsize = AtomicUsize::new(0);
static HOOK_FREED: AtomicUsize = AtomicUsize::new(0);

/// Installs `compact_inline` for `target` of class `class` in `pool`.
fn arm_compact_inline(pool: &Pool, target: &Handle<'_>, class: usize) {
    HOOK_POOL.store(core::ptr::from_ref(pool).cast_mut(), Ordering::Release);
    HOOK_CLASS.store(class, Ordering::Release);
    HOOK_FREED.store(0, Ordering::Release);
    HOOK_HANDLE.store(target.raw(), Ordering::Release);
    HOOK_ARMED.store(true, Ordering::Release);
    kunit_hooks::set(kunit_hooks::Hook::CompactInline);
}

fn disarm() -> usize {
    kunit_hooks::set(kunit_hooks::Hook::None);
    HOOK_ARMED.store(false, Ordering::Release);
    HOOK_HANDLE.store(0, Ordering::Release);
    HOOK_FREED.swap(0, Ordering::AcqRel)
}

/// The end of a free-vs-move case: compaction moved the target and retired its first
/// zspage (`freed` pages), and the free took the moved object: only the second zspage is
/// left, the kept objects are intact, and the pool and the module drain.
fn check_free_after_move(
    test: &Test,
    pool: &Pool,
    mut kept: KVec<Handle<'_>>,
    class: usize,
    freed: usize,
    pages_before: isize,
) {
    let zspage_pages = CLASSES.class(class).pages();
    check_eq!(test, freed, zspage_pages);
    check_eq!(test, pool.total_pages(), zspage_pages);
    let intact = kept.iter_mut().all(|h| all_bytes(pool, h, KEPT_BYTE));
    free_all(pool, kept);
    check!(test, intact);
    check_eq!(test, pool.total_pages(), 0);
    check_eq!(test, settled_live_pages(), pages_before);
}

/// The end of a map-vs-move case: compaction moved the target (from page `before`) and
/// retired its zspage, and the mapping, which saw the target's bytes (`mapped`), wrote
/// 0x5a over the object at its new place; the pool drains.
#[allow(clippy::too_many_arguments)]
fn check_map_after_move(
    test: &Test,
    pool: &Pool,
    mut target: Handle<'_>,
    kept: KVec<Handle<'_>>,
    class: usize,
    before: *mut kernel::bindings::page,
    freed: usize,
    mapped: bool,
) {
    let after = pool.object_place(&target).1;
    let written = all_bytes(pool, &mut target, 0x5a);
    pool.free(target);
    free_all(pool, kept);
    check_eq!(test, freed, CLASSES.class(class).pages());
    check!(test, before != after);
    check!(test, mapped);
    check!(test, written);
    check_eq!(test, pool.total_pages(), 0);
}

/// Free racing a move of the same object: `free` has read the handle's slot (the object is
/// in the first zspage) and compaction moves the object and retires that zspage before
/// `free` takes the class lock. `free` must free the object where it is now (it re-reads
/// the slot under the lock): the moved copy is freed, the pool drains, the others are
/// intact.
pub(super) fn free_meets_compaction_move(test: &Test) {
    let pool = new_pool();
    let pages_before = settled_live_pages();
    let Some(Straggler {
        target,
        kept,
        class,
        ..
    }) = straggler(test, &pool)
    else {
        return;
    };
    check_eq!(test, pool.total_pages(), 2 * CLASSES.class(class).pages());
    arm_compact_inline(&pool, &target, class);
    pool.free(target);
    // Compaction ran at the free's lookup.
    let freed = disarm();
    check_free_after_move(test, &pool, kept, class, freed, pages_before);
}

/// Seed 001 from the reader's side: `map` has found the object's zspage from the slot and
/// compaction moves the object before `map` read-locks that zspage. `map` must re-check
/// the slot under the lock and map the object at its new place: a write through the
/// mapping lands in the object.
pub(super) fn map_meets_compaction_move(test: &Test) {
    let pool = new_pool();
    let Some(Straggler {
        mut target,
        kept,
        class,
        ..
    }) = straggler(test, &pool)
    else {
        return;
    };
    let before = pool.object_place(&target).1;
    arm_compact_inline(&pool, &target, class);
    let mapped = pool.with_object(&mut target, MapMode::ReadWrite, usize::MAX, |b| {
        let saw = b.iter().all(|&x| x == TARGET_BYTE);
        b.fill(0x5a);
        saw
    });
    let freed = disarm();
    check_map_after_move(
        test,
        &pool,
        target,
        kept,
        class,
        before,
        freed,
        mapped == Ok(true),
    );
}

/// A mapping is the object's stored length (the request plus its header, rounded up to 16
/// bytes: `logic::header`) minus its header, exactly, not its slot: in a merged class (the
/// request shorter than the slot) whose objects span pages, every mapping is that long, all
/// of it (the rounding's tail past the request included) round-trips through map,
/// compaction's copy and the spanning copy buffer, and writing all of one object never
/// reaches its neighbours.
pub(super) fn map_covers_exactly_the_stored_payload(test: &Test) {
    use logic::{header::LEN_UNIT, size_class::CLASS_DELTA};
    let huge = CLASSES.huge_class_size();
    // The first request size (by 16s) whose class is merged (its slot is larger than the
    // request's own by more than a class step) and has objects spanning pages.
    let pick = (1..huge / CLASS_DELTA)
        .map(|k| k * CLASS_DELTA)
        .find_map(|len| {
            let (class, stored) = CLASSES.lookup(len).ok()?;
            let spec = CLASSES.class(class);
            let merged = spec.size_bytes() >= stored + 2 * CLASS_DELTA;
            let spans = (0..spec.objs_per_zspage).any(|i| obj_spans(spec, i));
            (merged && spans && !spec.huge).then_some((len, class))
        });
    let Some((len, class)) = pick else {
        test.fail(file!(), line!(), "no merged class with spanning objects");
        return;
    };
    let spec = CLASSES.class(class);
    let payload = (len + spec.header_len()).div_ceil(LEN_UNIT) * LEN_UNIT - spec.header_len();
    pr_info!(
        "merged class: request {} bytes, slot {} bytes, mapping {} bytes\n",
        len,
        spec.size_bytes(),
        payload
    );
    // In place over neighbouring pages, and through the copy buffer.
    for layout in [PageLayout::Contiguous, PageLayout::Scattered] {
        stored_payload_round_trips(test, len, spec, payload, layout);
    }
}

/// `map_covers_exactly_the_stored_payload` on a pool of `layout`.
fn stored_payload_round_trips(
    test: &Test,
    len: usize,
    spec: &logic::size_class::ClassSpec,
    payload: usize,
    layout: PageLayout,
) {
    let pool = new_pool_with(layout);
    let count = 2 * spec.objs_per_zspage as usize;
    let mut handles = KVec::new();
    let mut lengths_ok = true;
    for n in 0..count {
        let Ok(mut handle) = pool.malloc(len, GFP) else {
            break;
        };
        // Checked before anything is written: a longer mapping would write past the slot.
        let ok = pool.with_object(&mut handle, MapMode::WriteOnly, usize::MAX, |b| {
            if b.len() != payload {
                pr_err!(
                    "object {}: mapping of {} bytes, payload {}\n",
                    n,
                    b.len(),
                    payload
                );
                return false;
            }
            b.iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = pattern(n, i));
            true
        }) == Ok(true);
        if let Err(handle) = push(&mut handles, handle) {
            pool.free(handle);
            break;
        }
        if !ok {
            lengths_ok = false;
            break;
        }
    }
    let complete = handles.len() == count;
    if !lengths_ok || !complete {
        free_all(&pool, handles);
        check!(test, lengths_ok);
        check!(test, complete);
        return;
    }
    let verify = |handles: &mut KVec<Handle<'_>>, step: usize| {
        handles.iter_mut().enumerate().all(|(n, h)| {
            n % step != 0
                || pool.with_object(h, MapMode::ReadOnly, usize::MAX, |b| {
                    b.len() == payload && b.iter().enumerate().all(|(i, &x)| x == pattern(n, i))
                }) == Ok(true)
        })
    };
    let written = verify(&mut handles, 1);
    // Free every other object, then compact: the survivors are copied (whole payloads) into
    // the gaps.
    let mut survivors = KVec::new();
    for (n, handle) in handles.into_iter().enumerate() {
        if n % 2 == 1 {
            pool.free(handle);
        } else if let Err(handle) = push(&mut survivors, handle) {
            pool.free(handle);
        }
    }
    let freed = pool.compact();
    // Survivor k was object 2k: verify with its own pattern number.
    let moved_ok = survivors.iter_mut().enumerate().all(|(k, h)| {
        pool.with_object(h, MapMode::ReadOnly, usize::MAX, |b| {
            b.len() == payload && b.iter().enumerate().all(|(i, &x)| x == pattern(2 * k, i))
        }) == Ok(true)
    });
    free_all(&pool, survivors);
    check!(test, written);
    check!(test, freed > 0);
    check!(test, moved_ok);
    // The contiguous run did reach objects in place over two pages (a fresh guest has free
    // blocks); else it would only repeat the single-page run.
    let contiguous = pool.zspages_contiguous.load(Ordering::Relaxed);
    check!(test, (layout == PageLayout::Contiguous) == (contiguous > 0));
    check_eq!(test, pool.total_pages(), 0);
}

fn obj_spans(spec: &logic::size_class::ClassSpec, idx: u32) -> bool {
    logic::layout::obj_place(spec, idx).spans
}

/// `zs_destroy_pool` while the migration core holds a page isolated: the core locked and
/// isolated a page of a zspage with a live object, the pool is destroyed, then the core
/// calls back (`migrate_page`). The callback must find no zspage (the page was unlinked
/// when destroy retired it), drop the page's link and back off, without touching the
/// destroyed pool; the zspage's pages go back once the core unlocks, and module exit can
/// complete (no page left linked).
pub(super) fn destroy_pool_while_page_isolated(test: &Test) {
    let baseline = PageBaseline::now();
    let pool = new_pool();
    let Ok(handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    let page = pool.object_place(&handle).1;
    // Left for destroy to free (tests/guest/kunit.sh expects its warning).
    let _ = handle.into_raw();
    let mut pool = Some(pool);
    let result = act_as_migration_core_on(page, || drop(pool.take()));
    check!(test, pool.is_none());
    check_eq!(test, result, Some((true, EAGAIN.to_errno())));
    baseline.check(test);
}

/// Compaction meets pages the migration core holds isolated (and locked): it does not back
/// off (isolation changes no zspage state) but the core's callbacks then decide under the
/// class lock. The core holds (a) the page of the zspage compaction empties: that zspage is
/// retired, and while the core holds the page the module keeps its page and reference
/// (the grace period passes meanwhile); the core's `migrate_page` then finds no zspage,
/// drops the link and backs off; (b) the page compaction moves the object into: the core's
/// `migrate_page` then moves the page with the object in it, intact.
pub(super) fn compaction_meets_isolated_pages(test: &Test) {
    use sys::test_pages;
    let pool = new_pool();
    let baseline = PageBaseline::now();
    // (a) the source zspage's page.
    let Some(Straggler {
        mut target,
        kept,
        class,
        free_slot_page,
    }) = straggler(test, &pool)
    else {
        return;
    };
    let src_page = pool.object_place(&target).1;
    let mut freed = 0;
    let mut at_grace = (false, 0);
    let src_result = act_as_migration_core_on(src_page, || {
        freed = pool.compact();
        sys::rcu_barrier();
        // SAFETY: the core (this case) holds a reference on the page.
        at_grace = unsafe {
            (
                test_pages::is_movable(src_page),
                test_pages::ref_count(src_page),
            )
        };
    });
    let moved_to = pool.object_place(&target).1;
    let intact_after_compaction = all_bytes(&pool, &mut target, TARGET_BYTE);
    // (b) the page the object went to, isolated before it is compacted into: a second
    // round with the roles of the first, on fresh zspages of the same class.
    let second = straggler(test, &pool);
    let mut dst_result = None;
    let mut freed_b = 0;
    let mut intact_after_migration = false;
    if let Some(Straggler {
        target: mut t2,
        kept: kept2,
        free_slot_page: dst_page,
        ..
    }) = second
    {
        dst_result = act_as_migration_core_on(dst_page, || freed_b = pool.compact_class(class));
        intact_after_migration =
            pool.object_place(&t2).1 != dst_page && all_bytes(&pool, &mut t2, TARGET_BYTE);
        pool.free(t2);
        free_all(&pool, kept2);
    }
    pool.free(target);
    free_all(&pool, kept);
    let zspage_pages = CLASSES.class(class).pages();
    check_eq!(test, freed, zspage_pages);
    check!(test, moved_to == free_slot_page);
    check!(test, intact_after_compaction);
    // Retired while the core held the page: still linked, and the module's reference kept
    // next to the core's.
    check_eq!(test, at_grace, (true, 2));
    check_eq!(test, src_result, Some((true, EAGAIN.to_errno())));
    check_eq!(test, freed_b, zspage_pages);
    check_eq!(test, dst_result, Some((true, 0)));
    check!(test, intact_after_migration);
    check_eq!(test, pool.total_pages(), 0);
    baseline.check(test);
}

// ---------------------------------------------------------------------------------------
// Cross-CPU meetings.

/// Which race the two threads run (see each `*_cross_cpu` case).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Race {
    FreeVsMove = 1,
    MapVsCompaction,
    FreeVsMigrate,
    CompactionVsMigrate,
    DestroyVsMigrate,
}

impl Race {
    fn from_u8(value: u8) -> Option<Race> {
        [
            Race::FreeVsMove,
            Race::MapVsCompaction,
            Race::FreeVsMigrate,
            Race::CompactionVsMigrate,
            Race::DestroyVsMigrate,
        ]
        .into_iter()
        .find(|race| *race as u8 == value)
    }
}

/// What went wrong in a meeting (the first error wins).
#[derive(Clone, Copy)]
#[repr(u8)]
enum MeetError {
    Parked = 1,
    NeverParked,
    ReleaseTimeout,
    DestroyedUnderCallback,
    NoThread,
    NotFinished,
}

impl MeetError {
    fn describe(code: u8) -> &'static str {
        match code {
            x if x == MeetError::NeverParked as u8 => "thread A never reached the dangerous point",
            x if x == MeetError::ReleaseTimeout as u8 => {
                "thread A, parked, was never released by thread B"
            }
            x if x == MeetError::DestroyedUnderCallback as u8 => {
                "pool destroy completed while a migration callback was inside the pool"
            }
            x if x == MeetError::NoThread as u8 => "cannot start a thread on CPU 0 and 1",
            x if x == MeetError::NotFinished as u8 => "the threads did not finish",
            _ => "parked twice",
        }
    }
}

static RACE: AtomicU8 = AtomicU8::new(0);
/// The parking hook fires once, and only once armed.
static ARMED: AtomicBool = AtomicBool::new(false);
/// Thread A is parked at the dangerous point.
static PARKED: AtomicBool = AtomicBool::new(false);
/// Thread B reached its own point (read the slot; retired every zspage).
static B_REACHED: AtomicBool = AtomicBool::new(false);
/// Thread B's racing operation returned.
static B_DONE: AtomicBool = AtomicBool::new(false);
static MEET_ERROR: AtomicU8 = AtomicU8::new(0);
static THREADS_DONE: AtomicUsize = AtomicUsize::new(0);
/// Results: the migration verdict, compaction's pages, whether the mapper saw its bytes.
static MEET_ISOLATED: AtomicBool = AtomicBool::new(false);
static MEET_RC: AtomicI32 = AtomicI32::new(0);
static MEET_FREED: AtomicUsize = AtomicUsize::new(0);
static MEET_OK: AtomicBool = AtomicBool::new(false);
/// The page the core acts on.
static MEET_PAGE: AtomicPtr<kernel::bindings::page> = AtomicPtr::new(core::ptr::null_mut());
/// The pool thread B destroys (a leaked `KBox`).
static DOOMED_POOL: AtomicPtr<Pool> = AtomicPtr::new(core::ptr::null_mut());

fn meet_error(error: MeetError) {
    let _ = MEET_ERROR.compare_exchange(0, error as u8, Ordering::AcqRel, Ordering::Acquire);
}

/// Parks thread A (once armed) until `flag`; false if not armed or `flag` never came.
fn park_until(flag: &AtomicBool) -> bool {
    if !ARMED.swap(false, Ordering::AcqRel) {
        return false;
    }
    if PARKED.swap(true, Ordering::AcqRel) {
        meet_error(MeetError::Parked);
    }
    let released = spin_until(MEET_TIMEOUT_MS, || flag.load(Ordering::Acquire));
    if !released {
        meet_error(MeetError::ReleaseTimeout);
    }
    released
}

/// The cross-CPU hook: parks thread A at its race's dangerous point, notes thread B's.
pub(super) fn meet_hook(point: hooks::Point) {
    use hooks::Point;
    let Some(race) = Race::from_u8(RACE.load(Ordering::Acquire)) else {
        return;
    };
    let target = HOOK_HANDLE.load(Ordering::Acquire);
    match (race, point) {
        // A compacts: parked between the copy and the repoint until B's free has read the
        // slot (the old place); B then waits for the class lock A holds.
        (Race::FreeVsMove, Point::AfterObjectCopy(raw)) if raw == target => {
            park_until(&B_REACHED);
        }
        (Race::FreeVsMove, Point::AfterFreeLookup(raw)) if raw == target => {
            B_REACHED.store(true, Ordering::Release);
        }
        // A maps: parked between the lookup and the read lock while B compacts.
        (Race::MapVsCompaction, Point::AfterMapLookup(raw)) if raw == target => {
            park_until(&B_DONE);
        }
        // A migrates: parked after the page -> zspage lookup while B frees or compacts.
        (Race::FreeVsMigrate | Race::CompactionVsMigrate, Point::AfterPageLookup) => {
            park_until(&B_DONE);
        }
        // A migrates: parked after the lookup while B destroys the pool; once B retired
        // every zspage, A watches for the destroy to finish, which must wait for A.
        (Race::DestroyVsMigrate, Point::AfterPageLookup) => {
            if park_until(&B_REACHED)
                && spin_until(DESTROY_WINDOW_MS, || B_DONE.load(Ordering::Acquire))
            {
                meet_error(MeetError::DestroyedUnderCallback);
            }
        }
        (Race::DestroyVsMigrate, Point::AfterDestroyRetire) => {
            B_REACHED.store(true, Ordering::Release);
        }
        _ => {}
    }
}

/// Thread B's start: waits until A is parked (false, and the meeting fails, if it never is).
fn wait_parked() -> bool {
    let parked = poll_until(MEET_TIMEOUT_MS, || PARKED.load(Ordering::Acquire));
    if !parked {
        meet_error(MeetError::NeverParked);
    }
    parked
}

/// The core's side of the migration races: isolate `MEET_PAGE`, arm the hook, migrate.
fn core_side() {
    let page = MEET_PAGE.load(Ordering::Acquire);
    let result = act_as_migration_core_on(page, || ARMED.store(true, Ordering::Release));
    if let Some((isolated, rc)) = result {
        MEET_ISOLATED.store(isolated, Ordering::Release);
        MEET_RC.store(rc, Ordering::Release);
    }
}

/// Thread `side` (0: A, 1: B) of `race`.
fn meet_side(race: Race, side: usize) {
    let a = side == 0;
    match race {
        Race::FreeVsMove if a => {
            ARMED.store(true, Ordering::Release);
            MEET_FREED.store(hook_pool().compact(), Ordering::Release);
        }
        Race::MapVsCompaction if a => {
            ARMED.store(true, Ordering::Release);
            // SAFETY: the case's target, which only this thread uses during the meeting.
            if let Some(mut handle) = unsafe { hook_handle(HOOK_HANDLE.load(Ordering::Acquire)) } {
                let saw =
                    hook_pool().with_object(&mut handle, MapMode::ReadWrite, usize::MAX, |b| {
                        let saw = b.iter().all(|&x| x == TARGET_BYTE);
                        b.fill(0x5a);
                        saw
                    });
                MEET_OK.store(saw == Ok(true), Ordering::Release);
                let _ = handle.into_raw();
            }
        }
        Race::FreeVsMigrate | Race::CompactionVsMigrate | Race::DestroyVsMigrate if a => {
            core_side()
        }
        Race::FreeVsMove | Race::FreeVsMigrate => {
            // Thread B frees the target; in `FreeVsMove` it must, whatever happened to A.
            if wait_parked() || race == Race::FreeVsMove {
                // Cleared only after the free: the hook recognises the target by it.
                let raw = HOOK_HANDLE.load(Ordering::Acquire);
                // SAFETY: the case handed its live handle over through `HOOK_HANDLE`.
                if let Some(handle) = unsafe { hook_handle(raw) } {
                    hook_pool().free(handle);
                }
                HOOK_HANDLE.store(0, Ordering::Release);
            }
        }
        Race::MapVsCompaction | Race::CompactionVsMigrate => {
            if wait_parked() {
                MEET_FREED.store(hook_pool().compact(), Ordering::Release);
            }
        }
        Race::DestroyVsMigrate => {
            if wait_parked() {
                let pool = DOOMED_POOL.swap(core::ptr::null_mut(), Ordering::AcqRel);
                if !pool.is_null() {
                    // SAFETY: the case leaked the pinned box into `DOOMED_POOL` and gave it
                    // to this thread, which takes it once (swap) and drops it in place.
                    drop(unsafe { Pin::new_unchecked(KBox::from_raw(pool)) });
                }
            }
        }
    }
    if !a {
        B_DONE.store(true, Ordering::Release);
    }
}

/// A meeting thread's body: `data` is its side (0 or 1).
extern "C" fn meet_thread(data: *mut core::ffi::c_void) -> i32 {
    if let Some(race) = Race::from_u8(RACE.load(Ordering::Acquire)) {
        meet_side(race, data as usize);
    }
    THREADS_DONE.fetch_add(1, Ordering::AcqRel);
    0
}

/// Runs `race` in two kthreads, A bound to CPU 0 and B to CPU 1, with the hook installed;
/// waits (bounded) for both. Unless `threads_done`, a thread may still be running after an
/// `Err`: the case must then leak what the threads use.
fn meet(race: Race) -> Result<(), Unmet> {
    extern "C" {
        fn rzs_kthread_run_on(
            f: unsafe extern "C" fn(*mut core::ffi::c_void) -> i32,
            data: *mut core::ffi::c_void,
            name: *const u8,
            cpu: u32,
        ) -> bool;
    }
    for flag in [
        &ARMED,
        &PARKED,
        &B_REACHED,
        &B_DONE,
        &MEET_ISOLATED,
        &MEET_OK,
    ] {
        flag.store(false, Ordering::Release);
    }
    MEET_ERROR.store(0, Ordering::Release);
    MEET_RC.store(0, Ordering::Release);
    MEET_FREED.store(0, Ordering::Release);
    THREADS_DONE.store(0, Ordering::Release);
    RACE.store(race as u8, Ordering::Release);
    kunit_hooks::set(kunit_hooks::Hook::Meet);
    let mut started = 0;
    for side in 0..2usize {
        // SAFETY: `meet_thread` only reads statics; the name is NUL-terminated.
        if unsafe {
            rzs_kthread_run_on(
                meet_thread,
                side as *mut core::ffi::c_void,
                c"rzs_meet".as_ptr().cast(),
                side as u32,
            )
        } {
            started += 1;
        } else {
            meet_error(MeetError::NoThread);
            // Let A (if started) time out rather than wait for a B that never comes.
            B_DONE.store(true, Ordering::Release);
            B_REACHED.store(true, Ordering::Release);
            break;
        }
    }
    let finished = poll_until(4 * MEET_TIMEOUT_MS, || {
        THREADS_DONE.load(Ordering::Acquire) == started
    });
    kunit_hooks::set(kunit_hooks::Hook::None);
    RACE.store(0, Ordering::Release);
    if !finished {
        // What a thread recorded before it stopped (a thread that oopsed never finishes).
        let code = match MEET_ERROR.load(Ordering::Acquire) {
            0 => MeetError::NotFinished as u8,
            code => code,
        };
        return Err(Unmet {
            why: MeetError::describe(code),
            threads_done: false,
        });
    }
    match MEET_ERROR.load(Ordering::Acquire) {
        0 => Ok(()),
        code => Err(Unmet {
            why: MeetError::describe(code),
            threads_done: true,
        }),
    }
}

/// Why a meeting failed, and whether both threads are gone (if not, what they use must be
/// leaked).
struct Unmet {
    why: &'static str,
    threads_done: bool,
}

/// Reports a failed meeting.
fn meet_failed(test: &Test, unmet: &Unmet) {
    pr_err!("cross-CPU meeting failed: {}\n", unmet.why);
    test.fail(file!(), line!(), unmet.why);
}

/// Free racing a move, on two CPUs: A (CPU 0) compacts and parks between copying the
/// target and repointing its handle; B (CPU 1) frees the target, reads the slot (the old
/// place) and waits for the class lock; A repoints and unlocks; B must free the object at
/// its new place.
pub(super) fn free_meets_compaction_move_cross_cpu(test: &Test) {
    let pool = new_pool();
    let pages_before = settled_live_pages();
    let Some(Straggler {
        target,
        kept,
        class,
        ..
    }) = straggler(test, &pool)
    else {
        return;
    };
    HOOK_POOL.store(core::ptr::from_ref(&*pool).cast_mut(), Ordering::Release);
    HOOK_HANDLE.store(target.into_raw(), Ordering::Release);
    if let Err(unmet) = meet(Race::FreeVsMove) {
        meet_failed(test, &unmet);
        if !unmet.threads_done {
            // A thread may still use the pool: leak it.
            core::mem::forget(kept);
            core::mem::forget(pool);
        }
        return;
    }
    // Thread B freed the target.
    check_eq!(test, HOOK_HANDLE.load(Ordering::Acquire), 0);
    let freed = MEET_FREED.load(Ordering::Acquire);
    check_free_after_move(test, &pool, kept, class, freed, pages_before);
}

/// Seed 001 (map vs compaction), on two CPUs: A (CPU 0) maps the target and parks between
/// the slot lookup and the read lock; B (CPU 1) compacts, moving the target and retiring
/// its zspage; A must re-check the slot and write through its mapping into the object at
/// its new place.
pub(super) fn seed001_map_meets_compaction_cross_cpu(test: &Test) {
    let pool = new_pool();
    let Some(Straggler {
        target,
        kept,
        class,
        ..
    }) = straggler(test, &pool)
    else {
        return;
    };
    let before = pool.object_place(&target).1;
    HOOK_POOL.store(core::ptr::from_ref(&*pool).cast_mut(), Ordering::Release);
    HOOK_HANDLE.store(target.raw(), Ordering::Release);
    let met = meet(Race::MapVsCompaction);
    HOOK_HANDLE.store(0, Ordering::Release);
    if let Err(unmet) = met {
        meet_failed(test, &unmet);
        if !unmet.threads_done {
            let _ = target.into_raw();
            core::mem::forget(kept);
            core::mem::forget(pool);
        }
        return;
    }
    check_map_after_move(
        test,
        &pool,
        target,
        kept,
        class,
        before,
        MEET_FREED.load(Ordering::Acquire),
        MEET_OK.load(Ordering::Acquire),
    );
}

/// Seed 003 (free vs migrate), on two CPUs: A (CPU 0, the migration core) isolated the
/// page of a zspage's last object and parks in `migrate_page` after the page -> zspage
/// lookup; B (CPU 1) frees the object, which retires the zspage. A must find it dead under
/// the lock and back off (`-EAGAIN`), dropping the page's link; nothing leaks.
pub(super) fn seed003_free_mid_migration_cross_cpu(test: &Test) {
    let pool = new_pool();
    let baseline = PageBaseline::now();
    let Ok(handle) = pool.malloc(100, GFP) else {
        test.fail(file!(), line!(), "malloc failed");
        return;
    };
    MEET_PAGE.store(pool.object_place(&handle).1, Ordering::Release);
    HOOK_POOL.store(core::ptr::from_ref(&*pool).cast_mut(), Ordering::Release);
    HOOK_HANDLE.store(handle.into_raw(), Ordering::Release);
    if let Err(unmet) = meet(Race::FreeVsMigrate) {
        meet_failed(test, &unmet);
        if !unmet.threads_done {
            core::mem::forget(pool);
        }
        return;
    }
    check_eq!(test, HOOK_HANDLE.load(Ordering::Acquire), 0);
    check!(test, MEET_ISOLATED.load(Ordering::Acquire));
    check_eq!(test, MEET_RC.load(Ordering::Acquire), EAGAIN.to_errno());
    baseline.check(test);
}

/// Compaction meeting a page the migration core holds, on two CPUs: A (CPU 0, the core)
/// isolated the page of the zspage that compaction will empty and parks in
/// `migrate_page` after the lookup; B (CPU 1) compacts, moving the object away and retiring
/// the zspage. A must find the zspage dead and back off; the object is intact.
pub(super) fn compaction_meets_migration_cross_cpu(test: &Test) {
    let pool = new_pool();
    let baseline = PageBaseline::now();
    let Some(Straggler {
        mut target,
        kept,
        class,
        ..
    }) = straggler(test, &pool)
    else {
        return;
    };
    MEET_PAGE.store(pool.object_place(&target).1, Ordering::Release);
    HOOK_POOL.store(core::ptr::from_ref(&*pool).cast_mut(), Ordering::Release);
    if let Err(unmet) = meet(Race::CompactionVsMigrate) {
        meet_failed(test, &unmet);
        if !unmet.threads_done {
            let _ = target.into_raw();
            core::mem::forget(kept);
            core::mem::forget(pool);
        }
        return;
    }
    let intact = all_bytes(&pool, &mut target, TARGET_BYTE);
    pool.free(target);
    free_all(&pool, kept);
    check_eq!(
        test,
        MEET_FREED.load(Ordering::Acquire),
        CLASSES.class(class).pages()
    );
    check!(test, MEET_ISOLATED.load(Ordering::Acquire));
    check_eq!(test, MEET_RC.load(Ordering::Acquire), EAGAIN.to_errno());
    check!(test, intact);
    check_eq!(test, pool.total_pages(), 0);
    baseline.check(test);
}

/// `zs_destroy_pool` vs in-flight migration, on two CPUs: A (CPU 0, the core) isolated a
/// page of a zspage with live objects and parks in `migrate_page` after the page -> zspage
/// lookup; B (CPU 1) destroys the pool. Destroy retires every zspage and must then wait for
/// A (its `rcu_barrier`): it must not complete while A is inside, and A, released, finds the
/// zspage dead under the (still valid) class lock and backs off. Module exit stays
/// possible: no page is left linked, none leaked.
pub(super) fn destroy_pool_mid_migration_cross_cpu(test: &Test) {
    let baseline = PageBaseline::now();
    let pool = new_pool();
    let mut page = core::ptr::null_mut();
    for _ in 0..2 {
        // Two live objects for destroy to free (tests/guest/kunit.sh expects its warning).
        match pool.malloc(100, GFP) {
            Ok(handle) => {
                page = pool.object_place(&handle).1;
                let _ = handle.into_raw();
            }
            Err(_) => {
                test.fail(file!(), line!(), "malloc failed");
                return;
            }
        }
    }
    MEET_PAGE.store(page, Ordering::Release);
    // SAFETY: the box is leaked pinned and taken back once, pinned, by thread B.
    let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(pool) });
    DOOMED_POOL.store(raw, Ordering::Release);
    if let Err(unmet) = meet(Race::DestroyVsMigrate) {
        // Thread B took the pool, or it stays leaked.
        return meet_failed(test, &unmet);
    }
    check!(test, DOOMED_POOL.load(Ordering::Acquire).is_null());
    check!(test, MEET_ISOLATED.load(Ordering::Acquire));
    check_eq!(test, MEET_RC.load(Ordering::Acquire), EAGAIN.to_errno());
    baseline.check(test);
}
