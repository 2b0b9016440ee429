//! `zstest anon`: fill anonymous memory, push it to swap, verify it.
//!
//! The pages travel: process memory -> reclaim -> zswap (compress, store in
//! the allocator under test) -> swap-in on our read -> decompress. Any byte
//! that comes back different is an allocator (or mapping) bug.

use crate::content::{first_difference, Generator, Mix, PAGE_SIZE};
use crate::meminfo;
use crate::region::{Pageout, Region};
use crate::report::{CmdError, Mismatch, Summary};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// At most this many mismatching pages are listed on stderr; the rest are
/// only counted.
pub const MAX_LISTED: usize = 16;

pub struct AnonOpts {
    pub mib: u64,
    pub seed: u64,
    pub mix: Mix,
    pub pageout: bool,
    pub passes: u32,
    pub hold: Duration,
    /// Created once the data is filled (and paged out): the data is now held.
    pub ready: Option<PathBuf>,
    /// After `hold`, wait until this file exists before verifying (and so exiting).
    pub hold_until: Option<PathBuf>,
}

/// The result of checking a range of pages.
#[derive(Debug, Default)]
pub struct Check {
    /// Pages compared (including mismatching ones).
    pub verified: u64,
    /// Pages with at least one wrong byte.
    pub mismatches: u64,
    /// The first [`MAX_LISTED`] mismatches, in page order.
    pub listed: Vec<Mismatch>,
}

impl Check {
    fn add(&mut self, other: Check) {
        self.verified += other.verified;
        self.mismatches += other.mismatches;
        let room = MAX_LISTED.saturating_sub(self.listed.len());
        self.listed.extend(other.listed.into_iter().take(room));
    }
}

/// Compares one page with what it should hold: generated content at
/// `version`, or zeros when `version` is `None` (a discarded page).
pub fn check_page(
    gen: &Generator,
    p: u64,
    version: Option<u64>,
    got: &[u8],
    scratch: &mut [u8],
) -> Option<Mismatch> {
    match version {
        Some(v) => gen.anon_page(p, v, scratch),
        None => scratch.fill(0),
    }
    let offset = first_difference(scratch, got)?;
    Some(Mismatch {
        location: vec![("page", p.to_string())],
        offset: offset as u64,
        expected: Some(scratch[offset]),
        got: got.get(offset).copied(),
    })
}

/// Verifies `mem` (whole pages, page 0 first) against the generator, with
/// `version_of(p)` giving each page's expected version as in [`check_page`].
pub fn verify_pages(
    gen: &Generator,
    mem: &[u8],
    version_of: impl Fn(usize) -> Option<u64>,
) -> Check {
    let mut check = Check::default();
    let mut scratch = [0u8; PAGE_SIZE];
    for (p, got) in mem.chunks(PAGE_SIZE).enumerate() {
        check.verified += 1;
        if let Some(m) = check_page(gen, p as u64, version_of(p), got, &mut scratch) {
            check.mismatches += 1;
            if check.listed.len() < MAX_LISTED {
                check.listed.push(m);
            }
        }
    }
    check
}

/// Prints a warning once when the kernel lacks `MADV_PAGEOUT`.
pub fn warn_pageout_unsupported() {
    eprintln!("zstest: warning: madvise(MADV_PAGEOUT) not supported (EINVAL or ENOSYS); relying on memory pressure alone");
}

/// Between the fill and the first verification: announce that the data is held (`ready`),
/// then keep it for `hold` and until `hold_until` exists, so that a test can look at the
/// allocator while the data is certainly stored, and release it when it is done.
fn hold(o: &AnonOpts) -> Result<(), CmdError> {
    if let Some(ready) = &o.ready {
        std::fs::write(ready, b"").map_err(|e| CmdError::sys(ready.display(), e))?;
    }
    std::thread::sleep(o.hold);
    if let Some(release) = &o.hold_until {
        while !Path::new(release).exists() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

pub fn run(o: &AnonOpts) -> Result<Summary, CmdError> {
    let start = Instant::now();
    let (mut region, pages) = Region::for_mib(o.mib)?;
    let gen = Generator::new(o.seed, o.mix.clone());

    // Under a memory-limited cgroup this loop alone already pushes the early
    // pages out to swap.
    for p in 0..pages {
        gen.anon_page(p as u64, 0, region.page_mut(p));
    }
    let fill_time = start.elapsed();

    // Stays true only while the kernel accepts MADV_PAGEOUT.
    let mut pageout = o.pageout;
    let mut pageout_unsupported = false;
    let mut pageout_calls = 0;
    let mut swapped_kib = None;
    let mut check = Check::default();
    let verify_start = Instant::now();
    for pass in 0..o.passes {
        // Paging out again before every pass makes each pass a fresh round
        // trip through swap (pages read back in are otherwise resident).
        if pageout {
            let (state, calls) = region
                .pageout(0, pages)
                .map_err(|e| CmdError::sys("madvise(MADV_PAGEOUT)", e))?;
            pageout_calls += calls;
            if state == Pageout::Unsupported {
                warn_pageout_unsupported();
                pageout = false;
                pageout_unsupported = true;
            }
        }
        if pass == 0 {
            swapped_kib = meminfo::self_vm_swap_kib();
            hold(o)?;
        }
        check.add(verify_pages(&gen, region.as_slice(), |_| Some(0)));
    }
    let verify_time = verify_start.elapsed();

    let mut s = Summary::new("anon");
    s.put("mib", o.mib)
        .put("pages", pages)
        .put("verified", check.verified)
        .put("mismatches", check.mismatches)
        .put_secs("secs", start.elapsed())
        .put("passes", o.passes)
        .put("seed", o.seed)
        .put("mix", &o.mix)
        .put(
            "pageout",
            match (o.pageout, pageout_unsupported) {
                (false, _) => "0",
                (true, false) => "1",
                (true, true) => "unsupported",
            },
        )
        .put("pageout_calls", pageout_calls)
        .put("swapped_kib", meminfo::or_na(swapped_kib))
        .put_secs("fill_secs", fill_time)
        .put_secs("verify_secs", verify_time);
    for m in check.listed {
        eprintln!("zstest: anon mismatch: {m}");
        s.mismatch(m);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::EXIT_MISMATCH;

    fn filled(gen: &Generator, pages: usize) -> Vec<u8> {
        let mut mem = vec![0u8; pages * PAGE_SIZE];
        for (p, page) in mem.chunks_mut(PAGE_SIZE).enumerate() {
            gen.anon_page(p as u64, 0, page);
        }
        mem
    }

    #[test]
    fn clean_memory_verifies() {
        let gen = Generator::new(3, Mix::default());
        let mem = filled(&gen, 20);
        let c = verify_pages(&gen, &mem, |_| Some(0));
        assert_eq!((c.verified, c.mismatches), (20, 0));
        assert!(c.listed.is_empty());
    }

    #[test]
    fn corrupted_byte_is_found() {
        let gen = Generator::new(3, Mix::default());
        let mut mem = filled(&gen, 20);
        let at = 7 * PAGE_SIZE + 1234;
        let expected = mem[at];
        mem[at] ^= 0x40;
        let c = verify_pages(&gen, &mem, |_| Some(0));
        assert_eq!((c.verified, c.mismatches), (20, 1));
        let m = &c.listed[0];
        assert_eq!(m.location, vec![("page", "7".to_string())]);
        assert_eq!(m.offset, 1234);
        assert_eq!(m.expected, Some(expected));
        assert_eq!(m.got, Some(expected ^ 0x40));
        let mut s = Summary::new("anon");
        s.mismatch(m.clone());
        assert_eq!(s.exit_code(), EXIT_MISMATCH);
    }

    #[test]
    fn wrong_version_and_discarded_pages() {
        let gen = Generator::new(3, Mix::default());
        let mem = filled(&gen, 4);
        // Stale content (version 0 where 1 is expected) must be caught.
        let c = verify_pages(&gen, &mem, |p| Some((p == 2) as u64));
        assert_eq!(c.mismatches, 1);
        // Discarded pages are expected to read as zeros.
        let zeros = vec![0u8; 2 * PAGE_SIZE];
        assert_eq!(verify_pages(&gen, &zeros, |_| None).mismatches, 0);
        assert_eq!(verify_pages(&gen, &zeros, |_| Some(0)).mismatches, 2);
    }

    #[test]
    fn run_small_region_with_pageout() {
        let o = AnonOpts {
            mib: 2,
            seed: 5,
            mix: Mix::default(),
            pageout: true,
            passes: 2,
            hold: Duration::ZERO,
            ready: None,
            hold_until: None,
        };
        let s = run(&o).unwrap();
        assert_eq!(s.exit_code(), 0);
        let line = s.to_string();
        assert!(line.starts_with("anon ok mib=2 pages=512 verified=1024 mismatches=0 secs="));
    }
}
