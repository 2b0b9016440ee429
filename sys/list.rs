// SPDX-License-Identifier: GPL-2.0

//! A typed intrusive doubly linked list whose head may move (no self-reference): the
//! fullness-group lists of a size class.
//!
//! An element embeds `Links` and implements `Linked`. A list owns its elements (slab
//! objects): `push_front` takes a `SlabBox`, `remove` gives it back. The lists live inside
//! one lock's data, which guards them and every element's links (the `Cell`s make them
//! `!Sync`). Taking an element off a list is `unsafe`: only the owner of the lists knows
//! which list an element is on.

use super::SlabBox;
use core::{cell::Cell, marker::PhantomData, ptr::NonNull};

/// The links of an element: 16 bytes, the size of a C `list_head`, so that they can be
/// reused as an RCU head once the element has left its list for good.
pub(crate) struct Links {
    prev: Cell<Option<NonNull<Links>>>,
    next: Cell<Option<NonNull<Links>>>,
}

impl Links {
    pub(crate) const fn new() -> Self {
        Self {
            prev: Cell::new(None),
            next: Cell::new(None),
        }
    }
}

/// A type with embedded `Links`.
///
/// # Safety
///
/// `OFFSET` is the byte offset of a `Links` field inside `Self`, used for nothing else.
pub(crate) unsafe trait Linked {
    const OFFSET: usize;

    /// The embedded links.
    fn links_field(&self) -> &Links {
        // SAFETY: `OFFSET` is the offset of a `Links` field (trait contract).
        unsafe { links_of(self).as_ref() }
    }
}

/// A list of `T`s. `!Sync` through its `Cell`s: it lives inside the data of the lock that
/// guards it.
pub(crate) struct List<T: Linked> {
    first: Cell<Option<NonNull<Links>>>,
    len: Cell<usize>,
    _elements: PhantomData<*const T>,
}

// SAFETY: the list holds addresses of `T`s whose owner shares them between threads under
// the lock that guards the list; moving the list to another thread moves nothing else.
unsafe impl<T: Linked + Sync> Send for List<T> {}

fn links_of<T: Linked + ?Sized>(element: &T) -> NonNull<Links> {
    // `OFFSET` is a field inside `T` (trait contract): the address stays in the element.
    let links = core::ptr::from_ref(element)
        .cast::<u8>()
        .wrapping_add(T::OFFSET);
    match NonNull::new(links.cast_mut().cast()) {
        Some(links) => links,
        None => unreachable!("a field of a live element at address 0"),
    }
}

impl<T: Linked> List<T> {
    pub(crate) const fn new() -> Self {
        Self {
            first: Cell::new(None),
            len: Cell::new(0),
            _elements: PhantomData,
        }
    }

    /// Elements on the list.
    pub(crate) fn len(&self) -> usize {
        self.len.get()
    }

    /// The element owning `links`.
    fn element<'a>(&'a self, links: NonNull<Links>) -> &'a T {
        let element = links
            .cast::<u8>()
            .as_ptr()
            .wrapping_sub(T::OFFSET)
            .cast::<T>();
        // SAFETY: every `Links` on this list is the `OFFSET` field of a live `T` (the
        // contract of `push_front`), which stays alive while linked and while the lock that
        // guards this list is held, which the shared borrow of the list (inside that lock's
        // data) shows.
        unsafe { &*element }
    }

    /// The first element.
    #[inline]
    pub(crate) fn first(&self) -> Option<&T> {
        self.first.get().map(|links| self.element(links))
    }

    /// The elements in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        let mut next = self.first.get();
        core::iter::from_fn(move || {
            let links = next?;
            // SAFETY: `links` is on this list (see `element`); its fields are read under
            // the lock that guards the list.
            next = unsafe { links.as_ref() }.next.get();
            Some(self.element(links))
        })
    }

    /// Links `element` at the front; the list owns it until `remove`.
    #[inline]
    pub(crate) fn push_front(&self, element: SlabBox<T>) -> &T {
        // An element in a box is on no list (a list gives it back only when it unlinks it).
        let element = element.into_raw();
        // SAFETY: owned by this list from now on, so live while linked; the shared borrow
        // of the list (inside its lock's data) bounds the reference.
        let element = unsafe { element.as_ref() };
        self.link_front(element);
        element
    }

    /// Links an element that is on no list at the front.
    #[inline]
    fn link_front(&self, element: &T) {
        let l = Self::links(element);
        l.prev.set(None);
        l.next.set(self.first.get());
        if let Some(first) = self.first.get() {
            // SAFETY: an element of this list, live while linked (owned by the list).
            unsafe { first.as_ref() }.prev.set(Some(links_of(element)));
        }
        self.first.set(Some(links_of(element)));
        self.len.set(self.len.get() + 1);
    }

    fn links(element: &T) -> &Links {
        element.links_field()
    }

    /// Unlinks `element` and gives it back.
    ///
    /// # Safety
    ///
    /// `element` is on this list.
    #[inline]
    pub(crate) unsafe fn remove(&self, element: &T) -> SlabBox<T> {
        self.unlink(element);
        // SAFETY: the list owned the element (`push_front`'s `into_raw`) and lets go of it
        // here, once: it is no longer linked.
        unsafe { SlabBox::from_raw(NonNull::from(element)) }
    }

    /// Moves `element` from this list to the front of `to`, a list of the same lock.
    ///
    /// # Safety
    ///
    /// `element` is on this list.
    #[inline]
    pub(crate) unsafe fn move_to(&self, element: &T, to: &List<T>) {
        self.unlink(element);
        to.link_front(element);
    }

    /// Unlinks `element`, which is on this list (the callers' contract).
    #[inline]
    fn unlink(&self, element: &T) {
        let l = Self::links(element);
        let (prev, next) = (l.prev.take(), l.next.take());
        match prev {
            // SAFETY: neighbours on this list are live (owned by the list).
            Some(prev) => unsafe { prev.as_ref() }.next.set(next),
            None => self.first.set(next),
        }
        if let Some(next) = next {
            // SAFETY: as above.
            unsafe { next.as_ref() }.prev.set(prev);
        }
        self.len.set(self.len.get() - 1);
    }
}
