// SPDX-License-Identifier: GPL-2.0

//! Density: stored bytes per byte of memory the allocator uses.
//!
//! Memory used = pool pages x PAGE_SIZE (the allocator's own count) + the growth of
//! unreclaimable slab memory since before the pool was created (handle and zspage caches,
//! pool structures) + one PAGE_SIZE copy buffer per online CPU (both allocators keep exactly
//! one per CPU, module-wide). Measured full, after freeing a random half (the same half for
//! both allocators in a round), and after compacting; each time twice:
//! - `density_<state>_now`: as a user sees it at that moment, before `rcu_barrier()`;
//! - `density_<state>`: after `rcu_barrier()`, once every RCU callback ran (rust_zsmalloc
//!   frees a retired zspage one grace period after retiring it; zsmalloc frees at once).
//!
//! The "now" figure is the after-barrier memory plus what the barrier gave back to the page
//! allocator (free pages, per-CPU free lists included, after minus before): it does not
//! depend on how an allocator counts pages that wait for a grace period.
//! Each line also carries the growth of the zspage and handle slab caches in pages
//! (`/sys/kernel/slab/<cache>/slabs`; a merged cache counts the cache it shares).

use crate::{
    ffi::{self, Api, Pool, DENSITY_POOL, PAGE_SIZE},
    objects::Objects,
    pagegen::Rng,
    trace::Trace,
};
use kernel::prelude::*;

/// Memory readings taken before the pool existed (slab total) and right after its creation
/// (its caches: upstream creates them with the pool).
struct Baseline {
    slab_pages: usize,
    zspage_cache: usize,
    handle_cache: usize,
}

pub(crate) fn run(api: &'static Api, trace: &Trace, round: u32) -> Result {
    let n = trace.len();
    // Everything the benchmark itself allocates comes before the baseline.
    let mut order = KVVec::with_capacity(n, GFP_KERNEL)?;
    for i in 0..n {
        order.push(i, GFP_KERNEL)?;
    }
    shuffle(&mut order, round);
    ffi::rcu_barrier();
    // Reading a sysfs file allocates (kernfs, seq_file buffer): read one before the baseline
    // so that those slabs exist already and do not count as the pool's.
    cache_pages(ffi::RUST.handle_cache)?;
    let slab_pages = ffi::slab_pages();
    let pool = Pool::new(api, DENSITY_POOL)?;
    let baseline = Baseline {
        slab_pages,
        zspage_cache: cache_pages(api.zspage_cache)?,
        handle_cache: cache_pages(api.handle_cache)?,
    };
    for (kind, name) in [("zspage", api.zspage_cache), ("handle", api.handle_cache)] {
        // A merged cache's growth includes its other users' (none busy in the bench guest).
        let aliases = ffi::slab_cache_aliases(name).unwrap_or(0);
        pr_info!(
            "ZS-BENCH micro alloc={} round={round} cache={kind} name={name} aliases={aliases}\n",
            api.name
        );
    }
    let mut objects = Objects::with_capacity(&pool, trace)?;
    objects.fill(trace)?;
    let mut stored = trace.stored_bytes;
    report(api, round, "density_full", &pool, &baseline, stored)?;
    objects.verify(trace)?;
    for &i in order[..n / 2].iter() {
        stored -= objects.free(i);
    }
    report(api, round, "density_half", &pool, &baseline, stored)?;
    pool.compact();
    report(api, round, "density_compacted", &pool, &baseline, stored)?;
    objects.verify(trace)
}

fn cache_pages(name: &CStr) -> Result<usize> {
    ffi::slab_cache_pages(name).inspect_err(|e| {
        pr_err!("cannot read /sys/kernel/slab/{name}/slabs (CONFIG_SLUB_DEBUG?): {e:?}\n")
    })
}

/// Memory the pool uses at one moment, in pages.
struct Reading {
    pool_pages: usize,
    slab_pages: usize,
    zspage_cache: usize,
    handle_cache: usize,
    free_pages: usize,
}

impl Reading {
    fn take(api: &Api, pool: &Pool, baseline: &Baseline) -> Result<Reading> {
        // The page counters first: the sysfs reads below allocate and free.
        let free_pages = ffi::free_pages();
        let slab_pages = ffi::slab_pages().saturating_sub(baseline.slab_pages);
        let pool_pages = pool.total_pages();
        Ok(Reading {
            pool_pages,
            slab_pages,
            zspage_cache: cache_pages(api.zspage_cache)?.saturating_sub(baseline.zspage_cache),
            handle_cache: cache_pages(api.handle_cache)?.saturating_sub(baseline.handle_cache),
            free_pages,
        })
    }
}

fn report(
    api: &Api,
    round: u32,
    metric: &str,
    pool: &Pool,
    baseline: &Baseline,
    stored: usize,
) -> Result {
    let now = Reading::take(api, pool, baseline)?;
    ffi::rcu_barrier();
    let quiet = Reading::take(api, pool, baseline)?;
    let percpu = ffi::online_cpus() * PAGE_SIZE;
    let used = (quiet.pool_pages + quiet.slab_pages) * PAGE_SIZE + percpu;
    // What the grace period gave back was in use a moment ago.
    let released = quiet.free_pages.saturating_sub(now.free_pages);
    let used_now = used + released * PAGE_SIZE;
    for (suffix, used, reading, released) in
        [("_now", used_now, &now, released), ("", used, &quiet, 0)]
    {
        let ten_thousandths = stored * 10_000 / used.max(1);
        pr_info!(
            "ZS-BENCH micro alloc={} round={round} metric={metric}{suffix} value={}.{:04} stored={stored} pool_pages={} slab_pages={} zspage_cache_pages={} handle_cache_pages={} percpu={percpu} grace_released_pages={released}\n",
            api.name,
            ten_thousandths / 10_000,
            ten_thousandths % 10_000,
            reading.pool_pages,
            reading.slab_pages,
            reading.zspage_cache,
            reading.handle_cache,
        );
    }
    Ok(())
}

/// Fisher-Yates with a generator seeded by the round.
fn shuffle(order: &mut [usize], round: u32) {
    let mut rng = Rng::new(0x6861_6c66_0000_0000 | u64::from(round));
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
}
