//! An anonymous private memory mapping and the `madvise` calls that push its
//! pages out to swap (and so through zswap into the allocator under test).

use crate::content::PAGE_SIZE;
use std::io;

/// `MADV_PAGEOUT` (Linux 5.4+): reclaim the range now, writing anonymous
/// pages to swap. Spelled out rather than taken from `libc` so the value the
/// kernel sees is obvious when reading straces.
pub const MADV_PAGEOUT: libc::c_int = 21;

/// Pageout is done in chunks of this size so one call never has to isolate
/// a huge range at once and progress is spread over the region.
pub const PAGEOUT_CHUNK: usize = 2 << 20;

/// An `mmap(MAP_PRIVATE | MAP_ANONYMOUS)` region, unmapped on drop.
pub struct Region {
    ptr: *mut u8,
    len: usize,
}

/// What a pageout request achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pageout {
    /// The kernel accepted the request (it may still keep some pages).
    Done,
    /// `EINVAL` or `ENOSYS`: the kernel has no `MADV_PAGEOUT` (or no madvise at all, as a
    /// tinyconfig kernel without `CONFIG_ADVISE_SYSCALLS`); carry on without it.
    Unsupported,
}

impl Region {
    /// Maps a region of `mib` MiB for a subcommand's `--mib`, returning it with its page count.
    pub fn for_mib(mib: u64) -> Result<(Region, usize), crate::report::CmdError> {
        use crate::report::CmdError;
        let pages = mib
            .checked_mul((1 << 20) / PAGE_SIZE as u64)
            .and_then(|p| usize::try_from(p).ok())
            .filter(|&p| p > 0)
            .ok_or_else(|| CmdError::Usage(format!("bad --mib {mib}")))?;
        let region = Region::new(pages).map_err(|e| CmdError::sys(format!("mmap {mib} MiB"), e))?;
        Ok((region, pages))
    }

    /// Maps `pages` pages of zero-filled anonymous memory.
    pub fn new(pages: usize) -> io::Result<Region> {
        let len = pages
            .checked_mul(PAGE_SIZE)
            .filter(|&l| l > 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad region size"))?;
        // SAFETY: a fresh anonymous mapping; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Region {
            ptr: ptr.cast(),
            len,
        })
    }

    pub fn pages(&self) -> usize {
        self.len / PAGE_SIZE
    }

    /// The whole region.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: a live mapping we own; `&self` excludes writers.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Page `p` of the region.
    pub fn page(&self, p: usize) -> &[u8] {
        assert!(p < self.pages());
        // SAFETY: in bounds of a live mapping we own; `&self` excludes writers.
        unsafe { std::slice::from_raw_parts(self.ptr.add(p * PAGE_SIZE), PAGE_SIZE) }
    }

    /// Page `p` of the region, writable.
    pub fn page_mut(&mut self, p: usize) -> &mut [u8] {
        assert!(p < self.pages());
        // SAFETY: in bounds of a live mapping we own; `&mut self` is unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(p * PAGE_SIZE), PAGE_SIZE) }
    }

    fn advise(&mut self, first: usize, count: usize, advice: libc::c_int) -> io::Result<()> {
        assert!(first + count <= self.pages());
        // SAFETY: the range lies inside our own mapping. `&mut self` because
        // MADV_DONTNEED changes what the memory reads as.
        let rc = unsafe {
            libc::madvise(
                self.ptr.add(first * PAGE_SIZE).cast(),
                count * PAGE_SIZE,
                advice,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Asks the kernel to swap out pages `first..first + count`, in
    /// [`PAGEOUT_CHUNK`] pieces. Returns how many calls were made.
    pub fn pageout(&mut self, first: usize, count: usize) -> io::Result<(Pageout, u64)> {
        let chunk = PAGEOUT_CHUNK / PAGE_SIZE;
        let mut calls = 0;
        let mut p = first;
        while p < first + count {
            let n = chunk.min(first + count - p);
            match self.advise(p, n, MADV_PAGEOUT) {
                Ok(()) => calls += 1,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {
                    return Ok((Pageout::Unsupported, calls))
                }
                // EAGAIN/EINTR are transient; skip this chunk, the test still
                // verifies whatever did or did not get swapped.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR)) => {}
                Err(e) => return Err(e),
            }
            p += n;
        }
        Ok((Pageout::Done, calls))
    }

    /// `MADV_DONTNEED`: drops pages `first..first + count`; they read back as
    /// zeros afterwards. For swapped-out pages this frees their compressed
    /// copies, exercising the allocator's free path.
    pub fn discard(&mut self, first: usize, count: usize) -> io::Result<()> {
        self.advise(first, count, libc::MADV_DONTNEED)
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped; no borrows outlive self.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_write_pageout_discard() {
        let mut r = Region::new(600).unwrap();
        assert_eq!(r.pages(), 600);
        r.page_mut(599).fill(7);
        // Without swap on the host this does nothing, but must not fail.
        let (_, _) = r.pageout(0, 600).unwrap();
        assert!(r.page(599).iter().all(|&b| b == 7));
        r.discard(599, 1).unwrap();
        assert!(r.page(599).iter().all(|&b| b == 0));
    }

    #[test]
    fn zero_size_is_rejected() {
        assert!(Region::new(0).is_err());
    }
}
