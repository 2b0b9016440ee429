// SPDX-License-Identifier: GPL-2.0

//! Pages: a zspage's pages, owned, chained through `page->index` as upstream does; their
//! registration with the migration core; and the pages the core hands to callbacks.

use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr::{self, NonNull},
    sync::atomic::{AtomicUsize, Ordering},
};
use kernel::bindings;

use super::{movable_operations, Gfp};
use crate::testing::fault;

#[allow(
    improper_ctypes,
    reason = "pointers to kernel structs; their layout is C's"
)]
extern "C" {
    fn rzs_page_address(page: *mut bindings::page) -> *mut u8;
    fn rzs_vmemmap_start() -> usize;
    fn rzs_direct_map_start() -> usize;
    fn rzs_page_zspage(page: *mut bindings::page) -> *mut core::ffi::c_void;
    fn rzs_page_set_zspage(page: *mut bindings::page, zspage: *const core::ffi::c_void);
    fn rzs_get_page(page: *mut bindings::page);
    fn rzs_trylock_page(page: *mut bindings::page) -> bool;
    fn rzs_unlock_page(page: *mut bindings::page);
    fn rzs_release_movable(page: *mut bindings::page, wait: bool) -> i32;
    #[allow(dead_code, reason = "for the KUnit module")]
    fn rzs_page_ref_count(page: *mut bindings::page) -> i32;
    #[allow(dead_code, reason = "for the KUnit module")]
    fn rzs_put_page(page: *mut bindings::page);
    fn rzs_clear_movable_locked(page: *mut bindings::page) -> bool;
    #[allow(dead_code, reason = "for the KUnit module")]
    fn rzs_page_movable(page: *mut bindings::page) -> bool;
}

/// What `ZsPage::release_movable` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MovableRelease {
    Released,
    AlreadyReleased,
    Busy,
}

/// Whether `ZsPage::release_movable` may wait for the page lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockWait {
    /// Only take a free lock (atomic context: the RCU free path).
    No,
    /// Sleep until the lock is free (process context).
    Yes,
}

/// One page of a zspage, owned: one reference, put on drop.
///
/// # Invariants
///
/// `page` is a live order-0 page on which this value owns one reference.
pub(crate) struct ZsPage {
    page: NonNull<bindings::page>,
}

// SAFETY: a page can be freed and accessed from any thread.
unsafe impl Send for ZsPage {}
// SAFETY: `&ZsPage` gives byte copies only through `unsafe` methods whose callers hold the
// zspage lock that serializes writers of the same bytes.
unsafe impl Sync for ZsPage {}

impl ZsPage {
    /// Allocates a page with the caller's `gfp`.
    pub(crate) fn alloc(gfp: Gfp) -> Option<ZsPage> {
        if fault::should_fail() {
            return None;
        }
        // SAFETY: any gfp mask is valid for `alloc_pages`; order 0 is one page.
        let page = NonNull::new(unsafe { bindings::alloc_pages(gfp.0, 0) })?;
        Some(ZsPage::fresh(page))
    }

    /// Owns `page`, a fresh order-0 page with one reference (from `alloc_pages`, or split
    /// from a block), counted as a zspage page from now on.
    fn fresh(page: NonNull<bindings::page>) -> ZsPage {
        fault::page_allocated();
        count_zspage_page(page, 1);
        // INVARIANT: a fresh order-0 page, owned by the new value.
        ZsPage { page }
    }

    /// Takes a reference on a page the migration core handed over (a migration
    /// destination) and owns it from now on.
    pub(crate) fn adopt(page: &LockedPage<'_>) -> ZsPage {
        // SAFETY: a live page (the core holds it locked and referenced, `LockedPage`); the
        // reference taken here is the one `Drop` puts.
        unsafe { rzs_get_page(page.as_ptr()) };
        fault::page_allocated();
        count_zspage_page(page.page, 1);
        // INVARIANT: a live order-0 page with a reference owned by the new value.
        ZsPage { page: page.page }
    }

    /// Takes the migration core's destination page `dst` as a copy of `src`, registered with
    /// `ops` (the page side of a move).
    ///
    /// # Safety
    ///
    /// Nobody writes `src`'s bytes during the call, and `ops` outlive the registration.
    pub(crate) unsafe fn adopt_copy(
        dst: &LockedPage<'_>,
        src: &LockedPage<'_>,
        ops: &'static movable_operations,
    ) -> ZsPage {
        let page = ZsPage::adopt(dst);
        // SAFETY: two distinct live pages in the direct map; `dst` is the core's fresh page,
        // which nobody else uses, and `src`'s writers are excluded (caller); the core holds
        // `dst`'s lock, as `__SetPageMovable` requires, and `ops` outlive it (caller).
        unsafe {
            ptr::copy_nonoverlapping(
                rzs_page_address(src.as_ptr()),
                page.address(),
                crate::logic::size_class::PAGE_SIZE,
            );
            super::__SetPageMovable(dst.as_ptr(), ops);
        }
        page
    }

    /// The `struct page`.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// Gives up ownership without freeing: the page is now owned through the chain link
    /// (`set_next`) of the page before it.
    pub(crate) fn into_raw(self) -> NonNull<bindings::page> {
        let page = self.page;
        core::mem::forget(self);
        page
    }

    /// Takes back ownership of a page given up with `into_raw`.
    ///
    /// # Safety
    ///
    /// `page` came from `into_raw` and no other owner remains (it was unlinked).
    pub(crate) unsafe fn from_raw(page: NonNull<bindings::page>) -> ZsPage {
        // INVARIANT: the owned page `into_raw` gave up (caller).
        ZsPage { page }
    }

    /// Borrows a page owned through a chain link, for as long as its owner (`'a`) keeps it.
    ///
    /// # Safety
    ///
    /// `page` is owned by a chain that outlives `'a` and is not unlinked meanwhile.
    #[inline]
    pub(crate) unsafe fn borrow<'a>(page: NonNull<bindings::page>) -> ZsPageRef<'a> {
        ZsPageRef {
            page: ManuallyDrop::new(ZsPage { page }),
            _owner: PhantomData,
        }
    }

    /// The next page of the zspage, if any.
    ///
    /// # Safety
    ///
    /// The caller holds a lock that excludes `set_next` on this page.
    #[inline]
    pub(crate) unsafe fn next(&self) -> Option<NonNull<bindings::page>> {
        // SAFETY: owned page (type invariant); `index` is this module's field, and no
        // writer runs concurrently (caller). Read in Rust rather than through a C call: the
        // chain is walked on every object access.
        let index = unsafe { ptr::read_volatile(page_index_field(self.page.as_ptr())) };
        NonNull::new(index as *mut bindings::page)
    }

    /// Links the next page of the zspage (or none).
    ///
    /// # Safety
    ///
    /// The caller excludes every reader and writer of this link (the zspage is not shared
    /// yet, or the caller holds the locks that guard its chain).
    pub(crate) unsafe fn set_next(&self, next: Option<NonNull<bindings::page>>) {
        let next = next.map_or(ptr::null_mut(), NonNull::as_ptr);
        // SAFETY: owned page (type invariant); `index` is this module's field; readers are
        // excluded (caller).
        unsafe {
            ptr::write_volatile(
                page_index_field(self.page.as_ptr()),
                next as kernel::ffi::c_ulong,
            )
        };
    }

    /// Points the page at its owner (release: after the owner is initialised). Callbacks
    /// read it with `LockedPage::owner` and dereference it inside an RCU read-side section.
    ///
    /// # Safety
    ///
    /// `owner` is the zspage whose page chain holds this page (or will, before anything
    /// else can reach the page), and it stays valid until the page is unlinked from it
    /// (`clear_owner`) and an RCU grace period has passed.
    pub(crate) unsafe fn set_owner(&self, owner: NonNull<core::ffi::c_void>) {
        // SAFETY: the page is owned (type invariant); `private` is this module's field.
        unsafe { rzs_page_set_zspage(self.page.as_ptr(), owner.as_ptr()) };
    }

    /// Unlinks the page from its owner (which is dying): a callback that looks the page up
    /// from now on finds nothing.
    pub(crate) fn clear_owner(&self) {
        // SAFETY: the page is owned (type invariant); `private` is this module's field, and
        // null names no owner.
        unsafe { rzs_page_set_zspage(self.page.as_ptr(), core::ptr::null()) };
    }

    /// Registers the page with the migration core (`__SetPageMovable` under the page lock).
    /// A page nobody else knows yet is always unlocked; `false` if it was not.
    ///
    /// # Safety
    ///
    /// `ops` outlive the registration: until `release_movable` or a callback clears it.
    pub(crate) unsafe fn set_movable(&self, ops: &'static movable_operations) -> bool {
        let page = self.page.as_ptr();
        // SAFETY: owned page (type invariant); the lock is held around `__SetPageMovable`,
        // which requires it; `ops` outlive the registration (caller).
        unsafe {
            if !rzs_trylock_page(page) {
                return false;
            }
            super::__SetPageMovable(page, ops);
            rzs_unlock_page(page);
        }
        true
    }

    /// Unregisters the page from the migration core under its lock: with `LockWait::No`
    /// only if the lock can be had without waiting (the RCU free path may not sleep).
    /// `Released` if this call dropped the link; `AlreadyReleased` if a callback did; `Busy`
    /// if somebody holds the page lock (never with `LockWait::Yes`).
    pub(crate) fn release_movable(&self, wait: LockWait) -> MovableRelease {
        if wait == LockWait::Yes {
            super::might_sleep();
        }
        // SAFETY: owned page (type invariant); the helper takes the page lock around
        // `__ClearPageMovable`, which requires it, and sleeps for it only when asked to, in
        // process context (checked above).
        match unsafe { rzs_release_movable(self.page.as_ptr(), wait == LockWait::Yes) } {
            1 => MovableRelease::Released,
            2 => MovableRelease::AlreadyReleased,
            _ => MovableRelease::Busy,
        }
    }

    /// Copies `dst.len()` bytes from `offset` in the page.
    ///
    /// # Safety
    ///
    /// Nobody writes those bytes during the call (the caller holds the lock that excludes
    /// their writers).
    #[inline]
    pub(crate) unsafe fn read(&self, offset: usize, dst: &mut [u8]) {
        assert!(offset + dst.len() <= crate::logic::size_class::PAGE_SIZE);
        // SAFETY: within the page (checked), no concurrent writer (caller), `dst` is
        // distinct; the direct-map address is valid while the page is owned (`address`).
        unsafe { ptr::copy_nonoverlapping(self.address().add(offset), dst.as_mut_ptr(), dst.len()) }
    }

    /// The address of the aligned word at `offset` within the page (checked).
    #[inline]
    fn word_at(&self, offset: usize) -> *mut usize {
        assert!(
            offset % core::mem::size_of::<usize>() == 0
                && offset < crate::logic::size_class::PAGE_SIZE
        );
        self.address().wrapping_add(offset).cast::<usize>()
    }

    /// The word at `offset` (an object header: one load, not a byte copy).
    ///
    /// # Safety
    ///
    /// As for `read`.
    #[inline]
    pub(crate) unsafe fn read_word(&self, offset: usize) -> usize {
        // SAFETY: an aligned word within the page (`word_at`), no concurrent writer (caller).
        unsafe { self.word_at(offset).read() }
    }

    /// Stores `value` at `offset` (an object header).
    ///
    /// # Safety
    ///
    /// As for `write`.
    #[inline]
    pub(crate) unsafe fn write_word(&self, offset: usize, value: usize) {
        // SAFETY: an aligned word within the page (`word_at`), exclusive access (caller).
        unsafe { self.word_at(offset).write(value) }
    }

    /// Stores `value` at `offset` and returns the word it replaced (an object header; one
    /// address computation for both accesses).
    ///
    /// # Safety
    ///
    /// As for `write`.
    #[inline]
    pub(crate) unsafe fn swap_word(&self, offset: usize, value: usize) -> usize {
        let word = self.word_at(offset);
        // SAFETY: an aligned word within the page (`word_at`), exclusive access (caller).
        unsafe {
            let old = word.read();
            word.write(value);
            old
        }
    }

    /// Copies `src` to `offset` in the page.
    ///
    /// # Safety
    ///
    /// Nobody else accesses those bytes during the call (the caller's lock).
    #[inline]
    pub(crate) unsafe fn write(&self, offset: usize, src: &[u8]) {
        assert!(offset + src.len() <= crate::logic::size_class::PAGE_SIZE);
        // SAFETY: within the page (checked), exclusive access to the bytes (caller); the
        // direct-map address is valid while the page is owned (`address`).
        unsafe { ptr::copy_nonoverlapping(src.as_ptr(), self.address().add(offset), src.len()) }
    }

    /// The page's kernel address, for handing an object to a caller between map and unmap.
    ///
    /// x86_64 has no highmem: every page is in the direct map, and the address is valid
    /// while the page is owned. (`kmap_local` would tie it to a nesting order that zswap's
    /// and zram's map/unmap calls do not follow.)
    #[inline]
    pub(crate) fn address(&self) -> *mut u8 {
        direct_map_address(self.page)
    }
}

impl Drop for ZsPage {
    fn drop(&mut self) {
        fault::page_freed();
        count_zspage_page(self.page, -1);
        // SAFETY: the page is owned (type invariant); this puts the owned reference.
        unsafe { bindings::__free_pages(self.page.as_ptr(), 0) };
    }
}

/// Bytes of the direct map per byte of the `struct page` array: a page's `struct page` at
/// `vmemmap + pfn * size_of::<page>()` and its frame at `PAGE_OFFSET + pfn * PAGE_SIZE`, so the
/// frame's address is the `struct page`'s times this plus a constant (when the sizes divide).
const DIRECT_MAP_SCALE: usize =
    crate::logic::size_class::PAGE_SIZE / core::mem::size_of::<bindings::page>();
const SCALE_EXACT: bool =
    crate::logic::size_class::PAGE_SIZE % core::mem::size_of::<bindings::page>() == 0;

/// `PAGE_OFFSET - vmemmap * DIRECT_MAP_SCALE` (wrapping; boot constants, randomised under
/// KASLR), set once by `init_direct_map`; 0 until then, or where the arithmetic does not
/// apply (then the C helper computes every address).
static DIRECT_MAP_OFFSET: AtomicUsize = AtomicUsize::new(0);

/// Reads the memory layout that `direct_map_address` computes with (module init).
pub(crate) fn init_direct_map() {
    // SAFETY: the helpers read boot-time constants; no preconditions.
    let (vmemmap, direct_map) = unsafe { (rzs_vmemmap_start(), rzs_direct_map_start()) };
    if cfg!(CONFIG_SPARSEMEM_VMEMMAP) && SCALE_EXACT && vmemmap != 0 {
        let offset = direct_map.wrapping_sub(vmemmap.wrapping_mul(DIRECT_MAP_SCALE));
        DIRECT_MAP_OFFSET.store(offset, Ordering::Relaxed);
    }
}

/// The direct-map address of a live page. With `SPARSEMEM_VMEMMAP` (distribution kernels,
/// and this project's) it is arithmetic, done here rather than through a C call on every
/// object access: the `struct page`s are an array at `vmemmap`, and page frame `pfn` is
/// mapped at `PAGE_OFFSET + pfn * PAGE_SIZE`: one multiply and one add (`DIRECT_MAP_OFFSET`).
#[inline]
fn direct_map_address(page: NonNull<bindings::page>) -> *mut u8 {
    let offset = DIRECT_MAP_OFFSET.load(Ordering::Relaxed);
    if offset != 0 {
        // Wrapping: the constant wraps by construction; the sum is the frame's address.
        let addr = (page.as_ptr() as usize)
            .wrapping_mul(DIRECT_MAP_SCALE)
            .wrapping_add(offset) as *mut u8;
        // SAFETY: a live page (caller).
        debug_assert_eq!(addr, unsafe { rzs_page_address(page.as_ptr()) });
        return addr;
    }
    // SAFETY: a live page (caller).
    unsafe { rzs_page_address(page.as_ptr()) }
}

/// Counts a page that a zspage takes (1) or gives up (-1) in `/proc/vmstat` `nr_zspages`, as
/// upstream zsmalloc does: the page allocator's view of the pages zsmalloc allocators hold.
fn count_zspage_page(page: NonNull<bindings::page>, delta: i32) {
    // SAFETY: a live page (the callers own a reference); the counter updates are irq-safe.
    unsafe {
        if delta > 0 {
            bindings::inc_zone_page_state(page.as_ptr(), bindings::zone_stat_item_NR_ZSPAGES);
        } else {
            bindings::dec_zone_page_state(page.as_ptr(), bindings::zone_stat_item_NR_ZSPAGES);
        }
    }
}

/// `page->index`, which links a zspage's pages in order (as upstream zsmalloc uses it).
///
/// # Safety
///
/// `page` points at a live `struct page`.
unsafe fn page_index_field(page: *mut bindings::page) -> *mut kernel::ffi::c_ulong {
    // SAFETY: a field projection inside the live `struct page` (caller); no reference made.
    unsafe {
        ptr::addr_of_mut!(
            (*page)
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_2
                .index
        )
    }
}

/// A page owned through a zspage's chain, borrowed for `'a` (see `ZsPage::borrow`).
pub(crate) struct ZsPageRef<'a> {
    page: ManuallyDrop<ZsPage>,
    _owner: PhantomData<&'a ZsPage>,
}

impl core::ops::Deref for ZsPageRef<'_> {
    type Target = ZsPage;

    #[inline]
    fn deref(&self) -> &ZsPage {
        &self.page
    }
}

/// A page the migration core passed to one of this module's movable operations, locked and
/// referenced by the core for the callback's duration (`'a`).
///
/// # Invariants
///
/// `page` is a live page whose lock the migration core holds for `'a`.
pub(crate) struct LockedPage<'a> {
    page: NonNull<bindings::page>,
    _callback: PhantomData<&'a ()>,
}

impl LockedPage<'_> {
    /// # Safety
    ///
    /// `page` is the argument of a movable_ops callback of this module that is running,
    /// locked by the migration core (for `migrate_page`'s destination: a fresh page the core
    /// locked), and the result is used only during that callback.
    pub(crate) unsafe fn from_raw<'a>(page: NonNull<bindings::page>) -> LockedPage<'a> {
        // INVARIANT: as the caller guarantees.
        LockedPage {
            page,
            _callback: PhantomData,
        }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// What `ZsPage::set_owner` last stored (acquire), or null.
    pub(crate) fn owner(&self) -> *const core::ffi::c_void {
        // SAFETY: a live page (invariant).
        unsafe { rzs_page_zspage(self.page.as_ptr()) }
    }

    /// Drops the page's link to this module's movable operations (its owner is gone);
    /// `false` if it had none.
    pub(crate) fn clear_movable(&self) -> bool {
        // SAFETY: a live page whose lock the core holds (invariant), as
        // `__ClearPageMovable` requires; the helper clears only a registered page.
        unsafe { rzs_clear_movable_locked(self.page.as_ptr()) }
    }
}

/// Test hooks that act as the migration core: raw pages, so `unsafe`.
#[allow(dead_code, reason = "for the KUnit module")]
pub(crate) mod raw {
    use super::*;

    /// Locks `page` if nobody holds its lock.
    ///
    /// # Safety
    ///
    /// `page` is a live page.
    pub(crate) unsafe fn try_lock(page: *mut bindings::page) -> bool {
        // SAFETY: live page (caller).
        unsafe { rzs_trylock_page(page) }
    }

    /// Whether `page` is still linked to movable operations (the core's check before a
    /// putback); a snapshot unless the caller holds the page lock.
    ///
    /// # Safety
    ///
    /// `page` is a live page.
    pub(crate) unsafe fn is_movable(page: *mut bindings::page) -> bool {
        // SAFETY: live (caller); the helper only reads the page's mapping word.
        unsafe { rzs_page_movable(page) }
    }

    /// The page's reference count.
    ///
    /// # Safety
    ///
    /// `page` is a live page.
    pub(crate) unsafe fn ref_count(page: *mut bindings::page) -> i32 {
        // SAFETY: live page (caller).
        unsafe { rzs_page_ref_count(page) }
    }

    /// Takes a reference on `page` (as the migration core's scanners do before they lock
    /// it).
    ///
    /// # Safety
    ///
    /// `page` is a live page.
    pub(crate) unsafe fn get(page: *mut bindings::page) {
        // SAFETY: live page (caller).
        unsafe { rzs_get_page(page) }
    }

    /// Puts a reference taken with `get` (the page is freed if it was the last).
    ///
    /// # Safety
    ///
    /// The caller owns a reference on `page`, which it gives up.
    pub(crate) unsafe fn put(page: *mut bindings::page) {
        // SAFETY: the caller's own reference (caller).
        unsafe { rzs_put_page(page) }
    }

    /// Unlocks a page locked by `try_lock`.
    ///
    /// # Safety
    ///
    /// The caller locked `page`.
    pub(crate) unsafe fn unlock(page: *mut bindings::page) {
        // SAFETY: locked by the caller.
        unsafe { rzs_unlock_page(page) };
    }
}

/// The pages of a zspage, in order: the first owned here, each next one owned through the
/// previous page's `index` link (as upstream chains them), so the metadata keeps one
/// word. Empty once a dying zspage's pages were taken out of it (`take`), or for a
/// zspage that never had any (`empty`).
///
/// # Invariants
///
/// The pages of `head` and those chained after it are live pages that this value owns; the
/// chain changes only through `replace` and `take` (or `&mut self`).
pub(crate) struct PageChain {
    head: core::cell::UnsafeCell<ChainHead>,
}

/// A chain's first page and, in the low bits of the same word (a `struct page` is aligned to
/// at least 8 bytes), how many pages from it on are one block: neighbours in order, as
/// `struct page`s and in the direct map. Page `i` of such a block is the first page's `i`th
/// neighbour, found without walking the links, and an object crossing from one of its pages
/// into the next can be reached in place. One word, so that the zspage's metadata stays as
/// small as upstream's.
///
/// # Invariants
///
/// The tag (the low bits) is 0, or `n - 1` for a chain whose first `n` pages (all of them:
/// `alloc_contiguous` makes at most 8) are one block, as above. Only `alloc_contiguous`
/// sets it; `replace`, which breaks the block, clears it.
#[derive(Clone, Copy)]
struct ChainHead(usize);

/// The tag's bits: blocks of up to 8 pages.
const BLOCK_TAG: usize = 7;
const _: () = assert!(core::mem::align_of::<bindings::page>() > BLOCK_TAG);

impl ChainHead {
    const EMPTY: ChainHead = ChainHead(0);

    /// A chain starting at `first`, not known to be one block.
    fn new(first: Option<NonNull<bindings::page>>) -> ChainHead {
        // INVARIANT: tag 0. The pointer is aligned: its tag bits are clear.
        ChainHead(first.map_or(0, |page| page.as_ptr() as usize))
    }

    fn first(self) -> Option<NonNull<bindings::page>> {
        NonNull::new((self.0 & !BLOCK_TAG) as *mut bindings::page)
    }

    /// How many pages from the first on are one block (0 if not known to be one).
    fn block_len(self) -> usize {
        match self.0 & BLOCK_TAG {
            0 => 0,
            tag => tag + 1,
        }
    }
}

// SAFETY: owning pages is possible from any thread.
unsafe impl Send for PageChain {}
// SAFETY: shared access reads the chain only through `chain`/`replace`/`take`, whose callers
// hold the locks that order them.
unsafe impl Sync for PageChain {}

/// A chain that stays as it is for `'a` (the holder of a lock that excludes `replace` and
/// `take`): its pages can be walked.
#[derive(Clone, Copy)]
pub(crate) struct ChainRef<'a> {
    head: ChainHead,
    _chain: PhantomData<&'a PageChain>,
}

impl PageChain {
    /// A chain of `n` fresh pages allocated with `gfp`, all or nothing (`None` if `n` is 0
    /// or a page is not available; the pages taken so far are freed).
    pub(crate) fn alloc(n: usize, gfp: Gfp) -> Option<PageChain> {
        if n == 0 {
            return None;
        }
        let mut chain = PageChain::empty();
        for _ in 0..n {
            // On failure `chain` drops, freeing the pages it holds.
            chain.push_front(ZsPage::alloc(gfp)?);
        }
        Some(chain)
    }

    /// Puts `page`, fresh and owned, in front of the chain, which owns it from now on.
    fn push_front(&mut self, page: ZsPage) {
        let head = self.head.get_mut();
        // SAFETY: a fresh page owned here: nobody else reads its link; it takes over the
        // chain through it.
        unsafe { page.set_next(head.first()) };
        // INVARIANT: the page, owned, links the pages the chain owned; not known to be
        // their neighbour (tag 0).
        *head = ChainHead::new(Some(page.into_raw()));
    }

    /// A chain of `n` pages that are neighbours in physical memory, in address order: one
    /// block of the next power of two pages, taken only if the page allocator has one at hand
    /// (`Gfp::opportunistic`), split into order-0 pages (the ones beyond `n` go back at
    /// once). `None` if `n` is 0, the block would be larger than `PAGE_ALLOC_COSTLY_ORDER`
    /// (8 pages), or no block is free: the caller falls back to `alloc`. Not a fault
    /// injection point: failing here only changes where the pages come from.
    pub(crate) fn alloc_contiguous(n: usize, gfp: Gfp) -> Option<PageChain> {
        const COSTLY_ORDER: u32 = 3;
        let order = n.checked_next_power_of_two()?.trailing_zeros();
        if n == 0 || order > COSTLY_ORDER {
            return None;
        }
        // SAFETY: any gfp mask is valid for `alloc_pages`; the mask has no `__GFP_COMP`, so
        // the block is not a compound page and `split_page` may split it.
        let head = NonNull::new(unsafe { bindings::alloc_pages(gfp.opportunistic().0, order) })?;
        // SAFETY: a fresh non-compound block of `1 << order` pages, owned here; its `struct
        // page`s are consecutive (a buddy block never crosses a memory section), so `add`
        // stays inside it. After the split each page is an order-0 page with its own
        // reference, owned here.
        let pages = |i: usize| unsafe { NonNull::new_unchecked(head.as_ptr().add(i)) };
        // SAFETY: as above.
        unsafe { bindings::split_page(head.as_ptr(), order) };
        for i in n..1 << order {
            // SAFETY: a page of the split block beyond the zspage's, owned here.
            unsafe { bindings::__free_pages(pages(i).as_ptr(), 0) };
        }
        // From the last page back, so that the chain is in address order.
        let mut chain = PageChain::empty();
        for i in (0..n).rev() {
            chain.push_front(ZsPage::fresh(pages(i)));
        }
        // Neighbouring frames are neighbours in the direct map wherever this module builds
        // (64-bit, no highmem); checked once here rather than trusted on every access.
        let in_direct_map = direct_map_address(pages(n - 1))
            == direct_map_address(pages(0))
                .wrapping_add((n - 1) * crate::logic::size_class::PAGE_SIZE);
        if in_direct_map {
            let head = chain.head.get_mut();
            // INVARIANT: the chain's `n` (at most 8) pages are one block: consecutive `struct
            // page`s of one split buddy block, in order, and consecutive in the direct map
            // (checked just above: the frames in between are the block's, mapped linearly).
            *head = ChainHead(head.0 | (n - 1));
        }
        Some(chain)
    }

    /// A chain of no page.
    pub(crate) const fn empty() -> PageChain {
        // INVARIANT: no page to own.
        PageChain {
            head: core::cell::UnsafeCell::new(ChainHead::EMPTY),
        }
    }

    /// The chain, for as long as the caller keeps it unchanged.
    ///
    /// # Safety
    ///
    /// For `'a`, the caller holds a lock that excludes `replace` and `take` on this chain.
    #[inline]
    pub(crate) unsafe fn chain<'a>(&'a self) -> ChainRef<'a> {
        // SAFETY: `replace` and `take`, the only writers, are excluded (caller).
        let head = unsafe { *self.head.get() };
        ChainRef {
            head,
            _chain: PhantomData,
        }
    }

    /// The chain, exclusively.
    pub(crate) fn chain_mut(&mut self) -> ChainMut<'_> {
        ChainMut(ChainRef {
            head: *self.head.get_mut(),
            _chain: PhantomData,
        })
    }

    /// Takes every page out of the chain, which is left empty (a dying zspage gives its
    /// pages up, so that they can be freed before its metadata is).
    ///
    /// # Safety
    ///
    /// The caller excludes every other reader and writer of the chain.
    pub(crate) unsafe fn take(&self) -> PageChain {
        // SAFETY: no other reader or writer (caller).
        let head = unsafe { core::mem::replace(&mut *self.head.get(), ChainHead::EMPTY) };
        // INVARIANT: the pages move, owned, from `self` to the new value, still in one
        // block if they were.
        PageChain {
            head: core::cell::UnsafeCell::new(head),
        }
    }

    /// Puts `new` in place of page `index` and returns the old page (migration).
    ///
    /// # Safety
    ///
    /// The caller excludes every other reader and writer of the chain.
    pub(crate) unsafe fn replace(&self, index: usize, new: ZsPage) -> Option<ZsPage> {
        // SAFETY: no other reader or writer (caller).
        let chain = unsafe { self.chain() };
        let old = chain.pages().nth(index)?;
        // INVARIANT: the new page is no neighbour of the others: the chain is no longer
        // known to be one block (its first page stays, unless it is the one replaced below).
        // SAFETY: as above.
        unsafe { *self.head.get() = ChainHead::new(chain.head.first()) };
        // SAFETY: as above; `new` takes `old`'s place.
        unsafe { new.set_next(old.next()) };
        let (old, new) = (old.page.page, new.into_raw());
        match index
            .checked_sub(1)
            .and_then(|prev| chain.pages().nth(prev))
        {
            // SAFETY: as above; the previous page now owns `new` through its link.
            Some(prev) => unsafe { prev.set_next(Some(new)) },
            // SAFETY: as above.
            None => unsafe { *self.head.get() = ChainHead::new(Some(new)) },
        }
        // SAFETY: unlinked just above: the chain no longer owns `old`.
        let old = unsafe { ZsPage::from_raw(old) };
        // SAFETY: off the chain: nobody else reads its link.
        unsafe { old.set_next(None) };
        Some(old)
    }

    /// Gives every page up, owned, in order, each with its link cleared (so that it goes
    /// back clean: another holder, such as the migration core, may keep it). Pages the
    /// iterator does not reach are freed when it drops.
    pub(crate) fn into_pages(mut self) -> IntoPages {
        IntoPages {
            next: core::mem::replace(self.head.get_mut(), ChainHead::EMPTY).first(),
        }
    }
}

/// The pages of a chain given up by `PageChain::into_pages`.
///
/// # Invariants
///
/// `next` and the pages chained after it are live pages that this value owns.
pub(crate) struct IntoPages {
    next: Option<NonNull<bindings::page>>,
}

impl Iterator for IntoPages {
    type Item = ZsPage;

    fn next(&mut self) -> Option<ZsPage> {
        let page = self.next?;
        // SAFETY: owned here (invariant), and given up by the chain from now on.
        let page = unsafe { ZsPage::from_raw(page) };
        // SAFETY: as above: nobody else reads or writes the link.
        self.next = unsafe { page.next() };
        // SAFETY: as above.
        unsafe { page.set_next(None) };
        Some(page)
    }
}

impl Drop for IntoPages {
    fn drop(&mut self) {
        self.for_each(drop);
    }
}

/// Pages handed from a context that may not sleep to one that may (the module's work),
/// without allocating: a lock-free stack linked through the pages' `index` field, free once
/// a page is off its chain (`PageChain::into_pages`). The migration core never reads the
/// `index` of a movable_ops page, so a page can wait here while the core holds it.
///
/// # Invariants
///
/// `top` and the pages linked after it are live pages that the stack owns.
pub(crate) struct PageStack {
    top: core::sync::atomic::AtomicPtr<bindings::page>,
}

impl PageStack {
    pub(crate) const fn new() -> Self {
        // INVARIANT: no page to own.
        Self {
            top: core::sync::atomic::AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Puts `page` (off any chain) on the stack, which owns it until `pop_all`. Any context.
    pub(crate) fn push(&self, page: ZsPage) {
        let page = page.into_raw();
        // SAFETY: given up just above: owned here until the exchange below publishes it.
        let owned = unsafe { ZsPage::borrow(page) };
        let mut top = self.top.load(Ordering::Relaxed);
        loop {
            // SAFETY: off every chain, and nobody else knows the page until the exchange
            // below publishes it (release), so nobody else reads or writes its link.
            unsafe { owned.set_next(NonNull::new(top)) };
            match self.top.compare_exchange_weak(
                top,
                page.as_ptr(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                // INVARIANT: the page, owned, is linked on top.
                Ok(_) => return,
                Err(now) => top = now,
            }
        }
    }

    /// Takes every page off the stack (newest first) and hands each, owned and unlinked,
    /// to `f`.
    pub(crate) fn pop_all(&self, f: impl FnMut(ZsPage)) {
        // Acquire: pairs with `push`'s release, so the links read below are the pushers'.
        let top = NonNull::new(self.top.swap(ptr::null_mut(), Ordering::Acquire));
        // INVARIANT: the swap took the whole stack: its pages, linked as a chain, are owned
        // by this thread alone now.
        IntoPages { next: top }.for_each(f);
    }
}

/// A chain borrowed exclusively (`PageChain::chain_mut`): its pages' bytes may be written.
pub(crate) struct ChainMut<'a>(ChainRef<'a>);

impl<'a> ChainMut<'a> {
    /// Writes words into the pages, in page order: `f` gets each page's index and a way to
    /// store a word at an offset in it (one walk of the chain for the whole zspage).
    pub(crate) fn write_words(&mut self, mut f: impl FnMut(usize, &mut dyn FnMut(usize, usize))) {
        for (index, page) in self.0.pages().enumerate() {
            f(index, &mut |offset, value| {
                // SAFETY: the chain is borrowed exclusively, so nobody else reads or writes
                // its pages' bytes through it.
                unsafe { page.write_word(offset, value) }
            });
        }
    }
}

impl<'a> ChainRef<'a> {
    /// The pages in order.
    #[inline]
    pub(crate) fn pages(self) -> impl Iterator<Item = ZsPageRef<'a>> {
        let mut next = self.head.first();
        core::iter::from_fn(move || {
            let page = next?;
            // SAFETY: a page of the chain, owned by it and unchanged for `'a` (`ChainRef`).
            let page = unsafe { ZsPage::borrow(page) };
            // SAFETY: as above: nothing changes the link meanwhile.
            next = unsafe { page.next() };
            Some(page)
        })
    }

    /// Page `index`: without walking the links if the chain is one block.
    #[inline]
    pub(crate) fn page(self, index: usize) -> ZsPageRef<'a> {
        if index < self.head.block_len() {
            if let Some(first) = self.head.first() {
                // SAFETY: page `index` of a block of more pages (`ChainHead` invariant) is
                // the first page's `index`th neighbour `struct page`, a page of this chain,
                // owned by it and unchanged for `'a` (`ChainRef`).
                return unsafe {
                    ZsPage::borrow(NonNull::new_unchecked(first.as_ptr().add(index)))
                };
            }
        }
        match self.pages().nth(index) {
            Some(page) => page,
            None => unreachable!("page {index} beyond the chain"),
        }
    }

    /// Whether the chain's pages are one block (`ChainHead`): an object that crosses from
    /// one page into the next can be reached in place.
    #[inline]
    pub(crate) fn is_one_block(self) -> bool {
        self.head.block_len() > 1
    }
}

impl Drop for PageChain {
    fn drop(&mut self) {
        // Every page back, links cleared on the way (`IntoPages`).
        drop(IntoPages {
            next: core::mem::replace(self.head.get_mut(), ChainHead::EMPTY).first(),
        });
    }
}
