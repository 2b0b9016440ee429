//! Deterministic page content.
//!
//! Every page the tool writes is a pure function of a few numbers (seed,
//! page number, version, ...), so the verifier can regenerate the exact bytes
//! instead of keeping a copy (which would defeat the point of pushing memory
//! out to swap).
//!
//! The content has to be *varied*: in Linux 6.12 zero-filled pages are caught
//! by the swap layer and zram stores same-filled pages (every machine word
//! equal) as a bare value, so neither ever reaches the allocator under test.
//! Each page therefore comes in one of several kinds with different
//! compressibility, from incompressible (which makes zram store a "huge"
//! object) to very compressible but never same-filled.

use std::fmt;

pub use crate::pagegen::{fill_page, key, Kind, Rng, PAGE_SIZE};

/// Domain separators so that anonymous pages and file pages with the same
/// numbers get unrelated content.
const DOMAIN_ANON: u64 = 0x616e_6f6e_0000_0001;
const DOMAIN_FILE: u64 = 0x6669_6c65_0000_0002;

/// Which kind each page gets: page `p` uses `slots[p % slots.len()]`.
///
/// Interleaving (rather than e.g. one block per kind) makes every 2 MiB
/// pageout chunk, and every zsmalloc size class, see all kinds at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    slots: Vec<Kind>,
}

impl Default for Mix {
    /// All kinds, equally interleaved.
    fn default() -> Self {
        Mix {
            slots: Kind::ALL.to_vec(),
        }
    }
}

impl Mix {
    /// Parses `text,binary,random,half,sparse`; a kind may carry a weight
    /// (`random:3`) or be repeated to make it more frequent.
    pub fn parse(s: &str) -> Result<Mix, String> {
        let mut slots = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, weight) = match item.split_once(':') {
                Some((n, w)) => {
                    let w: usize = w
                        .parse()
                        .map_err(|_| format!("bad weight in mix item '{item}'"))?;
                    if w == 0 || w > 64 {
                        return Err(format!("weight must be 1..=64 in mix item '{item}'"));
                    }
                    (n, w)
                }
                None => (item, 1),
            };
            let kind = Kind::parse(name).ok_or_else(|| {
                format!("unknown page kind '{name}' (want text,binary,random,half,sparse)")
            })?;
            slots.extend(std::iter::repeat_n(kind, weight));
        }
        if slots.is_empty() {
            return Err("empty --mix".to_string());
        }
        Ok(Mix { slots })
    }

    /// The kind of the `n`th page of a sequence.
    pub fn kind_for(&self, n: u64) -> Kind {
        self.slots[(n % self.slots.len() as u64) as usize]
    }
}

impl fmt::Display for Mix {
    /// Comma-separated, repeats spelled out, so it parses back to itself and
    /// contains no spaces (summary lines are `key=value` split on spaces).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.slots.iter().map(|k| k.name()).collect();
        f.write_str(&names.join(","))
    }
}

/// Generates the content of numbered pages for one seed and mix.
#[derive(Clone, Debug)]
pub struct Generator {
    pub seed: u64,
    pub mix: Mix,
}

impl Generator {
    pub fn new(seed: u64, mix: Mix) -> Generator {
        Generator { seed, mix }
    }

    /// Page `p` of an anonymous region at `version` (0 for the first write;
    /// `stress` bumps the version on every rewrite so stale data is caught).
    pub fn anon_page(&self, p: u64, version: u64, buf: &mut [u8]) {
        let kind = self.mix.kind_for(p);
        fill_page(buf, kind, key(&[DOMAIN_ANON, self.seed, p, version]));
    }

    /// Page `page` of file number `file`. The kind rotates with both numbers
    /// so that small files are not all of one kind.
    pub fn file_page(&self, file: u64, page: u64, buf: &mut [u8]) {
        let kind = self.mix.kind_for(file.wrapping_add(page));
        fill_page(buf, kind, key(&[DOMAIN_FILE, self.seed, file, page]));
    }
}

/// Where two buffers first differ, if anywhere.
pub fn first_difference(expected: &[u8], got: &[u8]) -> Option<usize> {
    if expected == got {
        return None;
    }
    expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .or(Some(expected.len().min(got.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagegen::is_same_filled;

    fn page(g: &Generator, p: u64) -> Vec<u8> {
        let mut b = vec![0u8; PAGE_SIZE];
        g.anon_page(p, 0, &mut b);
        b
    }

    /// Crude estimate of a page's compressed size in bytes, shaped like
    /// zstd: a greedy LZ77 parse (4-byte hash, last occurrence only), then
    /// literals charged at their order-0 entropy and each match a flat 2
    /// bytes. Only the ordering between kinds matters here.
    fn estimated_size(buf: &[u8]) -> f64 {
        let hash = |w: &[u8]| {
            (u32::from_le_bytes([w[0], w[1], w[2], w[3]]).wrapping_mul(0x9e37_79b1) >> 20) as usize
        };
        let mut last = vec![usize::MAX; 1 << 12];
        let mut literals = [0u32; 256];
        let mut n_literals = 0u32;
        let mut matches = 0u32;
        let mut i = 0;
        while i < buf.len() {
            if i + 4 <= buf.len() {
                let h = hash(&buf[i..i + 4]);
                let cand = std::mem::replace(&mut last[h], i);
                if cand != usize::MAX && buf[cand..cand + 4] == buf[i..i + 4] {
                    let mut len = 4;
                    while i + len < buf.len() && buf[cand + len] == buf[i + len] {
                        len += 1;
                    }
                    matches += 1;
                    i += len;
                    continue;
                }
            }
            literals[buf[i] as usize] += 1;
            n_literals += 1;
            i += 1;
        }
        let n = n_literals as f64;
        let entropy_bits: f64 = literals
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| -(c as f64) * (c as f64 / n).log2())
            .sum();
        entropy_bits / 8.0 + 2.0 * matches as f64
    }

    fn mean_size(kind: Kind) -> f64 {
        let mut b = vec![0u8; PAGE_SIZE];
        let n = 64;
        (0..n)
            .map(|i| {
                fill_page(&mut b, kind, key(&[42, i]));
                estimated_size(&b)
            })
            .sum::<f64>()
            / n as f64
    }

    #[test]
    fn deterministic() {
        let g = Generator::new(7, Mix::default());
        for p in 0..200 {
            assert_eq!(page(&g, p), page(&g, p), "page {p}");
        }
        let mut a = vec![0u8; PAGE_SIZE];
        let mut b = vec![0u8; PAGE_SIZE];
        g.file_page(3, 9, &mut a);
        g.file_page(3, 9, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn seeds_pages_versions_and_domains_differ() {
        let g = Generator::new(7, Mix::default());
        let h = Generator::new(8, Mix::default());
        assert_ne!(page(&g, 1), page(&h, 1));
        assert_ne!(page(&g, 1), page(&g, 6)); // same kind, other page
        let mut v1 = vec![0u8; PAGE_SIZE];
        g.anon_page(1, 1, &mut v1);
        assert_ne!(page(&g, 1), v1);
        let mut f = vec![0u8; PAGE_SIZE];
        g.file_page(0, 1, &mut f);
        assert_ne!(page(&g, 1), f);
    }

    #[test]
    fn no_page_is_one_value_or_same_filled() {
        let mut b = vec![0u8; PAGE_SIZE];
        for kind in Kind::ALL {
            for i in 0..2000u64 {
                fill_page(&mut b, kind, key(&[kind as u64, i]));
                assert!(
                    b.iter().any(|&x| x != b[0]),
                    "{kind:?} key {i} is all one byte"
                );
                assert!(!is_same_filled(&b), "{kind:?} key {i} is same-filled");
            }
        }
    }

    #[test]
    fn same_filled_guard_fires() {
        let mut b = vec![0xabu8; PAGE_SIZE];
        assert!(is_same_filled(&b));
        b[100] = 0;
        assert!(!is_same_filled(&b));
    }

    #[test]
    fn kinds_differ_in_compressibility() {
        let random = mean_size(Kind::Random);
        let half = mean_size(Kind::Half);
        let binary = mean_size(Kind::Binary);
        let text = mean_size(Kind::Text);
        let sparse = mean_size(Kind::Sparse);
        eprintln!(
            "estimated bytes: random={random:.0} half={half:.0} binary={binary:.0} \
             text={text:.0} sparse={sparse:.0}"
        );
        assert!(random > 3900.0, "random should be incompressible: {random}");
        assert!(random > 1.5 * half);
        assert!(half > 1.15 * text);
        assert!(text > 4.0 * sparse);
        assert!(sparse < 400.0, "sparse should compress very well: {sparse}");
        // Binary sits between the extremes (about 2x).
        assert!(binary < 0.7 * random && binary > 2.0 * sparse);
    }

    #[test]
    fn text_looks_like_text() {
        let mut b = vec![0u8; PAGE_SIZE];
        fill_page(&mut b, Kind::Text, 99);
        assert!(b
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b" .,\n".contains(&c)));
        assert!(b.windows(5).any(|w| w == b" the "));
    }

    #[test]
    fn mix_parsing() {
        assert_eq!(
            Mix::parse("text,binary,random,half,sparse").unwrap(),
            Mix::default()
        );
        let m = Mix::parse("random:2,text").unwrap();
        assert_eq!(m.to_string(), "random,random,text");
        assert_eq!(Mix::parse(&m.to_string()).unwrap(), m);
        assert_eq!(m.kind_for(0), Kind::Random);
        assert_eq!(m.kind_for(2), Kind::Text);
        assert_eq!(m.kind_for(5), Kind::Text);
        assert!(Mix::parse("bogus").is_err());
        assert!(Mix::parse("").is_err());
        assert!(Mix::parse("text:0").is_err());
    }

    #[test]
    fn default_mix_interleaves_all_kinds() {
        let m = Mix::default();
        let kinds: Vec<Kind> = (0..5).map(|p| m.kind_for(p)).collect();
        for k in Kind::ALL {
            assert!(kinds.contains(&k));
        }
    }

    #[test]
    fn first_difference_reports_offset() {
        assert_eq!(first_difference(b"abcd", b"abcd"), None);
        assert_eq!(first_difference(b"abcd", b"abXd"), Some(2));
        assert_eq!(first_difference(b"abcd", b"abc"), Some(3));
    }
}
