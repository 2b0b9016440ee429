// SPDX-License-Identifier: GPL-2.0

//! The 8-byte header word at the start of every object of a non-huge class (a huge zspage
//! keeps the same word in its metadata).
//!
//! - A free object's header holds the index of the next free object, shifted left by one
//!   (bit 0 clear): the free objects form a list through the pages.
//! - An allocated object's header is an [`AllocatedHeader`]: bit 0 set, the address of its
//!   handle's slot (a slab object, 8-byte aligned, with `0xff` as its top byte on x86_64 as
//!   [`location`](super::location) explains), and in that top byte the object's stored length
//!   (header included) in 16-byte units, minus one. Compaction finds live objects and their
//!   handles by bit 0, and carries the whole word to the object's new place; a mapping reads
//!   the length to decide from the object's real size, not its class's, whether it crosses a
//!   page boundary, and how many bytes a copy must move.

use super::size_class::PAGE_SIZE;

const ALLOCATED: u64 = 1;
const LEN_SHIFT: u32 = 56;
const ADDR_MASK: u64 = (1 << LEN_SHIFT) - 1;
const TOP_BYTE: u64 = !ADDR_MASK;
/// Granularity of the stored length (the size classes' step, so a length rounded up to it
/// never exceeds the object's slot).
pub const LEN_UNIT: usize = 16;

// The unit count, 1..=PAGE_SIZE / LEN_UNIT, minus one fits the top byte.
const _: () = assert!(PAGE_SIZE / LEN_UNIT <= 256);

/// The header of an allocated object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocatedHeader(u64);

impl AllocatedHeader {
    /// The header of an object of `stored_len` bytes (header included, 1..=`PAGE_SIZE`)
    /// owned by the handle slot at `handle`; `None` if `handle` is not an 8-byte aligned,
    /// non-null address with `0xff` as its top byte, or the length is out of range.
    #[inline]
    pub const fn new(handle: usize, stored_len: usize) -> Option<AllocatedHeader> {
        // Lossless: usize is 64 bits (asserted in `location`).
        let addr = handle as u64;
        if addr & TOP_BYTE != TOP_BYTE || addr & 7 != 0 || addr & ADDR_MASK == 0 {
            return None;
        }
        if stored_len == 0 || stored_len > PAGE_SIZE {
            return None;
        }
        let units = stored_len.div_ceil(LEN_UNIT) as u64;
        Some(AllocatedHeader(
            (addr & ADDR_MASK) | ((units - 1) << LEN_SHIFT) | ALLOCATED,
        ))
    }

    /// The header that the word `word` is, if it is an allocated object's.
    #[inline]
    pub const fn from_word(word: usize) -> Option<AllocatedHeader> {
        if word as u64 & ALLOCATED == 0 {
            return None;
        }
        Some(AllocatedHeader(word as u64))
    }

    /// The word stored in the object.
    #[inline]
    pub const fn word(self) -> usize {
        self.0 as usize
    }

    /// The address of the object's handle slot.
    #[inline]
    pub const fn handle(self) -> usize {
        ((self.0 & ADDR_MASK & !ALLOCATED) | TOP_BYTE) as usize
    }

    /// The object's stored length, header included, rounded up to `LEN_UNIT`.
    #[inline]
    pub const fn stored_len(self) -> usize {
        ((self.0 >> LEN_SHIFT) as usize + 1) * LEN_UNIT
    }
}

/// The header of a free object whose successor on the free list is `next`.
#[inline]
pub const fn free_header(next: u16) -> usize {
    (next as usize) << 1
}

/// The successor on the free list that a free object's header names; `None` for an
/// allocated object's header.
#[inline]
pub const fn next_free(word: usize) -> Option<u16> {
    if word as u64 & ALLOCATED != 0 {
        return None;
    }
    // Written by `free_header` from a `u16`.
    Some((word >> 1) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOT: usize = 0xffff_8880_1234_5678;
    // 5-level paging direct map.
    const SLOT_LA57: usize = 0xff11_0000_89ab_cde8;

    #[test]
    fn round_trip() {
        for handle in [SLOT, SLOT_LA57, 0xff00_0000_0000_0008, usize::MAX & !7] {
            for len in 1..=PAGE_SIZE {
                let header = AllocatedHeader::new(handle, len).unwrap();
                assert_eq!(header.handle(), handle);
                let stored = header.stored_len();
                assert!(stored >= len && stored < len + LEN_UNIT && stored % LEN_UNIT == 0);
                assert_eq!(AllocatedHeader::from_word(header.word()), Some(header));
                assert_eq!(next_free(header.word()), None);
            }
        }
    }

    #[test]
    fn packing() {
        let header = AllocatedHeader::new(SLOT, 1950).unwrap();
        // 1950 bytes: 122 units of 16, stored as 121 (0x79).
        assert_eq!(header.word(), 0x79ff_8880_1234_5679);
        assert_eq!(header.stored_len(), 1952);
        assert_eq!(
            AllocatedHeader::new(SLOT, PAGE_SIZE).unwrap().word() >> 56,
            0xff
        );
        assert_eq!(AllocatedHeader::new(SLOT, 16).unwrap().word() >> 56, 0);
    }

    #[test]
    fn free_list_words() {
        for next in [0u16, 1, 254, 255, u16::MAX] {
            let word = free_header(next);
            assert_eq!(next_free(word), Some(next));
            assert_eq!(AllocatedHeader::from_word(word), None);
        }
    }

    /// Whether an object crosses a page boundary by its stored length (rounded up as the
    /// header keeps it) is whether its slot does, for every chain length, request size and
    /// object of 6.12's class geometry: the slack of a merged class (at most 128 bytes) is
    /// always smaller than how far its crossing slots reach into the next page. So deciding
    /// from the length, as 7.0 does, never saves a copy here; what the length gives is the
    /// exact mapping and copy length.
    #[test]
    fn slot_and_length_cross_alike() {
        use super::super::{layout::obj_place, size_class::ClassSelection};
        for chain in 4..=16 {
            let selection = ClassSelection::new();
            selection.select(chain).unwrap();
            let table = selection.table();
            for len in 1..table.huge_class_size() {
                let (class, stored) = table.lookup(len).unwrap();
                let spec = table.class(class);
                let stored = AllocatedHeader::new(SLOT, stored).unwrap().stored_len();
                assert!(stored <= spec.size_bytes());
                for idx in 0..spec.objs_per_zspage {
                    let place = obj_place(spec, idx);
                    assert_eq!(
                        place.spans,
                        place.offset + stored > PAGE_SIZE,
                        "chain {chain}, request {len}, object {idx}"
                    );
                }
            }
        }
    }

    #[test]
    fn rejects() {
        assert_eq!(AllocatedHeader::new(SLOT, 0), None);
        assert_eq!(AllocatedHeader::new(SLOT, PAGE_SIZE + 1), None);
        assert_eq!(AllocatedHeader::new(SLOT + 4, 100), None);
        assert_eq!(AllocatedHeader::new(0x0000_7fff_1234_5670, 100), None);
        assert_eq!(AllocatedHeader::new(0xfeff_8880_1234_5670, 100), None);
        assert_eq!(AllocatedHeader::new(0xff00_0000_0000_0000, 100), None);
    }
}
