//! `zstest stress`: a randomised mix of rewrites, pageouts, discards and
//! spot checks over one region, then a full verification.
//!
//! Where `anon` writes everything once, this keeps the allocator churning:
//! rewritten pages invalidate their old compressed copies, discards free
//! swapped objects, and pageouts of random ranges mix fresh and stale pages,
//! which is what exposes use-after-free and migration/compaction bugs.
//! Every page carries a version so that stale data coming back is caught.

use crate::anon::{check_page, verify_pages, warn_pageout_unsupported};
use crate::content::{Generator, Mix, Rng, PAGE_SIZE};
use crate::region::{Pageout, Region};
use crate::report::{CmdError, Summary};
use std::time::{Duration, Instant};

pub struct StressOpts {
    pub mib: u64,
    pub duration: Duration,
    pub seed: u64,
    pub mix: Mix,
    /// Hard cap on loop iterations, so the run ends even if the clock
    /// misbehaves.
    pub max_iters: u64,
}

/// Longest run of pages one rewrite or discard touches.
const MAX_REWRITE: u64 = 64;
const MAX_DISCARD: u64 = 16;
/// Longest range one pageout covers (one 2 MiB chunk).
const MAX_PAGEOUT: u64 = 512;
/// Pages checked per spot check.
const SAMPLE: u64 = 32;

/// Per-page expected state: `Some(version)` of generated content, or `None`
/// after a discard (reads as zeros).
struct Pages {
    versions: Vec<Option<u32>>,
}

impl Pages {
    fn bump(&mut self, p: usize) -> u64 {
        let v = self.versions[p].map_or(1, |v| v.wrapping_add(1));
        self.versions[p] = Some(v);
        v as u64
    }

    fn version(&self, p: usize) -> Option<u64> {
        self.versions[p].map(u64::from)
    }
}

/// Operation counters for the summary.
#[derive(Default)]
struct Counts {
    iters: u64,
    rewritten: u64,
    pageout_calls: u64,
    discarded: u64,
    sampled: u64,
}

pub fn run(o: &StressOpts) -> Result<Summary, CmdError> {
    let start = Instant::now();
    let (mut region, pages) = Region::for_mib(o.mib)?;
    let gen = Generator::new(o.seed, o.mix.clone());
    let mut state = Pages {
        versions: vec![Some(0); pages],
    };
    for p in 0..pages {
        gen.anon_page(p as u64, 0, region.page_mut(p));
    }

    // Operation choices come from their own stream, so a failing run can be
    // replayed with the same seed (timing aside).
    let mut rng = Rng::new(o.seed ^ 0x5354_5245_5353_0000);
    let mut n = Counts::default();
    let mut pageout_ok = true;
    let mut spot_failure = None;
    let mut scratch = [0u8; PAGE_SIZE];
    let total = pages as u64;
    while n.iters < o.max_iters && start.elapsed() < o.duration && spot_failure.is_none() {
        n.iters += 1;
        let first = rng.below(total);
        match rng.below(100) {
            0..=49 => {
                let count = 1 + rng.below(MAX_REWRITE.min(total - first));
                for p in first as usize..(first + count) as usize {
                    let v = state.bump(p);
                    gen.anon_page(p as u64, v, region.page_mut(p));
                }
                n.rewritten += count;
            }
            50..=64 if pageout_ok => {
                let count = 1 + rng.below(MAX_PAGEOUT.min(total - first));
                let (res, calls) = region
                    .pageout(first as usize, count as usize)
                    .map_err(|e| CmdError::sys("madvise(MADV_PAGEOUT)", e))?;
                n.pageout_calls += calls;
                if res == Pageout::Unsupported {
                    warn_pageout_unsupported();
                    pageout_ok = false;
                }
            }
            65..=69 => {
                let count = 1 + rng.below(MAX_DISCARD.min(total - first));
                region
                    .discard(first as usize, count as usize)
                    .map_err(|e| CmdError::sys("madvise(MADV_DONTNEED)", e))?;
                for p in first as usize..(first + count) as usize {
                    state.versions[p] = None;
                }
                n.discarded += count;
            }
            _ => {
                for _ in 0..SAMPLE {
                    let p = rng.below(total) as usize;
                    n.sampled += 1;
                    let v = state.version(p);
                    if let Some(m) = check_page(&gen, p as u64, v, region.page(p), &mut scratch) {
                        spot_failure = Some(m);
                        break;
                    }
                }
            }
        }
    }
    let loop_time = start.elapsed();

    // Final full pass: one more pageout first so the last round trip goes
    // through swap too.
    if pageout_ok {
        let (_, calls) = region
            .pageout(0, pages)
            .map_err(|e| CmdError::sys("madvise(MADV_PAGEOUT)", e))?;
        n.pageout_calls += calls;
    }
    let check = verify_pages(&gen, region.as_slice(), |p| state.version(p));

    let mut s = Summary::new("stress");
    s.put("mib", o.mib)
        .put("pages", pages)
        .put("verified", check.verified)
        .put("mismatches", check.mismatches)
        .put_secs("secs", start.elapsed())
        .put_secs("loop_secs", loop_time)
        .put("iters", n.iters)
        .put("rewritten", n.rewritten)
        .put("pageout_calls", n.pageout_calls)
        .put("discarded", n.discarded)
        .put("sampled", n.sampled)
        .put("seed", o.seed)
        .put("mix", &o.mix)
        .put("pageout", if pageout_ok { "1" } else { "unsupported" });
    // A spot-check failure is reported first: it is the earliest sign.
    if let Some(m) = spot_failure {
        eprintln!("zstest: stress spot-check mismatch: {m}");
        s.mismatch(m);
    }
    for m in check.listed {
        eprintln!("zstest: stress mismatch: {m}");
        s.mismatch(m);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_run_passes_and_stops_on_iteration_cap() {
        let o = StressOpts {
            mib: 2,
            duration: Duration::from_secs(600),
            seed: 9,
            mix: Mix::default(),
            max_iters: 2000,
        };
        let s = run(&o).unwrap();
        let line = s.to_string();
        assert_eq!(s.exit_code(), 0, "{line}");
        assert!(line.starts_with("stress ok mib=2 pages=512 verified=512 mismatches=0 "));
        assert!(line.contains(" iters=2000 "), "{line}");
    }

    #[test]
    fn stops_on_time() {
        let o = StressOpts {
            mib: 1,
            duration: Duration::from_millis(200),
            seed: 1,
            mix: Mix::default(),
            max_iters: u64::MAX,
        };
        let t = Instant::now();
        let s = run(&o).unwrap();
        assert_eq!(s.exit_code(), 0);
        assert!(t.elapsed() < Duration::from_secs(30));
    }
}
