//! The handle cell of a kept record: the `WDFDEVICE` or `WDFQUEUE` while the object can still
//! be called, and a way to call it from outside the object's own callbacks without racing its
//! deletion.
//!
//! The cell is cleared at the start of the object's `EvtCleanupCallback` (KMDF is disposing
//! it, and its memory goes at destroy, when the last reference is dropped). Between the start
//! of KMDF's dispose (which marks a queue deleted) and that callback a held queue can still be
//! reached: a purge is refused then (`STATUS_DELETE_PENDING`), but a synchronous stop is bug
//! check WDF_QUEUE_FATAL_ERROR (SAFETY.md, "Known gaps"). A caller [`hold`](LiveCell::hold)s the
//! object: it takes a framework reference (`WdfObjectReferenceActual`) while the cell still
//! holds the handle, so the object's memory outlives the call even if the deletion runs
//! meanwhile on another processor. The clearing waits for callers between reading the cell
//! and taking their reference (a few instructions), so no reference is ever taken on an
//! object whose cleanup has begun.

use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use super::wdk_sys::call_unsafe_wdf_function_binding;

/// A framework handle that can be cleared while others read it.
///
/// `repr(C)` with the handle first: code that does not know the record's type reads the
/// device through a pointer to the record (see `request::IoTargetHandle`).
#[repr(C)]
pub(super) struct LiveCell<T> {
    handle: AtomicPtr<T>,
    /// Callers between reading `handle` and taking their reference.
    taking: AtomicUsize,
}

impl<T> LiveCell<T> {
    pub(super) const fn new() -> Self {
        Self {
            handle: AtomicPtr::new(ptr::null_mut()),
            taking: AtomicUsize::new(0),
        }
    }

    /// Publishes the object once the framework created it.
    pub(super) fn set(&self, handle: *mut T) {
        self.handle.store(handle, Ordering::SeqCst);
    }

    /// The object without a reference: for calls made where the framework keeps it alive
    /// anyway (its own callbacks, a request of it that the driver owns), and for identity.
    pub(super) fn peek(&self) -> Option<*mut T> {
        let handle = self.handle.load(Ordering::Acquire);
        (!handle.is_null()).then_some(handle)
    }

    /// The object with a framework reference held until the guard drops; `None` once its
    /// cleanup began.
    pub(super) fn hold(&self) -> Option<Held<T>> {
        // SeqCst on both sides (`close`): either this caller sees the cleared cell, or the
        // clearing sees this caller counted and waits for its reference to be taken.
        self.taking.fetch_add(1, Ordering::SeqCst);
        let held = NonNull::new(self.handle.load(Ordering::SeqCst)).map(|handle| {
            // SAFETY: the cell still holds the handle and its cleanup waits for this caller,
            // so the object is not disposed, let alone freed; the reference keeps its memory
            // until `Held::drop`.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfObjectReferenceActual,
                    handle.as_ptr().cast(),
                    ptr::null_mut(),
                    0,
                    ptr::null()
                );
            }
            Held(handle)
        });
        self.taking.fetch_sub(1, Ordering::SeqCst);
        held
    }

    /// Clears the cell, at the start of the object's `EvtCleanupCallback`, once no caller is
    /// between reading it and taking its reference.
    pub(super) fn close(&self) {
        self.handle.store(ptr::null_mut(), Ordering::SeqCst);
        while self.taking.load(Ordering::SeqCst) != 0 {
            core::hint::spin_loop();
        }
    }
}

/// A framework object held by a reference (`WdfObjectReferenceActual`), released on drop.
pub(super) struct Held<T>(NonNull<T>);

impl<T> Held<T> {
    pub(super) const fn raw(&self) -> *mut T {
        self.0.as_ptr()
    }

    /// Takes a reference on `object`, which a framework callback was passed (so it is live
    /// for the call): the object's memory, and its destroy callback, wait for the release.
    pub(super) fn lent(object: NonNull<T>) -> Self {
        // SAFETY: a live framework object (the callback's argument); the reference is released
        // once, by this `Held`'s drop.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfObjectReferenceActual,
                object.as_ptr().cast(),
                ptr::null_mut(),
                0,
                ptr::null()
            );
        }
        Self(object)
    }
}

impl<T> Drop for Held<T> {
    fn drop(&mut self) {
        // SAFETY: releases the reference `LiveCell::hold` took on this object, once.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfObjectDereferenceActual,
                self.0.as_ptr().cast(),
                ptr::null_mut(),
                0,
                ptr::null()
            );
        }
    }
}
