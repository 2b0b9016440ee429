//! `zstest files`: write generated files to a directory (typically a
//! filesystem on a zram device) and verify them later, possibly after a
//! remount or reboot.
//!
//! The file set is a pure function of `--mib`, and each file's bytes of
//! (file number, seed, mix), so `verify` needs nothing but the same options.

use crate::content::{first_difference, Generator, Mix, PAGE_SIZE};
use crate::report::{CmdError, Mismatch, Summary};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// File sizes, cycled through by file number: single pages, 64 KiB blocks,
/// 1 MiB-ish files, and odd tails so partial last pages are covered.
const SIZES: [u64; 12] = [
    4096,
    65536,
    (1 << 20) + 1,
    4096,
    65536,
    3 * 4096 + 100,
    (1 << 20) + 3000,
    4096,
    65536 + 4095,
    200 * 1024 + 17,
    (1 << 20) - 511,
    5 * 4096 + 1,
];

/// I/O is done in pieces of this many bytes (a whole number of pages).
const IO_CHUNK: usize = 64 * PAGE_SIZE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Write,
    Verify,
}

pub struct FilesOpts {
    pub dir: PathBuf,
    pub mib: u64,
    pub seed: u64,
    pub mix: Mix,
    pub mode: Mode,
}

/// The file set for `mib` MiB: `(file number, size)`, totalling exactly
/// `mib` MiB (the last file is cut short to make it so).
pub fn plan(mib: u64) -> Vec<(u64, u64)> {
    let mut left = mib << 20;
    let mut files = Vec::new();
    let mut n = 0u64;
    while left > 0 {
        let size = SIZES[(n % SIZES.len() as u64) as usize].min(left);
        files.push((n, size));
        left -= size;
        n += 1;
    }
    files
}

pub fn file_name(n: u64) -> String {
    format!("zs_{n:06}.dat")
}

/// Drops the file's clean cached pages, so the next read comes from the
/// block device (zram) rather than the page cache. Advisory: errors ignored.
fn evict_cache(f: &File) {
    // SAFETY: plain syscall on a valid, open descriptor.
    unsafe {
        libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
    }
}

/// Generates bytes `offset..offset + buf.len()` of file `n`; `offset` must be
/// page-aligned.
fn generate(gen: &Generator, n: u64, offset: u64, buf: &mut [u8]) {
    debug_assert_eq!(offset % PAGE_SIZE as u64, 0);
    let first_page = offset / PAGE_SIZE as u64;
    let mut page = [0u8; PAGE_SIZE];
    for (i, out) in buf.chunks_mut(PAGE_SIZE).enumerate() {
        gen.file_page(n, first_page + i as u64, &mut page);
        out.copy_from_slice(&page[..out.len()]);
    }
}

fn write_file(gen: &Generator, path: &Path, n: u64, size: u64) -> io::Result<()> {
    let mut f = File::create(path)?;
    let mut buf = vec![0u8; IO_CHUNK];
    let mut offset = 0;
    while offset < size {
        let len = (size - offset).min(IO_CHUNK as u64) as usize;
        generate(gen, n, offset, &mut buf[..len]);
        f.write_all(&buf[..len])?;
        offset += len as u64;
    }
    f.sync_all()?;
    evict_cache(&f);
    Ok(())
}

/// Reads until `buf` is full or end of file; returns the bytes read.
fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// What verifying one file found.
#[derive(Debug, Default)]
struct FileCheck {
    pages: u64,
    first: Option<Mismatch>,
}

fn verify_file(gen: &Generator, path: &Path, n: u64, size: u64) -> io::Result<FileCheck> {
    let at = |offset: u64, expected: Option<u8>, got: Option<u8>| Mismatch {
        location: vec![
            ("file", file_name(n)),
            ("page", (offset / PAGE_SIZE as u64).to_string()),
        ],
        offset,
        expected,
        got,
    };
    let mut check = FileCheck::default();
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut first = [0u8; PAGE_SIZE];
            generate(gen, n, 0, &mut first);
            check.first = Some(at(0, Some(first[0]), None));
            return Ok(check);
        }
        Err(e) => return Err(e),
    };
    evict_cache(&f);
    let mut want = vec![0u8; IO_CHUNK];
    let mut got = vec![0u8; IO_CHUNK];
    let mut offset = 0;
    while offset < size {
        let len = (size - offset).min(IO_CHUNK as u64) as usize;
        generate(gen, n, offset, &mut want[..len]);
        let read = read_full(&mut f, &mut got[..len])?;
        check.pages += read.div_ceil(PAGE_SIZE) as u64;
        if let Some(i) = first_difference(&want[..len], &got[..read]) {
            check.first = Some(at(
                offset + i as u64,
                Some(want[i]),
                got[..read].get(i).copied(),
            ));
            return Ok(check);
        }
        offset += len as u64;
    }
    let mut extra = [0u8; 1];
    if read_full(&mut f, &mut extra)? > 0 {
        check.first = Some(at(size, None, Some(extra[0])));
    }
    Ok(check)
}

fn check_mib(mib: u64) -> Result<(), CmdError> {
    if mib == 0 || mib > 1 << 30 {
        return Err(CmdError::Usage(format!("bad --mib {mib}")));
    }
    Ok(())
}

pub fn run(o: &FilesOpts) -> Result<Summary, CmdError> {
    check_mib(o.mib)?;
    match o.mode {
        Mode::Write => write(o),
        Mode::Verify => verify(o),
    }
}

fn summary(o: &FilesOpts, files: &[(u64, u64)]) -> Summary {
    let mut s = Summary::new("files");
    s.put(
        "mode",
        match o.mode {
            Mode::Write => "write",
            Mode::Verify => "verify",
        },
    )
    .put("dir", o.dir.display())
    .put("mib", o.mib)
    .put("files", files.len())
    .put("bytes", files.iter().map(|f| f.1).sum::<u64>());
    s
}

/// Writes (replacing) the whole file set, fsyncing each file and then the
/// directory so the data is on the device when this returns.
pub fn write(o: &FilesOpts) -> Result<Summary, CmdError> {
    let start = Instant::now();
    let gen = Generator::new(o.seed, o.mix.clone());
    let files = plan(o.mib);
    fs::create_dir_all(&o.dir).map_err(|e| CmdError::sys(o.dir.display(), e))?;
    for &(n, size) in &files {
        let path = o.dir.join(file_name(n));
        write_file(&gen, &path, n, size).map_err(|e| CmdError::sys(path.display(), e))?;
    }
    File::open(&o.dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| CmdError::sys(format!("fsync {}", o.dir.display()), e))?;
    let mut s = summary(o, &files);
    s.put_secs("secs", start.elapsed())
        .put("seed", o.seed)
        .put("mix", &o.mix);
    Ok(s)
}

/// Regenerates every file and compares byte for byte. A missing, short or
/// long file counts as a mismatch (exit 1); only other I/O errors are system
/// errors (exit 2).
pub fn verify(o: &FilesOpts) -> Result<Summary, CmdError> {
    let start = Instant::now();
    // A missing directory is a setup problem (wrong path, not mounted), not
    // lost data: report it as a system error rather than N missing files.
    fs::read_dir(&o.dir).map_err(|e| CmdError::sys(o.dir.display(), e))?;
    let gen = Generator::new(o.seed, o.mix.clone());
    let files = plan(o.mib);
    let mut pages = 0;
    let mut bad_files = 0u64;
    let mut firsts = Vec::new();
    for &(n, size) in &files {
        let path = o.dir.join(file_name(n));
        let c = verify_file(&gen, &path, n, size).map_err(|e| CmdError::sys(path.display(), e))?;
        pages += c.pages;
        if let Some(m) = c.first {
            bad_files += 1;
            firsts.push(m);
        }
    }
    let mut s = summary(o, &files);
    s.put("verified", pages)
        .put("mismatches", bad_files)
        .put_secs("secs", start.elapsed())
        .put("seed", o.seed)
        .put("mix", &o.mix);
    for m in firsts.into_iter().take(crate::anon::MAX_LISTED) {
        eprintln!("zstest: files mismatch: {m}");
        s.mismatch(m);
    }
    Ok(s)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::report::{EXIT_MISMATCH, EXIT_OK};
    use std::os::unix::fs::FileExt;

    /// A fresh, empty directory under the system temp dir, removed on drop.
    pub struct TempDir(pub PathBuf);

    impl TempDir {
        pub fn new(name: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!("zstest-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn opts(dir: &Path, mib: u64, mode: Mode) -> FilesOpts {
        FilesOpts {
            dir: dir.to_path_buf(),
            mib,
            seed: 11,
            mix: Mix::default(),
            mode,
        }
    }

    #[test]
    fn plan_totals_exactly_and_has_varied_sizes() {
        for mib in [1, 2, 3, 7, 16] {
            let p = plan(mib);
            assert_eq!(p.iter().map(|f| f.1).sum::<u64>(), mib << 20);
            assert!(p.iter().all(|f| f.1 > 0));
        }
        let p = plan(16);
        assert!(p.iter().any(|f| f.1 == 4096));
        assert!(p.iter().any(|f| f.1 == 65536));
        assert!(p.iter().any(|f| f.1 > 1 << 20));
        assert!(p.iter().any(|f| f.1 % 4096 != 0));
    }

    #[test]
    fn round_trip() {
        let t = TempDir::new("roundtrip");
        let w = run(&opts(&t.0, 3, Mode::Write)).unwrap();
        assert!(w.to_string().starts_with("files ok mode=write"));
        let v = run(&opts(&t.0, 3, Mode::Verify)).unwrap();
        assert_eq!(v.exit_code(), EXIT_OK, "{v}");
        assert!(v.to_string().contains(" mismatches=0 "));
        // A different seed must not verify.
        let mut other = opts(&t.0, 3, Mode::Verify);
        other.seed = 12;
        assert_eq!(run(&other).unwrap().exit_code(), EXIT_MISMATCH);
    }

    #[test]
    fn corrupted_byte_is_detected() {
        let t = TempDir::new("corrupt");
        write(&opts(&t.0, 2, Mode::Write)).unwrap();
        let path = t.0.join(file_name(2)); // the 1 MiB + 1 file
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let off = 5 * 4096 + 77;
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, off).unwrap();
        f.write_all_at(&[b[0] ^ 1], off).unwrap();
        drop(f);
        let v = verify(&opts(&t.0, 2, Mode::Verify)).unwrap();
        assert_eq!(v.exit_code(), EXIT_MISMATCH);
        let m = v.first_mismatch().unwrap();
        assert_eq!(m.location[0], ("file", "zs_000002.dat".to_string()));
        assert_eq!(m.location[1], ("page", "5".to_string()));
        assert_eq!(
            (m.offset, m.expected, m.got),
            (off, Some(b[0]), Some(b[0] ^ 1))
        );
        assert!(v.to_string().contains(" mismatches=1 "));
    }

    #[test]
    fn missing_short_and_long_files_are_mismatches() {
        let t = TempDir::new("lengths");
        write(&opts(&t.0, 2, Mode::Write)).unwrap();
        fs::remove_file(t.0.join(file_name(0))).unwrap();
        let f1 = t.0.join(file_name(1));
        let len1 = fs::metadata(&f1).unwrap().len();
        fs::OpenOptions::new()
            .write(true)
            .open(&f1)
            .unwrap()
            .set_len(len1 - 1)
            .unwrap();
        let f3 = t.0.join(file_name(3));
        fs::OpenOptions::new()
            .append(true)
            .open(&f3)
            .unwrap()
            .write_all(b"x")
            .unwrap();
        let v = verify(&opts(&t.0, 2, Mode::Verify)).unwrap();
        assert_eq!(v.exit_code(), EXIT_MISMATCH);
        let line = v.to_string();
        assert!(line.contains(" mismatches=3 "), "{line}");
        assert!(
            line.contains("first_file=zs_000000.dat first_page=0 first_offset=0"),
            "{line}"
        );
        assert!(line.ends_with("first_got=eof"), "{line}");
    }

    #[test]
    fn missing_dir_is_system_error() {
        let t = TempDir::new("nodir");
        let o = opts(&t.0.join("absent"), 1, Mode::Verify);
        assert!(matches!(verify(&o), Err(CmdError::System(_))));
    }

    #[test]
    fn zero_mib_is_usage_error() {
        let t = TempDir::new("zero");
        assert!(matches!(
            run(&opts(&t.0, 0, Mode::Write)),
            Err(CmdError::Usage(_))
        ));
    }
}
