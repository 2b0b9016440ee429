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

/// Size of a page on x86_64; the unit of generation and verification.
pub const PAGE_SIZE: usize = 4096;

/// Domain separators so that anonymous pages and file pages with the same
/// numbers get unrelated content.
const DOMAIN_ANON: u64 = 0x616e_6f6e_0000_0001;
const DOMAIN_FILE: u64 = 0x6669_6c65_0000_0002;

/// The kinds of page content, roughly from least to most compressible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Incompressible PRNG output.
    Random,
    /// One half random, the other half a repeated non-zero byte.
    Half,
    /// Structured binary records (small ints, repeated struct layout).
    Binary,
    /// English-like text from a small built-in vocabulary.
    Text,
    /// A repeated non-zero pattern with a few random bytes sprinkled in.
    Sparse,
}

impl Kind {
    /// All kinds in the order used by the default mix.
    pub const ALL: [Kind; 5] = [
        Kind::Text,
        Kind::Binary,
        Kind::Random,
        Kind::Half,
        Kind::Sparse,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Random => "random",
            Kind::Half => "half",
            Kind::Binary => "binary",
            Kind::Text => "text",
            Kind::Sparse => "sparse",
        }
    }

    /// Parses a command-line kind name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }
}

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

/// SplitMix64: tiny, fast, good enough statistically for test content, and
/// every output of it is a strong hash of the state, so consecutive seeds
/// give unrelated streams.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform-ish value in `0..n` (`n > 0`) by multiply-high, no modulo bias
    /// worth caring about here.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A byte in `1..=255`: "non-zero" matters because zero runs would push
    /// pages towards the zero-page shortcut.
    fn nonzero_byte(&mut self) -> u8 {
        1 + self.below(255) as u8
    }

    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// SplitMix64's finaliser: a bijective 64-bit hash.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a tuple of numbers into one generator key.
fn key(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x6a09_e667_f3bc_c908, |acc, &x| mix64(acc ^ mix64(x)))
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

/// Fills one 4096-byte page of `kind` from generator key `key`.
///
/// Guarantees the page is not "same-filled" (all 64-bit words equal), which
/// also rules out all-zero and all-one-byte pages.
pub fn fill_page(buf: &mut [u8], kind: Kind, key: u64) {
    assert_eq!(buf.len(), PAGE_SIZE, "pages are {PAGE_SIZE} bytes");
    let mut rng = Rng::new(key);
    match kind {
        Kind::Random => rng.fill(buf),
        Kind::Half => fill_half(buf, &mut rng),
        Kind::Binary => fill_binary(buf, &mut rng),
        Kind::Text => fill_text(buf, &mut rng),
        Kind::Sparse => fill_sparse(buf, &mut rng),
    }
    if is_same_filled(buf) {
        // Practically unreachable (it needs a PRNG miracle), but the
        // guarantee must be absolute for the kernel-side accounting tests.
        buf[PAGE_SIZE - 1] ^= 0x5a;
    }
}

/// Same test zram uses: every native word equals the first one.
pub fn is_same_filled(buf: &[u8]) -> bool {
    let first = &buf[..8];
    buf.chunks_exact(8).all(|w| w == first)
}

fn fill_half(buf: &mut [u8], rng: &mut Rng) {
    let (a, b) = buf.split_at_mut(PAGE_SIZE / 2);
    let byte = rng.nonzero_byte();
    // Which half is random varies, so both layouts reach the compressor.
    let (random, repeated) = if rng.below(2) == 0 { (a, b) } else { (b, a) };
    rng.fill(random);
    repeated.fill(byte);
}

fn fill_sparse(buf: &mut [u8], rng: &mut Rng) {
    let period = [8usize, 16, 24, 64][rng.below(4) as usize];
    let mut pattern = [0u8; 64];
    for b in &mut pattern[..period] {
        *b = rng.nonzero_byte();
    }
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern[i % period];
    }
    // A few bytes that always differ from the pattern: this is what keeps the
    // page from being same-filled while staying highly compressible.
    for _ in 0..(4 + rng.below(28)) {
        let i = rng.below(PAGE_SIZE as u64) as usize;
        buf[i] ^= rng.nonzero_byte();
    }
}

/// Records laid out like a typical in-memory struct array: an incrementing
/// id, small enums and flags with padding, a pointer-like field and a
/// timestamp whose high bytes never change, a small signed value and a hash
/// slot that is mostly unused (zero). Compressors find the constant spans but
/// not much more, giving a middling ratio.
fn fill_binary(buf: &mut [u8], rng: &mut Rng) {
    const REC: usize = 32;
    let id0 = rng.next_u64() as u32 & 0x00ff_ffff;
    let mut ts = 1_700_000_000_000_000u64 + rng.below(1 << 40);
    let heap = 0x0000_7f00_0000_0000u64 | (rng.below(1 << 24) << 20);
    for (i, rec) in buf.chunks_exact_mut(REC).enumerate() {
        ts += 1000 + rng.below(4096);
        let kind = rng.below(6) as u8;
        let flags = [0x01u8, 0x03, 0x10, 0x80, 0x11][rng.below(5) as usize];
        let ptr = heap + (rng.below(4096) << 4);
        let value = rng.below(2001) as i32 - 1000;
        let hash = if rng.below(4) == 0 {
            rng.next_u64() as u32
        } else {
            0
        };
        rec[0..4].copy_from_slice(&(id0 + i as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&[kind, flags, 0, 0]);
        rec[8..16].copy_from_slice(&ptr.to_le_bytes());
        rec[16..24].copy_from_slice(&ts.to_le_bytes());
        rec[24..28].copy_from_slice(&value.to_le_bytes());
        rec[28..32].copy_from_slice(&hash.to_le_bytes());
    }
}

/// Common English words, most frequent first; `fill_text` favours the front.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on",
    "are", "with", "as", "his", "they", "be", "at", "one", "have", "this", "from", "or", "had",
    "by", "not", "word", "but", "what", "some", "we", "can", "out", "other", "were", "all",
    "there", "when", "up", "use", "your", "how", "said", "an", "each", "she", "which", "do",
    "their", "time", "if", "will", "way", "about", "many", "then", "them", "write", "would",
    "like", "so", "these", "her", "long", "make", "thing", "see", "him", "two", "has", "look",
    "more", "day", "could", "go", "come", "did", "number", "sound", "no", "most", "people",
    "my", "over", "know", "water", "than", "call", "first", "who", "may", "down", "side",
    "been", "now", "find", "memory", "page", "swap", "compressed", "allocator", "kernel",
    "object", "class", "zone", "handle", "mapping", "pool", "reclaim", "pressure", "system",
    "between", "another", "through", "because", "different", "important", "question",
];

/// Common multi-word phrases: real text repeats word sequences, not just
/// words, and that is what lets compressors find long matches.
#[rustfmt::skip]
const PHRASES: &[&str] = &[
    "of the", "in the", "to the", "on the", "and the", "it is", "there is", "that the",
    "for the", "at the same time", "one of the", "as well as", "in order to", "the kernel",
    "the page", "the memory", "is not", "can be", "will be", "from the", "some of the",
    "the allocator", "under memory pressure", "the compressed page", "it was", "each page",
    "a number of", "the swap device", "the other", "when the", "which is", "this is the",
];

/// Sentences of phrases, words and the odd number, wrapped at ~72 columns.
/// About 3x with zstd/deflate, less with lzo/lz4 (which do no entropy coding).
fn fill_text(buf: &mut [u8], rng: &mut Rng) {
    let mut pos = 0;
    let mut line = 0;
    let mut sentence_left = 0;
    // Leave room for the longest piece we append in one step.
    while pos + 32 < PAGE_SIZE {
        let start_sentence = sentence_left == 0;
        if start_sentence {
            sentence_left = 4 + rng.below(14);
        }
        // min of two draws skews towards common words, like real text.
        let n = WORDS.len() as u64;
        let idx = rng.below(n).min(rng.below(n)) as usize;
        let mut piece = [0u8; 32];
        let mut len;
        if rng.below(2) == 0 {
            let p = PHRASES[rng.below(PHRASES.len() as u64) as usize].as_bytes();
            len = p.len();
            piece[..len].copy_from_slice(p);
            if start_sentence {
                piece[0] = piece[0].to_ascii_uppercase();
            }
        } else if rng.below(40) == 0 {
            let num = rng.below(100_000).to_string();
            len = num.len();
            piece[..len].copy_from_slice(num.as_bytes());
        } else {
            let w = WORDS[idx].as_bytes();
            len = w.len();
            piece[..len].copy_from_slice(w);
            if start_sentence {
                piece[0] = piece[0].to_ascii_uppercase();
            }
        }
        sentence_left -= 1;
        if sentence_left == 0 {
            piece[len] = b'.';
            len += 1;
        } else if rng.below(12) == 0 {
            piece[len] = b',';
            len += 1;
        }
        let sep = if line + len > 72 {
            line = 0;
            b'\n'
        } else {
            b' '
        };
        piece[len] = sep;
        len += 1;
        line += len;
        buf[pos..pos + len].copy_from_slice(&piece[..len]);
        pos += len;
    }
    buf[pos..].fill(b' ');
    buf[PAGE_SIZE - 1] = b'\n';
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
