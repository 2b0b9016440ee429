// SPDX-License-Identifier: GPL-2.0

//! The benchmark's thin unsafe layer: the two allocators' C APIs behind one safe `Pool`,
//! kernel threads, the clock, lzo, and the counters the density figures read.

use core::{
    ffi::c_void,
    ptr::NonNull,
    sync::atomic::{AtomicUsize, Ordering},
};
use kernel::{bindings, c_str, prelude::*, str::CStr};

/// `enum zs_mapmode` (include/linux/zsmalloc.h), shared by both APIs.
const ZS_MM_RO: u32 = 1;
const ZS_MM_WO: u32 = 2;

/// Worst-case lzo output for a page (`lzo1x_worst_compress(PAGE_SIZE)`).
pub(crate) const LZO_WORST: usize = PAGE_SIZE + PAGE_SIZE / 16 + 64 + 3 + 2;
/// `LZO1X_1_MEM_COMPRESS`.
pub(crate) const LZO_WORKMEM: usize = 8192 * 2;
pub(crate) const PAGE_SIZE: usize = 4096;

type CreateFn = unsafe extern "C" fn(*const u8) -> *mut c_void;
type DestroyFn = unsafe extern "C" fn(*mut c_void);
type MallocFn = unsafe extern "C" fn(*mut c_void, usize, bindings::gfp_t) -> usize;
type FreeFn = unsafe extern "C" fn(*mut c_void, usize);
type MapFn = unsafe extern "C" fn(*mut c_void, usize, u32) -> *mut c_void;
type UnmapFn = unsafe extern "C" fn(*mut c_void, usize);
type PagesFn = unsafe extern "C" fn(*mut c_void) -> usize;

/// One allocator's zsmalloc-style API.
pub(crate) struct Api {
    pub(crate) name: &'static str,
    create: CreateFn,
    destroy: DestroyFn,
    malloc: MallocFn,
    free: FreeFn,
    map: MapFn,
    unmap: UnmapFn,
    total_pages: PagesFn,
    compact: PagesFn,
    /// The slab caches holding the pool's zspage descriptors and handles, by the name they
    /// have for a pool named `DENSITY_POOL` (upstream 6.12 makes both per pool,
    /// `zspage-<pool>` and `zs_handle-<pool>`; rust_zsmalloc has one of each per module).
    pub(crate) zspage_cache: &'static CStr,
    pub(crate) handle_cache: &'static CStr,
}

/// The name of the density pool; `Api::zspage_cache` and `handle_cache` follow it.
pub(crate) const DENSITY_POOL: &CStr = c_str!("zs_bench_density");

extern "C" {
    // Upstream zsmalloc.ko (mm/zsmalloc.c).
    fn zs_create_pool(name: *const u8) -> *mut c_void;
    fn zs_destroy_pool(pool: *mut c_void);
    fn zs_malloc(pool: *mut c_void, size: usize, gfp: bindings::gfp_t) -> usize;
    fn zs_free(pool: *mut c_void, handle: usize);
    fn zs_map_object(pool: *mut c_void, handle: usize, mode: u32) -> *mut c_void;
    fn zs_unmap_object(pool: *mut c_void, handle: usize);
    fn zs_get_total_pages(pool: *mut c_void) -> usize;
    fn zs_compact(pool: *mut c_void) -> usize;
    // zsmalloc_rs.ko: the same API under its own names (zs_api.rs).
    fn rzs_create_pool(name: *const u8) -> *mut c_void;
    fn rzs_destroy_pool(pool: *mut c_void);
    fn rzs_malloc(pool: *mut c_void, size: usize, gfp: bindings::gfp_t) -> usize;
    fn rzs_free(pool: *mut c_void, handle: usize);
    fn rzs_map_object(pool: *mut c_void, handle: usize, mode: u32) -> *mut c_void;
    fn rzs_unmap_object(pool: *mut c_void, handle: usize);
    fn rzs_get_total_pages(pool: *mut c_void) -> usize;
    fn rzs_compact(pool: *mut c_void) -> usize;
    // bench/helpers.c.
    fn rzsb_param_rounds() -> u32;
    fn rzsb_param_objects() -> u32;
    fn rzsb_param_run_ms() -> u32;
    fn rzsb_param_only() -> u32;
    fn rzsb_kthread_run(
        f: unsafe extern "C" fn(*mut c_void) -> i32,
        data: *mut c_void,
        name: *const u8,
    ) -> bool;
    fn rzsb_slab_pages() -> usize;
    fn rzsb_free_pages() -> usize;
    fn rzsb_slab_cache_pages(name: *const u8) -> isize;
    fn rzsb_slab_cache_aliases(name: *const u8) -> isize;
    fn rzsb_online_cpus() -> u32;
    fn rzsb_gfp() -> bindings::gfp_t;
    // lib/lzo.
    fn lzo1x_1_compress(
        src: *const u8,
        src_len: usize,
        dst: *mut u8,
        dst_len: *mut usize,
        wrkmem: *mut c_void,
    ) -> i32;
}

pub(crate) static UPSTREAM: Api = Api {
    name: "zsmalloc",
    create: zs_create_pool,
    destroy: zs_destroy_pool,
    malloc: zs_malloc,
    free: zs_free,
    map: zs_map_object,
    unmap: zs_unmap_object,
    total_pages: zs_get_total_pages,
    compact: zs_compact,
    zspage_cache: c_str!("zspage-zs_bench_density"),
    handle_cache: c_str!("zs_handle-zs_bench_density"),
};

pub(crate) static RUST: Api = Api {
    name: "rust_zsmalloc",
    create: rzs_create_pool,
    destroy: rzs_destroy_pool,
    malloc: rzs_malloc,
    free: rzs_free,
    map: rzs_map_object,
    unmap: rzs_unmap_object,
    total_pages: rzs_get_total_pages,
    compact: rzs_compact,
    zspage_cache: c_str!("rust_zsmalloc_zspage"),
    handle_cache: c_str!("rust_zsmalloc_handle"),
};

/// A pool of one of the allocators, destroyed on drop.
pub(crate) struct Pool {
    api: &'static Api,
    raw: NonNull<c_void>,
}

// SAFETY: both allocators' pools are thread-safe (their own locks), as zram and zswap rely on.
unsafe impl Send for Pool {}
// SAFETY: as above; every method takes `&self` and the allocator serializes internally.
unsafe impl Sync for Pool {}

/// A live object of `size` bytes. Not `Copy`: freeing consumes it, so a freed handle cannot be
/// mapped or freed again.
pub(crate) struct Handle {
    raw: usize,
    size: usize,
}

impl Pool {
    pub(crate) fn new(api: &'static Api, name: &CStr) -> Result<Pool> {
        // SAFETY: `name` is NUL-terminated and outlives the call (both allocators copy it).
        let raw = unsafe { (api.create)(name.as_char_ptr().cast()) };
        NonNull::new(raw).map(|raw| Pool { api, raw }).ok_or(ENOMEM)
    }

    pub(crate) fn malloc(&self, size: usize) -> Result<Handle> {
        // SAFETY: `raw` is a live pool of `api`; the gfp is plain flags.
        let raw = unsafe { (self.api.malloc)(self.raw.as_ptr(), size, rzsb_gfp()) };
        // Both return an error-valued handle (`ERR_PTR`) or 0 on failure.
        if raw == 0 || raw >= (-4095isize) as usize {
            return Err(ENOMEM);
        }
        Ok(Handle { raw, size })
    }

    pub(crate) fn free(&self, handle: Handle) {
        // SAFETY: `handle` came from `malloc` of this pool and is consumed here, so it is live
        // and freed once.
        unsafe { (self.api.free)(self.raw.as_ptr(), handle.raw) };
    }

    /// Copies `data` (at most the object's size) into the object (write-only mapping).
    pub(crate) fn write(&self, handle: &Handle, data: &[u8]) {
        let len = data.len().min(handle.size);
        // SAFETY: `handle` is live in this pool (not consumed by `free`); the mapping covers
        // the object's `size` bytes until the unmap below, and `len <= size`; map/unmap do not
        // nest (the mapped window is per CPU).
        unsafe {
            let obj = (self.api.map)(self.raw.as_ptr(), handle.raw, ZS_MM_WO);
            core::ptr::copy_nonoverlapping(data.as_ptr(), obj.cast::<u8>(), len);
            (self.api.unmap)(self.raw.as_ptr(), handle.raw);
        }
    }

    /// Copies the object's first `out.len()` bytes (at most its size) out (read-only mapping).
    pub(crate) fn read(&self, handle: &Handle, out: &mut [u8]) {
        let len = out.len().min(handle.size);
        // SAFETY: as in `write`, reading instead of writing.
        unsafe {
            let obj = (self.api.map)(self.raw.as_ptr(), handle.raw, ZS_MM_RO);
            core::ptr::copy_nonoverlapping(obj.cast::<u8>().cast_const(), out.as_mut_ptr(), len);
            (self.api.unmap)(self.raw.as_ptr(), handle.raw);
        }
    }

    pub(crate) fn total_pages(&self) -> usize {
        // SAFETY: `raw` is a live pool of `api`.
        unsafe { (self.api.total_pages)(self.raw.as_ptr()) }
    }

    pub(crate) fn compact(&self) -> usize {
        // SAFETY: `raw` is a live pool of `api`; compaction may sleep, callers are threads.
        unsafe { (self.api.compact)(self.raw.as_ptr()) }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // SAFETY: `raw` is a live pool of `api`, destroyed once; `Handle`s do not keep it.
        unsafe { (self.api.destroy)(self.raw.as_ptr()) };
    }
}

impl Handle {
    pub(crate) fn size(&self) -> usize {
        self.size
    }
}

/// The module parameters (bench/helpers.c).
pub(crate) struct Params {
    pub(crate) rounds: u32,
    pub(crate) objects: usize,
    pub(crate) run_ms: u32,
    /// 0: both allocators; 1: rust_zsmalloc only; 2: zsmalloc only.
    pub(crate) only: u32,
}

pub(crate) fn params() -> Params {
    // SAFETY: plain reads of module parameters, fixed after load.
    unsafe {
        Params {
            rounds: rzsb_param_rounds(),
            objects: rzsb_param_objects() as usize,
            run_ms: rzsb_param_run_ms(),
            only: rzsb_param_only(),
        }
    }
}

pub(crate) fn now_ns() -> i64 {
    // SAFETY: `ktime_get` has no preconditions.
    unsafe { bindings::ktime_get() }
}

pub(crate) fn msleep(ms: u32) {
    // SAFETY: called from process context (module init), which may sleep.
    unsafe { bindings::msleep(ms) };
}

pub(crate) fn slab_pages() -> usize {
    // SAFETY: reads a global counter.
    unsafe { rzsb_slab_pages() }
}

/// Free pages including the per-CPU free lists (bench/helpers.c): the difference of two
/// readings is what was given back to the page allocator in between.
pub(crate) fn free_pages() -> usize {
    // SAFETY: reads zone counters and per-CPU list lengths; no locks, no preconditions.
    unsafe { rzsb_free_pages() }
}

/// Pages in the slabs of the slab cache `name` (its sysfs counters), or the errno if they
/// cannot be read. Process context: it reads a sysfs file.
pub(crate) fn slab_cache_pages(name: &CStr) -> Result<usize> {
    // SAFETY: `name` is NUL-terminated and outlives the call; module init may sleep.
    let pages = unsafe { rzsb_slab_cache_pages(name.as_char_ptr().cast()) };
    usize::try_from(pages).map_err(|_| Error::from_errno(pages as i32))
}

/// How many other cache names share the slabs of cache `name` (merged caches), or the errno.
pub(crate) fn slab_cache_aliases(name: &CStr) -> Result<usize> {
    // SAFETY: as in `slab_cache_pages`.
    let aliases = unsafe { rzsb_slab_cache_aliases(name.as_char_ptr().cast()) };
    usize::try_from(aliases).map_err(|_| Error::from_errno(aliases as i32))
}

pub(crate) fn online_cpus() -> usize {
    // SAFETY: reads the online mask's weight.
    unsafe { rzsb_online_cpus() as usize }
}

/// Waits until every callback queued by `call_rcu` (the retired zspages of rust_zsmalloc) ran,
/// so that density counts memory as it is once the allocator is quiet.
pub(crate) fn rcu_barrier() {
    // SAFETY: process context; no locks held.
    unsafe { bindings::rcu_barrier() };
}

/// lzo1x-1 compressed length of `src` (at most a page), or `None` if lzo failed or a
/// buffer is too small (`dst`: `LZO_WORST` bytes, `work`: `LZO_WORKMEM`).
pub(crate) fn lzo_len(src: &[u8], dst: &mut [u8], work: &mut [u8]) -> Option<usize> {
    if src.len() > PAGE_SIZE || dst.len() < LZO_WORST || work.len() < LZO_WORKMEM {
        return None;
    }
    let mut len = dst.len();
    // SAFETY: `dst` holds lzo's worst case for `src` and `work` is `LZO1X_1_MEM_COMPRESS`
    // bytes (checked above); both are exclusively borrowed for the call.
    let ret = unsafe {
        lzo1x_1_compress(
            src.as_ptr(),
            src.len(),
            dst.as_mut_ptr(),
            &mut len,
            work.as_mut_ptr().cast(),
        )
    };
    (ret == 0).then_some(len)
}

/// Runs `body(ctx, id)` for `id in 0..threads` on that many kernel threads and waits for all
/// of them. Returns how many ran (fewer if a thread could not be created).
pub(crate) fn run_threads<T: Sync>(threads: usize, ctx: &T, body: fn(&T, usize)) -> usize {
    struct Job<'a, T> {
        ctx: &'a T,
        body: fn(&T, usize),
        id: usize,
        done: &'a AtomicUsize,
    }
    /// # Safety
    ///
    /// `data` points at a `Job<T>` that outlives the thread.
    unsafe extern "C" fn shim<T: Sync>(data: *mut c_void) -> i32 {
        // SAFETY: `run_threads` passes a `Job` that outlives the thread: it waits for `done`
        // to count every started thread before its jobs go out of scope.
        let job = unsafe { &*data.cast::<Job<'_, T>>() };
        (job.body)(job.ctx, job.id);
        job.done.fetch_add(1, Ordering::Release);
        0
    }
    let done = AtomicUsize::new(0);
    let mut jobs = KVec::new();
    for id in 0..threads {
        if jobs
            .push(
                Job {
                    ctx,
                    body,
                    id,
                    done: &done,
                },
                GFP_KERNEL,
            )
            .is_err()
        {
            break;
        }
    }
    let mut started = 0;
    for job in jobs.iter() {
        // SAFETY: `job` lives until every started thread counted itself in `done` (below);
        // `jobs` is not resized any more, so the pointer stays valid. The name is a C string.
        if unsafe {
            rzsb_kthread_run(
                shim::<T>,
                core::ptr::from_ref(job).cast_mut().cast(),
                c"zs_bench".as_ptr().cast(),
            )
        } {
            started += 1;
        }
    }
    while done.load(Ordering::Acquire) < started {
        msleep(1);
    }
    started
}
