// SPDX-License-Identifier: GPL-2.0

//! The object-size trace: one object per generated page, sized as zram would store it.
//!
//! Pages come from the same generator as the guest tests' workloads (`pagegen`), in a mix
//! that leans to compressible content (text 3, binary 3, sparse 2, half 1, random 1), and
//! are compressed with the kernel's lzo1x-1. zram's rule then gives the object size: a page
//! that compresses to `huge_class_size` (3625) bytes or more is stored whole (4096).

use crate::{
    ffi::{self, LZO_WORKMEM, LZO_WORST, PAGE_SIZE},
    pagegen::{fill_page, key, Kind, Rng},
};
use kernel::prelude::*;

/// zsmalloc 6.12's `zs_huge_class_size()`: the smallest size stored in a page of its own.
const HUGE_CLASS_SIZE: usize = 3625;
const MIX: [(Kind, usize); 5] = [
    (Kind::Text, 3),
    (Kind::Binary, 3),
    (Kind::Sparse, 2),
    (Kind::Half, 1),
    (Kind::Random, 1),
];
const SEED: u64 = 0x7a73_6d61_6c6c_6f63;

pub(crate) struct Trace {
    sizes: KVVec<u16>,
    /// Two pages of random bytes; object `i` is written with a slice of it starting at an
    /// offset that depends on `i`, so every object's bytes differ and are checkable.
    source: KVVec<u8>,
    pub(crate) stored_bytes: usize,
    pub(crate) huge: usize,
}

impl Trace {
    pub(crate) fn build(objects: usize) -> Result<Trace> {
        let slots: usize = MIX.iter().map(|&(_, w)| w).sum();
        let mut page = KVVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        let mut out = KVVec::from_elem(0u8, LZO_WORST, GFP_KERNEL)?;
        let mut work = KVVec::from_elem(0u8, LZO_WORKMEM, GFP_KERNEL)?;
        let mut sizes = KVVec::with_capacity(objects, GFP_KERNEL)?;
        let (mut stored_bytes, mut huge) = (0, 0);
        for i in 0..objects {
            let kind = kind_of(i % slots);
            fill_page(&mut page, kind, key(&[SEED, i as u64]));
            let len = ffi::lzo_len(&page, &mut out, &mut work).ok_or(EIO)?;
            let size = if len >= HUGE_CLASS_SIZE {
                PAGE_SIZE
            } else {
                len
            };
            huge += usize::from(size == PAGE_SIZE);
            stored_bytes += size;
            // `size <= PAGE_SIZE` fits u16.
            sizes.push(size as u16, GFP_KERNEL)?;
        }
        let mut source = KVVec::with_capacity(2 * PAGE_SIZE, GFP_KERNEL)?;
        let mut rng = Rng::new(SEED);
        for _ in 0..2 * PAGE_SIZE / 8 {
            for byte in rng.next_u64().to_le_bytes() {
                source.push(byte, GFP_KERNEL)?;
            }
        }
        Ok(Trace {
            sizes,
            source,
            stored_bytes,
            huge,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.sizes.len()
    }

    pub(crate) fn size(&self, i: usize) -> usize {
        usize::from(self.sizes[i % self.sizes.len()])
    }

    /// The bytes object `i` is written with (and read back as).
    pub(crate) fn content(&self, i: usize) -> &[u8] {
        let start = i.wrapping_mul(61) % PAGE_SIZE;
        let size = i
            .checked_rem(self.sizes.len())
            .and_then(|i| self.sizes.get(i))
            .map_or(0, |&size| usize::from(size));
        // In range (`source` is two pages; `start` and a size are at most a page each).
        // No panicking index or arithmetic here: 6.12's objtool does not know this rustc's
        // panic calls as noreturn ("falls through to next function" when inlined here).
        self.source
            .get(start..start.wrapping_add(size))
            .unwrap_or_default()
    }
}

fn kind_of(mut slot: usize) -> Kind {
    for (kind, weight) in MIX {
        if slot < weight {
            return kind;
        }
        slot -= weight;
    }
    Kind::Random
}
