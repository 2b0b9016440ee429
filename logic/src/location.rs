// SPDX-License-Identifier: GPL-2.0

//! A [`Location`] names one object: the address of its zspage's metadata plus
//! the object's index in the zspage, packed into one 64-bit word so that a
//! handle can be updated atomically when the object moves.
//!
//! On x86_64 every kernel direct-map or slab address has `0xff` as its top
//! byte, with 4-level and with 5-level paging alike, and generic KASAN does not
//! tag pointers. The top byte therefore carries no information: it is replaced
//! by the object index (at most 255, see
//! [`MAX_OBJS_PER_ZSPAGE`](super::size_class::MAX_OBJS_PER_ZSPAGE)) and
//! restored to `0xff` on decoding. Addresses that do not fit this pattern are
//! refused rather than silently mangled.

use core::num::NonZeroU64;

// The encoding needs the full address in 64 bits.
const _: () = assert!(usize::BITS == 64);

const INDEX_SHIFT: u32 = 56;
const ADDR_MASK: u64 = (1 << INDEX_SHIFT) - 1;
const TOP_BYTE: u64 = !ADDR_MASK;

/// Zspage metadata address and object index, packed into a non-zero `u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location(NonZeroU64);

impl Location {
    /// Packs `addr` and `idx`; `None` if `addr`'s top byte is not `0xff` or
    /// its other bits are all zero (no valid metadata address looks like that,
    /// and it would make the encoding of index 0 zero).
    #[inline]
    pub const fn new(addr: usize, idx: u8) -> Option<Location> {
        // Lossless: usize is 64 bits (asserted above).
        let addr = addr as u64;
        if addr & TOP_BYTE != TOP_BYTE {
            return None;
        }
        Self::from_raw((addr & ADDR_MASK) | ((idx as u64) << INDEX_SHIFT))
    }

    /// Address of the zspage metadata.
    #[inline]
    pub const fn addr(self) -> usize {
        // Lossless: usize is 64 bits (asserted above).
        ((self.0.get() & ADDR_MASK) | TOP_BYTE) as usize
    }

    /// Index of the object within its zspage.
    #[inline]
    pub const fn obj_index(self) -> u8 {
        // The shift leaves exactly 8 bits.
        (self.0.get() >> INDEX_SHIFT) as u8
    }

    /// The packed word.
    #[inline]
    pub const fn to_raw(self) -> u64 {
        self.0.get()
    }

    /// Unpacks a word made by [`Location::to_raw`]; `None` for words no
    /// location encodes to (those with the low 56 bits zero, including 0).
    #[inline]
    pub const fn from_raw(raw: u64) -> Option<Location> {
        if raw & ADDR_MASK == 0 {
            return None;
        }
        match NonZeroU64::new(raw) {
            Some(raw) => Some(Location(raw)),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: usize = 0xffff_8880_1234_5670;
    // 5-level paging direct map.
    const ADDR_LA57: usize = 0xff11_0000_89ab_cde8;

    #[test]
    fn round_trip() {
        for addr in [ADDR, ADDR_LA57, usize::MAX, 0xff00_0000_0000_0008] {
            for idx in [0, 1, 127, 128, 255] {
                let loc = Location::new(addr, idx).unwrap();
                assert_eq!((loc.addr(), loc.obj_index()), (addr, idx));
                assert_eq!(Location::from_raw(loc.to_raw()), Some(loc));
            }
        }
    }

    #[test]
    fn packing() {
        let loc = Location::new(ADDR, 0xab).unwrap();
        assert_eq!(loc.to_raw(), 0xabff_8880_1234_5670);
        assert_eq!(
            Location::new(ADDR, 0).unwrap().to_raw(),
            0x00ff_8880_1234_5670
        );
        assert_eq!(core::mem::size_of::<Option<Location>>(), 8);
    }

    #[test]
    fn rejects() {
        assert_eq!(Location::new(0, 0), None);
        assert_eq!(Location::new(0x0000_7fff_1234_5670, 1), None);
        assert_eq!(Location::new(0xfeff_8880_1234_5670, 1), None);
        assert_eq!(Location::new(0xff00_0000_0000_0000, 3), None);
        assert_eq!(Location::from_raw(0), None);
        assert_eq!(Location::from_raw(0x0500_0000_0000_0000), None);
    }
}
