// SPDX-License-Identifier: GPL-2.0

//! Size classes, following Linux 6.12 `mm/zsmalloc.c` with 4 KiB pages and a chain size
//! (upstream's `CONFIG_ZSMALLOC_CHAIN_SIZE`) chosen at module load: the `chain_pages`
//! parameter, [`MIN_CHAIN_PAGES`]..=[`MAX_PAGES_PER_ZSPAGE`], default
//! [`DEFAULT_CHAIN_PAGES`]. The table of every allowed chain size is computed at compile time
//! ([`CLASS_TABLES`]); a [`ClassSelection`] picks one once, at init.
//!
//! A request of `len` bytes is served from the *slot* whose size is the
//! smallest `MIN_ALLOC_SIZE + k * CLASS_DELTA` holding `len + HANDLE_SIZE`
//! (an object carries its handle in a header). Each slot picks the zspage
//! length (1..=chain pages) that wastes the fewest tail bytes; neighbouring slots
//! that end up with the same (pages, objects) geometry share one class, whose
//! object size is the largest of them. A class whose zspage is one page with
//! one object is *huge*: its object has the page to itself and no header.

use core::{
    ops::Deref,
    sync::atomic::{AtomicU8, Ordering},
};

/// Size of a page in bytes.
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// log2 of [`PAGE_SIZE`].
pub const PAGE_SHIFT: u32 = 12;
/// Size of the smallest slot in bytes.
pub const MIN_ALLOC_SIZE: usize = 32;
/// Size difference between neighbouring slots in bytes.
pub const CLASS_DELTA: usize = 16;
/// Number of slots (sizes `MIN_ALLOC_SIZE..=PAGE_SIZE` in `CLASS_DELTA` steps).
pub const NR_CLASS_SLOTS: usize = (PAGE_SIZE - MIN_ALLOC_SIZE).div_ceil(CLASS_DELTA) + 1;
/// Shortest chain size the `chain_pages` parameter allows (upstream's
/// `CONFIG_ZSMALLOC_CHAIN_SIZE` range is 4..=16).
pub const MIN_CHAIN_PAGES: usize = 4;
/// Longest zspage, in pages: the longest chain size the `chain_pages` parameter allows.
pub const MAX_PAGES_PER_ZSPAGE: usize = 16;
/// The chain size when the parameter is not given (upstream's default
/// `CONFIG_ZSMALLOC_CHAIN_SIZE`).
pub const DEFAULT_CHAIN_PAGES: usize = 8;
/// Number of allowed chain sizes, the entries of [`CLASS_TABLES`].
pub const NR_CHAIN_SIZES: usize = MAX_PAGES_PER_ZSPAGE - MIN_CHAIN_PAGES + 1;
/// Size of the handle header in front of every non-huge object.
pub const HANDLE_SIZE: usize = 8;
/// Most objects a zspage may hold: a location keeps the index in 8 bits. With chains longer
/// than 8 pages this cap binds for some small sizes (upstream, whose index has more bits,
/// would pick a longer chain for them); [`chain_size`] then picks the best chain within it.
pub const MAX_OBJS_PER_ZSPAGE: usize = 256;

/// Geometry of one size class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassSpec {
    /// Bytes per object slot, header included.
    pub size: u32,
    /// Pages per zspage.
    pub pages_per_zspage: u32,
    /// Objects per zspage.
    pub objs_per_zspage: u32,
    /// One object per single-page zspage, stored without a header.
    pub huge: bool,
    /// `floor(2^32 / objs_per_zspage) + 1`: `(n * tenths_mul) >> 32` is `n / objs_per_zspage`
    /// for every `n` up to `10 * objs_per_zspage` (exact: `n * error < 2^32`), so that the
    /// fullness group takes no division (`fullness::fullness_group_of`; under QEMU's TCG a
    /// `div` is a helper call). Unused, and saturated, for one object per zspage.
    pub tenths_mul: u32,
}

impl ClassSpec {
    /// The geometry of `objs` objects of `size` bytes in `pages` pages.
    pub const fn new(size: u32, pages: u32, objs: u32) -> ClassSpec {
        let tenths_mul = if objs >= 2 {
            // At most 2^31 + 1.
            ((1u64 << 32) / objs as u64 + 1) as u32
        } else {
            u32::MAX
        };
        ClassSpec {
            size,
            pages_per_zspage: pages,
            objs_per_zspage: objs,
            huge: pages == 1 && objs == 1,
            tenths_mul,
        }
    }

    /// Bytes of handle header in front of each object of this class.
    #[inline]
    pub const fn header_len(&self) -> usize {
        if self.huge {
            0
        } else {
            HANDLE_SIZE
        }
    }

    /// [`ClassSpec::size`] as `usize`.
    #[inline]
    pub const fn size_bytes(&self) -> usize {
        self.size as usize
    }

    /// [`ClassSpec::pages_per_zspage`] as `usize`.
    #[inline]
    pub const fn pages(&self) -> usize {
        self.pages_per_zspage as usize
    }
}

/// Why a request cannot be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeError {
    /// Zero-length request (upstream: `-EINVAL`).
    Zero,
    /// Request larger than [`PAGE_SIZE`] (upstream: `-ENOSPC`).
    TooBig,
}

/// Object size of slot `slot`; the last slot is capped at [`PAGE_SIZE`].
pub const fn slot_size(slot: usize) -> usize {
    let size = MIN_ALLOC_SIZE + slot * CLASS_DELTA;
    if size > PAGE_SIZE {
        PAGE_SIZE
    } else {
        size
    }
}

/// Smallest slot holding `size` bytes, clamped to the last slot as upstream's
/// `get_size_class_index` does (so header-included sizes up to
/// `PAGE_SIZE + HANDLE_SIZE` land in the page-sized slot).
#[inline]
pub const fn slot_for_size(size: usize) -> usize {
    let slot = if size > MIN_ALLOC_SIZE {
        (size - MIN_ALLOC_SIZE).div_ceil(CLASS_DELTA)
    } else {
        0
    };
    if slot > NR_CLASS_SLOTS - 1 {
        NR_CLASS_SLOTS - 1
    } else {
        slot
    }
}

/// Zspage length in pages (at most `max_pages`) for objects of `size` bytes: the fewest
/// wasted tail bytes, ties going to the shorter chain, powers of two always one page (as
/// upstream's `calculate_zspage_chain_size`). Lengths whose zspage would hold more than
/// [`MAX_OBJS_PER_ZSPAGE`] objects are never chosen.
pub const fn chain_size(size: usize, max_pages: usize) -> usize {
    if size.is_power_of_two() {
        return 1;
    }
    let mut best = 1;
    let mut min_waste = usize::MAX;
    let mut pages = 1;
    while pages <= max_pages {
        let bytes = pages * PAGE_SIZE;
        if bytes / size <= MAX_OBJS_PER_ZSPAGE && bytes % size < min_waste {
            min_waste = bytes % size;
            best = pages;
        }
        pages += 1;
    }
    best
}

/// Geometry of slot `slot` before merging, with chains of at most `max_pages` pages.
const fn slot_spec(slot: usize, max_pages: usize) -> ClassSpec {
    let size = slot_size(slot);
    let pages = chain_size(size, max_pages);
    let objs = pages * PAGE_SIZE / size;
    // All three are bounded by PAGE_SIZE * MAX_PAGES_PER_ZSPAGE, far below u32::MAX.
    ClassSpec::new(size as u32, pages as u32, objs as u32)
}

// `ClassTable::classes` has 256 entries and classes are `u8` indices.
const _: () = assert!(NR_CLASS_SLOTS <= 256);

/// The merged size classes for one chain size, computed at compile time (see
/// [`CLASS_TABLES`]).
///
/// Class indices run from 0 (smallest size) to `nr_classes() - 1`.
#[derive(Clone, Debug)]
pub struct ClassTable {
    /// Indexed by class; 256 entries (the rest empty) so that a `u8` index needs no bounds
    /// check (`class_u8`, on every object access).
    classes: [ClassSpec; 256],
    nr_classes: usize,
    slot_class: [u8; NR_CLASS_SLOTS],
    huge_class_size: usize,
    chain_pages: usize,
}

impl ClassTable {
    /// Builds the table for the default chain size, [`DEFAULT_CHAIN_PAGES`].
    pub const fn new() -> ClassTable {
        Self::with_chain(DEFAULT_CHAIN_PAGES)
    }

    /// Builds the table for zspages of at most `chain_pages` pages (1..=
    /// [`MAX_PAGES_PER_ZSPAGE`]; the module allows [`MIN_CHAIN_PAGES`] and up).
    pub const fn with_chain(chain_pages: usize) -> ClassTable {
        assert!(chain_pages >= 1 && chain_pages <= MAX_PAGES_PER_ZSPAGE);
        let empty = ClassSpec::new(0, 0, 0);
        let mut desc = [empty; NR_CLASS_SLOTS];
        // Position of each slot's class in `desc` (largest class first).
        let mut slot_desc = [0u8; NR_CLASS_SLOTS];
        let mut nr = 0;
        let mut huge_class_size = 0;
        // Largest slot first, so that a merged class takes the largest size.
        let mut slot = NR_CLASS_SLOTS;
        while slot > 0 {
            slot -= 1;
            let spec = slot_spec(slot, chain_pages);
            if huge_class_size == 0 && spec.pages_per_zspage != 1 && spec.objs_per_zspage != 1 {
                // Upstream's test for the largest non-huge slot: a request is
                // huge iff it plus its header exceeds this slot's size.
                huge_class_size = spec.size_bytes() - (HANDLE_SIZE - 1);
            }
            let merges = nr > 0
                && desc[nr - 1].pages_per_zspage == spec.pages_per_zspage
                && desc[nr - 1].objs_per_zspage == spec.objs_per_zspage;
            if !merges {
                desc[nr] = spec;
                nr += 1;
            }
            // At most NR_CLASS_SLOTS (255) classes, so the index fits in u8.
            slot_desc[slot] = (nr - 1) as u8;
        }

        let mut classes = [empty; 256];
        let mut i = 0;
        while i < nr {
            classes[i] = desc[nr - 1 - i];
            i += 1;
        }
        let mut slot_class = [0u8; NR_CLASS_SLOTS];
        let mut s = 0;
        while s < NR_CLASS_SLOTS {
            slot_class[s] = (nr - 1) as u8 - slot_desc[s];
            s += 1;
        }
        ClassTable {
            classes,
            nr_classes: nr,
            slot_class,
            huge_class_size,
            chain_pages,
        }
    }

    /// The chain size the table was built for: no zspage is longer.
    pub const fn chain_pages(&self) -> usize {
        self.chain_pages
    }

    /// Number of (merged) classes.
    pub const fn nr_classes(&self) -> usize {
        self.nr_classes
    }

    /// The classes, smallest size first.
    pub fn classes(&self) -> &[ClassSpec] {
        &self.classes[..self.nr_classes]
    }

    /// Class `index`. Panics if `index >= nr_classes()`.
    #[inline]
    pub fn class(&self, index: usize) -> &ClassSpec {
        &self.classes()[index]
    }

    /// Class `index` as a zspage stores it: no bounds check (every `u8` is in the table; one
    /// past `nr_classes()` is an empty spec, never stored by a zspage).
    #[inline]
    pub fn class_u8(&self, index: u8) -> &ClassSpec {
        &self.classes[usize::from(index)]
    }

    /// Class serving slot `slot` (see [`slot_for_size`]).
    #[inline]
    pub const fn class_of_slot(&self, slot: usize) -> usize {
        self.slot_class[slot] as usize
    }

    /// Smallest class whose objects hold `size` bytes (header included), or
    /// `None` if `size` is 0 or above [`PAGE_SIZE`].
    pub const fn class_index_for(&self, size: usize) -> Option<usize> {
        if size == 0 || size > PAGE_SIZE {
            return None;
        }
        Some(self.class_of_slot(slot_for_size(size)))
    }

    /// Class for a `len`-byte request and the bytes it occupies in its slot
    /// (`len + HANDLE_SIZE`, or just `len` in a huge class), as `zs_malloc`.
    #[inline]
    pub fn lookup(&self, len: usize) -> Result<(usize, usize), SizeError> {
        if len == 0 {
            return Err(SizeError::Zero);
        }
        if len > PAGE_SIZE {
            return Err(SizeError::TooBig);
        }
        // Upstream adds the header before the lookup even when the class turns
        // out to be huge; the clamp in slot_for_size keeps PAGE_SIZE requests valid.
        let index = self.class_of_slot(slot_for_size(len + HANDLE_SIZE));
        Ok((index, len + self.classes[index].header_len()))
    }

    /// Smallest request that lands in a huge class (upstream's
    /// `zs_huge_class_size`; zram treats objects this big as incompressible).
    pub const fn huge_class_size(&self) -> usize {
        self.huge_class_size
    }
}

impl Default for ClassTable {
    fn default() -> Self {
        Self::new()
    }
}

/// The class table of every allowed chain size: entry `i` is for
/// `MIN_CHAIN_PAGES + i` pages. Computed at compile time; read-only data.
pub static CLASS_TABLES: [ClassTable; NR_CHAIN_SIZES] = {
    let mut tables = [const { ClassTable::new() }; NR_CHAIN_SIZES];
    let mut i = 0;
    while i < NR_CHAIN_SIZES {
        tables[i] = ClassTable::with_chain(MIN_CHAIN_PAGES + i);
        i += 1;
    }
    tables
};

/// The largest [`ClassTable::huge_class_size`] of any allowed chain size: every non-huge
/// object (the ones that may span two pages) is shorter than this plus [`HANDLE_SIZE`].
pub const MAX_HUGE_CLASS_SIZE: usize = {
    let mut max = 0;
    let mut pages = MIN_CHAIN_PAGES;
    while pages <= MAX_PAGES_PER_ZSPAGE {
        let huge = ClassTable::with_chain(pages).huge_class_size();
        if huge > max {
            max = huge;
        }
        pages += 1;
    }
    max
};

/// A chain size the module does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainOutOfRange;

/// The class table in use: one of [`CLASS_TABLES`], chosen once at module init from the
/// `chain_pages` parameter, before any pool exists, and never changed while a pool does.
/// Derefs to the table (`CLASSES.class_u8(..)`): one byte load and a clamp in front of the
/// table access, no bounds check, no `unsafe`.
#[derive(Debug)]
pub struct ClassSelection {
    /// Index into [`CLASS_TABLES`].
    index: AtomicU8,
}

// The index fits the `u8`.
const _: () = assert!(NR_CHAIN_SIZES <= 256);

impl ClassSelection {
    /// The table for [`DEFAULT_CHAIN_PAGES`].
    pub const fn new() -> ClassSelection {
        ClassSelection {
            index: AtomicU8::new((DEFAULT_CHAIN_PAGES - MIN_CHAIN_PAGES) as u8),
        }
    }

    /// Selects the table for `chain_pages`, or leaves the selection alone if it is outside
    /// [`MIN_CHAIN_PAGES`]..=[`MAX_PAGES_PER_ZSPAGE`]. Only before any pool exists: a
    /// zspage's class index means something in one table only.
    pub fn select(&self, chain_pages: usize) -> Result<(), ChainOutOfRange> {
        if !(MIN_CHAIN_PAGES..=MAX_PAGES_PER_ZSPAGE).contains(&chain_pages) {
            return Err(ChainOutOfRange);
        }
        // In range, so below NR_CHAIN_SIZES (asserted to fit u8). Relaxed: pools are created
        // after module init, which publishes its work (the module core's own ordering, and
        // the allocator pointer's release store).
        self.index
            .store((chain_pages - MIN_CHAIN_PAGES) as u8, Ordering::Relaxed);
        Ok(())
    }

    /// The selected table.
    #[inline]
    pub fn table(&self) -> &'static ClassTable {
        let index = usize::from(self.index.load(Ordering::Relaxed));
        // The clamp (never binding: `select` stores in-range indices) instead of a bounds
        // check with a panic path.
        &CLASS_TABLES[index.min(NR_CHAIN_SIZES - 1)]
    }
}

impl Default for ClassSelection {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for ClassSelection {
    type Target = ClassTable;

    #[inline]
    fn deref(&self) -> &ClassTable {
        self.table()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static TABLE: ClassTable = ClassTable::new();

    fn spec(size: u32, pages: u32, objs: u32) -> ClassSpec {
        ClassSpec::new(size, pages, objs)
    }

    fn class_for(len: usize) -> ClassSpec {
        *TABLE.class(TABLE.lookup(len).unwrap().0)
    }

    #[test]
    fn constants() {
        assert_eq!(PAGE_SIZE, 4096);
        assert_eq!(NR_CLASS_SLOTS, 255);
        assert_eq!(slot_size(NR_CLASS_SLOTS - 1), PAGE_SIZE);
        assert_eq!(slot_size(NR_CLASS_SLOTS - 2), PAGE_SIZE - CLASS_DELTA);
    }

    #[test]
    fn slots() {
        assert_eq!(slot_for_size(1), 0);
        assert_eq!(slot_for_size(32), 0);
        assert_eq!(slot_for_size(33), 1);
        assert_eq!(slot_for_size(48), 1);
        assert_eq!(slot_for_size(49), 2);
        assert_eq!(slot_for_size(4096), 254);
        assert_eq!(slot_for_size(4104), 254);
        for size in 1..=PAGE_SIZE {
            let slot = slot_for_size(size);
            assert!(slot_size(slot) >= size);
            assert!(slot == 0 || slot_size(slot - 1) < size);
        }
    }

    #[test]
    fn hand_computed_classes() {
        // 32, 64, 2048, 4096: powers of two use one page.
        // 48: waste 4096%48=16, 8192%48=32, 12288%48=0 -> 3 pages, 256 objs.
        // 80: waste 16, 32, 48, 64, then 20480%80=0 -> 5 pages, 256 objs.
        // 3264: waste 832, 1664, 2496, 64 (4 pages), 896, 1728, 2560, 128.
        // 3632 (largest non-huge): 8 pages, 32768/3632 = 9 objs.
        assert_eq!(class_for(1), spec(32, 1, 128));
        assert_eq!(class_for(24), spec(32, 1, 128));
        assert_eq!(class_for(25), spec(48, 3, 256));
        assert_eq!(class_for(40), spec(48, 3, 256));
        assert_eq!(class_for(56), spec(64, 1, 64));
        assert_eq!(class_for(72), spec(80, 5, 256));
        assert_eq!(class_for(2040), spec(2048, 1, 2));
        assert_eq!(class_for(3256), spec(3264, 4, 5));
        // 3248 also has waste 144 at 4 pages, 5 objs: merged up into 3264.
        assert_eq!(class_for(3240), spec(3264, 4, 5));
        assert_eq!(class_for(3624), spec(3632, 8, 9));
        assert_eq!(class_for(4096), spec(4096, 1, 1));
        assert_eq!(TABLE.nr_classes(), 119);
        assert_eq!(TABLE.huge_class_size(), 3625);
    }

    #[test]
    fn print_table() {
        println!("class  size pages objs huge");
        for (i, c) in TABLE.classes().iter().enumerate() {
            let (size, pages, objs) = (c.size, c.pages_per_zspage, c.objs_per_zspage);
            println!("{i:5} {size:5} {pages:5} {objs:4} {}", c.huge);
        }
    }

    #[test]
    fn lookup_edges() {
        assert_eq!(TABLE.lookup(0), Err(SizeError::Zero));
        assert_eq!(TABLE.lookup(PAGE_SIZE + 1), Err(SizeError::TooBig));
        assert_eq!(TABLE.lookup(1), Ok((0, 9)));
        assert_eq!(TABLE.lookup(32), Ok((1, 40)));
        assert_eq!(TABLE.lookup(33), Ok((1, 41)));
        let last = TABLE.nr_classes() - 1;
        assert_eq!(TABLE.lookup(4095), Ok((last, 4095)));
        assert_eq!(TABLE.lookup(4096), Ok((last, 4096)));
    }

    /// Every allowed chain size's table, with its chain size.
    fn all_tables() -> impl Iterator<Item = (usize, &'static ClassTable)> {
        (MIN_CHAIN_PAGES..=MAX_PAGES_PER_ZSPAGE).zip(CLASS_TABLES.iter())
    }

    fn check_huge_threshold(table: &ClassTable) {
        let chain = table.chain_pages();
        let class_for = |len| *table.class(table.lookup(len).unwrap().0);
        let h = table.huge_class_size();
        assert!(!class_for(h - 1).huge, "chain {chain}");
        assert!(class_for(h).huge, "chain {chain}");
        assert!(class_for(h + 1).huge, "chain {chain}");
        let (_, stored) = table.lookup(h - 1).unwrap();
        assert_eq!(stored, h - 1 + HANDLE_SIZE);
        assert_eq!(table.lookup(h).unwrap().1, h);
        for len in 1..=PAGE_SIZE {
            let (index, stored) = table.lookup(len).unwrap();
            let c = table.class(index);
            assert_eq!(c.huge, len >= h, "chain {chain} len {len}");
            assert!(stored <= c.size_bytes(), "chain {chain} len {len}");
            assert_eq!(stored, len + c.header_len());
            // Best fit: the next smaller class could not hold it.
            assert!(index == 0 || table.class(index - 1).size_bytes() < len + HANDLE_SIZE);
        }
    }

    #[test]
    fn huge_threshold() {
        for (_, table) in all_tables() {
            check_huge_threshold(table);
        }
    }

    fn check_classes_consistent(table: &ClassTable) {
        let chain = table.chain_pages();
        let classes = table.classes();
        for c in classes {
            let bytes = c.pages() * PAGE_SIZE;
            assert!((1..=chain).contains(&c.pages()), "chain {chain}");
            assert_eq!(c.objs_per_zspage as usize, bytes / c.size_bytes());
            assert!(c.objs_per_zspage as usize <= MAX_OBJS_PER_ZSPAGE);
            assert_eq!(c.size_bytes() % CLASS_DELTA, 0);
            assert_eq!(c.huge, c.pages_per_zspage == 1 && c.objs_per_zspage == 1);
        }
        for w in classes.windows(2) {
            assert!(w[0].size < w[1].size);
            assert!(
                w[0].pages_per_zspage != w[1].pages_per_zspage
                    || w[0].objs_per_zspage != w[1].objs_per_zspage
            );
        }
        // Only the last class is huge, and the huge threshold is right below it.
        assert!(classes.iter().rev().skip(1).all(|c| !c.huge));
        assert_eq!(classes.last().unwrap().size_bytes(), PAGE_SIZE);
        // Slots map monotonically onto classes and every class is used.
        let mut prev = 0;
        for slot in 0..NR_CLASS_SLOTS {
            let class = table.class_of_slot(slot);
            assert!(class == prev || class == prev + 1);
            assert!(table.class(class).size_bytes() >= slot_size(slot));
            prev = class;
        }
        assert_eq!(prev, table.nr_classes() - 1);
        // The unused tail of the table: `class_u8` on it sees empty specs.
        for index in table.nr_classes()..256 {
            assert_eq!(table.class_u8(index as u8).objs_per_zspage, 0);
        }
        // Spanning objects fit the per-CPU copy buffer's bound.
        assert!(table.huge_class_size() <= MAX_HUGE_CLASS_SIZE);
    }

    #[test]
    fn classes_consistent() {
        for (chain, table) in all_tables() {
            assert_eq!(table.chain_pages(), chain);
            check_classes_consistent(table);
        }
    }

    /// Upstream's `calculate_zspage_chain_size`: no cap on the objects per zspage.
    fn upstream_chain_size(size: usize, max_pages: usize) -> usize {
        if size.is_power_of_two() {
            return 1;
        }
        (1..=max_pages)
            .min_by_key(|p| p * PAGE_SIZE % size)
            .unwrap()
    }

    #[test]
    fn objs_cap_never_binds() {
        // At every allowed chain size, upstream's rule without the MAX_OBJS_PER_ZSPAGE cap
        // picks the same chains, so the 8-bit object index costs no density. Why: a zspage
        // holds more than 256 objects only if the size is below 16 bytes per page of chain,
        // i.e. 16 * k bytes with k < 16; a power of two takes one page, and otherwise
        // `pages * PAGE_SIZE % (16 * k)` is zero as soon as `pages` is a multiple of k's odd
        // part (< 16), the shortest such chain wins, and it holds `256 * pages / k <= 256`.
        for (chain, table) in all_tables() {
            for slot in 0..NR_CLASS_SLOTS {
                let size = slot_size(slot);
                let uncapped = upstream_chain_size(size, chain);
                assert_eq!(
                    chain_size(size, chain),
                    uncapped,
                    "chain {chain} size {size}"
                );
            }
            let max = table.classes().iter().map(|c| c.objs_per_zspage).max();
            assert_eq!(max, Some(256), "chain {chain}");
        }
    }

    #[test]
    fn tables_per_chain_size() {
        // The default entry is `ClassTable::new()`.
        let default = &CLASS_TABLES[DEFAULT_CHAIN_PAGES - MIN_CHAIN_PAGES];
        assert_eq!(default.classes(), TABLE.classes());
        assert_eq!(default.huge_class_size(), TABLE.huge_class_size());
        println!("chain classes huge_class_size");
        for (chain, table) in all_tables() {
            println!(
                "{chain:5} {:7} {:15}",
                table.nr_classes(),
                table.huge_class_size()
            );
        }
        // By hand: the largest non-huge class at 4 pages is 3264 (4 pages, 5 objects, see
        // hand_computed_classes), at 16 pages 3840 (15 pages, exactly 16 objects).
        let at = |chain: usize| &CLASS_TABLES[chain - MIN_CHAIN_PAGES];
        assert_eq!(at(4).huge_class_size(), 3264 - (HANDLE_SIZE - 1));
        assert_eq!(at(16).huge_class_size(), 3840 - (HANDLE_SIZE - 1));
        let class_at = |chain, len| *at(chain).class(at(chain).lookup(len).unwrap().0);
        assert_eq!(class_at(4, 3256), spec(3264, 4, 5));
        assert_eq!(class_at(4, 3624), spec(4096, 1, 1));
        assert_eq!(class_at(16, 3832), spec(3840, 15, 16));
        assert_eq!(at(4).nr_classes(), 69);
        assert_eq!(at(16).nr_classes(), 192);
        // Longer chains: fewer huge objects (the threshold never falls).
        for w in CLASS_TABLES.windows(2) {
            assert!(w[0].huge_class_size() <= w[1].huge_class_size());
        }
        let max = CLASS_TABLES.iter().map(ClassTable::huge_class_size).max();
        assert_eq!(max, Some(MAX_HUGE_CLASS_SIZE));
    }

    #[test]
    fn selection() {
        let sel = ClassSelection::new();
        assert_eq!(sel.chain_pages(), DEFAULT_CHAIN_PAGES);
        assert_eq!(sel.huge_class_size(), 3625);
        for chain in [0, 1, 3, 17, 255, usize::MAX] {
            assert_eq!(sel.select(chain), Err(ChainOutOfRange), "{chain}");
            assert_eq!(sel.chain_pages(), DEFAULT_CHAIN_PAGES);
        }
        for (chain, table) in all_tables() {
            assert_eq!(sel.select(chain), Ok(()));
            assert_eq!(sel.chain_pages(), chain);
            assert!(core::ptr::eq(sel.table(), table));
            // Deref: the table's methods on the selection.
            assert_eq!(sel.nr_classes(), table.nr_classes());
            assert!(core::ptr::eq(sel.class_u8(1), table.class(1)));
        }
    }

    #[test]
    fn class_index_for_sizes() {
        assert_eq!(TABLE.class_index_for(0), None);
        assert_eq!(TABLE.class_index_for(PAGE_SIZE + 1), None);
        assert_eq!(TABLE.class_index_for(1), Some(0));
        assert_eq!(TABLE.class_index_for(32), Some(0));
        assert_eq!(TABLE.class_index_for(33), Some(1));
        assert_eq!(
            TABLE.class_index_for(PAGE_SIZE),
            Some(TABLE.nr_classes() - 1)
        );
    }
}
