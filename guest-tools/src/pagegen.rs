//! Deterministic page content, `core` only: the page kinds and their generators.
//!
//! Shared by `zstest` (through `content`) and the in-kernel microbenchmark
//! (`bench/`, which includes this file with `#[path]`), so that the benchmark's
//! compressed-size trace comes from the same pages the zswap and zram tests write.

#![allow(dead_code, reason = "each user needs a part")]

/// Size of a page on x86_64; the unit of generation and verification.
pub const PAGE_SIZE: usize = 4096;

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
pub fn key(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x6a09_e667_f3bc_c908, |acc, &x| mix64(acc ^ mix64(x)))
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
            // Decimal digits of a number below 100000, most significant first.
            let mut num = rng.below(100_000);
            let mut digits = [0u8; 5];
            len = 0;
            loop {
                digits[len] = b'0' + (num % 10) as u8;
                len += 1;
                num /= 10;
                if num == 0 {
                    break;
                }
            }
            for (dst, src) in piece[..len].iter_mut().zip(digits[..len].iter().rev()) {
                *dst = *src;
            }
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
